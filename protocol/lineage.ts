/**
 * The lineage records: what the coordinator writes into the log for a study,
 * one entry kind per event, and how to read them back. The ledger itself only
 * knows `kind` strings and canonical bodies; this module gives them meaning,
 * and the auditor reads the log through it too, so both sides agree on every
 * field.
 *
 * Design rules, so later features fit without a format break:
 * - A participant's own signed statement (update envelope, evaluation, round
 *   start, patient rewards, and a refused one) is embedded verbatim, so its
 *   signature stays checkable.
 * - Every blob a round depends on is named by SHA-256: the parent model, each
 *   input delta, the new model. A replay needs nothing else.
 * - Every entry fits a tlog-tiles entry bundle (at most 65,535 bytes; the
 *   ledger refuses larger ones). An update envelope, the one statement that
 *   grows with the data (a consent claim carries a ~900-byte non-inclusion
 *   proof per revoked patient), is embedded by reference when its body is
 *   over STATEMENT_INLINE_MAX_BYTES: `{ blob, sig }`, its body stored as the
 *   blob named by its SHA-256 (which is also the statement's hash), and the
 *   few fields the state fold reads from it (`summary`: metrics and the
 *   consent summary) beside it. The audit reads the body back from the blob
 *   and re-decides the entry byte for byte, summary included.
 * - A round commit lists its inputs sorted by site id, which is also the
 *   aggregation order, and names the strategy with all of its parameters.
 * - Bodies are maps, so new optional fields (consent roots, rewards, privacy
 *   budget, secure-aggregation transcripts) can be added without breaking old
 *   readers; unknown keys are refused only inside the fixed v1 shapes below.
 */
import { z } from 'zod'
import { encodeCanonical, equalBytes, sha256, toHex, type CanonicalValue } from '../ledger/core/index.ts'
import type { SignedStatement } from './statements.ts'
import { LineageRecordError } from './errors.ts'

export const ENTRY_KINDS = {
  STUDY_CREATED: 'study-created',
  SITE_ENROLLED: 'site-enrolled',
  SITE_REMOVED: 'site-removed',
  ROUND_OPENED: 'round-opened',
  UPDATE_ACCEPTED: 'update-accepted',
  UPDATE_REJECTED: 'update-rejected',
  ROUND_COMMITTED: 'round-committed',
  ROUND_ABANDONED: 'round-abandoned',
  ROUND_ABORTED: 'round-aborted',
  EVALUATION_REPORTED: 'evaluation-reported',
  STUDY_COMPLETED: 'study-completed',
  ROUND_REWARDED: 'round-rewarded',
  CONSENT_REVOKED: 'consent-revoked',
  PATIENT_REWARDS: 'patient-rewards',
  STATEMENT_REJECTED: 'statement-rejected',
  APPROVAL: 'approval',
  TASK_DECLINED: 'task-declined',
  SECAGG_KEYS: 'secagg-keys',
  SECAGG_SHARES: 'secagg-shares',
  SECAGG_PHASE: 'secagg-phase',
  SECAGG_UNMASK: 'secagg-unmask',
} as const
export type EntryKind = (typeof ENTRY_KINDS)[keyof typeof ENTRY_KINDS]

const hash = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length === 32, 'must be a 32-byte hash')
const key = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').refine((b) => b.length === 32, 'must be a 32-byte Ed25519 public key')
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const signed = z.strictObject({ body: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes'), sig: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes') })
const metrics = z.record(z.string(), z.number())
/** A signed statement embedded by reference: its body is the blob `blob` (the body's SHA-256), its signature inline. */
const signedByBlob = z.strictObject({ blob: hash, sig: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes') })
const embedded = z.union([signed, signedByBlob])
/** What the state fold reads from an update envelope embedded by reference (the decider copies it from the envelope): metrics, the consent summary, the DP-SGD claim. */
const envelopeSummary = z.strictObject({
  metrics,
  consent: z
    .strictObject({
      at: count,
      root: hash,
      count,
      excluded: z.strictObject({ noConsent: count, expired: count, notYetValid: count, revoked: count }),
    })
    .optional(),
  /** The envelope's DP-SGD claim (`ext.dpSgd`, dp-sgd-claim.ts), when it carries one that reads. */
  dpSgd: z.strictObject({ q: z.number(), noiseMultiplier: z.number(), clipNorm: z.number(), steps: count, delta: z.number(), epsilon: z.number() }).optional(),
})
/** Credit units: canonical CBOR integers, which decode as number when small and bigint when large. */
const credits = z
  .union([z.bigint(), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n, 'must be >= 0')
const params = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]))

