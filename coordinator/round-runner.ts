/**
 * The round loop, written once: open a round, collect updates until quorum or
 * deadline, aggregate with the study's strategy, commit the model to the log,
 * collect the sites' evaluations, then complete or advance.
 *
 * The log is the only state that matters. Every transition is a log append,
 * and the in-memory `StudyState` is the fold of the log; `open()` rebuilds it
 * from disk, so a coordinator killed at any point restarts where the log says
 * and loses nothing it acknowledged: an upload is acknowledged only after its
 * `update-accepted` entry and its delta blob are durably written in one batch.
 *
 * All transitions run through one serial queue, because an upload finishing
 * while a deadline fires must not see a half-updated round.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { encodeCanonical, equalBytes, sha256, toHex, type CanonicalValue, type EntryDraft, type Ledger, type Signer, type SignedCheckpoint, type Cosignature } from '../ledger/index.ts'
import {
  assertFinite,
  decodeWeights,
  encodeWeights,
  encodedSize,
  initialWeights,
  inputWidth,
  modelShapes,
  type StudySpec,
  type TensorShape,
  type Weights,
  type WeightedUpdate,
  type Dataset,
  decodeDataset,
} from '../models/index.ts'
import { ModelNotFoundError } from './errors.ts'
import {
  decodeStatement,
  verifyStatement,
  signStatement,
  statementHash,
  type SignedStatement,
  ENTRY_KINDS,
  StudyState,
  checkEvaluation,
  checkPatientRewards,
  checkRoundStart,
  checkUpdateConsent,
  checkUpdateEnvelope,
  computeRoundRewards,
  decideClose,
  deriveRoundModel,
  embedStatement,
  lineageBody,
  readLineageRecord,
  roundSeed,
  type EntryKind,
  type LineageBody,
  type ConsentAdmission,
  type RoundRecord,
  DeltaIntegrityError,
  DeltaShapeError,
  NonFiniteUpdateError,
  StudyMismatchError,
  SignatureInvalidError,
  RoundStateError,
  type UpdateEnvelope,
  ProtocolError,
} from '../protocol/index.ts'

/** Work the coordinator hands a site over its task stream. */
export type SiteTask =
  | {
      readonly kind: 'fit'
      readonly round: number
      readonly base: Uint8Array
      readonly baseRound: number
      readonly seed: number
      readonly deadlineMs: number
      readonly deltaSizeBytes: number
      /** When the round opened: the round's time, at which sites decide consent. */
      readonly openedMs: number
    }
  | { readonly kind: 'evaluate'; readonly round: number; readonly model: Uint8Array; readonly deadlineMs: number }
  | { readonly kind: 'done'; readonly rounds: number; readonly model: Uint8Array }

export interface RoundRunnerComponents {
  readonly ledger: Ledger
  /** Signs every log entry (the coordinator's identity). */
  readonly signer: Signer
  readonly logger: Logger
  /** Wall clock in ms; injected so tests can move time. */
  readonly now?: () => number
}

export interface RoundRunnerInit {
  readonly study: StudySpec
  readonly sites: readonly { readonly id: string; readonly publicKey: Uint8Array }[]
  /** Key allowed to sign round starts. */
  readonly hubKey: Uint8Array
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
  'round-evaluated': [round: number]
  'study-completed': [rounds: number]
  /** A signed checkpoint of the log after each append (for replication). */
  checkpoint: [checkpoint: SignedCheckpoint]
  /** Where the coordinator's time goes, per round: for `bench:round` and metrics. */
  timing: [round: number, phase: CoordinatorPhase, ms: number]
}

/** verify: admission and byte checks of an update; log: durable appends; aggregate: decode, strategy and encode of a commit. */
export type CoordinatorPhase = 'verify' | 'log' | 'aggregate'

export class RoundRunner extends EventEmitter<RoundRunnerEvents> {
  readonly state = new StudyState()
  readonly shapes: readonly TensorShape[]
  readonly deltaSizeBytes: number
  private queue: Promise<unknown> = Promise.resolve()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly modelCache = new Map<string, Weights>()
  private readonly evaluatedRounds = new Set<number>()
  private closed = false
  private readonly now: () => number

  private constructor(
    private readonly components: RoundRunnerComponents,
    readonly init: RoundRunnerInit,
  ) {
    super()
    this.now = components.now ?? Date.now
    this.shapes = modelShapes(init.study.model, inputWidth(init.study.data))
    this.deltaSizeBytes = encodedSize(this.shapes)
  }

