/**
 * The coordinator's shell around the round decider (protocol/decider.ts):
 * it feeds inputs (hub requests, site statements with their bytes, ticks of
 * the clock) to `step`, appends what comes out, and hands out the tasks. It
 * decides nothing itself: every admission rule, every close, every value in
 * a commit comes from `step`, which the auditor re-runs over the log.
 *
 * The log is the only state that matters. Each step's entries and blobs are
 * appended with a signed checkpoint in one durable batch, and the in-memory
 * `StudyState` is the fold of the log; `open()` rebuilds it from disk, so a
 * coordinator killed at any point restarts where the log says and loses
 * nothing it acknowledged: an upload is acknowledged only after its
 * `update-accepted` entry and its delta blob are durable.
 *
 * All steps run through one serial queue, because an upload finishing while
 * a deadline fires must not see a half-updated round.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import {
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  logOrigin,
  sha256,
  toHex,
  type AppendBlob,
  type BlobReader,
  type BlobWriter,
  type Cosignature,
  type EntryDraft,
  type FinishedBlob,
  type Ledger,
  type SignedCheckpoint,
  type Signer,
} from '../ledger/index.ts'
import type { StudySpec } from '../models/index.ts'
import {
  ENTRY_KINDS,
  StudyState,
  checkUpdateConsent,
  checkUpdateEnvelope,
  encodeSpec,
  evaluationComplete,
  needsBlobs,
  nextRoundDue,
  nextWakeMs,
  pendingTasks,
  prunableDeltas,
  readLineageRecord,
  signStatement,
  step,
  DpBudgetSpentError,
  ProtocolError,
  SignatureInvalidError,
  StudyMismatchError,
  type DeciderInput,
  type RoundCommittedBody,
  type Decision,
  type LineageRecord,
  type SignedStatement,
  type SiteTask,
  type UpdateEnvelope,
} from '../protocol/index.ts'
import { CoordinatorConfigError, CoordinatorStoreError, ModelNotFoundError } from './errors.ts'
import { UploadReader } from './upload-reader.ts'
import type { NoiseSeedStore } from './noise-seeds.ts'

export type { SiteTask } from '../protocol/index.ts'

/** A commit's sites, examples and example-weighted train loss, for the hub's log. */
function commitFields(body: RoundCommittedBody): Record<string, unknown> {
  const trainLoss = body.metrics['trainLoss']
  return { sites: body.inputs.map((i) => i.site), examples: body.inputs.reduce((n, i) => n + i.examples, 0), ...(trainLoss === undefined ? {} : { trainLoss }) }
}

/** The example-weighted mean of each metric over a round's evaluations (loss, accuracy, AUC, …), and the sites counted. */
function weightedEvaluation(evals: readonly { readonly site: string; readonly examples: number; readonly metrics: Readonly<Record<string, number>> }[]): Record<string, unknown> {
  const sums = new Map<string, { sum: number; n: number }>()
  for (const e of evals)
    for (const [k, v] of Object.entries(e.metrics)) {
      if (!Number.isFinite(v)) continue
      const s = sums.get(k) ?? { sum: 0, n: 0 }
      s.sum += v * e.examples
      s.n += e.examples
      sums.set(k, s)
    }
  const metrics = Object.fromEntries([...sums].filter(([, s]) => s.n > 0).map(([k, s]) => [k, s.sum / s.n]))
  return { sites: evals.map((e) => e.site).sort(), metrics }
}

export interface RoundRunnerComponents {
  readonly ledger: Ledger
  /** Signs every log entry (the coordinator's identity). */
  readonly signer: Signer
  readonly logger: Logger
  /** Wall clock in ms; injected so tests can move time. */
  readonly now?: () => number
  /** The private store of DP noise seeds (noise-seeds.ts); required when the study has `dp`. */
  readonly noiseSeeds?: NoiseSeedStore
}