const BODY_SCHEMAS = {
  [ENTRY_KINDS.STUDY_CREATED]: z.strictObject({
    study: z.string(),
    /** The validated study spec, as canonical CBOR of its JSON-shaped value. */
    spec: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes'),
    genesis: hash,
    hub: key,
    /** The hub's validation set (canonical Dataset bytes) that gain-based rewards are measured on. */
    validation: hash.optional(),
    /** How far a signed round start's `time` may be from the coordinator's clock (freshness of hub requests). */
    requestMaxAgeMs: count,
  }),
  /** `request`: the hub's signed membership request, for a site enrolled while the study runs (absent for those of the hub config). */
  [ENTRY_KINDS.SITE_ENROLLED]: z.strictObject({ site: z.string(), key, request: signed.optional() }),
  /** The hub removed the site: it is planned into no later round and owes nothing after. */
  [ENTRY_KINDS.SITE_REMOVED]: z.strictObject({ site: z.string(), request: signed }),
  [ENTRY_KINDS.ROUND_OPENED]: z.strictObject({
    round: count,
    base: hash,
    deadline: count,
    seed: count,
    request: signed,
    /**
     * The strategy's plan: each participating site, sorted, with the
     * instructions its FitTask carries. A plan of more than
     * COMPACT_LIST_SITES sites logs the instructions every site shares once,
     * in `shared`, and each site's entry only its own (the FitTask carries
     * both, merged): so the entry stays within a tlog-tiles bundle at
     * thousands of sites.
     */
    plan: z.array(z.strictObject({ site: z.string(), instructions: params })),
    shared: params.optional(),
    /**
     * With site-level DP: `seed` commits to the round's private noise seed
     * (SHA-256 of its 32 bytes; the seed itself is never logged), and `q` is
     * the round's sampling rate, planned / eligible sites. Under secure
     * aggregation there is no seed: the sites add the noise (distributed DP).
     */
    dp: z.strictObject({ seed: hash.optional(), q: z.number() }).optional(),
  }),
  /** `envelope` by reference (`{ blob, sig }`) when its body is over STATEMENT_INLINE_MAX_BYTES, and then with `summary`. */
  [ENTRY_KINDS.UPDATE_ACCEPTED]: z.strictObject({
    round: count,
    site: z.string(),
    envelope: embedded,
    delta: hash,
    examples: count,
    summary: envelopeSummary.optional(),
  }),
  /** A validly signed envelope of an enrolled site that was refused, embedded verbatim so the refusal can be re-decided. */
  [ENTRY_KINDS.UPDATE_REJECTED]: z.strictObject({
    round: count,
    site: z.string(),
    code: z.string(),
    reason: z.string(),
    envelope: embedded,
  }),
  /**
   * A validly signed evaluation, patient-rewards, approval or declined
   * statement of an enrolled site that was refused, embedded verbatim
   * (`round` is 0 for an approval, which names no round).
   */
  [ENTRY_KINDS.STATEMENT_REJECTED]: z.strictObject({
    type: z.enum(['evaluation', 'patient-rewards', 'approval', 'declined', 'secagg-keys', 'secagg-shares', 'secagg-unmask']),
    round: count,
    site: z.string(),
    code: z.string(),
    reason: z.string(),
    statement: signed,
  }),
  [ENTRY_KINDS.ROUND_COMMITTED]: z.strictObject({
    round: count,
    parent: hash,
    model: hash,
    /**
     * Every accepted update, sorted by site id (the aggregation order). A
     * commit of more than COMPACT_LIST_SITES inputs logs `inputs: []` and
     * `inputsHash`, SHA-256 of the list's canonical CBOR: the list is the
     * round's accepted updates, which the log holds already, so the fold
     * rebuilds it and checks the hash.
     */
    inputs: z.array(z.strictObject({ site: z.string(), delta: hash, examples: count, envelope: hash })),
    inputsHash: hash.optional(),
    strategy: z.strictObject({ name: z.string(), params }),
    metrics,
    /** Planned sites that sent no usable update, and why (their last refusal code, or `no-update`). */
    failures: z.array(z.strictObject({ site: z.string(), reason: z.string() })),
    /** Sites the strategy left out of the aggregate, with the numbers that decided it. */
    exclusions: z.array(z.strictObject({ site: z.string(), reason: z.string(), evidence: z.record(z.string(), z.number()) })),
    /**
     * The strategy's server state after this round, for stateful strategies:
     * the hash of its canonical weights encoding (tensors `<slot>/<model
     * tensor>`, e.g. `m/output/kernel`), stored as a blob. The next commit's
     * aggregation starts from it; absent, from none (zero moments).
     */
    state: hash.optional(),
    /** With a norm bound (`clipNorm`): each delta it scaled down, with its original L2 norm and the factor, by site id. */
    clipped: z.array(z.strictObject({ site: z.string(), norm: z.number(), scale: z.number() })).optional(),
    /**
     * With site-level DP: the round's accounting (sampling rate q, noise
     * multiplier, DP rounds so far, δ, ε after this round and the RDP order
     * that gave it), the clip norm, the planned sites (the fixed denominator)
     * and the noise's standard deviation on the average, z·S / planned.
     */
    dp: z
      .strictObject({
        q: z.number(),
        noiseMultiplier: z.number(),
        steps: count,
        delta: z.number(),
        epsilon: z.number(),
        order: z.number(),
        clipNorm: z.number(),
        plannedSites: count,
        noiseStddev: z.number(),
        /** Distributed DP under secure aggregation: the sites added the noise (each its share, discrete Gaussian), not the coordinator. */
        distributed: z.literal(true).optional(),
      })
      .optional(),
    /**
     * Under secure aggregation: the survivors whose masked inputs were summed
     * (`inputs` lists them), the sites that shared keys and then dropped out
     * (their masks were removed with their rebuilt mask keys), and the
     * denominator the unmasked sum was divided by (the survivors' weights'
     * sum, or the planned sites under DP).
     */
    secagg: z.strictObject({ dropped: z.array(z.string()), denominator: z.number() }).optional(),
  }),
  [ENTRY_KINDS.ROUND_ABANDONED]: z.strictObject({ round: count, reason: z.string(), accepted: count }),
  /**
   * The research hub aborted the open round: its signed `round-abort`
   * request, embedded verbatim, with the reason it gave, the key that signed
   * it (the study's hub key) and how many updates the round had accepted,
   * none of which is aggregated. The round closes without a model.
   */
  [ENTRY_KINDS.ROUND_ABORTED]: z.strictObject({ round: count, reason: z.string(), accepted: count, by: key, request: signed }),
  [ENTRY_KINDS.EVALUATION_REPORTED]: z.strictObject({
    round: count,
    site: z.string(),
    model: hash,
    report: signed,
  }),
  [ENTRY_KINDS.STUDY_COMPLETED]: z.strictObject({ rounds: count, model: hash }),
  [ENTRY_KINDS.ROUND_REWARDED]: z.strictObject({
    round: count,
    method: z.string(),
    metric: z.string().nullable(),
    pool: credits,
    seed: count,
    allocations: z.array(z.strictObject({ site: z.string(), amount: credits, raw: z.number(), payable: z.number(), reason: z.string().optional() })),
    /**
     * Past COMPACT_LIST_SITES allocations: the same list as columns (one
     * array per field, in input order; `reason` null where there is none),
     * with `allocations: []`. The keys of each allocation are then not
     * repeated per site: ~17 bytes a site instead of ~41, so the list stops
     * at ~1,580 sites and the columns at ~3,800, past the ~1,800 a round holds.
     */
    columns: z.strictObject({ site: z.array(z.string()), amount: z.array(credits), raw: z.array(z.number()), payable: z.array(z.number()), reason: z.array(z.string().nullable()) }).optional(),
    unallocated: credits,
  }),
  /**
   * A patient withdrew from the study at a site: the pseudonym only (a keyed
   * hash of the patient id, which the site keeps secret), the revocation's
   * time, and the first round it applies to. Logged in the batch of the
   * site's update that first reports it, just before its `update-accepted`;
   * from then on every update of that site must prove the pseudonym absent
   * from its consent tree.
   */
  [ENTRY_KINDS.CONSENT_REVOKED]: z.strictObject({
    round: count,
    site: z.string(),
    pseudonym: hash,
    time: count,
  }),
  /**
   * A site passed its round credit on to the patients it trained on: its
   * signed `patient-rewards` statement (amount, patient count, root of the
   * allocation tree), embedded verbatim. Logged once per site and round,
   * after the round's `round-rewarded` entry.
   */
  [ENTRY_KINDS.PATIENT_REWARDS]: z.strictObject({
    round: count,
    site: z.string(),
    statement: signed,
  }),
  /**
   * A site approved the study: its signed `approval` statement (the spec
   * hash its data steward reviewed), embedded verbatim; once per site, and
   * only for the spec the study runs (site-control.ts).
   */
  [ENTRY_KINDS.APPROVAL]: z.strictObject({
    site: z.string(),
    spec: hash,
    statement: signed,
  }),
  /**
   * A site declined its fit task of `round` (its approval or its own policy
   * refused it; nothing left the site): its signed `declined` statement with
   * the stable code and reason, embedded verbatim. The round does not wait for it.
   */
  [ENTRY_KINDS.TASK_DECLINED]: z.strictObject({
    round: count,
    site: z.string(),
    code: z.string(),
    reason: z.string(),
    statement: signed,
  }),
  /**
   * Secure aggregation (secagg-rules.ts): a planned site's signed
   * `secagg-keys`, `secagg-shares` or `secagg-unmask` statement, embedded
   * verbatim (inline: at most SECAGG_MAX_PEERS boxes of a few hundred bytes
   * fit an entry, and the state fold reads the boxes). The shares are secretboxes
   * only their addressee can open; the reveals are what the unmasking needs,
   * and nothing else (secagg-rules.ts says why that is safe to publish).
   */
  [ENTRY_KINDS.SECAGG_KEYS]: z.strictObject({ round: count, site: z.string(), statement: signed }),
  [ENTRY_KINDS.SECAGG_SHARES]: z.strictObject({ round: count, site: z.string(), statement: signed }),
  [ENTRY_KINDS.SECAGG_UNMASK]: z.strictObject({ round: count, site: z.string(), statement: signed }),
  /**
   * The coordinator closes a secure-aggregation phase and names who goes on,
   * sorted: `shares` (the sites whose keys came, U1, with the round's
   * neighbourhood size `k` and threshold `t`), `input` (those whose shares
   * came, U2), `unmask` (those whose masked input was accepted, U3: the
   * survivors every site reads from its own replica before it reveals).
   */
  [ENTRY_KINDS.SECAGG_PHASE]: z.strictObject({
    round: count,
    phase: z.enum(['shares', 'input', 'unmask']),
    sites: z.array(z.string()),
    k: count.optional(),
    t: count.optional(),
  }),
} as const