  /** Opens the study's log: creates it on first start, otherwise folds it and resumes. */
  static async open(components: RoundRunnerComponents, init: RoundRunnerInit): Promise<RoundRunner> {
    const runner = new RoundRunner(components, init)
    await runner.load()
    return runner
  }

  get logLength(): number {
    return this.ledger.length
  }

  get logHead(): Uint8Array {
    return this.ledger.headHash
  }

  private get ledger(): Ledger {
    return this.components.ledger
  }

  private get log(): Logger {
    return this.components.logger
  }

  private async load(): Promise<void> {
    const specBytes = encodeCanonical(this.init.study as unknown as CanonicalValue)
    if (this.ledger.length === 0) {
      const genesis = initialWeights(this.init.study.model, inputWidth(this.init.study.data), this.init.study.seed)
      const genesisBytes = encodeWeights(genesis)
      const validation = this.init.validation
      const drafts: EntryDraft[] = [
        this.draft(ENTRY_KINDS.STUDY_CREATED, {
          study: this.init.study.id,
          spec: specBytes,
          genesis: sha256(genesisBytes),
          hub: this.init.hubKey,
          ...(validation ? { validation: sha256(validation) } : {}),
        }),
        ...[...this.init.sites].sort((a, b) => (a.id < b.id ? -1 : 1)).map((s) => this.draft(ENTRY_KINDS.SITE_ENROLLED, { site: s.id, key: s.publicKey })),
      ]
      await this.appendAndApply(drafts, validation ? [genesisBytes, validation] : [genesisBytes])
      this.log.info({ study: this.init.study.id, genesis: toHex(this.state.genesis) }, 'study created')
      this.maybeAutoAdvance()
      return
    }
    for await (const { entry } of this.ledger.scan()) this.state.apply(readLineageRecord(entry))
    if (this.state.studyId !== this.init.study.id) throw new StudyMismatchError(`the log holds study "${this.state.studyId}", the config defines "${this.init.study.id}"`)
    if (!equalBytes(this.state.spec, specBytes))
      throw new StudyMismatchError(`study "${this.init.study.id}": the config's study spec differs from the one in the log; a running study cannot change its spec`)
    if (!equalBytes(this.state.hubKey, this.init.hubKey)) throw new StudyMismatchError(`study "${this.init.study.id}": the config's hub key differs from the one in the log`)
    const loggedValidation = this.state.validation ? toHex(this.state.validation) : 'none'
    const configValidation = this.init.validation ? toHex(sha256(this.init.validation)) : 'none'
    if (loggedValidation !== configValidation)
      throw new StudyMismatchError(`study "${this.init.study.id}": the config's validation set (${configValidation.slice(0, 16)}) differs from the logged one (${loggedValidation.slice(0, 16)})`)
    const newSites: EntryDraft[] = []
    for (const s of this.init.sites) {
      const known = this.state.sites.get(s.id)
      if (!known) newSites.push(this.draft(ENTRY_KINDS.SITE_ENROLLED, { site: s.id, key: s.publicKey }))
      else if (!equalBytes(known, s.publicKey)) throw new StudyMismatchError(`site "${s.id}" is enrolled in the log with another key`)
    }
    if (newSites.length > 0) await this.appendAndApply(newSites)
    // A later round can only have opened once the earlier ones were evaluated.
    const latest = this.state.currentModelRound
    for (const r of this.state.rounds.values()) if (r.commit && r.round < latest) this.evaluatedRounds.add(r.round)
    this.log.info({ study: this.state.studyId, entries: this.ledger.length, round: this.state.lastRound, committed: this.state.committedRounds }, 'study resumed from log')
    this.rearmTimers()
  }

  /** Runs `fn` after every transition queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }

  private draft<K extends EntryKind>(kind: K, body: LineageBody<K>): EntryDraft {
    return { kind, timeMs: this.now(), body: lineageBody(kind, body) }
  }

  /**
   * Appends entries (and the blobs they name) with a signed checkpoint of the
   * new log in one durable batch, folds them into the state, and announces
   * the checkpoint (replication gossips it to every replica).
   */
  private async appendAndApply(drafts: readonly EntryDraft[], blobs: readonly Uint8Array[] = []): Promise<number> {
    const origin = this.state.created ? this.state.studyId : this.init.study.id
    const { appended, checkpoint } = await this.ledger.appendWithCheckpoint(this.components.signer, drafts, blobs, { origin, timeMs: this.now() })
    for (const a of appended) this.state.apply(readLineageRecord(a.entry))
    this.emit('checkpoint', checkpoint)
    return appended[appended.length - 1]!.entry.seq
  }

