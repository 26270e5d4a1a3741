/**
 * A site's round reward passed on to the patients it trained on: the integer
 * split (largest remainder, shared with the coordinator's reward split), the
 * allocation tree the site commits to in its signed `patient-rewards`
 * statement, and a patient's proof of their amount against that root.
 *
 * - Split. `apportion(total, shares)` is the Hamilton (largest-remainder)
 *   method: share i gets ⌊total·w_i / W⌋, and the L units left over go one
 *   each to the L largest remainders (total·w_i mod W), equal remainders in
 *   key code-unit order. Σ amounts = total, unless every weight is 0, when
 *   nothing is paid and `unallocated` = total. `splitToPatients` applies it
 *   to pseudonyms (hex) and their integer weights.
 * - Allocation leaf: canonical CBOR `{p: pseudonym bytes, a: amount}`, one
 *   per patient, sorted by pseudonym (bytewise, which is hex order); the
 *   tree is RFC 6962 over them (leaf = SHA-256(0x00 ‖ leaf bytes)), its root
 *   and leaf count go into the site's statement.
 * - Proof: the leaf's index and inclusion path; `verifyPatientReward`
 *   recomputes the leaf from the pseudonym and amount and checks the path.
 *
 * Pure: no I/O, no clock, no randomness.
 */
import { z } from 'zod'
import { encodeCanonical, equalBytes, HASH_LENGTH_BYTES, fromHex, toHex, RFC6962_SHA256, hashLeaf, inclusionProof, rootOf, verifyInclusion } from '../ledger/core/index.ts'
import { PatientRewardSplitError } from './consent-errors.ts'

/** `format` of a patient's reward proof bundle (the `reward` part of a consent proof bundle). */
export const PATIENT_REWARD_PROOF_FORMAT = 'fedlineage/patient-reward-proof/v1'

export interface PatientAllocation {
  /** Hex pseudonym. */
  readonly pseudonym: string
  /** Credit units. */
  readonly amount: bigint
}

export interface PatientSplit {
  /** One per patient, sorted by pseudonym. */
  readonly allocations: readonly PatientAllocation[]
  /** The whole amount when every weight is 0, else 0. */
  readonly unallocated: bigint
}

/** One share of an apportionment: a distinct key and an integer weight >= 0. */
export interface ApportionShare {
  readonly key: string
  readonly weight: bigint
}

/**
 * Hamilton apportionment of `total` over `shares`, amounts in the order
 * given (module comment). Requires `total >= 0n`, distinct keys and weights
 * >= 0n (PatientRewardSplitError).
 */
export function apportion(total: bigint, shares: readonly ApportionShare[]): { readonly amounts: readonly bigint[]; readonly unallocated: bigint } {
  if (typeof total !== 'bigint' || total < 0n) throw new PatientRewardSplitError(`amount ${String(total)}, want a bigint >= 0`)
  const keys = new Set<string>()
  let weightSum = 0n
  for (const s of shares) {
    if (typeof s.weight !== 'bigint' || s.weight < 0n) throw new PatientRewardSplitError(`"${s.key}": weight ${String(s.weight)}, want a bigint >= 0`)
    if (keys.has(s.key)) throw new PatientRewardSplitError(`"${s.key}" listed more than once`)
    keys.add(s.key)
    weightSum += s.weight
  }
  if (weightSum === 0n) return { amounts: shares.map(() => 0n), unallocated: total }
  const amounts: bigint[] = []
  const remainders: bigint[] = []
  let given = 0n
  for (const s of shares) {
    const product = total * s.weight
    const floor = product / weightSum
    amounts.push(floor)
    remainders.push(product % weightSum)
    given += floor
  }
  const leftover = Number(total - given) // < shares.length
  const order = shares.map((_, i) => i)
  order.sort((a, b) => {
    const ra = remainders[a]!
    const rb = remainders[b]!
    if (ra !== rb) return ra > rb ? -1 : 1
    const ka = shares[a]!.key
    const kb = shares[b]!.key
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  for (let j = 0; j < leftover; j++) amounts[order[j]!]! += 1n
  return { amounts, unallocated: 0n }
}

/**
 * Passes `amount` through to patients pro rata to integer `weight`s, by
 * `apportion`, ties in pseudonym code-unit order. Requires `amount >= 0n`,
 * distinct pseudonyms and weights >= 0n (PatientRewardSplitError).
 * Σ amounts + unallocated = amount, always.
 */
export function splitToPatients(amount: bigint, weights: readonly { readonly pseudonym: string; readonly weight: bigint }[]): PatientSplit {
  const sorted = [...weights].sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : a.pseudonym > b.pseudonym ? 1 : 0))
  const split = apportion(
    amount,
    sorted.map((w) => ({ key: w.pseudonym, weight: w.weight })),
  )
  return { allocations: sorted.map((w, i) => ({ pseudonym: w.pseudonym, amount: split.amounts[i]! })), unallocated: split.unallocated }
}

/** The canonical CBOR bytes of one allocation leaf: `{p: pseudonym, a: amount}`. */
export function patientRewardLeafData(pseudonym: Uint8Array, amount: bigint): Uint8Array {
  return encodeCanonical({ p: pseudonym, a: amount })
}