export interface RoundRunnerInit {
  readonly study: StudySpec
  readonly sites: readonly { readonly id: string; readonly publicKey: Uint8Array }[]
  /** Key allowed to sign round starts. */
  readonly hubKey: Uint8Array
  /** Open each round once the previous one is evaluated. Requires `hubKey` to be the coordinator's own key. */
  readonly autoAdvance: boolean
  readonly maxRequestAgeMs: number
  /** The hub's prepared validation set (canonical Dataset bytes), for gain-based rewards. */
  readonly validation?: Uint8Array | undefined
}

export interface RoundRunnerEvents {
  task: [siteId: string | null, task: SiteTask]
  'round-opened': [round: number]
  'round-committed': [round: number, model: Uint8Array]
  'round-abandoned': [round: number, reason: string]
  /** The hub aborted the round (logged as round-aborted). */
  'round-aborted': [round: number, reason: string]
  'round-evaluated': [round: number]
  'study-completed': [rounds: number]
  /** Auto-advance found the study's privacy budget (`dp.epsilon`) spent: no more rounds open. */
  'dp-budget-spent': [message: string]
  /**
   * Auto-advance could not open the next round (the decider refused its
   * start, or the log failed), so the study waits: said at each attempt,
   * for whoever runs the coordinator without reading its log (the benches).
   */
  'auto-advance-failed': [error: Error]
  /** A site's approval of the study's spec was logged. */
  approval: [site: string]
  /** A site declined its fit task of `round` with `code` (logged as task-declined). */
  'task-declined': [round: number, site: string, code: string]
  /** A signed checkpoint of the log after each append (for replication). */
  checkpoint: [checkpoint: SignedCheckpoint]
  /** Where the coordinator's time goes, per round: for `bench:round` and metrics. */
  timing: [round: number, phase: CoordinatorPhase, ms: number]
  /** Entries one durable append wrote, as the log holds them (metrics, the dashboard's live view). */
  appended: [records: readonly LineageRecord[]]
  /** A site's cosignature of the log at `size` was kept: its replica had verified that far. */
  cosigned: [site: string, size: number]
}

/** verify: the decider's step for an update that closed nothing; aggregate: a step that closed a round; log: the durable append. */
export type CoordinatorPhase = 'verify' | 'log' | 'aggregate'

/** Most inputs decided and written together in one group commit. */
const MAX_GROUP_INPUTS = 64

export class RoundRunner extends EventEmitter<RoundRunnerEvents> {
  readonly state = new StudyState()
  /** Sites' inputs waiting for the next group commit. */
  private readonly grouped: { input: DeciderInput; resolve: (r: { decision: Decision; firstSeq: number }) => void; reject: (err: unknown) => void }[] = []
  private groupScheduled = false
  /** Set when a write failed after the state took its entries: every later input is refused until a restart. */
  private broken: CoordinatorStoreError | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private readonly evaluatedRounds = new Set<number>()
  /** Deltas this run deleted (or found gone) under the study's retention, by hex hash. */
  private readonly prunedDeltas = new Set<string>()
  private closed = false
  /** A round start this runner signed itself (autoAdvance) is queued and not yet decided. */
  private advancing = false
  /** Set once auto-advance met the study's spent privacy budget: it opens no more rounds. */
  private dpBudgetSpent: DpBudgetSpentError | undefined
  private readonly now: () => number

  private constructor(
    private readonly components: RoundRunnerComponents,
    readonly init: RoundRunnerInit,
  ) {
    super()
    this.now = components.now ?? Date.now
  }

  /** Opens the study's log: creates it on first start, otherwise folds it and resumes. */
  static async open(components: RoundRunnerComponents, init: RoundRunnerInit): Promise<RoundRunner> {
    const runner = new RoundRunner(components, init)
    await runner.serial(() => runner.load())
    return runner
  }

  /** The runner's clock (the one its steps are decided at), in ms since the epoch. */
  get nowMs(): number {
    return this.now()
  }

  get logLength(): number {
    return this.ledger.length
  }

  get logHead(): Uint8Array {
    return this.ledger.headHash
  }

