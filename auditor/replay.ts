/**
 * The audit: replays a study's lineage log from its first entry to its head
 * by re-running the protocol's own decider (`step` from protocol/) over the
 * inputs the log records, and requires every logged entry to be, byte for
 * byte, what `step` emits. The audit has no rules of its own: a log can only
 * pass if an honest coordinator running the same decider would have written it.
 *
 * For each entry, in log order:
 *
 * 1. **Chain.** The bytes decode canonically, sit at their own `seq`, link to
 *    the entry before by `prev`, carry a strict RFC 8032 signature (S < L),
 *    and are signed by the coordinator: the author of `study-created`, or
 *    `init.trustedCoordinatorKey` when pinned. (`verifyEntry` from ledger/core.)
 * 2. **Input.** An entry that records an input starts a step: `study-created`
 *    (the spec and hub key), `site-enrolled`, `round-opened` and `round-aborted` (the hub's signed
 *    request), `update-accepted` and the `consent-revoked` entries just before
 *    it (the site's signed envelope and its delta, fetched and re-hashed),
 *    `update-rejected` and `statement-rejected` (the refused statement),
 *    `evaluation-reported`, `patient-rewards`. Any other entry (a commit, an
 *    abandonment, a completion) starts a clock tick at its time.
 * 3. **Decision.** `step(state, input, entry time)` runs on the state folded
 *    so far, with blobs fetched from the source and re-hashed. Its entries
 *    must be the next entries of the log, byte for byte and with the step's
 *    time; every blob it emits (a model, a delta, the genesis) must be stored
 *    with exactly those bytes. A refused input that the log accepted fails
 *    with the finding of the rule it broke.
 * 4. **Fold.** Each matched entry folds into the study state.
 *
 * At the end: the newest signed checkpoint must commit to exactly the
 * replayed entries, the replica must hold no proof of equivocation, and,
 * when the study sets a witness policy (tlog-policy), the newest checkpoint
 * must carry its quorum of witness cosignatures (core/witness-quorum.ts).
 *
 * One thing cannot be re-decided from the log: an update refused for its
 * bytes (wrong hash, shape, non-finite values, too large) was never stored,
 * so its refusal is taken on the coordinator's word; the report counts these
 * (`unverifiedRejections`).
 *
 * Trust: nothing the source says is taken on its word. Only each entry's
 * `bytes` are used, and every blob is re-hashed after `getBlob`.
 */
import {
  GENESIS_PREV_HASH,
  LedgerError,
  LedgerUntrustedAuthorError,
  decodeEntry,
  equalBytes,
  sha256,
  verifyEntry,
  type Entry,
  type LedgerChainBrokenError,
  verifyMisbehaviourProof,
  type MisbehaviourProof,
  toHex,
  appendLeaf,
  hashLeaf,
  rootOfRange,
  logOrigin,
  openCheckpoint,
  readCheckpoint,
  RFC6962_SHA256,
  EMPTY_COMPACT_RANGE,
  type CompactRange,
  type Cosignature,
  type SignedCheckpoint,
  decodeCanonical,
  bytesReader,
  type BlobReader,
} from '../ledger/index.ts'
import { ModelError, StudySpecSchema } from '../models/core/index.ts'
import { buildAuditReport, matchEntry, refusedInput, type AuditProgress, type AuditReport } from './core/index.ts'
import {
  AuditAuthorUntrustedError,
  AuditBlobMismatchError,
  AuditServerStateMismatchError,
  AuditBlobMissingError,
  AuditChainBrokenError,
  AuditEntryMalformedError,
  AuditError,
  AuditHeadMismatchError,
  AuditLogEmptyError,
  AuditRecordInvalidError,
  AuditRederivationError,
  AuditSeqGapError,
  AuditEquivocationError,
  AuditCheckpointMismatchError,
  AuditRewardMissingError,
  AuditSignatureInvalidError,
  AuditSpecInvalidError,
  AuditStateInvalidError,
  AuditStatementInvalidError,
  AuditStatementMismatchError,
  entryLabel,
  hex,
} from './errors.ts'
import { checkWitnessQuorum, type WitnessingReport } from './core/witness-quorum.ts'
import {
  ENTRY_KINDS,
  StudyState,
  deltasPastRetention,
  verifyStatement,
  readLineageRecord,
  needsBlobs,
  step,
  updateAcceptedEntry,
  withLoggedNoise,
  unembedStatement,
  decodeStatement,
  isEmbeddedByBlob,
  resolveStatement,
  ProtocolError,
  type EmbeddedStatement,
  type SignedStatement,
  blobAudience,
  mayFetch,
  replicaReader,
  type BlobAudience,
  type DeciderInput,
  type DecidedEntry,
  type LineageRecord,
} from '../protocol/index.ts'
import { describeUnchecked, holderName, type UnavailableBlob, type UnavailableReason } from './core/index.ts'

/** One entry as a source hands it out. The audit uses `bytes` only. */
export interface AuditSourceEntry {
  readonly entry: Entry
  readonly bytes: Uint8Array
  readonly hash: Uint8Array
}

/**
 * Where the audit reads a log from: a `Ledger` over a local LevelDB replica
 * (source.ts) or a fresh replica synced over libp2p (peer-source.ts).
 * Nothing it returns is trusted.
 */
export interface AuditSource {
  /** Number of entries held; the audit covers `[0, length)` as of its start. */
  readonly length: number
  /** Entries `[from, to)` in seq order. Throwing a `LedgerError` with a `seq` is reported as that entry's failure. */
  scan(from?: number, to?: number): AsyncIterable<AuditSourceEntry>
  /**
   * The blob stored under `hash`. Rejects with an error whose `code` is
   * `LEDGER_BLOB_MISSING` when the source does not hold it (`LEDGER_BLOB_CORRUPT`
   * when it knows its copy is bad); any other rejection aborts the audit.
   */
  getBlob(hash: Uint8Array): Promise<Uint8Array>
  /**
   * The blob under `hash` as a reader, its bytes checked against the hash
   * first (same rejections as `getBlob`). Sources that keep blobs as files
   * offer it, and the replay then reads models and deltas a slice at a time,
   * so an audit's memory is one model, not a round's inputs.
   */
  openBlob?(hash: Uint8Array): Promise<BlobReader & { close(): void }>
  /**
   * Proofs of coordinator misbehaviour the source's replica has stored (see
   * ledger/core/checkpoint.ts). Each is verified again here; any valid one
   * fails the audit. Absent for sources that keep none.
   */
  misbehaviour?(): Promise<readonly MisbehaviourProof[]>
  /** The source's newest signed checkpoint, which must commit to exactly the replayed log. */
  latestCheckpoint?(): Promise<SignedCheckpoint | undefined>
  /** Every signed checkpoint the source keeps, for the HTML report's cosignatures. */
  checkpoints?(): Promise<readonly SignedCheckpoint[]>
  /** The witnesses' cosignatures of the checkpoint of `size` the source keeps. */
  cosignatures?(size: number): Promise<readonly Cosignature[]>
  /**
   * Set when the source is a participant's replica (ledger's `replicaHolder`):
   * it holds every entry, but only the blobs its holder may read under the
   * study's policy (protocol's replica-access rules), and perhaps not even
   * those. A blob it lacks is then a check the audit could not do, which the
   * verdict names (partial), not a fault of the log. Absent: the source
   * claims every blob the log names, and a missing one fails the audit.
   */
  readonly holder?: { readonly key: Uint8Array }
  /**
   * Fetches a blob the source lacks into it, under the holder's identity, so
   * that `openBlob`/`getBlob` then find it. The replay asks only for blobs
   * the holder may read. Absent when the source cannot fetch.
   */
  fetchBlob?(hash: Uint8Array): Promise<void>
}