export type LineageBody<K extends EntryKind> = z.infer<(typeof BODY_SCHEMAS)[K]>

export type StudyCreatedBody = LineageBody<'study-created'>
export type SiteEnrolledBody = LineageBody<'site-enrolled'>
export type RoundOpenedBody = LineageBody<'round-opened'>
export type UpdateAcceptedBody = LineageBody<'update-accepted'>
export type UpdateRejectedBody = LineageBody<'update-rejected'>
export type RoundCommittedBody = LineageBody<'round-committed'>
export type RoundAbandonedBody = LineageBody<'round-abandoned'>
export type RoundAbortedBody = LineageBody<'round-aborted'>
export type EvaluationReportedBody = LineageBody<'evaluation-reported'>
export type StudyCompletedBody = LineageBody<'study-completed'>
export type RoundRewardedBody = LineageBody<'round-rewarded'>
export type ConsentRevokedBody = LineageBody<'consent-revoked'>
export type PatientRewardsBody = LineageBody<'patient-rewards'>
export type StatementRejectedBody = LineageBody<'statement-rejected'>
export type ApprovalBody = LineageBody<'approval'>
export type TaskDeclinedBody = LineageBody<'task-declined'>
export type SecAggPhaseBody = LineageBody<'secagg-phase'>

/** A decoded lineage entry: its sequence number, kind, time and typed body. */
export type LineageRecord = {
  [K in EntryKind]: { readonly seq: number; readonly timeMs: number; readonly kind: K; readonly body: LineageBody<K> }
}[EntryKind]