  get shapes() {
    return this.state.shapes
  }

  private get ledger(): Ledger {
    return this.components.ledger
  }

  private get log(): Logger {
    return this.components.logger
  }

  private async load(): Promise<void> {
    const { study, hubKey, validation, sites } = this.init
    if (this.ledger.length === 0) {
      await this.run({ kind: 'create', spec: study, hubKey, sites, requestMaxAgeMs: this.init.maxRequestAgeMs, ...(validation ? { validation } : {}) })
      this.log.info({ study: study.id, genesis: toHex(this.state.genesis) }, 'study created')
    } else {
      for await (const { entry } of this.ledger.scan()) this.state.apply(readLineageRecord(entry))
      this.checkConfigMatchesLog()
      for (const s of sites) await this.run({ kind: 'enroll', site: s.id, publicKey: s.publicKey })
      const latest = this.state.currentModelRound
      for (const r of this.state.rounds.values()) if (r.commit && r.round < latest) this.evaluatedRounds.add(r.round)
      this.log.info({ study: this.state.studyId, entries: this.ledger.length, round: this.state.lastRound, committed: this.state.committedRounds }, 'study resumed from log')
      // A deadline that passed while the coordinator was down acts now.
      await this.run({ kind: 'tick' })
      if (this.state.study.retention !== undefined) await this.pruneDeltas()
    }
  }

  private checkConfigMatchesLog(): void {
    const { study, hubKey, validation } = this.init
    const s = this.state
    if (s.studyId !== study.id) throw new StudyMismatchError(`the log holds study "${s.studyId}", the config defines "${study.id}"`)
    if (!equalBytes(s.spec, encodeSpec(study))) throw new StudyMismatchError(`study "${study.id}": the config's study spec differs from the one in the log; a running study cannot change its spec`)
    if (!equalBytes(s.hubKey, hubKey)) throw new StudyMismatchError(`study "${study.id}": the config's hub key differs from the one in the log`)
    const logged = s.validation ? toHex(s.validation) : 'none'
    const configured = validation ? toHex(sha256(validation)) : 'none'
    if (logged !== configured) throw new StudyMismatchError(`study "${study.id}": the config's validation set (${configured.slice(0, 16)}) differs from the logged one (${logged.slice(0, 16)})`)
  }

  /** Runs `fn` after every step queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }

  /**
   * Queues a site's input for the next group commit. Sites' statements that
   * arrive while a write is in flight are decided one after another on the
   * in-memory state and written together, in one durable batch with one
   * checkpoint, so simultaneous uploads share an fsync instead of queueing
   * for one each. Each caller still hears only once its entries are durable.
   */
  private runGrouped(input: DeciderInput): Promise<{ decision: Decision; firstSeq: number }> {
    return new Promise((resolve, reject) => {
      this.grouped.push({ input, resolve, reject })
      if (this.groupScheduled) return
      this.groupScheduled = true
      void this.serial(() => this.commitGroup())
    })
  }

  private async commitGroup(): Promise<void> {
    this.groupScheduled = false
    const items = this.grouped.splice(0, MAX_GROUP_INPUTS)
    if (this.grouped.length > 0) {
      this.groupScheduled = true
      void this.serial(() => this.commitGroup())
    }
    const outcomes = await this.commitInputs(items.map((i) => i.input))
    items.forEach((item, i) => {
      const o = outcomes[i]!
      if ('error' in o) item.reject(o.error)
      else if (o.decision.refusal) item.reject(o.decision.refusal)
      else item.resolve(o)
    })
  }

