/**
 * The audit: replays a study's lineage log from its first entry to its head
 * and checks that every byte of it is what an honest coordinator would have
 * written, stopping at the first entry that is not.
 *
 * For each entry, in log order:
 *
 * 1. **Chain.** The bytes decode canonically, sit at their own `seq`, link to
 *    the entry before by `prev`, carry a strict RFC 8032 signature (S < L),
 *    and are signed by the coordinator: the author of `study-created`, or
 *    `init.trustedCoordinatorKey` when pinned. (`verifyEntry` from ledger/core.)
 * 2. **Record and state.** The body reads as its lineage record
 *    (`readLineageRecord`) and folds into the study state (`StudyState.apply`),
 *    which refuses sequences a correct coordinator cannot write.
 * 3. **Per kind** (core/, with the functions the coordinator used):
 *    - `study-created`: the spec parses and is logged in its parsed form; the
 *      genesis hash is the spec's seeded initial model; the genesis blob hashes to it.
 *    - `round-opened`: rounds left, the round seed, the hub's signed request.
 *    - `update-accepted`: the site's signed envelope agrees with the entry and
 *      the round's base; the delta blob hashes to its name, has the declared
 *      size, and decodes to finite weights of the study's layout.
 *    - `round-committed` / `round-abandoned`: the closing rule; for a commit,
 *      the logged strategy is the spec's, every accepted update is an input,
 *      and `deriveRoundModel` on the parent and deltas gives the logged model
 *      hash and metrics; the stored model blob hashes to it.
 *    - `evaluation-reported`: the site's signed report agrees with the entry.
 *    - consent (core/consent.ts): each update's signed consent claim holds by
 *      the coordinator's own rule (`checkUpdateConsent`): present when the
 *      study requires consent, decided at the round's opening time, and with
 *      a valid non-inclusion proof of every pseudonym its site revoked; the
 *      `consent-revoked` entries just before an update are exactly the new
 *      revocations its envelope reports.
 *    - `study-completed`: the round count and final model.
 *
 * Trust: nothing the source says is taken on its word. Only each entry's
 * `bytes` are used (the source's decoded `entry` and `hash` are ignored), and
 * every blob is re-hashed after `getBlob`. A `Ledger` is a source, and so will
 * be a replica fetched over libp2p.
 *
 * Verdicts and errors: a finding about the log ends the audit with a report
 * whose `failure` names the entry and an `AUDIT_*` code. Anything else (the
 * source's storage failing, a bug) is thrown.
 */
import {
  GENESIS_PREV_HASH,
  LedgerError,
  LedgerUntrustedAuthorError,
  decodeCanonical,
  decodeEntry,
  equalBytes,
  sha256,
  verifyEntry,
  type CanonicalValue,
  type Entry,
  type LedgerChainBrokenError,
  verifyMisbehaviourProof,
  type MisbehaviourProof,
  toHex,
  appendLeaf,
  hashLeaf,
  rootOfRange,
  openCheckpoint,
  RFC6962_SHA256,
  EMPTY_COMPACT_RANGE,
  type CompactRange,
  type SignedCheckpoint,
} from '../ledger/index.ts'
import { ModelError, assertFinite, decodeWeights, inputWidth, modelShapes, type StudySpec, type TensorShape, type Weights, decodeDataset } from '../models/core/index.ts'
import {
  buildAuditReport,
  checkCompletion,
  checkDeltaSize,
  checkEvaluationReport,
  checkGenesis,
  checkRoundClose,
  checkRoundOpening,
  checkRoundRequest,
  checkStrategy,
  checkStudySpec,
  checkNoRevocationPending,
  checkRevocationsReported,
  checkUpdateConsentClaim,
  checkPatientRewardsEntry,
  checkUpdateEnvelope,
  commitUpdates,
  rederiveRound,
  type AuditProgress,
  type AuditReport,
} from './core/index.ts'
import {
  AuditAuthorUntrustedError,
  AuditBlobInvalidError,
  AuditBlobMismatchError,
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
  AuditRewardMismatchError,
  AuditRewardMissingError,
  AuditSignatureInvalidError,
  AuditSpecInvalidError,
  AuditStateInvalidError,
  AuditStatementInvalidError,
  entryLabel,
  hex,
} from './errors.ts'
import {
  decodeStatement,
  ENTRY_KINDS,
  StudyState,
  readLineageRecord,
  type LineageRecord,
  type RevocationRecord,
  type RoundRecord,
  computeRoundRewards,
  type ContributionUpdate,
  ProtocolError,
} from '../protocol/index.ts'