export function isEntryKind(kind: string): kind is EntryKind {
  return Object.hasOwn(BODY_SCHEMAS, kind)
}

/** Reads a log entry's body as the record of its kind; throws naming the entry and field. */
export function readLineageRecord(entry: { seq: number; kind: string; timeMs: number; body: CanonicalValue }): LineageRecord {
  if (!isEntryKind(entry.kind)) throw new LineageRecordError(`entry ${entry.seq}: unknown kind "${entry.kind}"`, entry.seq)
  const result = BODY_SCHEMAS[entry.kind].safeParse(entry.body)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new LineageRecordError(`entry ${entry.seq} (${entry.kind}): field ${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`, entry.seq)
  }
  return { seq: entry.seq, timeMs: entry.timeMs, kind: entry.kind, body: result.data } as LineageRecord
}

/** The canonical value of a body, validated against its kind so the writer can never log a malformed record. */
export function lineageBody<K extends EntryKind>(kind: K, body: LineageBody<K>): CanonicalValue {
  const result = BODY_SCHEMAS[kind].safeParse(body)
  if (!result.success) throw new LineageRecordError(`new ${kind} entry: ${result.error.issues[0]?.message ?? 'invalid'}`, -1)
  return result.data as CanonicalValue
}

/**
 * Above this many sites a round's plan and its commit's inputs are logged in
 * compact form (`round-opened.shared`, `round-committed.inputsHash`): at
 * about 100 bytes a site, a full list of more would approach the 64 KiB an
 * entry may have. Below it the entries are as they always were.
 */
