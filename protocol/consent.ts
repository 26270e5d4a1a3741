/**
 * Consent receipts and the consent tree: what lets the log prove, per round,
 * on whose consent each site trained. The site, the coordinator and the
 * auditor all use these functions, so they live in the ledger's pure core.
 * Pure: no I/O, clock or randomness, and arguments are never mutated.
 *
 * **Pseudonyms.** A patient is named by `pseudonymOf(siteSecret, patientId)`,
 * HMAC-SHA256 keyed with a secret that never leaves the site. Nobody without
 * the secret can link a pseudonym to a patient, or test a guessed patient id.
 * Use one secret per study: with a shared secret, one patient has the same
 * pseudonym in every study of the site, and the studies become linkable.
 *
 * **Receipts and revocations** are canonical CBOR maps (ledger/core/canonical.ts):
 *
 *     { t: 'consent', pseudonym: 32 bytes, study, purposes: [sorted, unique],
 *       validFrom: ms, validUntil: ms | null, signer: 32-byte Ed25519 key }
 *     { t: 'consent-revocation', pseudonym, study, time: ms, signer }
 *
 * Times are milliseconds since the Unix epoch (UTC). Purposes are codes such
 * as v3-ActReason `HRESCH`: printable ASCII without spaces, sorted by code
 * unit (which for ASCII is bytewise) and unique, so a receipt has one
 * encoding. The signature covers `CONSENT_SIGNING_CONTEXT ‖ 0x00 ‖ body`,
 * with a context of its own so that a consent signature can never be
 * replayed as a statement or a log entry. `signer` is the key that signed:
 * the site's consent authority, or the patient's own key. Which keys are
 * trusted for which pseudonym is the caller's policy (`trustedSigners`).
 *
 * **Validity** (`consentStatus`, `isConsentValid`): a receipt is valid at
 * `atMs` for a study and a purpose when the study matches, the purpose is
 * listed, `validFrom <= atMs < validUntil` (validFrom inclusive, validUntil
 * exclusive; a null validUntil never expires), and it is not revoked. A
 * revocation at time T revokes the receipts of its pseudonym and study whose
 * validFrom <= T, for every `atMs >= T`. A receipt that starts after T is a new
 * consent given after the withdrawal and is not affected. A round is checked
 * at its own time, so a revocation is honoured from the first round that
 * opens at or after it (a round already open keeps the consent it started on).
 *
 * **The consent tree** of a round holds one leaf per patient the site trained
 * on, sorted by pseudonym (bytewise, strictly increasing: at most one receipt
 * per pseudonym). Leaf data is `pseudonym ‖ SHA-256(signed receipt bytes)`
 * (64 bytes; the signed bytes are `encodeSignedConsent`, body and signature),
 * and the root is the RFC 6962 root over `hashLeaf(leaf data)` (ledger/core/merkle.ts).
 * The root and the count go into the round's log, so that:
 *
 * - *inclusion*: a patient's receipt is leaf `index` of the tree of `count`
 *   leaves with that root (the RFC 6962 path);
 * - *non-inclusion*: a pseudonym P is not in the tree, shown by its two
 *   neighbours, leaves p_i < P < p_{i+1} at adjacent indices i and i + 1 with
 *   their paths; at the edges only the first leaf (P < p_0) or the last
 *   (P > p_{count-1}); in the empty tree, no leaf at all.
 *
 * Non-inclusion relies on the tree being sorted, which two paths cannot
 * show: a verifier trusts that the tree whose root the site committed to is
 * sorted, and an auditor who holds the leaves checks it (`consentTreeOf`
 * refuses unsorted or duplicate input; building the tree again from the
 * leaves must give the committed root). The count must come from the same
 * trusted place as the root: RFC 6962 paths bind a leaf's index only given
 * the tree size.
 */
import { createHmac } from 'node:crypto'
import { z } from 'zod'
import {
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  type CanonicalValue,
  HASH_LENGTH_BYTES,
  PUBLIC_KEY_LENGTH_BYTES,
  SIGNATURE_LENGTH_BYTES,
  SIGNING_CONTEXT_SEPARATOR,
  asPlainBytes,
  fromHex,
  sha256,
  toHex,
  RFC6962_SHA256,
  hashLeaf,
  inclusionProofFrom,
  rootFrom,
  verifyInclusion,
  type NodeReader,
  RootMismatchError,
  verifySignature,
  type Signer,
} from '../ledger/core/index.ts'
import { PatientRewardBundleSchema, checkPatientRewardBundle, type PatientRewardBundle } from './patient-reward-split.ts'
import { ProtocolInvalidArgumentError } from './errors.ts'
import {
  ConsentBundleMismatchError,
  ConsentDuplicatePseudonymError,
  ConsentInvalidError,
  ConsentNonInclusionInvalidError,
  ConsentPseudonymAbsentError,
  ConsentPseudonymPresentError,
  ConsentSignatureInvalidError,
  ConsentUntrustedSignerError,
} from './consent-errors.ts'

/** Domain-separation context of consent signatures (receipts and revocations). */
export const CONSENT_SIGNING_CONTEXT = 'fedlineage/consent/v1'

/** Prefixes the patient id in the pseudonym HMAC: HMAC(secret, context ‖ 0x00 ‖ UTF-8(patientId)). */
export const PSEUDONYM_CONTEXT = 'fedlineage/pseudonym/v1'

/** Length of a pseudonym: an HMAC-SHA256 output. */
export const PSEUDONYM_LENGTH_BYTES = 32

/** Shortest site secret `pseudonymOf` accepts (128 bits); 32 random bytes are recommended. */
export const MIN_SITE_SECRET_BYTES = 16