  // ---- models ---------------------------------------------------------------

  /** The canonical bytes of a lineage model; refuses hashes outside the lineage (deltas stay private to the hub). */
  async modelBytes(hash: Uint8Array): Promise<Uint8Array> {
    if (!this.state.isLineageModel(hash)) throw new ModelNotFoundError(`model ${toHex(hash)} is not in study "${this.state.studyId}"'s lineage`)
    return this.ledger.getBlob(hash)
  }

  private async model(hash: Uint8Array): Promise<Weights> {
    const key = toHex(hash)
    let w = this.modelCache.get(key)
    if (!w) {
      w = decodeWeights(await this.ledger.getBlob(hash), this.shapes)
      if (this.modelCache.size > 4) this.modelCache.clear()
      this.modelCache.set(key, w)
    }
    return w
  }

  private validationCache: Dataset | undefined

  /** The hub's validation set, decoded once. */
  private validationSet(): Dataset | undefined {
    if (!this.init.validation) return undefined
    return (this.validationCache ??= decodeDataset(this.init.validation))
  }

  // ---- rounds ---------------------------------------------------------------

  /** Opens the next round on the hub's signed request. */
  startRound(request: SignedStatement): Promise<{ round: number; base: Uint8Array; seq: number }> {
    return this.serial(async () => {
      const req = checkRoundStart(this.state, request, this.now(), this.init.maxRequestAgeMs, this.init.study.rounds)
      return this.openRound(req.round, request)
    })
  }

  private async openRound(round: number, request: SignedStatement): Promise<{ round: number; base: Uint8Array; seq: number }> {
    const base = this.state.currentModel
    const deadline = this.now() + this.init.study.roundDeadlineMs
    const seq = await this.appendAndApply([this.draft(ENTRY_KINDS.ROUND_OPENED, { round, base, deadline, seed: roundSeed(this.init.study.seed, round), request: embedStatement(request) })])
    this.log.info({ round, base: toHex(base).slice(0, 16) }, 'round opened')
    this.emit('round-opened', round)
    this.emit('task', null, this.fitTask(this.state.openRound!))
    this.arm(deadline, () => this.closeIfDue())
    return { round, base, seq }
  }

  private fitTask(r: RoundRecord): SiteTask {
    return {
      kind: 'fit',
      round: r.round,
      base: r.base,
      baseRound: this.state.currentModelRound,
      seed: r.seed,
      deadlineMs: r.deadlineMs,
      deltaSizeBytes: this.deltaSizeBytes,
      openedMs: r.openedMs,
    }
  }

  /** Pre-admission of an upload's envelope, before its bytes are read: the envelope checks, then its consent (core/consent-rules.ts). */
  admitEnvelope(signed: SignedStatement): UpdateEnvelope {
    const env = checkUpdateEnvelope(this.state, signed, this.deltaSizeBytes)
    this.checkConsent(env)
    return env
  }

  private checkConsent(env: UpdateEnvelope): ConsentAdmission {
    return checkUpdateConsent(this.state, env, this.init.study.consent !== undefined)
  }

  /**
   * Accepts an update: re-checks the envelope against the state at this point
   * in the queue, checks the bytes (length, hash, shapes, finite values), then
   * appends `update-accepted` together with the delta blob. Resolves only once
   * that is durable. A rejected update from an authenticated site is logged.
   */
  acceptUpdate(signed: SignedStatement, deltaBytes: Uint8Array): Promise<{ round: number; seq: number }> {
    return this.serial(async () => {
      const t0 = performance.now()
      const env = checkUpdateEnvelope(this.state, signed, this.deltaSizeBytes)
      let consent: ConsentAdmission
      try {
        consent = this.checkConsent(env)
        this.checkDelta(env, deltaBytes)
      } catch (err) {
        if (err instanceof ProtocolError) await this.logRejection(env, signed, err)
        throw err
      }
      const t1 = performance.now()
      // New revocations go first, so that the update that reports them is checked against them on replay.
      const revocations = consent.newRevocations.map((r) => this.draft(ENTRY_KINDS.CONSENT_REVOKED, { round: env.round, site: env.site, pseudonym: r.pseudonym, time: r.time }))
      const seq = await this.appendAndApply(
        [...revocations, this.draft(ENTRY_KINDS.UPDATE_ACCEPTED, { round: env.round, site: env.site, envelope: embedStatement(signed), delta: env.delta, examples: env.examples })],
        [deltaBytes],
      )
      this.emit('timing', env.round, 'verify', t1 - t0)
      this.emit('timing', env.round, 'log', performance.now() - t1)
      const claim = consent.claim
      this.log.info(
        {
          round: env.round,
          site: env.site,
          examples: env.examples,
          seq,
          ...(claim ? { consent: { root: toHex(claim.root), count: claim.count, excluded: claim.excluded }, revoked: revocations.length } : {}),
        },
        'update accepted',
      )
      await this.closeIfDueLocked()
      return { round: env.round, seq }
    })
  }