export const COMPACT_LIST_SITES = 256

/** A commit's input, as `round-committed` lists it. */
export interface CommitInput {
  readonly site: string
  readonly delta: Uint8Array
  readonly examples: number
  readonly envelope: Uint8Array
}

/** SHA-256 of the canonical CBOR of a commit's input list: `round-committed.inputsHash`. */
export function inputsListHash(inputs: readonly CommitInput[]): Uint8Array {
  return sha256(encodeCanonical(inputs.map((i) => ({ site: i.site, delta: i.delta, examples: i.examples, envelope: i.envelope }))))
}

/** The `inputs` fields of a commit: the list itself, or, past COMPACT_LIST_SITES, an empty list and its hash. */
export function committedInputsFields(inputs: readonly CommitInput[]): { inputs: CommitInput[]; inputsHash?: Uint8Array } {
  const list = inputs.map((i) => ({ site: i.site, delta: i.delta, examples: i.examples, envelope: i.envelope }))
  return list.length > COMPACT_LIST_SITES ? { inputs: [], inputsHash: inputsListHash(list) } : { inputs: list }
}

/**
 * The `plan` fields of a round opening: each site's instructions, or, past
 * COMPACT_LIST_SITES sites, the instructions every site shares once in
 * `shared` and each site's own beside its id.
 */
export function planFields(plan: readonly { readonly site: string; readonly instructions: Readonly<Record<string, number | string | boolean>> }[]): {
  plan: { site: string; instructions: Record<string, number | string | boolean> }[]
  shared?: Record<string, number | string | boolean>
} {
  const full = plan.map((p) => ({ site: p.site, instructions: { ...p.instructions } }))
  if (full.length <= COMPACT_LIST_SITES) return { plan: full }
  const first = full[0]!.instructions
  const shared = Object.fromEntries(Object.entries(first).filter(([k, v]) => full.every((p) => Object.hasOwn(p.instructions, k) && p.instructions[k] === v)))
  return { plan: full.map((p) => ({ site: p.site, instructions: Object.fromEntries(Object.entries(p.instructions).filter(([k]) => !Object.hasOwn(shared, k))) })), shared }
}

/** One site's allocation in a `round-rewarded` entry. */
export interface LoggedAllocation {
  readonly site: string
  readonly amount: bigint
  readonly raw: number
  readonly payable: number
  readonly reason?: string
}

/** The `allocations` fields of a `round-rewarded` entry: the list itself, or, past COMPACT_LIST_SITES, an empty list and the same as columns. */
export function rewardedAllocationsFields(allocations: readonly LoggedAllocation[]): {
  allocations: LoggedAllocation[]
  columns?: { site: string[]; amount: bigint[]; raw: number[]; payable: number[]; reason: (string | null)[] }
} {
  const list = allocations.map((a) => ({ ...a }))
  if (list.length <= COMPACT_LIST_SITES) return { allocations: list }
  return {
    allocations: [],
    columns: {
      site: list.map((a) => a.site),
      amount: list.map((a) => a.amount),
      raw: list.map((a) => a.raw),
      payable: list.map((a) => a.payable),
      reason: list.map((a) => a.reason ?? null),
    },
  }
}