/** Length of a consent leaf's data: pseudonym ‖ SHA-256(signed receipt bytes). */
export const CONSENT_LEAF_DATA_BYTES = PSEUDONYM_LENGTH_BYTES + HASH_LENGTH_BYTES

/** `format` of the JSON proof bundles handed to patients (`consent prove` / `consent verify`). */
export const CONSENT_PROOF_FORMAT = 'fedlineage/consent-proof/v1'

// ---------------------------------------------------------------------------
// Records

/** A patient's consent to one study for the listed purposes over `[validFrom, validUntil)`. */
export interface ConsentReceipt {
  readonly t: 'consent'
  /** `pseudonymOf(siteSecret, patientId)`, 32 bytes. */
  readonly pseudonym: Uint8Array
  /** The study id (as in the study spec). */
  readonly study: string
  /** Purpose codes (e.g. v3-ActReason `HRESCH`), sorted and unique, at least one. */
  readonly purposes: readonly string[]
  /** First millisecond (UTC epoch) the consent covers, inclusive. */
  readonly validFrom: number
  /** First millisecond it no longer covers (exclusive), > validFrom; null when open-ended. */
  readonly validUntil: number | null
  /** Ed25519 public key that signs it: the site's consent authority or the patient. */
  readonly signer: Uint8Array
}

/** A patient's withdrawal from a study at `time` (ms since the epoch); see the module comment. */
export interface ConsentRevocation {
  readonly t: 'consent-revocation'
  readonly pseudonym: Uint8Array
  readonly study: string
  readonly time: number
  readonly signer: Uint8Array
}

export type ConsentRecord = ConsentReceipt | ConsentRevocation
export type ConsentRecordType = ConsentRecord['t']

/** A record's canonical bytes and the Ed25519 signature by `record.signer` over them. */
export interface SignedConsent {
  readonly body: Uint8Array
  readonly signature: Uint8Array
}

const bytes = (length: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length === length, { message: `must be ${length} bytes` })
const time = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const study = z.string().min(1).max(128)
const purpose = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces')

const ReceiptSchema = z.strictObject({
  t: z.literal('consent'),
  pseudonym: bytes(PSEUDONYM_LENGTH_BYTES),
  study,
  purposes: z.array(purpose).min(1, 'must list at least one purpose').max(64).refine(isStrictlySorted, 'must be sorted and unique'),
  validFrom: time,
  validUntil: time.nullable(),
  signer: bytes(PUBLIC_KEY_LENGTH_BYTES),
})

const RevocationSchema = z.strictObject({
  t: z.literal('consent-revocation'),
  pseudonym: bytes(PSEUDONYM_LENGTH_BYTES),
  study,
  time,
  signer: bytes(PUBLIC_KEY_LENGTH_BYTES),
})

const SCHEMAS = { consent: ReceiptSchema, 'consent-revocation': RevocationSchema } as const
const SUBJECTS = { consent: 'consent receipt', 'consent-revocation': 'consent revocation' } as const

function isStrictlySorted(values: readonly string[]): boolean {
  for (let i = 1; i < values.length; i++) if (!((values[i - 1] as string) < (values[i] as string))) return false
  return true
}

/** Validates a record against its schema; returns the parsed copy. Throws ConsentInvalidError naming the field. */
function parseRecord(value: unknown, subjectPrefix = ''): ConsentRecord {
  const type = typeof value === 'object' && value !== null ? (value as { t?: unknown }).t : undefined
  if (type !== 'consent' && type !== 'consent-revocation') {
    throw new ConsentInvalidError(`${subjectPrefix}consent record`, 't', `is ${JSON.stringify(type) ?? 'missing'}, want "consent" or "consent-revocation"`)
  }
  const subject = `${subjectPrefix}${SUBJECTS[type]}`
  const result = SCHEMAS[type].safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)'
    throw new ConsentInvalidError(subject, field, issue?.message ?? 'invalid')
  }
  const record = result.data as ConsentRecord
  if (record.t === 'consent' && record.validUntil !== null && record.validUntil <= record.validFrom) {
    throw new ConsentInvalidError(subject, 'validUntil', `is ${record.validUntil}, want > validFrom ${record.validFrom} (validUntil is exclusive)`)
  }
  return record
}

/** The bytes a consent signature covers: UTF-8(CONSENT_SIGNING_CONTEXT) ‖ 0x00 ‖ body. */
export function consentSigningMessage(body: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode(CONSENT_SIGNING_CONTEXT)
  const out = new Uint8Array(context.length + 1 + body.length)
  out.set(context, 0)
  out[context.length] = SIGNING_CONTEXT_SEPARATOR
  out.set(body, context.length + 1)
  return out
}

/**
 * Encodes and signs a receipt or a revocation. Requires `record.signer` to be
 * `signer.publicKey`. Throws ConsentInvalidError (naming the field) when the
 * record does not match its format, e.g. unsorted purposes or
 * validUntil <= validFrom.
 */
export function signConsent(signer: Signer, record: ConsentRecord): SignedConsent {
  const parsed = parseRecord(record)
  if (!equalBytes(parsed.signer, signer.publicKey)) {
    throw new ConsentInvalidError(SUBJECTS[parsed.t], 'signer', `is ${toHex(parsed.signer)}, but the signing key is ${toHex(signer.publicKey)}`)
  }
  const body = asPlainBytes(encodeCanonical(parsed as unknown as CanonicalValue))
  return { body, signature: signer.sign(consentSigningMessage(body)) }
}