  private checkDelta(env: UpdateEnvelope, bytes: Uint8Array): void {
    const who = `update from "${env.site}" for round ${env.round}`
    if (bytes.length !== env.size) throw new DeltaIntegrityError(`${who}: received ${bytes.length} bytes, the envelope declares ${env.size}`)
    const got = sha256(bytes)
    if (!equalBytes(got, env.delta)) throw new DeltaIntegrityError(`${who}: delta hashes to ${toHex(got).slice(0, 16)}…, the envelope signs ${toHex(env.delta).slice(0, 16)}…`)
    let delta: Weights
    try {
      delta = decodeWeights(bytes, this.shapes)
    } catch (err) {
      throw new DeltaShapeError(`${who}: ${(err as Error).message}`, { cause: err })
    }
    try {
      assertFinite(delta, who)
    } catch (err) {
      throw new NonFiniteUpdateError((err as Error).message, { cause: err })
    }
    for (const [k, v] of Object.entries(env.metrics)) if (!Number.isFinite(v)) throw new NonFiniteUpdateError(`${who}: metric "${k}" is ${v}`)
  }

  /** Logs a rejection of an update that was validly signed by an enrolled site (unauthenticated junk is not logged). */
  private async logRejection(env: UpdateEnvelope, signed: SignedStatement, err: ProtocolError): Promise<void> {
    const code = err.code ?? 'COORD_ERROR'
    await this.appendAndApply([this.draft(ENTRY_KINDS.UPDATE_REJECTED, { round: env.round, site: env.site, code, reason: err.message, envelope: statementHash(signed) })])
    this.log.warn({ round: env.round, site: env.site, code }, 'update rejected')
  }

  /**
   * Logs a rejection raised outside `acceptUpdate` (e.g. an oversize stream),
   * but only for an envelope an enrolled site validly signed, and only once.
   */
  rejectUpdate(signed: SignedStatement, err: ProtocolError): Promise<void> {
    return this.serial(async () => {
      const env = decodeStatement('update', signed.body)
      const key = this.state.sites.get(env.site)
      if (!key || !verifyStatement(key, signed) || this.state.seenStatements.has(toHex(statementHash(signed)))) return
      await this.logRejection(env, signed, err)
    }).catch((e: unknown) => this.log.warn({ err: e }, 'could not log a rejection'))
  }

  private closeIfDue(): Promise<void> {
    return this.serial(() => this.closeIfDueLocked())
  }

  private async closeIfDueLocked(): Promise<void> {
    const open = this.state.openRound
    if (!open || this.closed) return
    const decision = decideClose(open, this.state.sites.size, this.init.study.minSites, this.now())
    if (decision.action === 'wait') return
    if (decision.action === 'abandon') {
      await this.appendAndApply([this.draft(ENTRY_KINDS.ROUND_ABANDONED, { round: open.round, reason: decision.reason, accepted: open.accepted.size })])
      this.log.warn({ round: open.round, reason: decision.reason }, 'round abandoned')
      this.emit('round-abandoned', open.round, decision.reason)
      this.maybeAutoAdvance()
      return
    }
    await this.commit(open)
  }