/** Options of auditLog. */
export interface AuditInit {
  /**
   * The coordinator's public key, obtained out of band. When given, entry 0
   * must be signed by it too; otherwise the log's own first author is taken
   * as the coordinator and only consistency is proven.
   */
  readonly trustedCoordinatorKey?: Uint8Array | undefined
  /** Called with (entries done, entries in the log) at the start and after each entry. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined
  /**
   * The private DP noise seeds of the study's rounds, by the hex SHA-256 the
   * log commits to (an authorised auditor's copy of the coordinator's
   * dp-seeds.json). With a round's seed its model is re-derived bit for bit;
   * without it everything but the noise is (protocol/dp-audit.ts), and the
   * verdict is partial.
   */
  readonly noiseSeeds?: ReadonlyMap<string, Uint8Array> | undefined
}

/** A report, and the error behind its failure (for callers that rethrow it, like the CLI). */
export interface AuditOutcome {
  readonly report: AuditReport
  readonly error: AuditError | undefined
  /** Bytes of models and deltas the replay read (the audit's throughput is these over its time). */
  readonly blobBytes: number
  /** The study state the replay folded, up to the first failure (what the HTML report shows). */
  readonly state: StudyState
}

/**
 * Audits the log in `source` (see the module doc) and resolves with the
 * report; `report.ok` is false and `report.failure` names the first failing
 * entry when the log does not hold. Rejects only when the source itself fails
 * (I/O), not when the log is wrong.
 */
export async function auditLog(source: AuditSource, init: AuditInit = {}): Promise<AuditReport> {
  return (await replayLog(source, init)).report
}

/**
 * The source's newest signed checkpoint must be signed by the coordinator and
 * commit to exactly the replayed entries: its root equals the Merkle root the
 * audit computed over every entry it checked. (Sources without checkpoints skip this.)
 */
async function checkCheckpoint(source: AuditSource, replay: Replay): Promise<void> {
  const signed = source.latestCheckpoint ? await source.latestCheckpoint() : undefined
  if (!signed || !replay.coordinatorKey) return
  let cp
  try {
    cp = openCheckpoint(signed, replay.coordinatorKey, logOrigin(replay.state.studyId))
  } catch (err) {
    throw new AuditCheckpointMismatchError(`the newest checkpoint: ${(err as Error).message}`, replay.entries, 'a checkpoint signed by the coordinator', 'another', { cause: err })
  }
  if (cp.size !== replay.entries) return // an older checkpoint: the log grew after it; nothing to hold it against here
  const root = rootOfRange(RFC6962_SHA256, replay.range)
  if (!equalBytes(root, cp.root))
    throw new AuditCheckpointMismatchError(
      `the signed checkpoint of size ${cp.size} has root ${toHex(cp.root).slice(0, 16)}…, the replayed entries hash to ${toHex(root).slice(0, 16)}…`,
      replay.entries,
      cp.root,
      root,
    )
  replay.checkpoint = { size: cp.size, root: cp.root }
}

/**
 * Witnessing, after the checkpoint and equivocation checks: the newest
 * checkpoint (already opened under the coordinator key by checkCheckpoint)
 * must carry the quorum the study's witness policy asks for; without a
 * policy the report says that none was required.
 */
async function checkWitnessing(source: AuditSource, replay: Replay): Promise<void> {
  if (!replay.coordinatorKey || !replay.state.created) return
  const policyText = replay.state.study.witnessPolicy
  const signed = source.latestCheckpoint ? await source.latestCheckpoint() : undefined
  if (signed === undefined && policyText === undefined) return
  const size = signed === undefined ? undefined : readCheckpoint(signed).size
  replay.witnessing = checkWitnessQuorum({
    policyText,
    checkpoint: signed,
    stored: size !== undefined && source.cosignatures ? await source.cosignatures(size) : [],
    coordinatorKey: replay.coordinatorKey,
    origin: logOrigin(replay.state.studyId),
    seq: replay.entries,
  })
}

/** Fails with AuditEquivocationError when the source holds a proof, valid under the coordinator key, of a forked log. */
async function checkNoEquivocation(source: AuditSource, coordinatorKey: Uint8Array | undefined): Promise<void> {
  if (!source.misbehaviour || !coordinatorKey) return
  for (const proof of await source.misbehaviour()) {
    try {
      verifyMisbehaviourProof(proof, coordinatorKey)
    } catch {
      continue // a proof that proves nothing says nothing about this coordinator
    }
    throw new AuditEquivocationError(`the coordinator ${toHex(coordinatorKey).slice(0, 16)}… signed conflicting logs (${proof.kind} proof held by this replica)`)
  }
}

/** auditLog, also returning the typed `AuditError` behind a failure. */
export async function replayLog(source: AuditSource, init: AuditInit = {}): Promise<AuditOutcome> {
  const total = source.length
  const replay = new Replay(source, init.trustedCoordinatorKey, init.noiseSeeds)
  init.onProgress?.(0, total)
  try {
    if (total === 0) throw new AuditLogEmptyError()
    for await (const { bytes } of source.scan(0, total)) {
      // Past `total` the source broke its contract; the audit covers [0, total) only.
      if (replay.read === total) break
      await replay.entry(bytes)
      init.onProgress?.(replay.read, total)
    }
    if (replay.read < total) throw new AuditSeqGapError(`entry ${replay.read}: missing, the source ended after ${replay.read} of its ${total} entries`, replay.read)
    replay.finish()
    await checkCheckpoint(source, replay)
    await checkNoEquivocation(source, replay.coordinatorKey)
    await checkWitnessing(source, replay)
  } catch (err) {
    const error = toAuditError(err, replay.read, replay.kind)
    if (error === undefined) throw err
    return { report: buildAuditReport(replay, error), error, blobBytes: replay.blobBytes, state: replay.state }
  }
  return { report: buildAuditReport(replay), error: undefined, blobBytes: replay.blobBytes, state: replay.state }
}