/**
 * Decodes a receipt or revocation from its canonical bytes, of the `expected`
 * type when given. Does not check the signature (`verifyConsent` does).
 * Throws ConsentInvalidError naming the field (`encoding` when the bytes are
 * not canonical CBOR).
 */
export function decodeConsent(body: Uint8Array): ConsentRecord
export function decodeConsent<T extends ConsentRecordType>(body: Uint8Array, expected: T): Extract<ConsentRecord, { t: T }>
export function decodeConsent(body: Uint8Array, expected?: ConsentRecordType): ConsentRecord {
  let value: CanonicalValue
  try {
    value = decodeCanonical(body)
  } catch (err) {
    throw new ConsentInvalidError(expected === undefined ? 'consent record' : SUBJECTS[expected], 'encoding', (err as Error).message, { cause: err })
  }
  const record = parseRecord(value)
  if (expected !== undefined && record.t !== expected) {
    throw new ConsentInvalidError(SUBJECTS[expected], 't', `is "${record.t}", want "${expected}"`)
  }
  return record
}

/**
 * Decodes a signed record and checks its signature under the key it names
 * (`signer`), and, when `trustedSigners` is given, that this key is one of
 * them. Returns the record. Throws ConsentInvalidError,
 * ConsentSignatureInvalidError or ConsentUntrustedSignerError.
 */
export function verifyConsent(signed: SignedConsent, trustedSigners?: readonly Uint8Array[]): ConsentRecord {
  requireSignedShape('signed consent', signed)
  const record = decodeConsent(signed.body)
  const subject = SUBJECTS[record.t]
  if (!verifySignature(record.signer, consentSigningMessage(signed.body), signed.signature)) {
    throw new ConsentSignatureInvalidError(subject, record.signer)
  }
  if (trustedSigners !== undefined && !trustedSigners.some((k) => equalBytes(k, record.signer))) {
    throw new ConsentUntrustedSignerError(subject, record.signer)
  }
  return record
}

function requireSignedShape(subject: string, signed: SignedConsent): void {
  if (!(signed?.body instanceof Uint8Array)) throw new ConsentInvalidError(subject, 'body', 'must be bytes')
  if (!(signed.signature instanceof Uint8Array) || signed.signature.length !== SIGNATURE_LENGTH_BYTES) {
    throw new ConsentInvalidError(subject, 'signature', `must be ${SIGNATURE_LENGTH_BYTES} bytes`)
  }
}

/**
 * The signed record as one byte string, canonical CBOR `{ body, signature }`:
 * what is stored, handed to patients, and hashed into the consent tree.
 */
export function encodeSignedConsent(signed: SignedConsent): Uint8Array {
  requireSignedShape('signed consent', signed)
  return asPlainBytes(encodeCanonical({ body: signed.body, signature: signed.signature }))
}

/** Inverse of `encodeSignedConsent`. Checks the shape, not the signature. Throws ConsentInvalidError. */
export function decodeSignedConsent(bytes: Uint8Array): SignedConsent {
  const subject = 'signed consent'
  let value: CanonicalValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    throw new ConsentInvalidError(subject, 'encoding', (err as Error).message, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ConsentInvalidError(subject, '(root)', 'must be a map { body, signature }')
  }
  const map = value as { readonly [key: string]: CanonicalValue }
  const extra = Object.keys(map).find((k) => k !== 'body' && k !== 'signature')
  if (extra !== undefined) throw new ConsentInvalidError(subject, extra, 'is not a field of a signed consent')
  const signed = { body: map.body, signature: map.signature } as SignedConsent
  requireSignedShape(subject, signed)
  return signed
}

/** SHA-256 of `encodeSignedConsent(signed)`: the receipt's identity in the consent tree. */
export function consentReceiptHash(signed: SignedConsent): Uint8Array {
  return sha256(encodeSignedConsent(signed))
}

// ---------------------------------------------------------------------------
// Pseudonyms and validity

/**
 * The patient's pseudonym at this site: HMAC-SHA256 keyed with `siteSecret`
 * over `UTF-8(PSEUDONYM_CONTEXT) ‖ 0x00 ‖ UTF-8(patientId)`. Deterministic.
 * `patientId` is the site's own patient id, exactly as its records carry it
 * (for FHIR, the Patient's logical id, `123` in `Patient/123`). Requires
 * siteSecret.length >= MIN_SITE_SECRET_BYTES and a non-empty patientId
 * (LEDGER_INVALID_ARGUMENT).
 */
export function pseudonymOf(siteSecret: Uint8Array, patientId: string): Uint8Array {
  if (!(siteSecret instanceof Uint8Array) || siteSecret.length < MIN_SITE_SECRET_BYTES) {
    const got = siteSecret instanceof Uint8Array ? `${siteSecret.length} bytes` : typeof siteSecret
    throw new ProtocolInvalidArgumentError(`pseudonym: site secret is ${got}, want at least ${MIN_SITE_SECRET_BYTES} bytes`)
  }
  if (typeof patientId !== 'string' || patientId.length === 0) {
    throw new ProtocolInvalidArgumentError(`pseudonym: patient id is ${JSON.stringify(patientId)}, want a non-empty string`)
  }
  const hmac = createHmac('sha256', siteSecret)
  hmac.update(PSEUDONYM_CONTEXT)
  hmac.update(new Uint8Array([SIGNING_CONTEXT_SEPARATOR]))
  hmac.update(patientId, 'utf8')
  return asPlainBytes(hmac.digest())
}

