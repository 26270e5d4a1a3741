/**
 * Signed statements: the small records a participant signs with its own key
 * and hands to another (site → coordinator, hub → coordinator). The
 * coordinator embeds the signed bytes verbatim in log entries, so an auditor
 * can check, years later, that a site really declared this delta hash for this
 * base model in this round, without trusting the coordinator's word for it.
 *
 * Bytes are canonical CBOR (ledger/core/canonical.ts); the signature covers
 * `STATEMENT_SIGNING_CONTEXT ‖ 0x00 ‖ body`, a context distinct from the log
 * entries' own, so a signed statement can never be replayed as an entry.
 *
 * Every statement carries its type `t`, so one kind can never be mistaken for
 * another, and a nonce or round, so none can be replayed into another context.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical, type CanonicalValue, sha256, verifySignature, type Signer } from '../ledger/core/index.ts'
import { StatementInvalidError } from './errors.ts'

export const STATEMENT_SIGNING_CONTEXT = 'fedlineage/statement/v1'

/** A statement's canonical bytes and the Ed25519 signature over them. */
export interface SignedStatement {
  readonly body: Uint8Array
  readonly signature: Uint8Array
}

const bytes = (length: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length === length, { message: `must be ${length} bytes` })
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const id = z.string().min(1).max(128)
const metrics = z.record(z.string().min(1).max(64), z.number().refine(Number.isFinite, 'must be finite'))

const HelloSchema = z.strictObject({
  t: z.literal('hello'),
  study: id,
  site: id,
  time: count,
  nonce: bytes(16),
})

const RoundStartSchema = z.strictObject({
  t: z.literal('round-start'),
  study: id,
  round: count.min(1),
  time: count,
  nonce: bytes(16),
})

/**
 * The research hub aborts the open round `round` (a bad plan, a site known
 * to be compromised, a study paused): signed by the hub key, fresh, once.
 * `reason` is the hub's own words, logged verbatim in `round-aborted`.
 */
const RoundAbortSchema = z.strictObject({
  t: z.literal('round-abort'),
  study: id,
  round: count.min(1),
  reason: z.string().min(1).max(1024),
  time: count,
  nonce: bytes(16),
})

/**
 * The research hub enrols a site in a running study (`action: "enroll"`,
 * with the site's Ed25519 public key) or removes one (`"remove"`). Signed by
 * the hub key, fresh, once; the next round plans accordingly.
 */
const MembershipSchema = z
  .strictObject({
    t: z.literal('membership'),
    study: id,
    action: z.enum(['enroll', 'remove']),
    site: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -'),
    key: bytes(32).optional(),
    time: count,
    nonce: bytes(16),
  })
  .refine((m) => (m.action === 'enroll') === (m.key !== undefined), { message: 'an enrolment carries the site key, a removal none' })

const UpdateEnvelopeSchema = z.strictObject({
  t: z.literal('update'),
  study: id,
  round: count.min(1),
  site: id,
  /** SHA-256 of the global model the delta was trained from. */
  base: bytes(32),
  /** SHA-256 of the delta's canonical weight bytes. */
  delta: bytes(32),
  /** Byte length of the delta's canonical encoding. */
  size: count,
  /** Number of local training examples (the FedAvg weight). */
  examples: count.min(1),
  metrics,
  nonce: bytes(16),
  time: count,
  /**
   * Extension point for what later rounds carry (DP noise parameters,
   * secure-aggregation masks' commitments): a map whose keys are claimed by
   * the feature that writes them. Claimed so far: `consent`, the consent
   * claim of a study with consent (consent-claim.ts).
   */
  ext: z.record(z.string(), z.custom<CanonicalValue>()).optional(),
})

const EvaluationSchema = z.strictObject({
  t: z.literal('evaluation'),
  study: id,
  /** The round whose committed model was evaluated; 0 is the initial model. */
  round: count,
  site: id,
  model: bytes(32),
  examples: count,
  metrics,
  time: count,
})

/** Credit units: canonical CBOR integers decode as number when small and bigint when large. */
const credits = z
  .union([z.bigint(), count])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n, 'must be >= 0')

/**
 * A site passes its round credit on to the patients it trained on that
 * round (patient-rewards.ts): `amount` is its allocation in the round's
 * `round-rewarded` entry, `count` the patients (the consent count of its
 * update), `root` the RFC 6962 root of the sorted allocation leaves.
 */
const PatientRewardsSchema = z.strictObject({
  t: z.literal('patient-rewards'),
  study: id,
  round: count.min(1),
  site: id,
  amount: credits,
  count,
  root: bytes(32),
  time: count,
})

/**
 * A site's approval of a study: its data steward reviewed the spec (model,
 * features, training, strategy, rounds, rewards, consent terms) and approves
 * exactly the spec whose canonical encoding hashes to `spec` (SHA-256 of
 * `encodeSpec(spec)`, the bytes `study-created` logs). A changed spec has
 * another hash and needs a new approval (site-control.ts).
 */