/**
 * A `round-rewarded` body with its allocations as a list, whichever form was
 * logged; a string naming the fault when its columns do not line up or sit
 * beside a non-empty list (the fold fails the entry with it).
 */
export function expandRewardedAllocations(body: RoundRewardedBody): RoundRewardedBody | string {
  const c = body.columns
  if (c === undefined) return body
  if (body.allocations.length > 0) return `both allocations (${body.allocations.length}) and columns: a compact entry lists its allocations only as columns`
  const n = c.site.length
  if ([c.amount, c.raw, c.payable, c.reason].some((col) => col.length !== n))
    return `allocation columns of unequal lengths (site ${n}, amount ${c.amount.length}, raw ${c.raw.length}, payable ${c.payable.length}, reason ${c.reason.length})`
  if (n <= COMPACT_LIST_SITES) return `${n} allocations as columns: only a round of more than ${COMPACT_LIST_SITES} inputs logs them so`
  const allocations = c.site.map((site, i) => {
    const reason = c.reason[i]
    return { site, amount: c.amount[i]!, raw: c.raw[i]!, payable: c.payable[i]!, ...(reason === null || reason === undefined ? {} : { reason }) }
  })
  const { columns: _columns, ...rest } = body
  return { ...rest, allocations }
}

/**
 * Statement bodies over this many bytes are embedded by reference, as a blob
 * (see the module comment): half the 65,535 bytes an entry may have, so the
 * rest of the entry always fits beside an inline one.
 */
export const STATEMENT_INLINE_MAX_BYTES = 32 * 1024

/**
 * The largest entry body the decider emits: a tlog-tiles entry (65,535
 * bytes) less room for the entry's own fields (version, seq, prev, kind,
 * time, author and signature take under 300 bytes).
 */
export const ENTRY_BODY_MAX_BYTES = 0xffff - 512

/** A signed statement as an entry embeds it: inline, or its body by blob hash. */
export type EmbeddedStatement = { readonly body: Uint8Array; readonly sig: Uint8Array } | { readonly blob: Uint8Array; readonly sig: Uint8Array }

/** The statement in the log's embedded form: inline up to STATEMENT_INLINE_MAX_BYTES, else by reference with its body as `blob`. */
export function embedLargeStatement(s: SignedStatement): { readonly embedded: EmbeddedStatement; readonly blob?: Uint8Array } {
  if (s.body.length <= STATEMENT_INLINE_MAX_BYTES) return { embedded: embedStatement(s) }
  return { embedded: { blob: sha256(s.body), sig: s.signature }, blob: s.body }
}

/** True when the statement's body is a blob the entry names. */
export function isEmbeddedByBlob(e: EmbeddedStatement): e is { readonly blob: Uint8Array; readonly sig: Uint8Array } {
  return 'blob' in e
}

/** The statement's hash (SHA-256 of its body), which is the blob's name when it is embedded by reference. */
export function embeddedStatementHash(e: EmbeddedStatement): Uint8Array {
  return isEmbeddedByBlob(e) ? e.blob : sha256(e.body)
}

/**
 * The signed statement an entry embeds, its body read through `bodyOf` when
 * embedded by reference. Throws LineageRecordError (at `seq`) when `bodyOf`
 * has no body for it or one that does not hash to its name.
 */
export function resolveStatement(e: EmbeddedStatement, bodyOf: (hash: Uint8Array) => Uint8Array | undefined, seq: number): SignedStatement {
  if (!isEmbeddedByBlob(e)) return unembedStatement(e)
  const body = bodyOf(e.blob)
  if (body === undefined) throw new LineageRecordError(`entry ${seq}: the statement's body is the blob ${toHexShort(e.blob)}, which is not at hand`, seq)
  const calculated = sha256(body)
  if (!equalBytes(calculated, e.blob)) throw new LineageRecordError(`entry ${seq}: the statement's body blob ${toHexShort(e.blob)} hashes to ${toHexShort(calculated)}`, seq)
  return { body, signature: e.sig }
}

const toHexShort = (h: Uint8Array) => `${toHex(h).slice(0, 16)}…`

/** A signed statement in the log's embedded form. */
export function embedStatement(s: SignedStatement): { body: Uint8Array; sig: Uint8Array } {
  return { body: s.body, sig: s.signature }
}

/** The inverse of `embedStatement`. */
export function unembedStatement(s: { body: Uint8Array; sig: Uint8Array }): SignedStatement {
  return { body: s.body, signature: s.sig }
}