/** What a consent query asks: may this receipt be used for `study` and `purpose` at `atMs`? */
export interface ConsentQuery {
  readonly study: string
  readonly purpose: string
  /** The time the consent must cover, ms since the epoch: the round's time. */
  readonly atMs: number
  /** The time of the revocation that applies to this receipt, if any (`revocationTimeFor`). */
  readonly revokedAtMs?: number
}

/**
 * Why a receipt is or is not valid for a query, checked in this order (the
 * first that applies wins): `wrong-study`, `purpose-not-covered`, `revoked`,
 * `not-yet-valid` (atMs < validFrom), `expired` (atMs >= validUntil), else
 * `valid`.
 */
export type ConsentStatus = 'valid' | 'wrong-study' | 'purpose-not-covered' | 'revoked' | 'not-yet-valid' | 'expired'

/**
 * The status of `receipt` for `query`; see `ConsentStatus` for the order and
 * the module comment for the period and revocation rules: validFrom
 * inclusive, validUntil exclusive, and a revocation at T applies when
 * validFrom <= T <= atMs.
 */
export function consentStatus(receipt: ConsentReceipt, query: ConsentQuery): ConsentStatus {
  if (receipt.study !== query.study) return 'wrong-study'
  if (!receipt.purposes.includes(query.purpose)) return 'purpose-not-covered'
  const revoked = query.revokedAtMs
  if (revoked !== undefined && receipt.validFrom <= revoked && revoked <= query.atMs) return 'revoked'
  if (query.atMs < receipt.validFrom) return 'not-yet-valid'
  if (receipt.validUntil !== null && query.atMs >= receipt.validUntil) return 'expired'
  return 'valid'
}

/** Whether `receipt` covers `query`: `consentStatus(receipt, query) === 'valid'`. */
export function isConsentValid(receipt: ConsentReceipt, query: ConsentQuery): boolean {
  return consentStatus(receipt, query) === 'valid'
}

/**
 * The revocation time that applies to `receipt`: the earliest `time` among the
 * revocations of its pseudonym and study with time >= receipt.validFrom;
 * undefined when none does. Pass it as `revokedAtMs`.
 */
export function revocationTimeFor(receipt: ConsentReceipt, revocations: readonly ConsentRevocation[]): number | undefined {
  let earliest: number | undefined
  for (const r of revocations) {
    if (r.study !== receipt.study || !equalBytes(r.pseudonym, receipt.pseudonym) || r.time < receipt.validFrom) continue
    if (earliest === undefined || r.time < earliest) earliest = r.time
  }
  return earliest
}

// ---------------------------------------------------------------------------
// The consent tree

/** One leaf of a consent tree: a pseudonym and the hash of the signed receipt the site used for it. */
export interface ConsentLeaf {
  readonly pseudonym: Uint8Array
  /** `consentReceiptHash(signed receipt)`. */
  readonly receiptHash: Uint8Array
}

/** The leaf of a signed receipt. Decodes the body (not the signature). Throws ConsentInvalidError, also for a revocation. */
export function consentLeafOf(signed: SignedConsent): ConsentLeaf {
  const receipt = decodeConsent(signed.body, 'consent')
  return { pseudonym: receipt.pseudonym, receiptHash: consentReceiptHash(signed) }
}

/** `pseudonym ‖ receiptHash`, the 64 bytes hashed into the tree. */
export function consentLeafData(leaf: ConsentLeaf): Uint8Array {
  requireLeaf('consent leaf', '', leaf)
  const data = new Uint8Array(CONSENT_LEAF_DATA_BYTES)
  data.set(leaf.pseudonym, 0)
  data.set(leaf.receiptHash, PSEUDONYM_LENGTH_BYTES)
  return data
}

/** `hashLeaf(consentLeafData(leaf))`: SHA-256(0x00 ‖ pseudonym ‖ receiptHash). */
export function consentLeafHash(leaf: ConsentLeaf): Uint8Array {
  return hashLeaf(consentLeafData(leaf))
}

/**
 * A consent tree built once and then queried for proofs: O(count) memory in
 * flat arrays (32 bytes per leaf pseudonym, per receipt hash and per perfect
 * node), O(log count) hashes per proof. Treat as opaque and read-only; build
 * it with `consentTreeOf`.
 */
export interface ConsentTree {
  readonly root: Uint8Array
  /** Number of leaves. */
  readonly count: number
  /** Leaf pseudonyms in tree order (strictly increasing), 32 bytes each, packed. */
  readonly pseudonyms: Uint8Array
  /** Receipt hashes parallel to `pseudonyms`, packed. */
  readonly receiptHashes: Uint8Array
  /** `levels[l]` packs the perfect nodes of level l (level 0: the leaf hashes). */
  readonly levels: readonly Uint8Array[]
}

/**
 * Builds the tree over `leaves`, sorting a copy by pseudonym. Throws
 * ConsentDuplicatePseudonymError when two leaves share a pseudonym, and
 * ConsentInvalidError for a leaf of the wrong shape. O(count log count)
 * comparisons and 2·count hashes.
 */