  /**
   * Decides `inputs` one after another at the current time, folding each
   * decision into the state so the next sees it (blobs written earlier in
   * the group are served from memory), then appends all their entries and
   * blobs with one signed checkpoint in one durable batch, and only then
   * reports them and hands out their tasks. One outcome per input, in order.
   */
  private async commitInputs(inputs: readonly DeciderInput[]): Promise<({ decision: Decision; firstSeq: number } | { error: unknown })[]> {
    if (this.broken) return inputs.map(() => ({ error: this.broken }))
    try {
      return await this.commitInputsHeld(inputs)
    } finally {
      // Uploads' temp files: the log moved the accepted ones into place; the rest go, together.
      await Promise.all(inputs.map((input) => (input.kind === 'update' && input.delta instanceof UploadReader ? input.delta.release() : undefined)))
    }
  }

  private async commitInputsHeld(inputs: readonly DeciderInput[]): Promise<({ decision: Decision; firstSeq: number } | { error: unknown })[]> {
    const base = this.ledger.length
    const drafts: EntryDraft[] = []
    const records: LineageRecord[] = []
    const blobs: AppendBlob[] = []
    const written = new Map<string, Uint8Array | BlobReader>()
    const outcomes: ({ decision: Decision; firstSeq: number; timeMs: number; decideMs: number } | { error: unknown })[] = []
    for (const input of inputs) {
      const timeMs = this.now()
      const t0 = performance.now()
      let decision: Decision
      try {
        decision = await this.decide(input, timeMs, written)
      } catch (error) {
        outcomes.push({ error })
        continue
      }
      const firstSeq = base + drafts.length
      for (const e of decision.entries) {
        // Folded as the log will hold it (canonical bytes decoded), so the next input in the group sees it.
        const record = readLineageRecord({ seq: base + drafts.length, kind: e.kind, timeMs, body: decodeCanonical(encodeCanonical(e.body)) })
        this.state.apply(record)
        records.push(record)
        drafts.push({ kind: e.kind, timeMs, body: e.body })
      }
      for (const b of decision.blobs) {
        if (b instanceof Uint8Array) {
          blobs.push(b)
          written.set(toHex(sha256(b)), b)
        } else if (b instanceof UploadReader) {
          // An accepted upload: its file is appended as it is, and later inputs of the group read it there.
          b.markAppended()
          blobs.push(b.blob)
          written.set(toHex(b.blob.hash), b)
        } else throw new TypeError('the decider emitted a blob reader that is not an upload')
      }
      outcomes.push({ decision, firstSeq, timeMs, decideMs: performance.now() - t0 })
    }
    const decided = outcomes.filter((o): o is Extract<(typeof outcomes)[number], { decision: Decision }> => 'decision' in o)
    const t1 = performance.now()
    if (drafts.length > 0) {
      const origin = logOrigin(this.state.created ? this.state.studyId : this.init.study.id)
      try {
        const { checkpoint } = await this.ledger.appendWithCheckpoint(this.components.signer, drafts, blobs, { origin })
        this.emit('checkpoint', checkpoint)
        this.emit('appended', records)
      } catch (err) {
        // The state already holds entries the log does not: only a restart, which folds the log again, is safe.
        this.broken = new CoordinatorStoreError(`the log could not be written (${(err as Error).message}); restart the coordinator, which resumes from its log`, { cause: err })
        this.log.error({ err }, 'log write failed; the coordinator takes no more input until it restarts')
        return inputs.map(() => ({ error: this.broken }))
      }
    }
    // The group's one write, shared out so the per-input timings still add up to the time spent.
    const logMs = (performance.now() - t1) / Math.max(1, decided.length)
    for (const d of decided) {
      this.report(d.decision, d.decideMs, logMs)
      for (const { siteId, task } of d.decision.tasks) this.emit('task', siteId, task)
      this.afterStep(d.timeMs)
    }
    return outcomes
  }