/** The allocation tree: leaves sorted by pseudonym, their hashes, root and count. */
export interface PatientRewardsTree {
  readonly allocations: readonly PatientAllocation[]
  readonly leafHashes: readonly Uint8Array[]
  readonly root: Uint8Array
  readonly count: number
}

/** Builds the allocation tree of `allocations` (sorted here by pseudonym; duplicates refused). */
export function patientRewardsTreeOf(allocations: readonly PatientAllocation[]): PatientRewardsTree {
  const sorted = [...allocations].sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : a.pseudonym > b.pseudonym ? 1 : 0))
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.pseudonym === sorted[i - 1]!.pseudonym) throw new PatientRewardSplitError(`pseudonym ${sorted[i]!.pseudonym} listed more than once`)
  }
  const leafHashes = sorted.map((a) => hashLeaf(patientRewardLeafData(fromHex(a.pseudonym), a.amount)))
  return { allocations: sorted, leafHashes, root: rootOf(RFC6962_SHA256, leafHashes), count: sorted.length }
}

/** A patient's amount and the inclusion proof of its allocation leaf. */
export interface PatientRewardProof {
  readonly pseudonym: Uint8Array
  readonly amount: bigint
  readonly index: number
  readonly count: number
  readonly proof: readonly Uint8Array[]
}

/** The proof for `pseudonym`, or undefined when the tree has no leaf for it. */
export function provePatientReward(tree: PatientRewardsTree, pseudonym: Uint8Array): PatientRewardProof | undefined {
  const hex = toHex(pseudonym)
  const index = tree.allocations.findIndex((a) => a.pseudonym === hex)
  if (index < 0) return undefined
  return { pseudonym, amount: tree.allocations[index]!.amount, index, count: tree.count, proof: inclusionProof(RFC6962_SHA256, tree.leafHashes, index, tree.count) }
}

/** Checks that `proof` puts the leaf {pseudonym, amount} at its index of the tree with `root`; throws the Merkle errors otherwise. */
export function verifyPatientReward(proof: PatientRewardProof, root: Uint8Array): void {
  verifyInclusion(RFC6962_SHA256, proof.index, proof.count, hashLeaf(patientRewardLeafData(proof.pseudonym, proof.amount)), proof.proof, root)
}

/** The JSON form of a patient's reward proof, carried as `reward` in a consent inclusion bundle. */
export interface PatientRewardBundle {
  readonly format: typeof PATIENT_REWARD_PROOF_FORMAT
  /** Credit units, decimal. */
  readonly amount: string
  /** The site's whole credit for the round, decimal, as its signed statement says. */
  readonly siteAmount: string
  /** Hex root and leaf count of the round's allocation tree, as logged in `patient-rewards`. */
  readonly root: string
  readonly count: number
  readonly index: number
  readonly path: readonly string[]
}

export function makePatientRewardBundle(proof: PatientRewardProof, root: Uint8Array, siteAmount: bigint): PatientRewardBundle {
  return {
    format: PATIENT_REWARD_PROOF_FORMAT,
    amount: proof.amount.toString(),
    siteAmount: siteAmount.toString(),
    root: toHex(root),
    count: proof.count,
    index: proof.index,
    path: proof.proof.map(toHex),
  }
}

const hexHash = z
  .string()
  .regex(/^[0-9a-f]*$/, 'must be lowercase hex')
  .length(HASH_LENGTH_BYTES * 2, `must be ${HASH_LENGTH_BYTES} bytes of hex`)
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal integer')
export const PatientRewardBundleSchema = z.strictObject({
  format: z.literal(PATIENT_REWARD_PROOF_FORMAT),
  amount: decimal,
  siteAmount: decimal,
  root: hexHash,
  count: uint.min(1),
  index: uint,
  path: z.array(hexHash),
})

/**
 * Checks a patient's reward bundle for `pseudonym`: its path from the leaf
 * {pseudonym, amount} to its root, and that root against `trustedRoot` (the
 * logged one) when given. Returns the amount. Throws
 * PatientRewardSplitError (malformed, or another root than the logged
 * one) or the Merkle errors (LEDGER_ROOT_MISMATCH, …).
 */
export function checkPatientRewardBundle(value: unknown, pseudonym: Uint8Array, trustedRoot?: Uint8Array): { readonly amount: bigint; readonly root: Uint8Array; readonly count: number } {
  const parsed = PatientRewardBundleSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new PatientRewardSplitError(`reward proof bundle: field ${issue && issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue?.message ?? 'invalid'}`)
  }
  const b = parsed.data
  const root = fromHex(b.root)
  if (trustedRoot !== undefined && !equalBytes(trustedRoot, root)) throw new PatientRewardSplitError(`reward proof bundle: root is ${b.root}, the log holds ${toHex(trustedRoot)}`)
  const amount = BigInt(b.amount)
  verifyPatientReward({ pseudonym, amount, index: b.index, count: b.count, proof: b.path.map((p) => fromHex(p)) }, root)
  return { amount, root, count: b.count }
}