export function consentTreeOf(leaves: readonly ConsentLeaf[]): ConsentTree {
  const count = leaves.length
  leaves.forEach((leaf, i) => requireLeaf('consent tree', `leaves[${i}].`, leaf))
  // Sort keys: a pseudonym as a latin1 string compares like its bytes, and string comparison is fast.
  const keys = leaves.map((leaf, i) => ({ key: latin1(leaf.pseudonym), i }))
  keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const pseudonyms = new Uint8Array(count * PSEUDONYM_LENGTH_BYTES)
  const receiptHashes = new Uint8Array(count * HASH_LENGTH_BYTES)
  const level0 = new Uint8Array(count * HASH_LENGTH_BYTES)
  const data = new Uint8Array(CONSENT_LEAF_DATA_BYTES)
  for (let j = 0; j < count; j++) {
    const { key, i } = keys[j]!
    if (j > 0 && keys[j - 1]!.key === key) throw new ConsentDuplicatePseudonymError(leaves[i]!.pseudonym)
    const leaf = leaves[i]!
    pseudonyms.set(leaf.pseudonym, j * PSEUDONYM_LENGTH_BYTES)
    receiptHashes.set(leaf.receiptHash, j * HASH_LENGTH_BYTES)
    data.set(leaf.pseudonym, 0)
    data.set(leaf.receiptHash, PSEUDONYM_LENGTH_BYTES)
    level0.set(hashLeaf(data), j * HASH_LENGTH_BYTES)
  }
  const levels: Uint8Array[] = [level0]
  for (let width = count; width >= 2; width = Math.floor(width / 2)) {
    const below = levels[levels.length - 1]!
    const above = new Uint8Array(Math.floor(width / 2) * HASH_LENGTH_BYTES)
    for (let k = 0; k < Math.floor(width / 2); k++) {
      above.set(RFC6962_SHA256.hashChildren(slot(below, 2 * k), slot(below, 2 * k + 1)), k * HASH_LENGTH_BYTES)
    }
    levels.push(above)
  }
  const root = rootFrom(RFC6962_SHA256, nodeReader(levels), count)
  return Object.freeze({ root, count, pseudonyms, receiptHashes, levels: Object.freeze(levels) })
}

/** The root and leaf count of the tree over these signed receipts (`consentTreeOf(receipts.map(consentLeafOf))`). */
export function consentRoot(receipts: readonly SignedConsent[]): { readonly root: Uint8Array; readonly count: number } {
  const tree = consentTreeOf(receipts.map(consentLeafOf))
  return { root: tree.root, count: tree.count }
}

/** The leaf at `index` of the tree (copies). Requires 0 <= index < tree.count. */
export function consentLeafAt(tree: ConsentTree, index: number): ConsentLeaf {
  if (!Number.isSafeInteger(index) || index < 0 || index >= tree.count) {
    throw new ProtocolInvalidArgumentError(`consent tree: index is ${String(index)}, want 0 <= index < ${tree.count}`)
  }
  return { pseudonym: slot(tree.pseudonyms, index).slice(), receiptHash: slot(tree.receiptHashes, index).slice() }
}

/** The index of `pseudonym`'s leaf, or `-(insertion point) - 1` when it has none (binary search). */
export function findConsentLeaf(tree: ConsentTree, pseudonym: Uint8Array): number {
  let lo = 0
  let hi = tree.count
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    const c = compareAt(tree.pseudonyms, mid, pseudonym)
    if (c === 0) return mid
    if (c < 0) lo = mid + 1
    else hi = mid
  }
  return -lo - 1
}

/** An inclusion proof of one leaf: its index, the tree size, and the RFC 6962 path (leaf level first). */
export interface ConsentInclusionProof {
  readonly index: number
  readonly count: number
  readonly proof: readonly Uint8Array[]
}

/**
 * The inclusion proof of `pseudonym`'s leaf, with the leaf itself. Throws
 * ConsentPseudonymAbsentError when the tree has no leaf for it.
 */
export function proveConsentInclusion(tree: ConsentTree, pseudonym: Uint8Array): ConsentInclusionProof & { readonly leaf: ConsentLeaf } {
  requirePseudonym('consent inclusion proof', 'pseudonym', pseudonym)
  const index = findConsentLeaf(tree, pseudonym)
  if (index < 0) throw new ConsentPseudonymAbsentError(pseudonym, tree.count)
  return { index, count: tree.count, proof: pathOf(tree, index), leaf: consentLeafAt(tree, index) }
}

/**
 * Checks that the signed `receipt` is leaf `inclusion.index` of the tree of
 * `inclusion.count` leaves with `root`, and returns the decoded receipt. Does
 * not check the receipt's signature (`verifyConsent` does; the bundle checker
 * does both). Throws ConsentInvalidError for a malformed receipt, then the
 * Merkle errors of `verifyInclusion` (LEDGER_PROOF_INDEX_OUT_OF_RANGE,
 * LEDGER_PROOF_WRONG_LENGTH, LEDGER_HASH_WRONG_LENGTH, LEDGER_ROOT_MISMATCH).
 */
export function verifyConsentInclusion(receipt: SignedConsent, inclusion: ConsentInclusionProof, root: Uint8Array): ConsentReceipt {
  const decoded = decodeConsent(receipt.body, 'consent')
  const leaf: ConsentLeaf = { pseudonym: decoded.pseudonym, receiptHash: consentReceiptHash(receipt) }
  verifyInclusion(RFC6962_SHA256, inclusion.index, inclusion.count, consentLeafHash(leaf), inclusion.proof, root)
  return decoded
}

/** One neighbour in a non-inclusion proof: a leaf, its index and its inclusion path. */
export interface ConsentNeighbour {
  readonly index: number
  readonly leaf: ConsentLeaf
  readonly proof: readonly Uint8Array[]
}

/**
 * Proof that `pseudonym` has no leaf in a tree of `count` leaves: its
 * neighbours `left` (the largest smaller pseudonym) and `right` (the smallest
 * larger one). `left` is null when the pseudonym sorts before every leaf,
 * `right` when after every leaf, both when the tree is empty.
 */
export interface ConsentNonInclusionProof {
  readonly pseudonym: Uint8Array
  readonly count: number
  readonly left: ConsentNeighbour | null
  readonly right: ConsentNeighbour | null
}

