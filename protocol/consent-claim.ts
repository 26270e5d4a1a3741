/**
 * The consent claim: what a site's signed update envelope says about the
 * consent behind it, in `ext.consent` (statements.ts reserves `ext` for such
 * features). The site writes it, the coordinator admits the update on it, and
 * the auditor re-checks it from the log, all with these functions.
 * Pure: no I/O, clock or randomness, and arguments are never mutated.
 *
 * As canonical CBOR (hashes and pseudonyms are 32-byte byte strings):
 *
 *     { at: ms, root: 32 bytes, count,
 *       excluded: { noConsent, expired, notYetValid, revoked },
 *       revoked: [{ pseudonym, time }],                 // strictly increasing pseudonyms
 *       nonInclusion: [{ pseudonym, count, left, right }] } // strictly increasing pseudonyms
 *     left / right: null | { index, pseudonym, receiptHash, path: [32 bytes] }
 *
 * - `at`: the round's time the site decided consent at (the time the round
 *   opened, as the coordinator's fit task states it).
 * - `root`, `count`: the round's consent tree (consent.ts) over the receipts
 *   the site trained on, one leaf per patient.
 * - `excluded`: records (not patients) left out, by reason (the filter's
 *   counts, `consented` aside).
 * - `revoked`: every withdrawal the site holds that applies to this study at
 *   `at` (`time <= at`) and revokes one of its receipts: the pseudonym and the
 *   revocation's time. The coordinator logs the ones it has not logged yet
 *   (`consent-revoked`), so a revocation reaches the log in the first round
 *   that honours it.
 * - `nonInclusion`: one non-inclusion proof against `root` per pseudonym the
 *   site must show it did not train on (every revoked pseudonym of the site,
 *   logged or reported). Each repeats the tree's `count`, which must equal
 *   the claim's.
 */
import { z } from 'zod'
import { type CanonicalValue, HASH_LENGTH_BYTES, toHex } from '../ledger/core/index.ts'
import { PSEUDONYM_LENGTH_BYTES, verifyConsentNonInclusion, type ConsentNeighbour, type ConsentNonInclusionProof } from './consent.ts'
import { ClaimProofMissingError, ConsentCountMismatchError, ConsentInvalidError } from './consent-errors.ts'

/** The key of the consent claim in an update envelope's `ext` map. */
export const CONSENT_EXT_KEY = 'consent'

/** Records left out of a round's training, by reason. */
export interface ConsentExclusions {
  readonly noConsent: number
  readonly expired: number
  readonly notYetValid: number
  readonly revoked: number
}

/** A withdrawal as a site reports it: the pseudonym and the revocation's time (ms since the epoch). */
export interface RevokedPseudonym {
  readonly pseudonym: Uint8Array
  readonly time: number
}

/** The consent behind one update; see the module comment. */
export interface ConsentClaim {
  readonly at: number
  readonly root: Uint8Array
  readonly count: number
  readonly excluded: ConsentExclusions
  /** Sorted by pseudonym, unique. */
  readonly revoked: readonly RevokedPseudonym[]
  /** Sorted by pseudonym, unique. */
  readonly nonInclusion: readonly ConsentNonInclusionProof[]
}

const SUBJECT = 'consent claim'

const bytes = (length: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length === length, { message: `must be ${length} bytes` })
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const pseudonym = bytes(PSEUDONYM_LENGTH_BYTES)
const NeighbourSchema = z.strictObject({ index: uint, pseudonym, receiptHash: bytes(HASH_LENGTH_BYTES), path: z.array(bytes(HASH_LENGTH_BYTES)).max(64) }).nullable()
const ClaimSchema = z.strictObject({
  at: uint,
  root: bytes(HASH_LENGTH_BYTES),
  count: uint,
  excluded: z.strictObject({ noConsent: uint, expired: uint, notYetValid: uint, revoked: uint }),
  revoked: z.array(z.strictObject({ pseudonym, time: uint })),
  nonInclusion: z.array(z.strictObject({ pseudonym, count: uint, left: NeighbourSchema, right: NeighbourSchema })),
})

type NeighbourValue = z.infer<typeof NeighbourSchema>

/**
 * Validates and reads a claim (the value of `ext.consent`). Throws
 * ConsentInvalidError naming the field (`revoked.2.pseudonym`,
 * `nonInclusion`) for a value of the wrong shape, and for `revoked` or
 * `nonInclusion` not strictly increasing by pseudonym.
 */