const ApprovalSchema = z.strictObject({
  t: z.literal('approval'),
  study: id,
  site: id,
  /** SHA-256 of the canonical study spec the site approves. */
  spec: bytes(32),
  time: count,
})

/** Stable refusal codes of a site: `SITE_` and capitals (e.g. SITE_POLICY_MIN_RECORDS). */
export const DECLINE_CODE_PATTERN = /^SITE_[A-Z0-9_]{1,60}$/

/**
 * A site declines the fit task of `round`: its own policy or its approval
 * refused it before anything left the site. `code` is the stable reason
 * (SITE_SPEC_UNAPPROVED, SITE_POLICY_MIN_RECORDS, …), `reason` the text its
 * log said. The round then does not wait for the site.
 */
const DeclinedSchema = z.strictObject({
  t: z.literal('declined'),
  study: id,
  site: id,
  round: count.min(1),
  code: z.string().regex(DECLINE_CODE_PATTERN, 'must be a SITE_ code in capitals'),
  reason: z.string().min(1).max(1024),
  time: count,
})

/** An X25519 public key (32 bytes). */
const x25519Key = bytes(32)
/** At most this many peers a secure-aggregation message may address (an entry must fit a tlog-tiles bundle). */
export const SECAGG_MAX_PEERS = 255

/**
 * Secure aggregation, step 1 (Bonawitz et al. 2017, AdvertiseKeys): a planned
 * site's two X25519 public keys for the round: `cPk` to encrypt the shares
 * it is sent, `sPk` to agree the pairwise masks. Signed by the site's
 * enrolled key, so the coordinator cannot substitute its own.
 */
const SecAggKeysSchema = z.strictObject({
  t: z.literal('secagg-keys'),
  study: id,
  round: count.min(1),
  site: id,
  cPk: x25519Key,
  sPk: x25519Key,
  time: count,
})

/**
 * Step 2 (ShareKeys): Shamir shares of the site's self-mask seed and mask
 * secret key, one secretbox per neighbour (encrypted to it, opaque to the
 * coordinator), and `bCommit`, SHA-256 of the self-mask seed, so a share a
 * revealer lies about is caught when the seed is rebuilt.
 */
const SecAggSharesSchema = z.strictObject({
  t: z.literal('secagg-shares'),
  study: id,
  round: count.min(1),
  site: id,
  bCommit: bytes(32),
  shares: z
    .array(z.strictObject({ to: id, box: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length >= 40 && b.length <= 1024, 'must be 40-1024 bytes') }))
    .max(SECAGG_MAX_PEERS),
  time: count,
})

/**
 * Step 4 (Unmasking): for each neighbour whose shares it holds, the share
 * the logged survivor set calls for: the self-mask seed's (`b`) of a
 * survivor, the mask key's (`s`) of a site that dropped out after sharing.
 * `survivors` is SHA-256 of the survivor set it was given (the logged
 * `secagg-phase` entry's), so a reveal made for another set is refused.
 */
const SecAggUnmaskSchema = z.strictObject({
  t: z.literal('secagg-unmask'),
  study: id,
  round: count.min(1),
  site: id,
  survivors: bytes(32),
  reveals: z
    .array(
      z.strictObject({
        of: id,
        kind: z.enum(['b', 's']),
        share: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length >= 2 && b.length <= 64, 'must be 2-64 bytes'),
      }),
    )
    .max(SECAGG_MAX_PEERS),
  time: count,
})

export type HelloStatement = z.infer<typeof HelloSchema>
export type RoundStartStatement = z.infer<typeof RoundStartSchema>
export type RoundAbortStatement = z.infer<typeof RoundAbortSchema>
export type MembershipStatement = z.infer<typeof MembershipSchema>
export type UpdateEnvelope = z.infer<typeof UpdateEnvelopeSchema>
export type EvaluationStatement = z.infer<typeof EvaluationSchema>
export type PatientRewardsStatement = z.infer<typeof PatientRewardsSchema>
export type ApprovalStatement = z.infer<typeof ApprovalSchema>
export type DeclinedStatement = z.infer<typeof DeclinedSchema>
export type SecAggKeysStatement = z.infer<typeof SecAggKeysSchema>
export type SecAggSharesStatement = z.infer<typeof SecAggSharesSchema>
export type SecAggUnmaskStatement = z.infer<typeof SecAggUnmaskSchema>
export type SecAggStatement = SecAggKeysStatement | SecAggSharesStatement | SecAggUnmaskStatement
export type Statement =
  | HelloStatement
  | RoundStartStatement
  | RoundAbortStatement
  | MembershipStatement
  | UpdateEnvelope
  | EvaluationStatement
  | PatientRewardsStatement
  | ApprovalStatement
  | DeclinedStatement
  | SecAggStatement