/** The non-inclusion proof of `pseudonym`. Throws ConsentPseudonymPresentError when it has a leaf. */
export function proveConsentNonInclusion(tree: ConsentTree, pseudonym: Uint8Array): ConsentNonInclusionProof {
  requirePseudonym('consent non-inclusion proof', 'pseudonym', pseudonym)
  const found = findConsentLeaf(tree, pseudonym)
  if (found >= 0) throw new ConsentPseudonymPresentError(pseudonym, found)
  const insertion = -found - 1
  const neighbour = (index: number): ConsentNeighbour | null => (index < 0 || index >= tree.count ? null : { index, leaf: consentLeafAt(tree, index), proof: pathOf(tree, index) })
  return { pseudonym: pseudonym.slice(), count: tree.count, left: neighbour(insertion - 1), right: neighbour(insertion) }
}

/**
 * Checks a non-inclusion proof against `root`. Returns normally or throws,
 * checking in this order:
 * - the shape: ConsentInvalidError (a pseudonym or leaf of the wrong length,
 *   a count that is not a safe integer >= 0);
 * - the neighbours bracket the pseudonym (ConsentNonInclusionInvalidError,
 *   `field` names the part): none in the empty tree, at least one otherwise;
 *   without `left`, `right.index` is 0; without `right`, `left.index` is
 *   count - 1; with both, `right.index = left.index + 1` and
 *   `left.pseudonym < right.pseudonym`; and
 *   `left.pseudonym < pseudonym < right.pseudonym`, strictly;
 * - each neighbour's path (the Merkle errors of `verifyInclusion`), or, for
 *   the empty tree, that `root` is the empty root (LEDGER_ROOT_MISMATCH).
 */
export function verifyConsentNonInclusion(proof: ConsentNonInclusionProof, root: Uint8Array): void {
  requirePseudonym('consent non-inclusion proof', 'pseudonym', proof.pseudonym)
  const subject = `consent non-inclusion proof for pseudonym ${toHex(proof.pseudonym)}`
  const { count, left, right } = proof
  if (!Number.isSafeInteger(count) || count < 0) throw new ConsentInvalidError(subject, 'count', `is ${String(count)}, want a safe integer >= 0`)
  if (left !== null) requireLeaf(subject, 'left.leaf.', left.leaf)
  if (right !== null) requireLeaf(subject, 'right.leaf.', right.leaf)
  const bad = (field: string, problem: string) => new ConsentNonInclusionInvalidError(subject, field, problem)

  if (count === 0) {
    if (left !== null) throw bad('left', 'is given, but the tree is empty')
    if (right !== null) throw bad('right', 'is given, but the tree is empty')
    const empty = RFC6962_SHA256.emptyRoot()
    if (!(root instanceof Uint8Array) || root.length !== HASH_LENGTH_BYTES) throw new ConsentInvalidError(subject, 'root', `must be ${HASH_LENGTH_BYTES} bytes`)
    if (!equalBytes(root, empty)) throw new RootMismatchError(subject, 'root', root, empty)
    return
  }
  if (left === null && right === null) throw bad('left', `and right are both missing, want at least one neighbour in a tree of ${count} leaves`)
  if (left === null) {
    if (right!.index !== 0) throw bad('right.index', `is ${right!.index}, want 0: without a left neighbour the right one must be the first leaf`)
  } else if (right === null) {
    if (left.index !== count - 1) throw bad('left.index', `is ${left.index}, want ${count - 1}: without a right neighbour the left one must be the last leaf`)
  } else {
    if (right.index !== left.index + 1) throw bad('right.index', `is ${right.index}, want ${left.index + 1} (left.index + 1): neighbours must be adjacent leaves`)
    if (compareBytes(left.leaf.pseudonym, right.leaf.pseudonym) >= 0) {
      throw bad('right.leaf.pseudonym', `is ${toHex(right.leaf.pseudonym)}, want > left.leaf.pseudonym ${toHex(left.leaf.pseudonym)}: leaves are strictly increasing`)
    }
  }
  if (left !== null) {
    const c = compareBytes(left.leaf.pseudonym, proof.pseudonym)
    if (c >= 0) throw bad('left.leaf.pseudonym', `is ${toHex(left.leaf.pseudonym)}, want < the pseudonym${c === 0 ? ' (it is the pseudonym: the leaf is in the tree)' : ''}`)
  }
  if (right !== null) {
    const c = compareBytes(proof.pseudonym, right.leaf.pseudonym)
    if (c >= 0) throw bad('right.leaf.pseudonym', `is ${toHex(right.leaf.pseudonym)}, want > the pseudonym${c === 0 ? ' (it is the pseudonym: the leaf is in the tree)' : ''}`)
  }
  if (left !== null) verifyInclusion(RFC6962_SHA256, left.index, count, consentLeafHash(left.leaf), left.proof, root)
  if (right !== null) verifyInclusion(RFC6962_SHA256, right.index, count, consentLeafHash(right.leaf), right.proof, root)
}

// ---------------------------------------------------------------------------
// Proof bundles (JSON, for patients)

interface BundleHeader {
  readonly format: typeof CONSENT_PROOF_FORMAT
  /** The round whose consent tree this is. */
  readonly round: number
  /** Hex root of the round's consent tree, as the site committed it in the log. */
  readonly root: string
  readonly count: number
  /**
   * Optional (bundles without it stay valid): where the log holds that root,
   * as a c2sp.org/tlog-proof of the site's `update-accepted` entry
   * (consent-log-proof.ts), from `consent prove --format tlog-proof`.
   */
  readonly log?: ConsentLogProofJson
}