  /** The decider's decision on `input`, loading the blobs it asks for from the log or from `pending` (written in this group). */
  private async decide(input: DeciderInput, timeMs: number, pending: ReadonlyMap<string, Uint8Array | BlobReader> = new Map()): Promise<Decision> {
    // Stored blobs the step asks for are opened as readers over their files (checked against their
    // hash first), so a commit reads deltas a slice at a time instead of loading every one.
    const opened = new Map<string, BlobReader & { close(): void }>()
    const view = {
      get: (h: Uint8Array) => {
        const p = pending.get(toHex(h))
        // A DP round's noise seed, asked for by its logged hash, comes from the private store, never the log's blobs.
        return p instanceof Uint8Array ? p : this.components.noiseSeeds?.get(h)
      },
      open: (h: Uint8Array) => {
        const p = pending.get(toHex(h))
        return p !== undefined && !(p instanceof Uint8Array) ? p : opened.get(toHex(h))
      },
    }
    try {
      let result = step(this.state, input, timeMs, view)
      while (needsBlobs(result)) {
        for (const hash of result.needs) if (!pending.has(toHex(hash)) && !opened.has(toHex(hash))) opened.set(toHex(hash), await this.ledger.openBlobReader(hash, { verify: true }))
        result = step(this.state, input, timeMs, view)
      }
      return result
    } finally {
      for (const r of opened.values()) r.close()
    }
  }

  /**
   * One input on its own (a hub request, a tick, the study's creation): a
   * group of one. Resolves with the decision and the seq of its first entry;
   * the refusal, if any, is thrown after its rejection is durable.
   */
  private async run(input: DeciderInput): Promise<{ decision: Decision; firstSeq: number }> {
    const [outcome] = await this.commitInputs([input])
    if ('error' in outcome!) throw outcome.error
    if (outcome!.decision.refusal) throw outcome!.decision.refusal
    return outcome!
  }

  /**
   * Deletes the deltas the study's retention no longer keeps (protocol/retention.ts).
   * Queued like a step, so no step reads a delta while it goes; a failure is logged
   * and retried after the next commit (the blobs stay, which the audit accepts).
   */
  private async pruneDeltas(): Promise<void> {
    let removed = 0
    try {
      // Each delta is deleted once per run: the rule names every round past retention again after each commit.
      for (const hash of prunableDeltas(this.state)) {
        const id = toHex(hash)
        if (this.prunedDeltas.has(id)) continue
        if (await this.ledger.removeBlob(hash)) removed++
        this.prunedDeltas.add(id)
      }
    } catch (err) {
      this.log.warn({ err }, 'pruning deltas past retention failed; retried after the next commit')
    }
    if (removed > 0) this.log.info({ removed, keepRounds: this.state.study.retention?.deltaRounds }, 'deltas past retention deleted')
  }

  /** Logs and emits what a step did. */
  private report(decision: Decision, decideMs: number, logMs: number): void {
    let round = this.state.lastRound
    let closed = false
    for (const e of decision.entries) {
      const body = e.body as { round?: number; model?: Uint8Array; reason?: string; rounds?: number; site?: string; code?: string }
      if (body.round !== undefined) round = body.round
      switch (e.kind) {
        case ENTRY_KINDS.ROUND_OPENED: {
          const r = this.state.rounds.get(round)
          this.log.info({ round, sites: [...(r?.plan.keys() ?? [])].sort(), deadline: r?.deadlineMs }, 'round opened')
          this.emit('round-opened', round)
          break
        }
        case ENTRY_KINDS.ROUND_COMMITTED:
          closed = true
          this.log.info({ round, model: toHex(body.model!).slice(0, 16), ...commitFields(e.body as RoundCommittedBody) }, 'round committed')
          this.emit('round-committed', round, body.model!)
          if (this.state.study.retention !== undefined) void this.serial(() => this.pruneDeltas())
          break
        case ENTRY_KINDS.ROUND_ABANDONED:
          closed = true
          this.log.warn({ round, reason: body.reason, ...this.closeFields(round) }, 'round abandoned')
          this.emit('round-abandoned', round, body.reason!)
          break
        case ENTRY_KINDS.ROUND_ABORTED:
          closed = true
          this.log.warn({ round, reason: body.reason, ...this.closeFields(round) }, 'round aborted')
          this.emit('round-aborted', round, body.reason!)
          break
        case ENTRY_KINDS.UPDATE_ACCEPTED:
          this.log.info({ round, site: body.site, accepted: this.state.rounds.get(round)?.accepted.size, planned: this.state.rounds.get(round)?.plan.size }, 'update accepted')
          break
        case ENTRY_KINDS.UPDATE_REJECTED:
        case ENTRY_KINDS.STATEMENT_REJECTED:
          this.log.warn({ round, site: body.site, code: body.code, reason: body.reason }, `${e.kind === ENTRY_KINDS.UPDATE_REJECTED ? 'update' : 'statement'} rejected`)
          break
        case ENTRY_KINDS.APPROVAL:
          this.log.info({ site: body.site }, 'site approval logged')
          this.emit('approval', body.site!)
          break
        case ENTRY_KINDS.TASK_DECLINED:
          this.log.warn({ round, site: body.site, code: body.code, reason: body.reason }, 'site declined its task')
          this.emit('task-declined', round, body.site!, body.code!)
          break
        case ENTRY_KINDS.STUDY_COMPLETED:
          this.log.info({ rounds: body.rounds }, 'study completed')
          this.emit('study-completed', body.rounds!)
          break
      }
    }
    if (decision.entries.some((e) => e.kind === ENTRY_KINDS.UPDATE_ACCEPTED || e.kind === ENTRY_KINDS.ROUND_COMMITTED)) {
      this.emit('timing', round, closed ? 'aggregate' : 'verify', decideMs)
      this.emit('timing', round, 'log', logMs)
    }
  }