/** Refusal codes about an update's bytes: the bytes were never stored, so the audit cannot re-decide them. */
const BYTE_LEVEL_CODES: ReadonlySet<string> = new Set(['COORD_DELTA_INTEGRITY', 'COORD_DELTA_SHAPE', 'COORD_NON_FINITE', 'COORD_UPDATE_TOO_LARGE'])

/** What a step whose deltas retention deleted may write: revocations, the update, the commit or abandonment, and rewards. */
const HASH_ONLY_KINDS: ReadonlySet<string> = new Set([ENTRY_KINDS.CONSENT_REVOKED, ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED, ENTRY_KINDS.ROUND_ABANDONED, ENTRY_KINDS.ROUND_REWARDED])

/** What may follow the first entry of a step replayed hash-only, at its time: the commit or abandonment it causes, and its rewards. */
const HASH_ONLY_TAIL_KINDS: ReadonlySet<string> = new Set([ENTRY_KINDS.ROUND_COMMITTED, ENTRY_KINDS.ROUND_ABANDONED, ENTRY_KINDS.ROUND_REWARDED])

/** The refusal code the replay feeds the decider for an update whose delta it cannot read (so everything else about the update is re-decided). */
const DELTA_UNAVAILABLE = 'AUDIT_DELTA_UNAVAILABLE'

/** A blob view that has nothing (steps re-decided without their blobs). */
const NO_BLOBS = { get: () => undefined, open: () => undefined }

/** A blob a participant's replica lacks and could not get: the step that needs it is folded as logged (never a finding). */
class BlobUnavailable extends Error {
  readonly hash: Uint8Array
  readonly reason: UnavailableReason
  readonly detail: string | undefined
  /** Every peer asked answered that it holds no copy (as after retention deleted it), rather than refusing or failing. */
  readonly nowhere: boolean
  constructor(hash: Uint8Array, reason: UnavailableReason, detail?: string, nowhere = false) {
    super(`blob ${toHex(hash)}: ${reason}${detail === undefined ? '' : ` (${detail})`}`)
    this.hash = hash
    this.reason = reason
    this.detail = detail
    this.nowhere = nowhere
  }

  /** What the report keeps of it. */
  as(what: string): UnavailableBlob {
    return { hash: this.hash, what, reason: this.reason, ...(this.detail === undefined ? {} : { detail: this.detail }) }
  }
}

/** A blob's reading options: who may read it, when the state does not tell yet; and whether to fetch it when the source lacks it. */
interface BlobAccess {
  /** The blob's audience under the study's policy (default: what the folded state says it is). */
  readonly audience?: BlobAudience
  /** Whether the holder may read it, overriding the policy's answer (the validation set, before the study exists). */
  readonly visible?: boolean
  /** Fetch it when missing (default true); false for blobs the replay re-derived and only compares with a stored copy. */
  readonly fetch?: boolean
}

/** Entries that record an input; any other entry kind starts a clock tick. */
const INPUT_KINDS: ReadonlySet<string> = new Set([
  ENTRY_KINDS.STUDY_CREATED,
  ENTRY_KINDS.SITE_ENROLLED,
  ENTRY_KINDS.SITE_REMOVED,
  ENTRY_KINDS.ROUND_OPENED,
  ENTRY_KINDS.ROUND_ABORTED,
  ENTRY_KINDS.CONSENT_REVOKED,
  ENTRY_KINDS.UPDATE_ACCEPTED,
  ENTRY_KINDS.UPDATE_REJECTED,
  ENTRY_KINDS.STATEMENT_REJECTED,
  ENTRY_KINDS.EVALUATION_REPORTED,
  ENTRY_KINDS.PATIENT_REWARDS,
  ENTRY_KINDS.APPROVAL,
  ENTRY_KINDS.TASK_DECLINED,
  ENTRY_KINDS.SECAGG_KEYS,
  ENTRY_KINDS.SECAGG_SHARES,
  ENTRY_KINDS.SECAGG_UNMASK,
])

/** The replay's state between entries. `AuditProgress` is what the report is built from. */
class Replay implements AuditProgress {
  readonly state = new StudyState()
  readonly rederived = new Set<number>()
  readonly lineage: Uint8Array[] = []
  entries = 0
  unverifiedRejections = 0
  /** Rounds whose deltas the study's retention deleted: folded as logged, their models taken by hash. */
  readonly hashOnly = new Set<number>()
  /**
   * The step being folded as logged, by its time and first entry: its deltas
   * were deleted under retention, or the participant's replica being audited
   * cannot read what it needs.
   */
  #hashOnlyStep: { readonly timeMs: number; readonly first: number; readonly cause: 'retention' | 'unavailable' } | undefined
  /** Per hash-only round, the missing delta that made it so (thrown at the end unless retention allows it). */
  readonly #hashOnlyEvidence = new Map<number, AuditBlobMissingError>()
  /** Rounds folded as logged because a participant's replica could not read their inputs, with the blobs met there. */
  readonly unavailableRounds = new Map<number, UnavailableBlob[]>()
  /** Other blobs such a replica could not check (the hub's validation set at the study's creation). */
  readonly unavailableNotes: UnavailableBlob[] = []
  /** Bytes of models and deltas read to re-derive rounds (for the audit's throughput). */
  blobBytes = 0
  head: Uint8Array | undefined
  coordinatorKey: Uint8Array | undefined
  /** The Merkle tree over the entries replayed so far (RFC 6962), to hold the signed checkpoint against. */
  range: CompactRange = EMPTY_COMPACT_RANGE
  /** The signed checkpoint the replayed log was found to match: its size and root. */
  checkpoint: { readonly size: number; readonly root: Uint8Array } | undefined
  /** The newest checkpoint held to the study's witness policy. */
  witnessing: WitnessingReport | undefined
  /** Kind of the entry being checked, once its bytes decoded. */
  kind: string | undefined
  /** Entries the current step emitted that the log has not yet shown, with the step's time. */
  #expected: DecidedEntry[] = []
  #stepTimeMs = 0
  /** Blobs the current step wrote, by hex hash, not yet checked against the source. */
  #blobs = new Map<string, Uint8Array>()
  /** Bodies of the statements the entry being read embeds by reference, by hash (loadEmbeddedBody). */
  readonly #statementBodies = new Map<string, Uint8Array>()
  /** `consent-revoked` entries read ahead of the update whose step emits them. */
  #heldBack: { readonly record: LineageRecord; readonly hash: Uint8Array; readonly bytes: Uint8Array }[] = []
  /** Entries read (chain-checked) so far, some perhaps held back; `entries` counts those that passed every check. */
  read = 0
  #readHead: Uint8Array | undefined

  /** Rounds of a DP study re-derived without their noise seed: all but the noised model checked. */
  readonly dpWithoutSeed = new Set<number>()
  /** The current step asked for a DP seed the audit was not given (its commit is matched with the noise-dependent fields taken from the log). */
  #noiseWithheld = false