/** The format of `ConsentLogProofJson.tlogProof`. */
export const CONSENT_LOG_PROOF_FORMAT = 'c2sp.org/tlog-proof@v1'

/**
 * The log part of a consent bundle: the tlog-proof text verbatim (its
 * `extra` the entry's bytes, its checkpoint with the witnesses'
 * cosignatures), and the site's update envelope body in hex when the entry
 * names it by hash (a blob) rather than embedding it.
 */
export interface ConsentLogProofJson {
  readonly format: typeof CONSENT_LOG_PROOF_FORMAT
  readonly tlogProof: string
  readonly envelope?: string
  /**
   * When the bundle carries a `reward`: the tlog-proof (same checkpoint) of
   * the site's `patient-rewards` entry of the round, whose signed statement
   * commits to the allocation root and the site's amount.
   */
  readonly rewards?: string
}

/** A patient's receipt is in the round's consent tree. Hex fields; `receipt` is `encodeSignedConsent`. */
export interface ConsentInclusionBundle extends BundleHeader {
  readonly kind: 'inclusion'
  readonly receipt: string
  readonly index: number
  readonly path: readonly string[]
  /**
   * Optional (bundles without it stay valid): the patient's share of the
   * site's credit for the round and the inclusion proof of its allocation
   * leaf against the root the site signed in its `patient-rewards` statement
   * (patient-rewards.ts).
   */
  readonly reward?: PatientRewardBundle
}

/** One neighbour leaf in hex: its index, pseudonym, receipt hash and path. */
export interface ConsentNeighbourJson {
  readonly index: number
  readonly pseudonym: string
  readonly receiptHash: string
  readonly path: readonly string[]
}

/** A pseudonym is not in the round's consent tree: its neighbours (never their receipts, only their hashes). */
export interface ConsentNonInclusionBundle extends BundleHeader {
  readonly kind: 'non-inclusion'
  readonly pseudonym: string
  readonly left: ConsentNeighbourJson | null
  readonly right: ConsentNeighbourJson | null
}

export type ConsentProofBundle = ConsentInclusionBundle | ConsentNonInclusionBundle

/** The bundle for an inclusion proof of `receipt` in round `round`'s tree with `root`. */
export function makeConsentInclusionBundle(round: number, receipt: SignedConsent, inclusion: ConsentInclusionProof, root: Uint8Array): ConsentInclusionBundle {
  return {
    format: CONSENT_PROOF_FORMAT,
    kind: 'inclusion',
    round,
    root: toHex(root),
    count: inclusion.count,
    receipt: toHex(encodeSignedConsent(receipt)),
    index: inclusion.index,
    path: inclusion.proof.map(toHex),
  }
}

/** The bundle for a non-inclusion proof in round `round`'s tree with `root`. */
export function makeConsentNonInclusionBundle(round: number, proof: ConsentNonInclusionProof, root: Uint8Array): ConsentNonInclusionBundle {
  const neighbour = (n: ConsentNeighbour | null): ConsentNeighbourJson | null =>
    n === null ? null : { index: n.index, pseudonym: toHex(n.leaf.pseudonym), receiptHash: toHex(n.leaf.receiptHash), path: n.proof.map(toHex) }
  return {
    format: CONSENT_PROOF_FORMAT,
    kind: 'non-inclusion',
    round,
    root: toHex(root),
    count: proof.count,
    pseudonym: toHex(proof.pseudonym),
    left: neighbour(proof.left),
    right: neighbour(proof.right),
  }
}

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'must be lowercase hex')
const hash = hex.length(HASH_LENGTH_BYTES * 2, `must be ${HASH_LENGTH_BYTES} bytes of hex`)
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const header = {
  format: z.literal(CONSENT_PROOF_FORMAT),
  round: uint.min(1),
  root: hash,
  count: uint,
  log: z.strictObject({ format: z.literal(CONSENT_LOG_PROOF_FORMAT), tlogProof: z.string().min(1), envelope: hex.optional(), rewards: z.string().min(1).optional() }).optional(),
}
const NeighbourSchema = z.strictObject({ index: uint, pseudonym: hash, receiptHash: hash, path: z.array(hash) }).nullable()
const BundleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...header, kind: z.literal('inclusion'), receipt: hex, index: uint, path: z.array(hash), reward: PatientRewardBundleSchema.optional() }),
  z.strictObject({ ...header, kind: z.literal('non-inclusion'), pseudonym: hash, left: NeighbourSchema, right: NeighbourSchema }),
])

/** What a checked bundle proves. */
export type CheckedConsentProof =
  | {
      readonly kind: 'inclusion'
      readonly round: number
      readonly root: Uint8Array
      readonly count: number
      readonly pseudonym: Uint8Array
      readonly receipt: ConsentReceipt
      /** The patient's reward for the round, when the bundle carries one (its path checked). */
      readonly reward?: { readonly amount: bigint; readonly siteAmount: bigint; readonly root: Uint8Array; readonly count: number }
    }
  | { readonly kind: 'non-inclusion'; readonly round: number; readonly root: Uint8Array; readonly count: number; readonly pseudonym: Uint8Array }

/** What the checker of a bundle trusts, from outside the bundle. */
export interface ConsentBundleTrust {
  /** The round's consent root as committed in the log; the bundle's must equal it. */
  readonly root?: Uint8Array
  /** The round's consent count as committed in the log. */
  readonly count?: number
  /** Keys trusted to sign the receipt of an inclusion bundle. */
  readonly trustedSigners?: readonly Uint8Array[]
  /** The root of the round's allocation tree as logged in the site's `patient-rewards` entry; a bundle's `reward.root` must equal it. */
  readonly rewardRoot?: Uint8Array
}