  /**
   * What a round that closed without a model had: updates accepted and
   * required (`minSites`), the sites of its plan still missing and those
   * that declined, and whether its deadline had come: the hub's log says
   * why in those terms, not only in the decider's reason.
   */
  private closeFields(round: number): Record<string, unknown> {
    const r = this.state.rounds.get(round)
    if (r === undefined) return {}
    const missing = [...r.plan.keys()].filter((s) => !r.accepted.has(s) && !r.declined.has(s)).sort()
    return { accepted: r.accepted.size, required: this.state.study.minSites, planned: r.plan.size, missing, declined: [...r.declined.keys()].sort(), atDeadline: this.now() >= r.deadlineMs }
  }

  /** After every step: announce newly evaluated rounds, re-arm the one timer, and auto-advance when due. */
  private afterStep(timeMs: number): void {
    const latest = this.state.currentModelRound
    if (latest > 0 && !this.evaluatedRounds.has(latest) && evaluationComplete(this.state, latest, timeMs)) {
      this.evaluatedRounds.add(latest)
      this.log.info({ round: latest, ...weightedEvaluation([...(this.state.evaluations.get(latest)?.values() ?? [])]) }, 'round evaluated')
      this.emit('round-evaluated', latest)
    }
    if (this.closed) return
    clearTimeout(this.timer)
    const wake = nextWakeMs(this.state, timeMs)
    if (wake !== undefined) {
      this.timer = setTimeout(() => void this.serial(() => this.run({ kind: 'tick' })).catch((err: unknown) => this.log.error({ err }, 'tick failed')), Math.max(0, wake - this.now()) + 5)
    }
    if (this.init.autoAdvance && !this.advancing && this.dpBudgetSpent === undefined && nextRoundDue(this.state, timeMs)) {
      this.advancing = true
      const round = this.state.lastRound + 1
      const request = signStatement(this.components.signer, {
        t: 'round-start',
        study: this.state.studyId,
        round,
        time: timeMs,
        nonce: sha256(new TextEncoder().encode(`auto/${round}/${timeMs}`)).slice(0, 16),
      })
      // Queued, not awaited: it runs after the current step.
      void this.startRound(request)
        .catch((err: unknown) => {
          // A spent privacy budget is the study's end, not a fault: said once, and no more rounds are tried.
          if (err instanceof DpBudgetSpentError) {
            this.dpBudgetSpent = err
            this.log.warn({ code: err.code }, err.message)
            this.emit('dp-budget-spent', err.message)
          } else {
            this.log.error({ err }, 'auto-advance failed')
            this.emit('auto-advance-failed', err instanceof Error ? err : new Error(String(err)))
          }
        })
        .finally(() => {
          this.advancing = false
        })
    }
  }