  constructor(
    private readonly source: AuditSource,
    private readonly pinnedKey: Uint8Array | undefined,
    private readonly noiseSeeds: ReadonlyMap<string, Uint8Array> = new Map(),
  ) {}

  /** Whose replica was audited, in words, when the source is a participant's replica. */
  get holder(): string | undefined {
    const key = this.source.holder?.key
    return key === undefined ? undefined : holderName(this.state, this.coordinatorKey ?? key, key)
  }

  /** Rounds folded as logged because the replica could not read what they need. */
  get uncheckedRounds(): ReadonlySet<number> {
    return new Set(this.unavailableRounds.keys())
  }

  /** What the audit could not check, one sentence each (see core/unchecked.ts); empty for a full store. */
  get unchecked(): readonly string[] {
    const key = this.source.holder?.key
    const dp = [...this.dpWithoutSeed].map(
      (round) =>
        `round ${round}: its DP noise seed was not given (audit --dp-seeds), so the clip norms, weights, noise scale and ε accounting were re-derived but the noised model was taken by hash: it cannot be re-derived without the seed`,
    )
    if (key === undefined || (this.unavailableRounds.size === 0 && this.unavailableNotes.length === 0)) return dp
    return [...describeUnchecked({ state: this.state, coordinatorKey: this.coordinatorKey ?? key, holderKey: key, rounds: this.unavailableRounds, notes: this.unavailableNotes }), ...dp]
  }