  private async commit(open: RoundRecord): Promise<void> {
    const t0 = performance.now()
    const parent = await this.model(open.base)
    const updates: WeightedUpdate[] = []
    const inputs: LineageBody<'round-committed'>['inputs'] = []
    for (const acc of [...open.accepted.values()].sort((a, b) => (a.site < b.site ? -1 : 1))) {
      updates.push({ siteId: acc.site, delta: decodeWeights(await this.ledger.getBlob(acc.delta), this.shapes), exampleCount: acc.examples })
      inputs.push({ site: acc.site, delta: acc.delta, examples: acc.examples, envelope: acc.envelopeHash })
    }
    const derived = deriveRoundModel(this.init.study.strategy, open.round, parent, updates)
    if (!derived) return
    const modelBytes = encodeWeights(derived.weights)
    const trainLoss = weightedMean(updates.map((u, i) => [open.accepted.get(u.siteId)!.metrics['trainLoss'] ?? NaN, updates[i]!.exampleCount]))
    const metrics: Record<string, number> = { ...derived.metrics, examples: updates.reduce((n, u) => n + u.exampleCount, 0) }
    if (Number.isFinite(trainLoss)) metrics['trainLoss'] = trainLoss
    const t1 = performance.now()
    const drafts = [
      this.draft(ENTRY_KINDS.ROUND_COMMITTED, {
        round: open.round,
        parent: open.base,
        model: derived.hash,
        inputs,
        strategy: { name: derived.strategy.name, params: { ...derived.strategy.params } },
        metrics,
      }),
    ]
    const rewards = this.init.study.rewards
    if (rewards) {
      const r = computeRoundRewards({
        rewards,
        model: this.init.study.model,
        strategy: this.init.study.strategy,
        studySeed: this.init.study.seed,
        round: open.round,
        parent,
        updates: updates.map((u) => ({ ...u, acceptedSeq: open.accepted.get(u.siteId)!.seq })),
        validation: this.validationSet(),
      })
      const { utilityCalls: _calls, ...body } = r
      drafts.push(this.draft(ENTRY_KINDS.ROUND_REWARDED, { ...body, allocations: body.allocations.map((a) => ({ ...a })) }))
    }
    await this.appendAndApply(drafts, [modelBytes])
    this.emit('timing', open.round, 'aggregate', t1 - t0)
    this.emit('timing', open.round, 'log', performance.now() - t1)
    this.modelCache.set(toHex(derived.hash), derived.weights)
    this.log.info({ round: open.round, model: toHex(derived.hash).slice(0, 16), sites: inputs.length }, 'round committed')
    this.emit('round-committed', open.round, derived.hash)
    const deadlineMs = this.now() + this.init.study.evaluationDeadlineMs
    this.emit('task', null, { kind: 'evaluate', round: open.round, model: derived.hash, deadlineMs })
    this.arm(deadlineMs, () => this.serial(() => this.afterEvaluationLocked(open.round)))
  }

  // ---- evaluations ------------------------------------------------------------

  /** Takes a site's signed evaluation of a committed model into the log. */
  acceptEvaluation(signed: SignedStatement): Promise<{ seq: number }> {
    return this.serial(async () => {
      const ev = checkEvaluation(this.state, signed)
      const seq = await this.appendAndApply([this.draft(ENTRY_KINDS.EVALUATION_REPORTED, { round: ev.round, site: ev.site, model: ev.model, report: embedStatement(signed) })])
      this.log.info({ round: ev.round, site: ev.site, metrics: ev.metrics }, 'evaluation reported')
      if (ev.round > 0 && this.evaluationComplete(ev.round)) await this.afterEvaluationLocked(ev.round)
      return { seq }
    })
  }

  /**
   * Takes a site's signed `patient-rewards` statement into the log, after the
   * pure check (core/patient-rewards.ts): its credit for a rewarded round,
   * passed on to the patients it trained on.
   */
  acceptPatientRewards(signed: SignedStatement): Promise<{ seq: number }> {
    return this.serial(async () => {
      if (this.state.completed) throw new RoundStateError(`study "${this.state.studyId}" is complete: the log takes no more entries`)
      const st = checkPatientRewards(this.state, signed)
      const seq = await this.appendAndApply([this.draft(ENTRY_KINDS.PATIENT_REWARDS, { round: st.round, site: st.site, statement: embedStatement(signed) })])
      this.log.info({ round: st.round, site: st.site, amount: st.amount.toString(), patients: st.count, root: toHex(st.root).slice(0, 16) }, 'patient rewards logged')
      return { seq }
    })
  }

  private evaluationDeadline(round: number): number {
    const commit = this.state.rounds.get(round)?.commit
    return commit ? commit.timeMs + this.init.study.evaluationDeadlineMs : 0
  }

  /** True when every enrolled site reported on the round's model, or its evaluation deadline passed. */
  evaluationComplete(round: number): boolean {
    const reported = this.state.evaluations.get(round)?.size ?? 0
    return reported >= this.state.sites.size || this.now() >= this.evaluationDeadline(round)
  }

  isEvaluated(round: number): boolean {
    return this.evaluatedRounds.has(round)
  }