  // ---- inputs ----------------------------------------------------------------------------------

  /** Opens the next round on the hub's signed request. */
  startRound(request: SignedStatement): Promise<{ round: number; base: Uint8Array; seq: number }> {
    return this.serial(async () => {
      const { firstSeq } = await this.run({ kind: 'round-start', request, ...(await this.noiseSeedFor()) })
      const open = this.state.openRound!
      return { round: open.round, base: open.base, seq: firstSeq }
    })
  }

  /** A fresh private noise seed for the next round of a DP study (stored before it is used); nothing otherwise (nor under secure aggregation, where the sites add the noise). */
  private async noiseSeedFor(): Promise<{ noiseSeed?: Uint8Array }> {
    if (this.state.study.dp === undefined || this.state.study.secureAggregation !== undefined) return {}
    const store = this.components.noiseSeeds
    if (store === undefined)
      throw new CoordinatorConfigError('the study has dp, but this coordinator has no store for private noise seeds; start it with startCoordinator, which keeps them in <dataDir>/dp-seeds.json')
    return { noiseSeed: await store.draw() }
  }

  /** Aborts the open round on the hub's signed request; resolves with the round and the seq of its `round-aborted` entry. */
  abortRound(request: SignedStatement): Promise<{ round: number; seq: number }> {
    return this.serial(async () => {
      const { decision, firstSeq } = await this.run({ kind: 'round-abort', request })
      return { round: (decision.entries[0]!.body as { round: number }).round, seq: firstSeq }
    })
  }

  /**
   * Pre-admission of an upload's envelope, before its bytes are read: the
   * decider's own envelope and consent checks against the current state, so
   * a bad upload costs no bandwidth. The refusal is logged when the upload
   * is then fed to the decider (`rejectUpdate`).
   */
  admitEnvelope(signed: SignedStatement): UpdateEnvelope {
    const env = checkUpdateEnvelope(this.state, signed, this.state.deltaSizeBytes, this.now())
    checkUpdateConsent(this.state, env, this.state.study.consent !== undefined)
    return env
  }

  /**
   * Feeds an update to the decider. Resolves once its `update-accepted`
   * entry and delta are durable (with the round's commit, when it was the
   * last one in); a refusal is logged (for a binding envelope) and thrown.
   */
  acceptUpdate(signed: SignedStatement, delta: Uint8Array | FinishedBlob): Promise<{ round: number; seq: number }> {
    return this.runGrouped({ kind: 'update', envelope: signed, delta: delta instanceof Uint8Array ? delta : new UploadReader(delta) }).then(({ decision, firstSeq }) => {
      const at = decision.recordedAt ?? 0
      const body = decision.entries[at]!.body as { round: number }
      return { round: body.round, seq: firstSeq + at }
    })
  }

  /** A temp file an upload's delta is streamed into (hashed on the way); pass it to `acceptUpdate` when complete. */
  createUploadWriter(): Promise<BlobWriter> {
    return this.ledger.createBlobWriter()
  }

  /** Feeds an upload the transport refused (oversize stream, bad envelope) to the decider, which logs it when binding. */
  rejectUpdate(signed: SignedStatement, err: ProtocolError): Promise<void> {
    return this.runGrouped({ kind: 'update', envelope: signed, transport: { code: err.code, reason: err.message } }).then(
      () => undefined,
      (e: unknown) => {
        if (!(e instanceof ProtocolError)) this.log.warn({ err: e }, 'could not log a rejection')
      },
    )
  }

  /** Takes a site's signed evaluation of a committed model into the log. */
  acceptEvaluation(signed: SignedStatement): Promise<{ seq: number }> {
    return this.runGrouped({ kind: 'evaluation', report: signed }).then((r) => ({ seq: r.firstSeq }))
  }