/** One entry as a source hands it out. The audit uses `bytes` only. */
export interface AuditSourceEntry {
  readonly entry: Entry
  readonly bytes: Uint8Array
  readonly hash: Uint8Array
}

/**
 * Where the audit reads a log from: a `Ledger` over a local LevelDB replica
 * today, a replica fetched over libp2p tomorrow. Nothing it returns is trusted.
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
   * Proofs of coordinator misbehaviour the source's replica has stored (see
   * ledger/core/checkpoint.ts). Each is verified again here; any valid one
   * fails the audit. Absent for sources that keep none.
   */
  misbehaviour?(): Promise<readonly MisbehaviourProof[]>
  /** The source's newest signed checkpoint, which must commit to exactly the replayed log. */
  latestCheckpoint?(): Promise<SignedCheckpoint | undefined>
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
}

/** A report, and the error behind its failure (for callers that rethrow it, like the CLI). */
export interface AuditOutcome {
  readonly report: AuditReport
  readonly error: AuditError | undefined
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
    cp = openCheckpoint(signed, replay.coordinatorKey, replay.state.studyId)
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
  const replay = new Replay(source, init.trustedCoordinatorKey)
  init.onProgress?.(0, total)
  try {
    if (total === 0) throw new AuditLogEmptyError()
    for await (const { bytes } of source.scan(0, total)) {
      // Past `total` the source broke its contract; the audit covers [0, total) only.
      if (replay.entries === total) break
      await replay.entry(bytes)
      init.onProgress?.(replay.entries, total)
    }
    if (replay.entries < total) throw new AuditSeqGapError(`entry ${replay.entries}: missing, the source ended after ${replay.entries} of its ${total} entries`, replay.entries)
    replay.finish()
    await checkCheckpoint(source, replay)
    await checkNoEquivocation(source, replay.coordinatorKey)
  } catch (err) {
    const error = toAuditError(err, replay.entries, replay.kind)
    if (error === undefined) throw err
    return { report: buildAuditReport(replay, error), error }
  }
  return { report: buildAuditReport(replay), error: undefined }
}

/** The replay's state between entries. `AuditProgress` is what the report is built from. */
class Replay implements AuditProgress {
  readonly state = new StudyState()
  readonly rederived = new Set<number>()
  readonly lineage: Uint8Array[] = []
  entries = 0
  head: Uint8Array | undefined
  coordinatorKey: Uint8Array | undefined
  /** The Merkle tree over the entries replayed so far (RFC 6962), to hold the signed checkpoint against. */
  range: CompactRange = EMPTY_COMPACT_RANGE
  /** The signed checkpoint the replayed log was found to match: its size and root. */
  checkpoint: { readonly size: number; readonly root: Uint8Array } | undefined
  /** Kind of the entry being checked, once its bytes decoded. */
  kind: string | undefined
  #spec: StudySpec | undefined
  #shapes: readonly TensorShape[] = []
  /** The newest verified model (genesis or the last re-derived commit): the next round's parent. */
  #current: { readonly hash: Uint8Array; readonly weights: Weights } | undefined
  /** Decoded deltas of the open round's accepted updates, by site. */
  #deltas = new Map<string, Weights>()
  /** The last committed round's inputs, which its `round-rewarded` entry is recomputed from. */
  #lastCommit: { readonly round: number; readonly parent: Weights; readonly updates: readonly ContributionUpdate[] } | undefined
  /** A committed round whose rewards entry must come next. */
  #rewardDue: number | undefined
  /** `consent-revoked` entries since the last update: the update of their site must come next. */
  #pendingRevocations: RevocationRecord[] = []