/**
 * Checks a parsed JSON bundle. A bundle is only as good as its root: the
 * caller passes the root and count the site committed in the round's log
 * (`trust.root`, `trust.count`), and without them the result only says the
 * proof is consistent with the root it carries.
 *
 * Inclusion: the receipt's signature (under `trust.trustedSigners` when
 * given), then its path; with a `reward`, its allocation tree has one leaf
 * per consent leaf (same count), and the path of the leaf {pseudonym,
 * amount} leads to its root (`trust.rewardRoot` when given). Non-inclusion: `verifyConsentNonInclusion`. Throws
 * ConsentInvalidError (a malformed bundle, naming the field),
 * ConsentBundleMismatchError, or the errors of the verification.
 */
export function checkConsentBundle(value: unknown, trust: ConsentBundleTrust = {}): CheckedConsentProof {
  const parsed = BundleSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConsentInvalidError('consent proof bundle', issue && issue.path.length > 0 ? issue.path.join('.') : '(root)', issue?.message ?? 'invalid')
  }
  const b = parsed.data
  const root = fromHex(b.root)
  if (trust.root !== undefined && !equalBytes(trust.root, root)) throw new ConsentBundleMismatchError('root', toHex(trust.root), b.root)
  if (trust.count !== undefined && trust.count !== b.count) throw new ConsentBundleMismatchError('count', String(trust.count), String(b.count))
  if (b.kind === 'inclusion') {
    const signed = decodeSignedConsent(fromHex(b.receipt))
    const record = verifyConsent(signed, trust.trustedSigners)
    if (record.t !== 'consent') throw new ConsentInvalidError('consent proof bundle', 'receipt', `is a ${record.t}, want a consent receipt`)
    const receipt = verifyConsentInclusion(signed, { index: b.index, count: b.count, proof: b.path.map((p) => fromHex(p)) }, root)
    if (b.reward === undefined) return { kind: 'inclusion', round: b.round, root, count: b.count, pseudonym: receipt.pseudonym, receipt }
    if (b.reward.count !== b.count) throw new ConsentBundleMismatchError('reward.count', String(b.count), String(b.reward.count))
    const reward = checkPatientRewardBundle(b.reward, receipt.pseudonym, trust.rewardRoot)
    return { kind: 'inclusion', round: b.round, root, count: b.count, pseudonym: receipt.pseudonym, receipt, reward: { ...reward, siteAmount: BigInt(b.reward.siteAmount) } }
  }
  const neighbour = (n: z.infer<typeof NeighbourSchema>): ConsentNeighbour | null =>
    n === null ? null : { index: n.index, leaf: { pseudonym: fromHex(n.pseudonym), receiptHash: fromHex(n.receiptHash) }, proof: n.path.map((p) => fromHex(p)) }
  const pseudonym = fromHex(b.pseudonym)
  verifyConsentNonInclusion({ pseudonym, count: b.count, left: neighbour(b.left), right: neighbour(b.right) }, root)
  return { kind: 'non-inclusion', round: b.round, root, count: b.count, pseudonym }
}

// ---------------------------------------------------------------------------
// Helpers

function requirePseudonym(subject: string, field: string, pseudonym: Uint8Array): void {
  if (!(pseudonym instanceof Uint8Array) || pseudonym.length !== PSEUDONYM_LENGTH_BYTES) {
    const got = pseudonym instanceof Uint8Array ? `${pseudonym.length} bytes` : typeof pseudonym
    throw new ConsentInvalidError(subject, field, `is ${got}, want ${PSEUDONYM_LENGTH_BYTES} bytes`)
  }
}

function requireLeaf(subject: string, prefix: string, leaf: ConsentLeaf): void {
  requirePseudonym(subject, `${prefix}pseudonym`, leaf?.pseudonym)
  if (!(leaf.receiptHash instanceof Uint8Array) || leaf.receiptHash.length !== HASH_LENGTH_BYTES) {
    const got = leaf.receiptHash instanceof Uint8Array ? `${leaf.receiptHash.length} bytes` : typeof leaf.receiptHash
    throw new ConsentInvalidError(subject, `${prefix}receiptHash`, `is ${got}, want ${HASH_LENGTH_BYTES} bytes`)
  }
}

/** The 32-byte slot `index` of a packed array (a view, never handed out without a copy). */
function slot(packed: Uint8Array, index: number): Uint8Array {
  return packed.subarray(index * HASH_LENGTH_BYTES, (index + 1) * HASH_LENGTH_BYTES)
}

function nodeReader(levels: readonly Uint8Array[]): NodeReader {
  return (level, index) => slot(levels[level]!, index)
}

/** The inclusion path of leaf `index`, copied out of the tree so that callers may do what they like with it. */
function pathOf(tree: ConsentTree, index: number): Uint8Array[] {
  return inclusionProofFrom(RFC6962_SHA256, nodeReader(tree.levels), index, tree.count).map((h) => h.slice())
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** Bytewise comparison, shorter first on a common prefix. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

/** compareBytes(packed slot `index`, p) for a 32-byte p. */
function compareAt(packed: Uint8Array, index: number, p: Uint8Array): number {
  const base = index * PSEUDONYM_LENGTH_BYTES
  for (let i = 0; i < PSEUDONYM_LENGTH_BYTES; i++) {
    const d = (packed[base + i] as number) - (p[i] as number)
    if (d !== 0) return d
  }
  return 0
}