  /** Takes a site's signed `patient-rewards` statement into the log. */
  acceptPatientRewards(signed: SignedStatement): Promise<{ seq: number }> {
    return this.runGrouped({ kind: 'patient-rewards', statement: signed }).then((r) => ({ seq: r.firstSeq }))
  }

  /** Takes the hub's signed enrolment or removal of a site into the log; resolves with its log position. */
  changeMembership(signed: SignedStatement): Promise<{ seq: number }> {
    return this.serial(async () => ({ seq: (await this.run({ kind: 'membership', request: signed })).firstSeq }))
  }

  /** Logs a site's signed approval of the study's spec; resolves with its log position. */
  acceptApproval(signed: SignedStatement): Promise<{ seq: number }> {
    return this.runGrouped({ kind: 'approval', statement: signed }).then((r) => ({ seq: r.firstSeq }))
  }

  /** Logs a site's signed refusal of its fit task (the round stops waiting for it); resolves with its log position. */
  acceptDeclined(signed: SignedStatement): Promise<{ seq: number }> {
    return this.runGrouped({ kind: 'declined', statement: signed }).then((r) => ({ seq: r.firstSeq }))
  }

  /** A site's secure-aggregation message (keys, shares or reveals), logged; it may close the round's phase. */
  acceptSecAgg(signed: SignedStatement): Promise<{ seq: number }> {
    return this.runGrouped({ kind: 'secagg', statement: signed }).then((r) => ({ seq: r.firstSeq }))
  }

  /** Keeps a site's cosignature of a checkpoint it verified on its own replica; only an enrolled site, with its enrolled key. */
  async addCosignature(siteId: string, size: number, cosig: Cosignature): Promise<number> {
    const decision = step(this.state, { kind: 'cosignature', site: siteId, witness: cosig.witness }, this.now())
    if (!needsBlobs(decision) && decision.refusal) throw decision.refusal
    try {
      await this.ledger.addCosignature(size, cosig)
    } catch (err) {
      throw new SignatureInvalidError(`cosignature from "${siteId}" of size ${size}: ${(err as Error).message}`, { cause: err })
    }
    this.emit('cosigned', siteId, size)
    return size
  }

  // ---- queries ---------------------------------------------------------------------------------

  /** The canonical bytes of a lineage model; refuses hashes outside the lineage (deltas stay private to the hub). */
  async modelBytes(hash: Uint8Array): Promise<Uint8Array> {
    this.requireLineageModel(hash)
    return this.ledger.getBlob(hash)
  }

  /**
   * A lineage model streamed from its blob file in chunks, re-hashed as it is
   * read (a damaged copy fails before its last chunk). Each download reads the
   * file itself: memory per download is one chunk, whatever the model's size
   * or the number of sites, and the page cache shares the reads.
   */
  openModel(hash: Uint8Array, chunkBytes: number): Promise<{ readonly size: number; chunks(): AsyncGenerator<Uint8Array> }> {
    this.requireLineageModel(hash)
    return this.ledger.openBlobStream(hash, chunkBytes)
  }

  /** A model of the lineage, or a state the study's sites read (SCAFFOLD's server control variate). */
  private requireLineageModel(hash: Uint8Array): void {
    if (!this.state.isLineageModel(hash) && !this.state.isSharedState(hash)) throw new ModelNotFoundError(`model ${toHex(hash)} is not in study "${this.state.studyId}"'s lineage`)
  }

  /** True when every enrolled site reported on the round's model, or its evaluation deadline passed. */
  evaluationComplete(round: number): boolean {
    return evaluationComplete(this.state, round, this.now())
  }

  isEvaluated(round: number): boolean {
    return this.evaluatedRounds.has(round)
  }

  /** What a site that connects now should do, in order. */
  pendingTasks(siteId: string): SiteTask[] {
    return pendingTasks(this.state, siteId, this.now())
  }

  /** Stops the timer and waits for the step in progress. The ledger is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    await this.queue
  }
}