  /** End of the log: a round that committed last must still have its rewards. */
  finish(): void {
    checkNoRevocationPending(this.entries, undefined, this.#pendingRevocations)
    if (this.#rewardDue !== undefined) throw new AuditRewardMissingError(`round ${this.#rewardDue} committed without its rewards entry (end of log)`, this.entries)
  }

  constructor(
    private readonly source: AuditSource,
    private readonly pinnedKey: Uint8Array | undefined,
  ) {}

  async entry(bytes: Uint8Array): Promise<void> {
    const seq = this.entries
    this.kind = undefined
    const entry = decodeEntry(bytes, seq)
    this.kind = entry.kind
    const coordinator = this.coordinatorKey ?? this.pinnedKey
    let hash: Uint8Array
    try {
      hash = verifyEntry(entry, bytes, { seq, prevHash: this.head ?? GENESIS_PREV_HASH, trustedAuthors: coordinator && [coordinator] })
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
    await this.check(record)
    this.head = hash
    this.range = appendLeaf(RFC6962_SHA256, this.range, hashLeaf(bytes))
    this.entries++
  }

  private get spec(): StudySpec {
    // Set by the study-created check; the fold refuses any other first entry.
    return this.#spec!
  }

  private apply(record: LineageRecord): void {
    try {
      this.state.apply(record)
    } catch (err) {
      if (!hasCode(err, LINEAGE_RECORD_INVALID)) throw err
      throw new AuditStateInvalidError((err as Error).message, record.seq, { cause: err })
    }
  }

  private async check(record: LineageRecord): Promise<void> {
    const { seq } = record
    const state = this.state
    if (this.#rewardDue !== undefined && record.kind !== ENTRY_KINDS.ROUND_REWARDED)
      throw new AuditRewardMissingError(`${entryLabel(seq, record.kind)}: round ${this.#rewardDue} committed without its rewards entry`, seq)
    if (record.kind !== ENTRY_KINDS.CONSENT_REVOKED && record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) checkNoRevocationPending(seq, record.kind, this.#pendingRevocations)
    switch (record.kind) {
      case ENTRY_KINDS.STUDY_CREATED: {
        this.apply(record)
        const spec = checkStudySpec(seq, record.body, this.decodeSpec(seq, record.body.spec))
        const genesis = checkGenesis(seq, record.body, spec)
        await this.blob(seq, record.body.genesis, 'the initial model')
        this.#spec = spec
        this.#shapes = modelShapes(spec.model, inputWidth(spec.data))
        this.#current = { hash: record.body.genesis, weights: genesis }
        this.lineage.push(record.body.genesis)
        return
      }
      case ENTRY_KINDS.ROUND_OPENED: {
        this.apply(record)
        checkRoundOpening(seq, state, this.spec, record.body)
        checkRoundRequest(seq, state, record.body, decodeStatement('round-start', record.body.request.body))
        this.#deltas = new Map()
        return
      }
      case ENTRY_KINDS.UPDATE_ACCEPTED: {
        this.apply(record)
        const envelope = decodeStatement('update', record.body.envelope.body)
        checkUpdateEnvelope(seq, state, record.body, envelope)
        checkRevocationsReported(seq, state, record.body, envelope, this.#pendingRevocations)
        checkUpdateConsentClaim(seq, state, record.body, envelope, this.spec.consent !== undefined)
        this.#pendingRevocations = []
        const what = `the delta of site "${record.body.site}"`
        const bytes = await this.blob(seq, record.body.delta, what)
        checkDeltaSize(seq, record.body, envelope, bytes.length)
        this.#deltas.set(record.body.site, this.weights(seq, bytes, what, true))
        return
      }
      case ENTRY_KINDS.ROUND_COMMITTED: {
        const open = this.openRoundSnapshot()
        this.apply(record)
        const body = record.body
        checkRoundClose(seq, open!, state.sites.size, this.spec.minSites, record)
        checkStrategy(seq, this.spec, body)
        const parent = await this.model(seq, body.parent, `the parent model of round ${body.round}`)
        const updates = commitUpdates(seq, state.rounds.get(body.round)!, body, this.#deltas)
        let derived
        try {
          derived = rederiveRound(seq, this.spec.strategy, body, parent, updates)
        } catch (err) {
          if (!(err instanceof ModelError)) throw err
          throw new AuditRederivationError(`${entryLabel(seq, record.kind)}: round ${body.round} cannot be re-derived: ${err.message}`, seq, { cause: err })
        }
        await this.blob(seq, body.model, `the model of round ${body.round}`)
        const accepted = state.rounds.get(body.round)!.accepted
        this.#lastCommit = { round: body.round, parent, updates: updates.map((u) => ({ ...u, acceptedSeq: accepted.get(u.siteId)!.seq })) }
        if (this.spec.rewards) this.#rewardDue = body.round
        this.#current = { hash: derived.hash, weights: derived.weights }
        this.#deltas = new Map()
        this.rederived.add(body.round)
        this.lineage.push(derived.hash)
        return
      }
      case ENTRY_KINDS.ROUND_ABANDONED: {
        const open = this.openRoundSnapshot()
        this.apply(record)
        checkRoundClose(seq, open!, state.sites.size, this.spec.minSites, record)
        this.#deltas = new Map()
        return
      }
      case ENTRY_KINDS.EVALUATION_REPORTED: {
        this.apply(record)
        checkEvaluationReport(seq, state, record.body, decodeStatement('evaluation', record.body.report.body))
        return
      }
      case ENTRY_KINDS.STUDY_COMPLETED: {
        this.apply(record)
        checkCompletion(seq, state, record.body)
        return
      }
      case ENTRY_KINDS.ROUND_REWARDED: {
        this.apply(record)
        const body = record.body
        const rewards = this.spec.rewards
        if (!rewards || this.#lastCommit?.round !== body.round)
          throw new AuditRewardMissingError(`${entryLabel(seq, record.kind)}: rewards for round ${body.round}, which the study does not pay or which did not just commit`, seq)
        this.#rewardDue = undefined
        const validation = state.validation ? decodeDataset(await this.blob(seq, state.validation, "the hub's validation set")) : undefined
        const expected = computeRoundRewards({
          rewards,
          model: this.spec.model,
          strategy: this.spec.strategy,
          studySeed: this.spec.seed,
          round: body.round,
          parent: this.#lastCommit.parent,
          updates: this.#lastCommit.updates,
          validation,
        })
        const fields: [string, unknown, unknown][] = [
          ['method', body.method, expected.method],
          ['metric', body.metric, expected.metric],
          ['pool', body.pool, expected.pool],
          ['seed', body.seed, expected.seed],
          ['unallocated', body.unallocated, expected.unallocated],
          ...expected.allocations.flatMap((a, i): [string, unknown, unknown][] => {
            const logged = body.allocations[i]
            return [
              [`allocations[${i}].site`, logged?.site, a.site],
              [`allocations[${i}].amount`, logged?.amount, a.amount],
              [`allocations[${i}].raw`, logged?.raw, a.raw],
              [`allocations[${i}].payable`, logged?.payable, a.payable],
              [`allocations[${i}].reason`, logged?.reason, a.reason],
            ]
          }),
        ]
        for (const [field, logged, recomputed] of fields)
          if (logged !== recomputed)
            throw new AuditRewardMismatchError(
              `${entryLabel(seq, record.kind)}: round ${body.round} ${field} is ${String(logged)}, recomputed from the log ${String(recomputed)}`,
              seq,
              String(logged),
              String(recomputed),
            )
        return
      }
      case ENTRY_KINDS.CONSENT_REVOKED: {
        this.apply(record)
        const revocation = state.revocations.get(record.body.site)!.get(toHex(record.body.pseudonym))!
        const first = this.#pendingRevocations[0]
        if (first !== undefined && first.site !== revocation.site) checkNoRevocationPending(seq, record.kind, this.#pendingRevocations)
        this.#pendingRevocations.push(revocation)
        return
      }
      case ENTRY_KINDS.PATIENT_REWARDS: {
        // Checked before the fold, which would record it (and its statement as seen).
        checkPatientRewardsEntry(seq, state, record.body)
        this.apply(record)
        return
      }
      case ENTRY_KINDS.SITE_ENROLLED:
      case ENTRY_KINDS.UPDATE_REJECTED:
        this.apply(record)
        return
    }
  }

  /** The open round as it is before a closing record applies (which the fold refuses when none is open). */
  private openRoundSnapshot(): RoundRecord | undefined {
    const open = this.state.openRound
    return open && { ...open }
  }

  private decodeSpec(seq: number, bytes: Uint8Array): CanonicalValue {
    try {
      return decodeCanonical(bytes)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      throw new AuditSpecInvalidError(`${entryLabel(seq, ENTRY_KINDS.STUDY_CREATED)}: the study spec is not canonical CBOR: ${err.message}`, seq, { cause: err })
    }
  }

  /** The blob named `hash`, fetched from the source and re-hashed. `what` names it in errors. */
  private async blob(seq: number, hash: Uint8Array, what: string): Promise<Uint8Array> {
    const at = entryLabel(seq, this.kind)
    let bytes: Uint8Array
    try {
      bytes = await this.source.getBlob(hash)
    } catch (err) {
      if (hasCode(err, 'LEDGER_BLOB_MISSING')) throw new AuditBlobMissingError(`${at}: ${what} ${hex(hash)} is not stored`, seq, hash, { cause: err })
      if (!hasCode(err, 'LEDGER_BLOB_CORRUPT')) throw err
      const calculated = (err as { calculated?: unknown }).calculated
      const got = calculated instanceof Uint8Array ? hex(calculated) : 'other bytes'
      throw new AuditBlobMismatchError(`${at}: ${what} is named ${hex(hash)}, the stored bytes hash to ${got}`, seq, hash, calculated instanceof Uint8Array ? calculated : 'other bytes', {
        cause: err,
      })
    }
    const calculated = sha256(bytes)
    if (!equalBytes(calculated, hash)) throw new AuditBlobMismatchError(`${at}: ${what} is named ${hex(hash)}, the stored bytes hash to ${hex(calculated)}`, seq, hash, calculated)
    return bytes
  }

  /** Decodes a verified blob as weights of the study's layout; deltas must also be finite. */
  private weights(seq: number, bytes: Uint8Array, what: string, finite: boolean): Weights {
    try {
      const weights = decodeWeights(bytes, this.#shapes)
      if (finite) assertFinite(weights, what)
      return weights
    } catch (err) {
      if (!(err instanceof ModelError)) throw err
      throw new AuditBlobInvalidError(`${entryLabel(seq, this.kind)}: ${what} is not a valid weights encoding of the study model: ${err.message}`, seq, { cause: err })
    }
  }

  /** A model of the lineage: the last verified one from memory, any other fetched, re-hashed and decoded. */
  private async model(seq: number, hash: Uint8Array, what: string): Promise<Weights> {
    if (this.#current !== undefined && equalBytes(this.#current.hash, hash)) return this.#current.weights
    return this.weights(seq, await this.blob(seq, hash, what), what, false)
  }
}

/** The code of coordinator/core's LineageRecordError (not exported through coordinator/core/index.ts). */
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