export function readConsentClaim(value: unknown): ConsentClaim {
  const result = ClaimSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new ConsentInvalidError(SUBJECT, issue && issue.path.length > 0 ? issue.path.join('.') : '(root)', issue?.message ?? 'invalid')
  }
  const c = result.data
  requireIncreasing(
    'revoked',
    c.revoked.map((r) => r.pseudonym),
  )
  requireIncreasing(
    'nonInclusion',
    c.nonInclusion.map((p) => p.pseudonym),
  )
  const neighbour = (n: NeighbourValue): ConsentNeighbour | null => (n === null ? null : { index: n.index, leaf: { pseudonym: n.pseudonym, receiptHash: n.receiptHash }, proof: n.path })
  return {
    at: c.at,
    root: c.root,
    count: c.count,
    excluded: c.excluded,
    revoked: c.revoked,
    nonInclusion: c.nonInclusion.map((p) => ({ pseudonym: p.pseudonym, count: p.count, left: neighbour(p.left), right: neighbour(p.right) })),
  }
}

/**
 * The claim as the canonical value `ext.consent` carries. Sorts `revoked` and
 * `nonInclusion` by pseudonym (copies). Throws ConsentInvalidError when the
 * result would not read back (`readConsentClaim`): a field of the wrong shape,
 * or a pseudonym listed twice.
 */
export function encodeConsentClaim(claim: ConsentClaim): CanonicalValue {
  const byPseudonym = <T extends { readonly pseudonym: Uint8Array }>(items: readonly T[]) => [...items].sort((a, b) => compareBytes(a.pseudonym, b.pseudonym))
  const neighbour = (n: ConsentNeighbour | null): CanonicalValue => (n === null ? null : { index: n.index, pseudonym: n.leaf.pseudonym, receiptHash: n.leaf.receiptHash, path: [...n.proof] })
  const value: CanonicalValue = {
    at: claim.at,
    root: claim.root,
    count: claim.count,
    excluded: { noConsent: claim.excluded.noConsent, expired: claim.excluded.expired, notYetValid: claim.excluded.notYetValid, revoked: claim.excluded.revoked },
    revoked: byPseudonym(claim.revoked).map((r) => ({ pseudonym: r.pseudonym, time: r.time })),
    nonInclusion: byPseudonym(claim.nonInclusion).map((p) => ({ pseudonym: p.pseudonym, count: p.count, left: neighbour(p.left), right: neighbour(p.right) })),
  }
  readConsentClaim(value)
  return value
}

/** The claim in an envelope's `ext` map, or undefined when it carries none. Throws like `readConsentClaim`. */
export function consentClaimOf(ext: { readonly [key: string]: CanonicalValue } | undefined): ConsentClaim | undefined {
  if (ext === undefined || !Object.hasOwn(ext, CONSENT_EXT_KEY)) return undefined
  return readConsentClaim(ext[CONSENT_EXT_KEY])
}

/** The envelope's claim in bytes-free summary form, or undefined when there is none or it does not read. Never throws. */
export function consentSummaryOf(ext: { readonly [key: string]: CanonicalValue } | undefined): Pick<ConsentClaim, 'at' | 'root' | 'count' | 'excluded'> | undefined {
  if (ext === undefined || !Object.hasOwn(ext, CONSENT_EXT_KEY)) return undefined
  const result = ClaimSchema.pick({ at: true, root: true, count: true, excluded: true }).safeParse(stripProofs(ext[CONSENT_EXT_KEY]))
  return result.success ? result.data : undefined
}

function stripProofs(value: CanonicalValue | undefined): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return value
  const { revoked: _revoked, nonInclusion: _proofs, ...rest } = value as { readonly [key: string]: CanonicalValue }
  return rest
}

/**
 * Checks that `claim` proves, for every pseudonym in `pseudonyms`, that it is
 * not in the claimed tree: a proof for it is listed (ClaimProofMissingError),
 * states the claim's count (ConsentCountMismatchError), and verifies against
 * the claim's root (`verifyConsentNonInclusion`: ConsentInvalidError,
 * ConsentNonInclusionInvalidError, or the Merkle errors, e.g.
 * LEDGER_ROOT_MISMATCH). Checks in the order of `pseudonyms`; the first
 * failure throws.
 */
export function checkConsentNonInclusion(claim: ConsentClaim, pseudonyms: readonly Uint8Array[]): void {
  const proofs = new Map(claim.nonInclusion.map((p) => [toHex(p.pseudonym), p]))
  for (const p of pseudonyms) {
    const proof = proofs.get(toHex(p))
    if (proof === undefined) throw new ClaimProofMissingError(p, claim.nonInclusion.length)
    if (proof.count !== claim.count) throw new ConsentCountMismatchError(p, claim.count, proof.count)
    verifyConsentNonInclusion(proof, claim.root)
  }
}

function requireIncreasing(field: string, pseudonyms: readonly Uint8Array[]): void {
  for (let i = 1; i < pseudonyms.length; i++) {
    if (compareBytes(pseudonyms[i - 1]!, pseudonyms[i]!) >= 0) {
      throw new ConsentInvalidError(SUBJECT, `${field}.${i}.pseudonym`, `is ${toHex(pseudonyms[i]!)}, want > ${toHex(pseudonyms[i - 1]!)}: the list is sorted by pseudonym without repeats`)
    }
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}