  private async afterEvaluationLocked(round: number): Promise<void> {
    if (this.evaluatedRounds.has(round) || this.closed) return
    if (!this.evaluationComplete(round)) return
    this.evaluatedRounds.add(round)
    this.emit('round-evaluated', round)
    if (round !== this.state.currentModelRound || this.state.openRound) return
    if (this.state.committedRounds >= this.init.study.rounds && !this.state.completed) {
      await this.appendAndApply([this.draft(ENTRY_KINDS.STUDY_COMPLETED, { rounds: this.state.committedRounds, model: this.state.currentModel })])
      this.log.info({ rounds: this.state.committedRounds, model: toHex(this.state.currentModel) }, 'study completed')
      this.emit('study-completed', this.state.committedRounds)
      this.emit('task', null, { kind: 'done', rounds: this.state.committedRounds, model: this.state.currentModel })
      return
    }
    this.maybeAutoAdvance()
  }

  private maybeAutoAdvance(): void {
    if (!this.init.autoAdvance || this.closed) return
    const round = this.state.lastRound + 1
    const request = signStatement(this.components.signer, {
      t: 'round-start',
      study: this.state.studyId,
      round,
      time: this.now(),
      nonce: sha256(new TextEncoder().encode(`auto/${round}/${this.now()}`)).slice(0, 16),
    })
    // Runs after the current transition: queued, not awaited, to keep the queue acyclic.
    void this.startRound(request).catch((err: unknown) => this.log.error({ err }, 'auto-advance failed'))
  }

  // ---- witnesses ----------------------------------------------------------------

  /**
   * Keeps a site's cosignature of a checkpoint it verified on its own
   * replica. Only an enrolled site may witness, with its enrolled key.
   */
  async addCosignature(siteId: string, size: number, cosig: Cosignature): Promise<number> {
    const key = this.state.sites.get(siteId)
    if (!key || !equalBytes(key, cosig.witness)) throw new SignatureInvalidError(`cosignature from "${siteId}": witness key is not the site's enrolled key`)
    try {
      await this.ledger.addCosignature(size, cosig)
    } catch (err) {
      throw new SignatureInvalidError(`cosignature from "${siteId}" of size ${size}: ${(err as Error).message}`, { cause: err })
    }
    return size
  }

  // ---- tasks for (re)connecting sites ------------------------------------------

  /** What a site that connects now should do, in order. */
  pendingTasks(siteId: string): SiteTask[] {
    const s = this.state
    if (s.completed) return [{ kind: 'done', rounds: s.committedRounds, model: s.currentModel }]
    const tasks: SiteTask[] = []
    const latest = s.currentModelRound
    // A site that joins scores the current model first: for round 0 this is
    // the baseline every later round is compared against.
    if ((latest === 0 || !this.evaluatedRounds.has(latest)) && !s.evaluations.get(latest)?.has(siteId))
      tasks.push({ kind: 'evaluate', round: latest, model: s.currentModel, deadlineMs: this.evaluationDeadline(latest) })
    const open = s.openRound
    if (open && !open.accepted.has(siteId)) tasks.push(this.fitTask(open))
    return tasks
  }

  // ---- timers -------------------------------------------------------------------

  private arm(atMs: number, fn: () => Promise<unknown>): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer)
        fn().catch((err: unknown) => this.log.error({ err }, 'timer transition failed'))
      },
      Math.max(0, atMs - this.now()) + 5,
    )
    this.timers.add(timer)
  }

  /** After a restart: re-arm the open round's deadline and finish an evaluation phase that ended while down. */
  private rearmTimers(): void {
    const open = this.state.openRound
    if (open) {
      this.arm(open.deadlineMs, () => this.closeIfDue())
      void this.closeIfDue()
    }
    const latest = this.state.currentModelRound
    if (latest > 0 && !open) {
      if (this.evaluationComplete(latest)) void this.serial(() => this.afterEvaluationLocked(latest))
      else this.arm(this.evaluationDeadline(latest), () => this.serial(() => this.afterEvaluationLocked(latest)))
    }
    if (this.state.lastRound === 0) this.maybeAutoAdvance()
  }

  /** Stops timers and waits for the transition in progress. The ledger is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    await this.queue
  }
}

function weightedMean(pairs: readonly [number, number][]): number {
  let sum = 0
  let n = 0
  for (const [v, w] of pairs) {
    if (!Number.isFinite(v)) return NaN
    sum += v * w
    n += w
  }
  return n > 0 ? sum / n : NaN
}