const SCHEMAS = {
  hello: HelloSchema,
  'round-start': RoundStartSchema,
  'round-abort': RoundAbortSchema,
  membership: MembershipSchema,
  update: UpdateEnvelopeSchema,
  evaluation: EvaluationSchema,
  'patient-rewards': PatientRewardsSchema,
  approval: ApprovalSchema,
  declined: DeclinedSchema,
  'secagg-keys': SecAggKeysSchema,
  'secagg-shares': SecAggSharesSchema,
  'secagg-unmask': SecAggUnmaskSchema,
} as const
export type StatementType = keyof typeof SCHEMAS
type StatementOf<T extends StatementType> = z.infer<(typeof SCHEMAS)[T]>

/** The bytes a statement signature covers. */
export function statementSigningMessage(body: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode(STATEMENT_SIGNING_CONTEXT)
  const out = new Uint8Array(context.length + 1 + body.length)
  out.set(context, 0)
  out.set(body, context.length + 1)
  return out
}

/** Encodes and signs a statement. Throws StatementInvalidError when it does not match its schema. */
export function signStatement(signer: Signer, statement: Statement): SignedStatement {
  const parsed = parseStatement(statement.t, statement)
  const body = encodeCanonical(parsed as CanonicalValue)
  return { body, signature: signer.sign(statementSigningMessage(body)) }
}

/**
 * Decodes a statement of the expected type from its canonical bytes.
 * Does NOT check the signature: the caller first learns who claims to have
 * signed it (`site`), looks up that key, then calls `verifyStatement`.
 */
export function decodeStatement<T extends StatementType>(type: T, body: Uint8Array): StatementOf<T> {
  const id = `${type}:${createHash('sha256').update(body).digest('base64')}`
  const known = decoded.get(id)
  if (known !== undefined) return known as StatementOf<T>
  let value: CanonicalValue
  try {
    value = decodeCanonical(body)
  } catch (err) {
    throw new StatementInvalidError(`${type} statement: ${(err as Error).message}`, { cause: err })
  }
  const statement = deepFreeze(parseStatement(type, value))
  if (decoded.size >= DECODED_CACHE_LIMIT) decoded.delete(decoded.keys().next().value!)
  decoded.set(id, statement)
  return statement
}

// One upload's envelope is decoded where it enters, by the admission check, by
// the decider, for its log entry and by the state fold: the same bytes, five
// schema parses. The recent results are kept by the SHA-256 of the bytes
// (about 1/20 of a parse, and right even if a caller changed the bytes in
// place), and frozen, so that no reader can change what the next one sees.
const DECODED_CACHE_LIMIT = 1024
const decoded = new Map<string, unknown>()

/** Freezes plain objects and arrays, all the way down (byte arrays cannot be frozen and are left as they are). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value
  for (const v of Object.values(value)) deepFreeze(v)
  return Object.freeze(value)
}

/** True when `signature` is a valid strict Ed25519 signature of the statement by `publicKey`. */
export function verifyStatement(publicKey: Uint8Array, signed: SignedStatement): boolean {
  return verifySignature(publicKey, statementSigningMessage(signed.body), signed.signature)
}

/** SHA-256 of a statement's canonical bytes: its identity for replay detection. */
export function statementHash(signed: SignedStatement): Uint8Array {
  return sha256(signed.body)
}

function parseStatement<T extends StatementType>(type: T, value: unknown): StatementOf<T> {
  const result = SCHEMAS[type].safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)'
    throw new StatementInvalidError(`${type} statement: field ${where}: ${issue?.message ?? 'invalid'}`)
  }
  return result.data as StatementOf<T>
}

export const SECAGG_STATEMENT_TYPES = ['secagg-keys', 'secagg-shares', 'secagg-unmask'] as const
export type SecAggStatementType = (typeof SECAGG_STATEMENT_TYPES)[number]

/** Decodes a secure-aggregation statement of any of its three types (its `t` says which). Throws StatementInvalidError. */
export function decodeSecAggStatement(body: Uint8Array): SecAggStatement {
  let value: CanonicalValue
  try {
    value = decodeCanonical(body)
  } catch (err) {
    throw new StatementInvalidError(`secure-aggregation statement: ${(err as Error).message}`, { cause: err })
  }
  const t = (value as { t?: unknown } | null)?.t
  if (typeof t !== 'string' || !(SECAGG_STATEMENT_TYPES as readonly string[]).includes(t))
    throw new StatementInvalidError(`secure-aggregation statement: field t: must be one of ${SECAGG_STATEMENT_TYPES.join(', ')}, got ${JSON.stringify(t)}`)
  return parseStatement(t as SecAggStatementType, value)
}