  /**
   * End of the log: nothing the decider emitted may be missing, nothing may be
   * held back, and every round replayed hash-only must be one whose deltas the
   * study's retention lets go by now (else its missing delta fails the audit).
   */
  finish(): void {
    for (const [round, missing] of this.#hashOnlyEvidence) if (!deltasPastRetention(this.state, round)) throw missing
    const held = this.#heldBack[0]?.record
    if (held) throw new AuditStateInvalidError(`${entryLabel(held.seq, held.kind)}: not followed by the update of its site (end of log)`, held.seq)
    const missing = this.#expected[0]
    if (missing) {
      const Missing = missing.kind === ENTRY_KINDS.ROUND_REWARDED ? AuditRewardMissingError : AuditStateInvalidError
      throw new Missing(`the log ends before the ${missing.kind} entry the protocol writes at entry ${this.entries}`, this.entries)
    }
  }

  async entry(bytes: Uint8Array): Promise<void> {
    const seq = this.read
    this.kind = undefined
    const entry = decodeEntry(bytes, seq)
    this.kind = entry.kind
    const coordinator = this.coordinatorKey ?? this.pinnedKey
    let hash: Uint8Array
    try {
      hash = verifyEntry(entry, bytes, { seq, prevHash: this.#readHead ?? GENESIS_PREV_HASH, trustedAuthors: coordinator && [coordinator] })
    } catch (err) {
      if (!(err instanceof LedgerUntrustedAuthorError) || coordinator === undefined) throw err
      const whose = this.coordinatorKey === undefined ? 'pinned coordinator key' : 'coordinator key (the author of study-created)'
      throw new AuditAuthorUntrustedError(`${entryLabel(seq, entry.kind)}: signed by ${hex(entry.author)}, want the ${whose} ${hex(coordinator)}`, seq, entry.author, coordinator, { cause: err })
    }
    this.coordinatorKey ??= entry.author
    let record: LineageRecord
    try {
      record = readLineageRecord(entry)
    } catch (err) {
      if (!hasCode(err, LINEAGE_RECORD_INVALID)) throw err
      throw new AuditRecordInvalidError((err as Error).message, seq, { cause: err })
    }
    this.#readHead = hash
    await this.loadEmbeddedBody(record)
    const read = { record, hash, bytes }
    // A hash-only step goes on while its time does and its entries are what follows an input (its commit and rewards).
    if (this.#hashOnlyStep !== undefined && !(record.timeMs === this.#hashOnlyStep.timeMs && HASH_ONLY_TAIL_KINDS.has(record.kind))) this.#hashOnlyStep = undefined
    if (this.#expected.length === 0 && this.#hashOnlyStep === undefined && record.kind === ENTRY_KINDS.CONSENT_REVOKED) {
      // Its input is the update that follows it.
      this.#heldBack.push(read)
      this.read++
      return
    }
    if (this.#expected.length === 0 && this.#hashOnlyStep === undefined) await this.decide(record)
    for (const r of [...this.#heldBack, read]) {
      if (this.#hashOnlyStep !== undefined) this.foldAsLogged(r.record)
      else await this.matchAndFold(r.record)
      // Passed every check: it counts, and the report's head and the Merkle range move past it.
      this.head = r.hash
      this.range = appendLeaf(RFC6962_SHA256, this.range, hashLeaf(r.bytes))
      this.entries++
    }
    this.#heldBack = []
    this.#statementBodies.clear()
    this.read++
  }

  /**
   * Reads back the body of an update envelope an entry embeds by reference
   * (lineage.ts) from its blob, re-hashed, so every step below sees the
   * signed statement whole. Its audience is every participant.
   */
  private async loadEmbeddedBody(record: LineageRecord): Promise<void> {
    if (record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED && record.kind !== ENTRY_KINDS.UPDATE_REJECTED) return
    const e = record.body.envelope
    if (!isEmbeddedByBlob(e)) return
    const what = `the update envelope of site "${record.body.site}"`
    try {
      this.#statementBodies.set(toHex(e.blob), await this.blob(record.seq, e.blob, what, { audience: 'participants' }))
    } catch (err) {
      if (!(err instanceof BlobUnavailable)) throw err
      // Every participant may read it, but without it the step cannot even be checked hash-only (its signature covers the body).
      throw new AuditBlobMissingError(
        `${entryLabel(record.seq, record.kind)}: ${what} is embedded by reference as the blob ${hex(e.blob)}, which this replica does not hold (${err.message}); every participant may read it: audit with --key <the holder's key file> to fetch it`,
        record.seq,
        e.blob,
        { cause: err },
      )
    }
  }

  /** The signed statement an entry embeds, inline or by reference (its body loaded by loadEmbeddedBody). */
  private signedOf(e: EmbeddedStatement, seq: number): SignedStatement {
    return resolveStatement(e, (h) => this.#statementBodies.get(toHex(h)), seq)
  }

  /** Re-runs the decider on the input `record` records (or a tick at its time) and keeps what it emits. */
  private async decide(record: LineageRecord): Promise<void> {
    const first = this.#heldBack[0]?.record ?? record
    if (this.#heldBack.length > 0 && record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) {
      throw new AuditStateInvalidError(`${entryLabel(first.seq, first.kind)}: a consent-revoked entry must be followed by the update that reports it, not ${record.kind}`, first.seq)
    }
    const opened: (BlobReader & { close(): void })[] = []
    const timeMs = first.timeMs
    let input: DeciderInput
    let result
    try {
      try {
        input = await this.inputOf(record, opened)
        const loaded = new Map<string, BlobReader>()
        this.#noiseWithheld = false
        const view = { get: (h: Uint8Array) => this.noiseSeed(h), open: (h: Uint8Array) => loaded.get(toHex(h)) }
        try {
          result = step(this.state, input, timeMs, view)
          while (needsBlobs(result)) {
            // What the source holds first; a participant's replica then fetches nothing when its holder may not read one of
            // the rest (reading it throws), since the step cannot be re-run anyway.
            const lacking: Uint8Array[] = []
            for (const h of result.needs) {
              try {
                loaded.set(toHex(h), await this.reader(first.seq, h, this.blobName(h, record), opened, { fetch: false }))
              } catch (err) {
                if (!(err instanceof BlobUnavailable) || err.reason !== 'not-held') throw err
                lacking.push(h)
              }
            }
            for (const h of lacking) loaded.set(toHex(h), await this.reader(first.seq, h, this.blobName(h, record), opened))
            result = step(this.state, input, timeMs, view)
          }
        } catch (err) {
          if (!(err instanceof ModelError)) throw err
          throw new AuditRederivationError(`${entryLabel(first.seq, first.kind)}: the decider cannot re-run this step: ${err.message}`, first.seq, { cause: err })
        }
      } catch (err) {
        if (err instanceof AuditBlobMissingError && this.prunedDelta(record, err)) {
          // A delta the study's retention may have deleted: this step is folded as logged (finish() holds the round to the rule).
          this.#hashOnlyStep = { timeMs, first: first.seq, cause: 'retention' }
          this.#hashOnlyEvidence.set((record.body as { round: number }).round, err)
          return
        }
        if (err instanceof BlobUnavailable) {
          // No peer holds it: a delta the study's retention may have deleted is replayed hash-only, and held to the rule, as in a full store.
          const gone = err.nowhere
            ? new AuditBlobMissingError(`${entryLabel(first.seq, first.kind)}: ${this.blobName(err.hash, record)} ${hex(err.hash)} is held by none of the peers asked`, first.seq, err.hash)
            : undefined
          if (gone !== undefined && this.prunedDelta(record, gone)) {
            this.#hashOnlyStep = { timeMs, first: first.seq, cause: 'retention' }
            this.#hashOnlyEvidence.set((record.body as { round: number }).round, gone)
            return
          }
          this.withoutBlob(record, first, timeMs, err)
          return
        }
        throw err
      }
    } finally {
      for (const r of opened) r.close()
    }
    const recordsInput = record.kind !== ENTRY_KINDS.UPDATE_REJECTED && record.kind !== ENTRY_KINDS.STATEMENT_REJECTED && INPUT_KINDS.has(record.kind)
    if (result.refusal && recordsInput) throw refusedInput(first.seq, first.kind, result.refusal, this.signerKey(input))
    if (result.entries.length === 0) {
      const why = result.refusal ? `the protocol refuses it without a log entry (${result.refusal.code}: ${result.refusal.message})` : this.nothingDue()
      throw new AuditStateInvalidError(`${entryLabel(first.seq, first.kind)}: re-deciding the logged input writes no entry: ${why}`, first.seq)
    }
    // An emitted reader is an update's own delta, read from the store, whose hash the replay checked.
    this.#blobs = new Map(result.blobs.filter((b): b is Uint8Array => b instanceof Uint8Array).map((b) => [toHex(sha256(b)), b]))
    this.#expected = [...result.entries]
    this.#stepTimeMs = timeMs
  }

  /**
   * A step whose blob the participant's replica cannot read: everything that
   * can be re-decided without it is, then the step is folded as logged and
   * its round named in the partial verdict. An update whose own delta is
   * missing is re-decided with the delta refused in transit, so its envelope,
   * signature, round, base model, freshness, size and consent claim are still
   * held to the protocol: any other refusal is a finding.
   */
  private withoutBlob(record: LineageRecord, first: LineageRecord, timeMs: number, missing: BlobUnavailable): void {
    const round = (record.body as { round?: unknown }).round
    if (record.kind === ENTRY_KINDS.UPDATE_ACCEPTED && equalBytes(missing.hash, record.body.delta)) {
      const input: DeciderInput = { kind: 'update', envelope: this.signedOf(record.body.envelope, record.seq), transport: { code: DELTA_UNAVAILABLE, reason: missing.message } }
      const result = step(this.state, input, timeMs, NO_BLOBS)
      if (needsBlobs(result) || result.refusal === undefined) throw new AuditStateInvalidError(`${entryLabel(record.seq, record.kind)}: the decider accepted an update without its delta`, record.seq)
      if (result.refusal.code !== DELTA_UNAVAILABLE) throw refusedInput(first.seq, first.kind, result.refusal, this.signerKey(input))
    }
    const blob = missing.as(this.blobName(missing.hash, record))
    const inRound = typeof round === 'number' ? round : this.state.openRound?.round
    if (inRound === undefined) this.unavailableNotes.push(blob)
    else this.unavailableRounds.set(inRound, [...(this.unavailableRounds.get(inRound) ?? []), blob])
    this.#hashOnlyStep = { timeMs, first: first.seq, cause: 'unavailable' }
  }

  /** What the blob `hash` is, for messages: a delta (of `record`'s update, when not yet folded), a model, the strategy's state, the validation set. */
  private blobName(hash: Uint8Array, record?: LineageRecord): string {
    if (record?.kind === ENTRY_KINDS.UPDATE_ACCEPTED && equalBytes(record.body.delta, hash)) return `the delta of site "${record.body.site}"`
    if (this.state.validation !== undefined && equalBytes(this.state.validation, hash)) return "the hub's validation set"
    if (this.state.strategyState !== undefined && equalBytes(this.state.strategyState, hash)) return "the strategy's state"
    if (this.state.created && equalBytes(this.state.genesis, hash)) return 'the initial model'
    for (const r of this.state.rounds.values()) {
      if (r.commit && equalBytes(r.commit.body.model, hash)) return `the model of round ${r.round}`
      for (const a of r.accepted.values()) if (equalBytes(a.delta, hash)) return `the delta of site "${a.site}"`
    }
    return `blob ${hex(hash)}`
  }

  /** Whether the holder of the participant's replica being audited may read the blob (true for other sources). */
  private holderMayRead(hash: Uint8Array, access: BlobAccess = {}): boolean {
    const holder = this.source.holder
    if (holder === undefined) return true
    return access.visible ?? mayFetch(replicaReader(this.state, this.coordinatorKey ?? holder.key, holder.key), access.audience ?? blobAudience(this.state, hash))
  }

  /**
   * The blob `hash` through `read`; when the source is a participant's
   * replica that lacks it, fetched if its holder may read it and the source
   * can fetch, else `BlobUnavailable` saying why.
   */
  private async obtain<T>(hash: Uint8Array, read: () => Promise<T>, access: BlobAccess): Promise<T> {
    try {
      return await read()
    } catch (err) {
      const holder = this.source.holder
      if (holder === undefined || !hasCode(err, 'LEDGER_BLOB_MISSING')) throw err
      if (!this.holderMayRead(hash, access)) throw new BlobUnavailable(hash, 'not-visible')
      if (access.fetch === false || this.source.fetchBlob === undefined) throw new BlobUnavailable(hash, 'not-held')
      try {
        await this.source.fetchBlob(hash)
      } catch (fetchErr) {
        const code = (fetchErr as { remoteCode?: unknown; code?: unknown }).remoteCode ?? (fetchErr as { code?: unknown }).code ?? 'ERROR'
        const causes = (fetchErr as { causes?: unknown }).causes
        const nowhere = Array.isArray(causes) && causes.length > 0 && causes.every((c) => hasCode(c, 'LEDGER_REMOTE_BLOB_MISSING'))
        throw new BlobUnavailable(hash, 'fetch-failed', `${String(code)}: ${(fetchErr as Error).message}`, nowhere)
      }
      return read()
    }
  }

  /** Why a tick decides nothing: the open round's missing updates and deadline, or the evaluation still awaited. */
  private nothingDue(): string {
    const open = this.state.openRound
    if (!open) return 'nothing is due at this time'
    const missing = [...open.plan.keys()].filter((s) => !open.accepted.has(s))
    return `round ${open.round} has ${open.accepted.size} of ${open.plan.size} planned updates (none from ${missing.map((s) => `"${s}"`).join(', ')}) and its deadline ${open.deadlineMs} has not passed`
  }

  /** The key a logged input's statement must be signed with: the hub's for a round start, else its site's enrolled key. */
  private signerKey(input: DeciderInput): Uint8Array | undefined {
    if (input.kind === 'round-start' || input.kind === 'round-abort') return this.state.hubKey
    const signed =
      input.kind === 'update'
        ? input.envelope
        : input.kind === 'evaluation'
          ? input.report
          : input.kind === 'patient-rewards' || input.kind === 'approval' || input.kind === 'declined' || input.kind === 'secagg'
            ? input.statement
            : undefined
    if (signed === undefined) return undefined
    try {
      const site = (decodeCanonical(signed.body) as { site?: unknown }).site
      return typeof site === 'string' ? this.state.sites.get(site) : undefined
    } catch {
      return undefined
    }
  }

  /** The input an entry records, with the bytes it names fetched and re-hashed. */
  private async inputOf(record: LineageRecord, opened: (BlobReader & { close(): void })[]): Promise<DeciderInput> {
    switch (record.kind) {
      case ENTRY_KINDS.STUDY_CREATED: {
        const b = record.body
        const parsed = StudySpecSchema.safeParse(this.decodeSpec(record.seq, b.spec))
        if (!parsed.success) throw new AuditSpecInvalidError(`${entryLabel(record.seq, record.kind)}: the study spec does not parse: ${parsed.error.issues[0]?.message ?? 'invalid'}`, record.seq)
        const create = { kind: 'create' as const, spec: parsed.data, hubKey: b.hub, sites: [], requestMaxAgeMs: b.requestMaxAgeMs }
        if (b.validation === undefined) return create
        // Before the study exists the policy cannot tell who reads the set: the coordinator and the auditors its spec names.
        const holder = this.source.holder?.key
        const visible = holder === undefined || (this.coordinatorKey !== undefined && equalBytes(holder, this.coordinatorKey)) || (parsed.data.auditors ?? []).some((a) => a.publicKey === hex(holder))
        try {
          return { ...create, validation: await this.blob(record.seq, b.validation, "the hub's validation set", { visible }) }
        } catch (err) {
          if (!(err instanceof BlobUnavailable)) throw err
          // The study is still re-created, naming the set by its hash; the set itself goes unchecked, and the verdict says so.
          this.unavailableNotes.push(err.as("the hub's validation set"))
          return { ...create, validationHash: b.validation }
        }
      }
      case ENTRY_KINDS.SITE_ENROLLED:
        // Enrolled while the study ran: the hub's signed request is re-decided; from the hub config: the coordinator's word.
        if (record.body.request !== undefined) return { kind: 'membership', request: unembedStatement(record.body.request) }
        return { kind: 'enroll', site: record.body.site, publicKey: record.body.key }
      case ENTRY_KINDS.SITE_REMOVED:
        return { kind: 'membership', request: unembedStatement(record.body.request) }
      case ENTRY_KINDS.ROUND_OPENED:
        // A DP round's seed is committed by hash; the replay re-decides the round start with that hash.
        return { kind: 'round-start', request: unembedStatement(record.body.request), ...(record.body.dp === undefined ? {} : { noiseSeedHash: record.body.dp.seed }) }
      case ENTRY_KINDS.ROUND_ABORTED:
        // The hub's signed abort is re-decided: signed by the hub key, fresh, for the round open then.
        return { kind: 'round-abort', request: unembedStatement(record.body.request) }
      case ENTRY_KINDS.UPDATE_ACCEPTED: {
        // The delta the log names must be the one the site signed; only then are its bytes worth fetching.
        const signedDelta = decodeStatement('update', this.signedOf(record.body.envelope, record.seq).body).delta
        if (!equalBytes(signedDelta, record.body.delta)) {
          throw new AuditStatementMismatchError(
            `${entryLabel(record.seq, record.kind)}: the update envelope of site "${record.body.site}" signs delta ${hex(signedDelta)}, the entry says ${hex(record.body.delta)}`,
            record.seq,
            'delta',
            record.body.delta,
            signedDelta,
          )
        }
        // Not folded yet, so the policy cannot tell whose it is: the site's own.
        const delta = await this.reader(record.seq, record.body.delta, `the delta of site "${record.body.site}"`, opened, { audience: { site: record.body.site } })
        return { kind: 'update', envelope: this.signedOf(record.body.envelope, record.seq), delta }
      }
      case ENTRY_KINDS.UPDATE_REJECTED: {
        const b = record.body
        // A refusal for the bytes is taken on the coordinator's word; any other must be re-decided from the envelope alone.
        const byBytes = BYTE_LEVEL_CODES.has(b.code)
        if (byBytes) this.unverifiedRejections++
        const transport = byBytes ? { code: b.code, reason: b.reason } : { code: 'AUDIT_NO_BYTES', reason: 'the log holds no delta bytes for a refused update' }
        return { kind: 'update', envelope: this.signedOf(b.envelope, record.seq), transport }
      }
      case ENTRY_KINDS.STATEMENT_REJECTED: {
        const statement = unembedStatement(record.body.statement)
        switch (record.body.type) {
          case 'evaluation':
            return { kind: 'evaluation', report: statement }
          case 'patient-rewards':
            return { kind: 'patient-rewards', statement }
          case 'approval':
            return { kind: 'approval', statement }
          case 'declined':
            return { kind: 'declined', statement }
          case 'secagg-keys':
          case 'secagg-shares':
          case 'secagg-unmask':
            return { kind: 'secagg', statement }
        }
        break
      }
      case ENTRY_KINDS.SECAGG_KEYS:
      case ENTRY_KINDS.SECAGG_SHARES:
      case ENTRY_KINDS.SECAGG_UNMASK:
        return { kind: 'secagg', statement: unembedStatement(record.body.statement) }
      case ENTRY_KINDS.APPROVAL:
        return { kind: 'approval', statement: unembedStatement(record.body.statement) }
      case ENTRY_KINDS.TASK_DECLINED:
        return { kind: 'declined', statement: unembedStatement(record.body.statement) }
      case ENTRY_KINDS.EVALUATION_REPORTED:
        return { kind: 'evaluation', report: unembedStatement(record.body.report) }
      case ENTRY_KINDS.PATIENT_REWARDS:
        return { kind: 'patient-rewards', statement: unembedStatement(record.body.statement) }
      default:
        return { kind: 'tick' }
    }
  }

  /** True when `missing` is a delta of `record`'s round (never a model, a state or a validation set) in a study with retention. */
  private prunedDelta(record: LineageRecord, missing: AuditBlobMissingError): boolean {
    if (this.state.study.retention === undefined) return false
    const round = (record.body as { round?: unknown }).round
    if (typeof round !== 'number') return false
    const named = record.kind === ENTRY_KINDS.UPDATE_ACCEPTED ? [record.body.delta] : [...(this.state.rounds.get(round)?.accepted.values() ?? [])].map((a) => a.delta)
    return named.some((d) => equalBytes(d, missing.hash))
  }

  /**
   * Folds an entry of a hash-only step as the log has it: its site's signed
   * envelope is still checked, its model is taken by hash, and its round is
   * reported hash-only, never re-derived.
   */
  private foldAsLogged(record: LineageRecord): void {
    const step = this.#hashOnlyStep!
    // A declined task may close a round; the decider admitted it before it asked for the round's blobs.
    const declinedFirst = record.kind === ENTRY_KINDS.TASK_DECLINED && record.seq === step.first && step.cause === 'unavailable'
    if (!HASH_ONLY_KINDS.has(record.kind) && !declinedFirst)
      throw new AuditStateInvalidError(`${entryLabel(record.seq, record.kind)}: not an entry of an update or a commit, in a step replayed hash-only`, record.seq)
    if (record.kind === ENTRY_KINDS.UPDATE_ACCEPTED) {
      const envelope = this.signedOf(record.body.envelope, record.seq)
      const key = this.state.sites.get(record.body.site)
      if (key === undefined || !verifyStatement(key, envelope))
        throw new AuditStateInvalidError(`${entryLabel(record.seq, record.kind)}: the update envelope is not signed by site "${record.body.site}"`, record.seq)
      // Its round, site, delta and examples are the envelope's, as the decider writes them.
      matchEntry(record, updateAcceptedEntry(envelope), step.timeMs)
    }
    if (declinedFirst) {
      const key = this.state.sites.get(record.body.site)
      if (key === undefined || !verifyStatement(key, unembedStatement(record.body.statement)))
        throw new AuditStateInvalidError(`${entryLabel(record.seq, record.kind)}: the declined statement is not signed by site "${record.body.site}"`, record.seq)
    }
    try {
      this.state.apply(record)
    } catch (err) {
      if (!hasCode(err, LINEAGE_RECORD_INVALID)) throw err
      throw new AuditStateInvalidError((err as Error).message, record.seq, { cause: err })
    }
    if (record.kind === ENTRY_KINDS.ROUND_COMMITTED) {
      if (step.cause === 'retention') this.hashOnly.add(record.body.round)
      else if (!this.unavailableRounds.has(record.body.round)) this.unavailableRounds.set(record.body.round, [])
      this.lineage.push(record.body.model)
    }
  }

  /**
   * The open DP round's noise seed when `hash` names it: from the seeds the
   * audit was given, else empty bytes (withheld), which makes the decider
   * compute the commit without noise. Undefined for any other hash.
   */
  private noiseSeed(hash: Uint8Array): Uint8Array | undefined {
    const given = this.noiseSeeds.get(toHex(hash))
    if (given !== undefined) return given
    const committed = this.state.openRound?.dp?.seed
    if (committed === undefined || !equalBytes(committed, hash)) return undefined
    this.#noiseWithheld = true
    return new Uint8Array(0)
  }

  /**
   * Requires the next decided entry to be `record`'s, checks the blobs the
   * step wrote that this entry names (at this entry's seq), then folds it.
   */
  private async matchAndFold(record: LineageRecord): Promise<void> {
    let decided = this.#expected.shift()
    if (decided === undefined) throw new AuditStateInvalidError(`${entryLabel(record.seq, record.kind)}: the protocol writes no such entry here`, record.seq)
    const seedless = this.#noiseWithheld && record.kind === ENTRY_KINDS.ROUND_COMMITTED
    if (seedless) {
      // Without the seed the decider made the noiseless model: its blobs cannot match the store, and the noise-dependent fields come from the log.
      const made = decided.body as { model?: unknown; state?: unknown }
      for (const h of [made.model, made.state]) if (h instanceof Uint8Array) this.#blobs.delete(toHex(h))
      decided = withLoggedNoise(decided, record.body as Record<string, unknown>)
    }
    matchEntry(record, decided, this.#stepTimeMs)
    try {
      this.state.apply(record)
    } catch (err) {
      if (!hasCode(err, LINEAGE_RECORD_INVALID)) throw err
      throw new AuditStateInvalidError((err as Error).message, record.seq, { cause: err })
    }
    for (const field of ['genesis', 'validation', 'delta', 'model', 'state'] as const) {
      const hash = (record.body as Partial<Record<typeof field, unknown>>)[field]
      const bytes = hash instanceof Uint8Array ? this.#blobs.get(toHex(hash)) : undefined
      if (bytes === undefined) continue
      this.#blobs.delete(toHex(hash as Uint8Array))
      await this.requireBlob(record.seq, bytes)
    }
    if (this.#expected.length === 0) for (const bytes of this.#blobs.values()) await this.requireBlob(record.seq, bytes)
    if (this.#expected.length === 0) this.#blobs.clear()
    if (record.kind === ENTRY_KINDS.STUDY_CREATED) this.lineage.push(record.body.genesis)
    if (record.kind === ENTRY_KINDS.ROUND_COMMITTED) {
      if (seedless) this.dpWithoutSeed.add(record.body.round)
      else this.rederived.add(record.body.round)
      this.lineage.push(record.body.model)
    }
  }

  private decodeSpec(seq: number, bytes: Uint8Array): unknown {
    try {
      return decodeCanonical(bytes)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      throw new AuditSpecInvalidError(`${entryLabel(seq, ENTRY_KINDS.STUDY_CREATED)}: the study spec is not canonical CBOR: ${err.message}`, seq, { cause: err })
    }
  }

  /**
   * A blob the decider emitted must be stored with exactly its bytes: the
   * stored copy must hash to the emitted bytes' hash (checked as it is opened).
   */
  private async requireBlob(seq: number, bytes: Uint8Array): Promise<void> {
    const opened: (BlobReader & { close(): void })[] = []
    try {
      await this.reader(seq, sha256(bytes), 'a blob this step writes', opened, { fetch: false })
    } catch (err) {
      // A participant's replica need not keep it: the entry's hash was matched against the bytes the replay derived.
      if (!(err instanceof BlobUnavailable)) throw err
    } finally {
      for (const r of opened) r.close()
    }
  }

  /**
   * The blob named `hash` as a reader (kept in `opened`, closed by the caller):
   * from the source's files when it has them, checked against the hash as they
   * open; else fetched whole and re-hashed. `what` names it in errors.
   */
  private async reader(seq: number, hash: Uint8Array, what: string, opened: (BlobReader & { close(): void })[], access: BlobAccess = {}): Promise<BlobReader> {
    const openBlob = this.source.openBlob?.bind(this.source)
    if (openBlob === undefined) {
      const bytes = await this.blob(seq, hash, what, access)
      return bytesReader(bytes)
    }
    let r: BlobReader & { close(): void }
    try {
      r = await this.obtain(hash, () => openBlob(hash), access)
    } catch (err) {
      if (err instanceof BlobUnavailable) throw err
      throw this.blobError(seq, hash, what, err)
    }
    opened.push(r)
    this.blobBytes += r.size
    return r
  }

  /** A source's blob failure as the audit reports it (missing, or stored with other bytes); other errors pass. */
  private blobError(seq: number, hash: Uint8Array, what: string, err: unknown): unknown {
    const at = entryLabel(seq, this.kind)
    if (hasCode(err, 'LEDGER_BLOB_MISSING')) return new AuditBlobMissingError(`${at}: ${what} ${hex(hash)} is not stored`, seq, hash, { cause: err })
    if (!hasCode(err, 'LEDGER_BLOB_CORRUPT')) return err
    const calculated = (err as { calculated?: unknown }).calculated
    const got = calculated instanceof Uint8Array ? hex(calculated) : 'other bytes'
    return this.blobMismatch(`${at}: ${what} is named ${hex(hash)}, the stored bytes hash to ${got}`, seq, hash, calculated instanceof Uint8Array ? calculated : 'other bytes', { cause: err })
  }

  /** A stored blob that does not hash to its name: AUDIT_SERVER_STATE_MISMATCH when a commit names it as its server state. */
  private blobMismatch(message: string, seq: number, hash: Uint8Array, calculated: Uint8Array | string, options?: ErrorOptions): AuditError {
    if (!this.isServerState(hash)) return new AuditBlobMismatchError(message, seq, hash, calculated, options)
    return new AuditServerStateMismatchError(`${message}: the strategy's server state was tampered with, and every later round starts from it`, seq, hash, calculated, options)
  }

  /** Whether a commit folded so far, or one this step is about to write, names `hash` as the strategy's server state. */
  private isServerState(hash: Uint8Array): boolean {
    for (const r of this.state.rounds.values()) if (r.commit?.body.state !== undefined && equalBytes(r.commit.body.state, hash)) return true
    return this.#expected.some(
      (e) => e.kind === ENTRY_KINDS.ROUND_COMMITTED && (e.body as { state?: unknown }).state instanceof Uint8Array && equalBytes((e.body as { state: Uint8Array }).state, hash),
    )
  }

  /** The blob named `hash`, fetched from the source and re-hashed. `what` names it in errors. */
  private async blob(seq: number, hash: Uint8Array, what: string, access: BlobAccess = {}): Promise<Uint8Array> {
    const at = entryLabel(seq, this.kind)
    let bytes: Uint8Array
    try {
      bytes = await this.obtain(hash, () => this.source.getBlob(hash), access)
    } catch (err) {
      if (err instanceof BlobUnavailable) throw err
      throw this.blobError(seq, hash, what, err)
    }
    this.blobBytes += bytes.length
    const calculated = sha256(bytes)
    if (!equalBytes(calculated, hash)) throw this.blobMismatch(`${at}: ${what} is named ${hex(hash)}, the stored bytes hash to ${hex(calculated)}`, seq, hash, calculated)
    return bytes
  }
}

/** The code of protocol/'s LineageRecordError, matched by code like every error the replay maps. */
const LINEAGE_RECORD_INVALID = 'COORD_LINEAGE_RECORD_INVALID'

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

/**
 * The audit finding an error amounts to, or undefined when it is not one
 * (storage I/O, a bug), in which case the audit rethrows it. `seq` and `kind`
 * name the entry being checked when the error does not carry its own `seq`.
 */
function toAuditError(err: unknown, seq: number, kind: string | undefined): AuditError | undefined {
  if (err instanceof AuditError) return err
  if (err instanceof ProtocolError && err.code === 'PROTOCOL_STATEMENT_INVALID') return new AuditStatementInvalidError(`${entryLabel(seq, kind)}: embedded ${err.message}`, seq, { cause: err })
  if (!(err instanceof LedgerError)) return undefined
  const own = (err as { seq?: unknown }).seq
  const at = typeof own === 'number' ? own : seq
  const options = { cause: err }
  switch (err.code) {
    case 'LEDGER_ENTRY_MALFORMED':
    case 'LEDGER_NON_CANONICAL':
      return new AuditEntryMalformedError(err.message, at, options)
    case 'LEDGER_SEQ_GAP':
      return new AuditSeqGapError(err.message, at, options)
    case 'LEDGER_CHAIN_BROKEN': {
      // The ledger's `expected` is the hash of the entry before (ours: calculated), its `calculated` the recorded prev (ours: expected).
      const chain = err as LedgerChainBrokenError
      return new AuditChainBrokenError(err.message, at, chain.calculated, chain.expected, options)
    }
    case 'LEDGER_SIGNATURE_INVALID':
      return new AuditSignatureInvalidError(err.message, at, options)
    case 'LEDGER_HEAD_MISMATCH':
      return new AuditHeadMismatchError(err.message, at, options)
    case 'PROTOCOL_STATEMENT_INVALID':
      return new AuditStatementInvalidError(`${entryLabel(at, kind)}: embedded ${err.message}`, at, options)
    default:
      return undefined
  }
}
