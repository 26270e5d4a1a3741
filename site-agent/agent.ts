/**
 * The hospital's agent. It joins one study, prepares its local records with
 * the schema the hub declared, then follows its task stream: for a fit task it
 * trains from the round's base model and uploads only the signed delta; for an
 * evaluate task it scores a global model on its local validation split and
 * reports signed metrics. No record, and no statistic of records other than
 * those metrics and the example count, leaves the site.
 *
 * In a study with consent (`study.consent`), each fit task filters the raw
 * records by consent at the round's time (when it opened) before the splits
 * are prepared, so a revocation takes effect from the next round opened
 * after it; the update envelope carries the consent claim (`ext.consent`:
 * root and count of the receipts used, exclusions by reason, the site's
 * withdrawals and their non-inclusion proofs), and the round's consent
 * leaves are kept for `fedlineage consent prove` (consent/round-consent.ts).
 * Evaluations use the records consented at the latest round's time (at join
 * time before the first round).
 *
 * The site reads its world from its own verified replica of the log
 * (replica.ts), not from what the coordinator says over gRPC: a fit task must
 * match its round's logged `round-opened` (base model, this site's planned
 * instructions), an evaluate task's model must be the logged commit, and the
 * credit passed on to patients is the site's allocation in the logged
 * `round-rewarded` entry (task-provenance.ts). A task the log contradicts, or
 * does not show within `p2p.verifyTimeoutMs`, is refused. Without a replica
 * (p2p disabled, or it could not start) the site goes on with what the
 * coordinator says and warns that it is unverified.
 *
 * In a study with consent and rewards, after evaluating round R's model the
 * site passes its credit for R on to the patients it trained on in R:
 * `splitToPatients` over the round's kept consent leaves (weight 1 each),
 * the allocation kept as `round-R-rewards.json` beside them, and a signed
 * `patient-rewards` statement (amount, count, allocation root) sent with
 * `SubmitPatientRewards`. The two statements may arrive in either order: the
 * study completes once the last round's evaluations and owed patient rewards
 * are all logged (or its evaluation deadline passes).
 *
 * It survives a coordinator restart: a broken stream means hello again (with
 * backoff, up to `reconnectTimeoutMs`), and a trained update that could not be
 * uploaded is kept and re-sent for the same round rather than retrained.
 */
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { decodeCanonical, fromHex, logOrigin, sha256, toHex, type CanonicalValue, type Signer } from '../ledger/index.ts'
import {
  StudySpecSchema,
  computeDeltaInto,
  createWeightsEncoder,
  decodeWeights,
  encodedSize,
  evaluateModel,
  initBackend,
  inputWidth,
  modelShapes,
  nextSiteControlVariate,
  SCAFFOLD_STATE_SLOT,
  serverControlVariate,
  stateSlotShapes,
  trainLocal,
  trainDpSgd,
  dpSgdSamplingRate,
  type Dataset,
  type TrainInit,
  type TrainStats,
  type TrainingSpec,
  type StudySpec,
  type TensorShape,
  type Weights,
} from '../models/index.ts'
import type { SecAggTask__Output, Task__Output } from '../protos/index.ts'
import type { ChannelCredentials } from '@grpc/grpc-js'
import { transportMode, transportNotice, type TransportMode } from '../pki/index.ts'
import type { SiteConfig } from './config.ts'
import { CoordinatorClient, isTransient } from './coordinator-client.ts'
import { retryWhileBusy } from './busy-retry.ts'
import type { DataReport } from './data/index.ts'
import { SiteData, type PreparedAt } from './site-data.ts'
import type { ConsentCounts } from './consent/filter.ts'
import type { SiteConsent } from './consent/site-consent.ts'
import { ConsentRoundMissingError } from './consent/errors.ts'
import { loadConsentRound, type ConsentRoundRecord } from './consent/rounds.ts'
import { savePatientRewardsRound } from './consent/patient-rewards.ts'
import { hashSeed } from './data/random.ts'
import { SiteReplica } from './replica.ts'
import { startSiteWitness } from './site-witness.ts'
import type { Ledger, RunningWitness } from '../ledger/index.ts'
import { tasksAhead } from './tasks-ahead.ts'
import { clearModelDir, ensureStateDirs, modelDirOf } from './state-dirs.ts'
import { ModelFile } from './model-file.ts'
import { DeltaFileWriter, type DeltaFile } from './delta-file.ts'
import { controlVariateFile, controlVariateFor, readControlVariate, writeControlVariate } from './control-variate.ts'
import { SecAggParticipant } from './secagg-participant.ts'
import {
  SiteAgentError as SiteAgentErrorClass,
  SiteConfigError,
  SiteCoordinatorUnavailableError,
  SiteRequestRejectedError,
  SiteSecAggError,
  SiteStudyMismatchError,
  SiteTaskMismatchError,
  SiteTaskUnverifiedError,
  type SiteAgentError,
} from './errors.ts'
import { checkApprovalPolicy, checkEvaluationPolicy, checkRoundPolicy, checkStudyPolicy, type SiteRefusal } from './policy.ts'
import { checkDpSgdBudget, dpSgdCharge, type DpSgdCharge } from './dp-sgd-budget.ts'
import { dpSgdAccountFile, readDpSgdAccount, writeDpSgdAccount } from './dp-sgd-account.ts'
import { readApprovalFile } from './approval.ts'
import { checkEvaluateTask, checkFitTask, loggedCredit, loggedModel, loggedUpdate, openedRound, type LoggedCredit } from './task-provenance.ts'
import {
  InstructionsInvalidError,
  applyInstructions,
  decodeInstructions,
  encodeConsentClaim,
  encodeDpSgdClaim,
  DP_SGD_EXT_KEY,
  signStatement,
  specHash,
  encodeSpec,
  splitToPatients,
  statementHash,
  type SignedStatement,
  type SiteTask,
  type StudyState,
} from '../protocol/index.ts'

export type SiteAgentEvent =
  | { readonly type: 'joined'; readonly study: string; readonly train: number; readonly validation: number; readonly report: DataReport; readonly backend: string }
  | {
      readonly type: 'consent'
      readonly round: number
      /** The round's time the consent was decided at. */
      readonly atMs: number
      /** Records by decision (included: `consented`). */
      readonly counts: ConsentCounts
      /** Patients in the consent tree: the receipts used. */
      readonly patients: number
      readonly root: string
      /** Withdrawals reported, each with a non-inclusion proof. */
      readonly revoked: number
    }
  /**
   * The round is trained with DP-SGD (policy.dpSgd) and charged to the
   * site's account: ε at δ after it, and the budget (undefined: none).
   */
  | {
      readonly type: 'dp-sgd'
      readonly round: number
      readonly q: number
      readonly noiseMultiplier: number
      readonly clipNorm: number
      readonly steps: number
      readonly delta: number
      readonly epsilon: number
      readonly budget: number | undefined
    }
  | { readonly type: 'trained'; readonly round: number; readonly trainLoss: number; readonly examples: number; readonly steps: number; readonly durationMs: number }
  | { readonly type: 'uploaded'; readonly round: number; readonly logSeq: number; readonly bytes: number; readonly durationMs: number }
  | { readonly type: 'update-refused'; readonly round: number; readonly code: string | undefined; readonly message: string }
  | { readonly type: 'evaluated'; readonly round: number; readonly metrics: Readonly<Record<string, number>> }
  /** An evaluate task the site refused (its model is not the logged one, or the log does not show it). */
  | { readonly type: 'evaluation-refused'; readonly round: number; readonly code: string; readonly message: string }
  /** The site's credit for the round, passed on to the patients it trained on (logSeq -1: not taken, see `code`). */
  | { readonly type: 'patient-rewards'; readonly round: number; readonly amount: bigint; readonly patients: number; readonly root: string; readonly logSeq: number; readonly code?: string | undefined }
  /** The site's approval of the running spec was submitted (logSeq -1: not logged now, see `code`; COORD_UPDATE_REPLAYED: logged before). */
  | { readonly type: 'approval'; readonly spec: string; readonly logSeq: number; readonly code?: string | undefined }
  /** The running spec is not the one this site approved (or it approved none and must): every task is refused. */
  | { readonly type: 'spec-unapproved'; readonly wanted: string; readonly approved: string | undefined; readonly reason: string }
  /**
   * The site refused a task under its approval or policy; nothing left the
   * site. A fit task's refusal is reported as a signed `declined`, logged at
   * `logSeq` (-1 when it was not taken); an evaluation's stays local.
   */
  | { readonly type: 'declined'; readonly task: 'fit' | 'evaluate'; readonly round: number; readonly code: string; readonly reason: string; readonly logSeq: number }
  /** The hub aborted `round`: its fit task was dropped (nothing trained is sent). */
  | { readonly type: 'task-cancelled'; readonly round: number; readonly reason: string }
  | { readonly type: 'reconnecting'; readonly reason: string }
  | { readonly type: 'replicating'; readonly peers: readonly string[] }
  | { readonly type: 'done'; readonly rounds: number; readonly model: string; readonly replicaEntries: number | undefined }

export interface SiteAgentComponents {
  readonly signer: Signer
  readonly logger: Logger
  /** Mutual TLS to the coordinator (`siteCredentials(config)`); required when the config names tls files. */
  readonly credentials?: ChannelCredentials
}

export interface SiteRunSummary {
  /** Entries in the site's verified replica of the log at the end (undefined without p2p). */
  readonly replicaEntries: number | undefined
  readonly rounds: number
  readonly finalModel: string
  readonly updatesAccepted: number
  readonly evaluations: number
}

/** How often a site tries to start its log replica before it trains on without one. */
const MAX_REPLICA_ATTEMPTS = 8
/** Values per slice when the trained weights become the delta file (1 MiB of base read, subtracted and written at a time). */
const DELTA_SLICE_VALUES = 1 << 18
/** The longest pause between two attempts to start the replica. */
const REPLICA_RETRY_MAX_MS = 30_000

/** Codes that mean "the coordinator already has this", so the work is done. */
const ALREADY_HAVE = new Set(['COORD_UPDATE_REPLAYED', 'COORD_DUPLICATE_UPDATE'])

/** Longest the site's witness waits, after the study ended, for the coordinator to submit the final checkpoint. */
const SITE_WITNESS_FINAL_WAIT_MS = 15_000

export class SiteAgent {
  private readonly client: CoordinatorClient
  private spec: StudySpec | undefined
  private shapes: readonly TensorShape[] = []
  private data: { train: Dataset; validation: Dataset } | undefined
  /** The local records, read at join; consent and splits are applied per round. */
  private siteData: SiteData | undefined
  /** The consent files, in a study with consent. */
  private consent: SiteConsent | undefined
  private token: Uint8Array = new Uint8Array()
  /**
   * The last global model fetched, in a file of the state folder: a round's
   * base is scored and then trained from, one download for both. One model,
   * never two, and never held in memory between uses (at 50M parameters each
   * is 191 MiB): a new one replaces it.
   */
  private lastModel: ModelFile | undefined
  private readonly fitted = new Set<number>()
  /** Rounds closed without a model (a `cancel` task: the hub aborted it, or it was abandoned): their fit task is dropped, whenever it comes. */
  private readonly cancelled = new Map<number, string>()
  /** This site's part in each secure-aggregation round it joined (studies with `secureAggregation`). */
  private readonly secagg = new Map<number, SecAggParticipant>()
  private readonly evaluated = new Set<number>()
  /** Rounds whose credit was passed on to patients (or had none to pass on). */
  private readonly rewardsPassed = new Set<number>()
  /** A trained update not yet acknowledged, kept to re-send instead of retraining. */
  private pending: { round: number; base: string; envelope: SignedStatement; delta: Uint8Array | DeltaFile } | undefined
  private accepted = 0
  private replica: SiteReplica | undefined
  /** The site's C2SP witness (site.json `witness`), started at the first hello. */
  private witness: RunningWitness | undefined
  /** The log's size when the study ended, as the replica verified it: the checkpoint the site's witness waits to cosign before it stops. */
  private finalLogSize: number | undefined
  private coordinatorPeers: string[] = []
  private replicaStarting = false
  /** Set once the run ends: no replica may start after that. */
  private finished = false
  private replicaAttempts = 0
  /** Set once the replica could not start after MAX_REPLICA_ATTEMPTS: the site goes on unverified. */
  private replicaGaveUp = false
  /** Warned once that the site runs without a verified replica. */
  private warnedUnverified = false
  private listeners: ((e: SiteAgentEvent) => void)[] = []
  /** Why the running spec is refused (no or another approval), while it is. */
  private approvalRefusal: SiteRefusal | undefined
  /** Why the study's model or strategy is refused by the site policy. */
  private studyRefusal: SiteRefusal | undefined
  /** The approval was submitted (or found already logged) in this run. */
  private approvalSubmitted = false

  constructor(
    private readonly components: SiteAgentComponents,
    readonly config: SiteConfig,
  ) {
    if (config.tls !== undefined && components.credentials === undefined)
      throw new SiteConfigError('the config names tls files, but the agent was given no TLS credentials: build them with siteCredentials(config)')
    this.client = new CoordinatorClient(config.coordinator, components.credentials, { requestMs: config.requestTimeoutMs })
  }

  /** The transport this agent uses, as its log states it at start. */
  /** The site's verified replica of the log while it runs (its tiles are served on the metrics port); undefined otherwise. */
  replicaLedger(): Ledger | undefined {
    return this.replica?.ledger
  }

  get transport(): TransportMode {
    return transportMode(this.config.coordinator, this.components.credentials !== undefined, this.config.insecure, 'coordinator')
  }

  onEvent(listener: (e: SiteAgentEvent) => void): void {
    this.listeners.push(listener)
  }

  private emit(e: SiteAgentEvent): void {
    for (const l of this.listeners) l(e)
  }

  private get log(): Logger {
    return this.components.logger
  }

  /** Follows the study until it is done. Rejects on a non-transient failure or when the coordinator stays away too long. */
  async run(signal?: AbortSignal): Promise<SiteRunSummary> {
    // Before any contact: a site that cannot keep its replica must say so, not train on unverified.
    await ensureStateDirs(this.config)
    const stale = await clearModelDir(this.config)
    if (stale.length > 0) this.log.info({ files: stale }, 'removed the model files an earlier run left in the state folder')
    const notice = transportNotice(this.transport)
    this.log[notice.level]({ coordinator: this.config.coordinator, transport: this.transport }, notice.message)
    let lastContact = Date.now()
    let backoffMs = 200
    // An idle site waits inside its task stream: closing the client ends that wait (and any call in
    // flight), so a stop request (SIGTERM from docker, systemd or timeout) is honoured at once.
    const stop = () => this.client.close()
    signal?.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        signal?.throwIfAborted()
        try {
          await this.hello()
          lastContact = Date.now()
          backoffMs = 200
          // Read ahead: a cancel must reach a fit task still training, not wait until it is done.
          for await (const task of tasksAhead(this.client.tasks(this.token), (t) => this.noteCancel(t))) {
            lastContact = Date.now()
            const done = await this.handle(task)
            if (done) return done
          }
          this.emit({ type: 'reconnecting', reason: 'task stream ended' })
        } catch (err) {
          if (!isTransient(err)) throw err
          this.emit({ type: 'reconnecting', reason: (err as Error).message })
          this.log.debug({ err }, 'coordinator unreachable, retrying')
        }
        if (Date.now() - lastContact > this.config.reconnectTimeoutMs)
          throw new SiteCoordinatorUnavailableError(`coordinator ${this.config.coordinator} unreachable for ${this.config.reconnectTimeoutMs} ms`)
        signal?.throwIfAborted()
        await sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, 2000)
      }
    } catch (err) {
      // Stopped on request: whatever the closed client made the current call throw, the stop is the outcome.
      if (signal?.aborted) throw signal.reason
      throw err
    } finally {
      signal?.removeEventListener('abort', stop)
      this.finished = true
      if (this.replica) await this.replica.finish([]).catch(() => undefined)
      if (this.witness) await this.stopWitness(this.witness)
      this.client.close()
    }
  }

  /**
   * The coordinator submits the study's last checkpoint as the study ends,
   * when sites are stopping: the witness stays up until it has cosigned the
   * final size (bounded by SITE_WITNESS_FINAL_WAIT_MS), so the log's last
   * checkpoint can reach its quorum.
   */
  private async stopWitness(witness: RunningWitness): Promise<void> {
    if (this.finalLogSize !== undefined) {
      const ok = await witness.waitForSize(logOrigin(this.config.study), this.finalLogSize, SITE_WITNESS_FINAL_WAIT_MS)
      if (!ok) this.log.warn({ size: this.finalLogSize, held: witness.heldSize(logOrigin(this.config.study)) }, 'witness stopped before the final checkpoint was submitted to it')
    }
    await witness.close()
  }

  private async hello(): Promise<void> {
    const hello = signStatement(this.components.signer, {
      t: 'hello',
      study: this.config.study,
      site: this.config.siteId,
      time: Date.now(),
      nonce: new Uint8Array(randomBytes(16)),
    })
    const res = await this.client.hello(hello)
    if (res.studyId !== this.config.study) throw new SiteStudyMismatchError(`coordinator runs study "${res.studyId}", this site joined "${this.config.study}"`)
    this.token = new Uint8Array(res.sessionToken)
    if (!this.spec) await this.join(StudySpecSchema.parse(decodeCanonical(new Uint8Array(res.studySpec))))
    await this.checkApproval(new Uint8Array(res.studySpec))
    await this.replicate(res.p2pAddrs, new Uint8Array(res.coordinatorKey))
    if (this.config.witness && !this.witness) this.witness = await startSiteWitness(this.config, this.components.signer, new Uint8Array(res.coordinatorKey), this.log)
  }

  /**
   * Compares the running spec's hash with this site's approval (policy.ts
   * `checkApprovalPolicy`): a refusal is logged with both hashes and the
   * commands that review and approve, and holds every task; an approval
   * that matches is submitted to be logged, once per run.
   */
  private async checkApproval(specBytes: Uint8Array): Promise<void> {
    const wanted = specHash(specBytes)
    const file = this.config.approval
    const approved = file === undefined ? undefined : await readApprovalFile(file, this.config.siteId, this.config.study, this.components.signer.publicKey)
    const required = this.config.policy.requireApproval || this.spec!.requireApproval === true
    const howTo = `review it with \`fedlineage study review --coordinator ${this.config.coordinator}\`, then approve it with \`fedlineage study approve --spec-hash ${toHex(wanted)} --config <site.json> --out <approval.json>\` and set "approval" in the site config`
    const refusal = checkApprovalPolicy(wanted, approved?.statement.spec, required, howTo)
    if (refusal !== undefined) {
      if (this.approvalRefusal === undefined) {
        const have = approved === undefined ? undefined : toHex(approved.statement.spec)
        this.log.error({ code: refusal.code, wanted: toHex(wanted), approved: have ?? null }, `spec not approved: every task is refused: ${refusal.reason}`)
        this.emit({ type: 'spec-unapproved', wanted: toHex(wanted), approved: have, reason: refusal.reason })
      }
      this.approvalRefusal = refusal
      return
    }
    this.approvalRefusal = undefined
    if (approved === undefined || this.approvalSubmitted) return
    const spec = toHex(approved.statement.spec)
    try {
      const receipt = await this.client.submitApproval(approved.signed)
      this.log.info({ spec, seq: receipt.logSeq }, 'approval logged')
      this.emit({ type: 'approval', spec, logSeq: receipt.logSeq })
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err // transient: submitted again at the next hello
      const logged = err.remoteCode === 'COORD_UPDATE_REPLAYED' || err.remoteCode === 'COORD_APPROVAL_DUPLICATE'
      if (logged) this.log.debug({ spec, code: err.remoteCode }, 'approval already logged')
      else this.log.warn({ spec, code: err.remoteCode, err: err.message }, 'approval not logged')
      this.emit({ type: 'approval', spec, logSeq: -1, code: err.remoteCode })
    }
    this.approvalSubmitted = true
  }

  /**
   * Refuses the fit task of `round` (nothing is trained or sent): logs the
   * code and reason, reports a signed `declined` to the coordinator, and
   * emits the event. Once per round.
   */
  private async decline(round: number, refusal: SiteRefusal): Promise<void> {
    if (this.fitted.has(round)) return
    this.log.error({ round, code: refusal.code }, `fit task declined, nothing leaves the site: ${refusal.reason}`)
    const statement = signStatement(this.components.signer, {
      t: 'declined',
      study: this.config.study,
      site: this.config.siteId,
      round,
      code: refusal.code,
      reason: refusal.reason.slice(0, 1024),
      time: Date.now(),
    })
    let logSeq = -1
    try {
      logSeq = (await this.client.submitDeclined(statement)).logSeq
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err // transient: the task comes again after reconnecting
      this.log.warn({ round, code: err.remoteCode, err: err.message }, 'decline not logged by the coordinator')
    }
    this.fitted.add(round)
    this.emit({ type: 'declined', task: 'fit', round, code: refusal.code, reason: refusal.reason, logSeq })
  }

  /** Refuses to report metrics of round `round`'s model (local only: evaluations are not declined in the log). */
  private refuseEvaluation(round: number, refusal: SiteRefusal): void {
    if (this.evaluated.has(round)) return
    this.log.warn({ round, code: refusal.code }, `evaluation not reported, no metrics leave the site: ${refusal.reason}`)
    this.evaluated.add(round)
    this.emit({ type: 'declined', task: 'evaluate', round, code: refusal.code, reason: refusal.reason, logSeq: -1 })
  }

  /** Starts (once) or refreshes the site's replica of the log from the coordinator's libp2p addresses. */
  private async replicate(addrs: readonly string[], coordinatorKey: Uint8Array): Promise<void> {
    const p2p = this.config.p2p
    if (!p2p.enabled || addrs.length === 0) return
    this.coordinatorPeers = [...addrs]
    if (this.replica) return this.replica.addPeers(addrs)
    if (this.replicaStarting || this.finished) return
    const peers = [...addrs, ...p2p.peers]
    this.replicaStarting = true
    try {
      this.replica = await SiteReplica.start({
        dataDir: p2p.dataDir!,
        listen: p2p.listen,
        announce: p2p.announce,
        peers,
        origin: logOrigin(this.config.study),
        coordinatorKey,
        witness: this.components.signer,
        logger: this.log,
        submitCosignature: (size, cosig) => this.client.submitCosignature(this.token, size, cosig),
      })
      this.replicaGaveUp = false
      this.emit({ type: 'replicating', peers })
    } catch (err) {
      // Replication must never stop training: a refused dial (many sites connecting at
      // once, the coordinator restarting) is retried with backoff while the study runs.
      // After MAX_REPLICA_ATTEMPTS tasks stop waiting for it (and go on unverified, said in the log),
      // but the retries go on, slower, and verification resumes once a replica starts.
      this.replicaAttempts++
      this.log.warn({ err, attempt: this.replicaAttempts }, 'log replica could not start; retrying')
      if (this.replicaAttempts >= MAX_REPLICA_ATTEMPTS) this.replicaGaveUp = true
      if (!this.finished) {
        const retry = setTimeout(() => void this.replicate(this.coordinatorPeers, coordinatorKey).catch(() => undefined), Math.min(250 * 2 ** this.replicaAttempts, REPLICA_RETRY_MAX_MS))
        retry.unref()
      }
    } finally {
      this.replicaStarting = false
    }
  }

  /** First contact: read the local records, open the consent files if the study needs them, prepare the splits. */
  private async join(spec: StudySpec): Promise<void> {
    const backend = await initBackend(this.config.backend)
    this.siteData = await SiteData.open(this.config, spec, (message) => this.log.warn({ study: spec.id }, message))
    this.consent = this.siteData.consent
    this.spec = spec
    this.shapes = modelShapes(spec.model, inputWidth(spec.data))
    this.studyRefusal = checkStudyPolicy(this.config.policy, spec, this.shapes)
    if (this.studyRefusal !== undefined) this.log.error({ code: this.studyRefusal.code }, `the site policy refuses this study: every task is refused: ${this.studyRefusal.reason}`)
    const { prepared } = await this.prepare(Date.now())
    for (const warning of prepared.report.warnings) this.log.warn({ site: this.config.siteId }, `data: ${warning}`)
    this.emit({ type: 'joined', study: spec.id, train: prepared.train.count, validation: prepared.validation.count, report: prepared.report, backend })
  }

  /**
   * The train and validation splits of the records that may be used at
   * `atMs` (all of them in a study without consent), which become the
   * agent's data; with the round's consent when the study has consent.
   */
  private async prepare(atMs: number): Promise<PreparedAt> {
    const at = await this.siteData!.prepare(atMs)
    this.data = { train: at.prepared.train, validation: at.prepared.validation }
    return at
  }

  /** Marks a round the hub aborted as it arrives, so the fit task in hand sends nothing. */
  private noteCancel(task: Task__Output): void {
    if (task.kind === 'cancel' && task.cancel) {
      this.cancelled.set(Number(task.cancel.round), task.cancel.reason)
      this.secagg.get(Number(task.cancel.round))?.cancel(task.cancel.reason)
    }
    // Secure aggregation's phases are answered as they arrive, while the fit task trains (it waits for them).
    if (task.kind === 'secagg' && task.secagg) this.onSecAggTask(task.secagg)
  }

  /** Answers a secure-aggregation phase task of a round this site joined; a failure drops the site out of that round, said once. */
  private onSecAggTask(t: SecAggTask__Output): void {
    const round = Number(t.round)
    const participant = this.secagg.get(round)
    if (participant === undefined) return void this.log.warn({ round, phase: t.phase }, 'secure-aggregation task for a round this site did not join: ignored')
    const base = { kind: 'secagg' as const, round, sites: [...t.sites] }
    const task: Extract<SiteTask, { kind: 'secagg' }> =
      t.phase === 'shares'
        ? { ...base, phase: 'shares', k: t.k, t: t.t, keys: t.keys.map((k) => ({ body: new Uint8Array(k.body), signature: new Uint8Array(k.signature) })) }
        : t.phase === 'input'
          ? { ...base, phase: 'input', boxes: t.boxes.map((b) => ({ from: b.from, box: new Uint8Array(b.box) })) }
          : { ...base, phase: 'unmask' }
    participant.onTask(task).then(
      () => this.log.info({ round, phase: t.phase }, 'secure aggregation: phase answered'),
      (err: unknown) => {
        const code = (err as { code?: string }).code
        this.log.error({ round, phase: t.phase, code, err: (err as Error).message }, 'secure aggregation: this site drops out of the round')
        this.emit({ type: 'update-refused', round, code, message: (err as Error).message })
      },
    )
  }

  /** Joins round `round`'s secure aggregation: its keys are sent before training starts. False when they could not be sent. */
  private async joinSecAgg(round: number, seed: number): Promise<boolean> {
    const participant = new SecAggParticipant({
      spec: this.spec!,
      site: this.config.siteId,
      round,
      seed,
      shapes: this.shapes,
      signer: this.components.signer,
      logger: this.log,
      submit: (statement) => this.client.submitSecAgg(statement),
      enrolledKeys: async () => {
        const found = await this.fromLog('the enrolled sites', (s) => (s.sites.size > 0 ? new Map(s.sites) : undefined))
        if (found === 'unverified') return undefined
        if ('missing' in found) throw new SiteSecAggError(found.missing)
        return found.found
      },
      loggedSurvivors: async () => {
        const found = await this.fromLog(`round ${round}'s survivor set`, (s) => s.rounds.get(round)?.secagg?.u3)
        if (found === 'unverified') return undefined
        if ('missing' in found) throw new SiteSecAggError(found.missing)
        return found.found
      },
    })
    this.secagg.set(round, participant)
    try {
      await participant.advertise()
      return true
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err
      this.log.warn({ round, code: err.remoteCode, err: err.message }, 'secure aggregation: keys not taken, this site sits the round out')
      this.emit({ type: 'update-refused', round, code: err.remoteCode, message: err.message })
      return false
    }
  }

  /** True (and said once) when the hub aborted `round`: its fit task is dropped and anything trained for it discarded. */
  private dropCancelled(round: number): boolean {
    const reason = this.cancelled.get(round)
    if (reason === undefined) return false
    // The delta file goes with it (in the background: this check is synchronous).
    if (this.pending?.round === round) void this.dropPending().catch((err: unknown) => this.log.warn({ round, err }, 'could not delete the dropped delta file'))
    if (!this.fitted.has(round)) {
      this.fitted.add(round)
      this.log.warn({ round, reason }, 'round aborted by the hub: its fit task is dropped, nothing is sent')
      this.emit({ type: 'task-cancelled', round, reason })
    }
    return true
  }

  /** Handles one task; returns the run summary when the study is done. */
  private async handle(task: Task__Output): Promise<SiteRunSummary | undefined> {
    const refusal = this.approvalRefusal ?? this.studyRefusal
    if (task.kind === 'cancel' && task.cancel) {
      this.dropCancelled(Number(task.cancel.round))
    } else if (refusal !== undefined && task.kind === 'fit' && task.fit) {
      this.refuseEvaluation(Number(task.fit.baseRound), refusal)
      await this.decline(Number(task.fit.round), refusal)
    } else if (refusal !== undefined && task.kind === 'evaluate' && task.evaluate) {
      this.refuseEvaluation(Number(task.evaluate.round), refusal)
    } else if (task.kind === 'fit' && task.fit) {
      const f = task.fit
      await this.ensureEvaluated(Number(f.baseRound), new Uint8Array(f.baseModelHash))
      await this.passOnRewards(Number(f.baseRound))
      await this.fit(Number(f.round), new Uint8Array(f.baseModelHash), Number(f.seed), Number(f.openedMs), new Uint8Array(f.config))
    } else if (task.kind === 'evaluate' && task.evaluate) {
      // Evaluation and patient rewards may be logged in either order (the study waits for both).
      await this.ensureEvaluated(Number(task.evaluate.round), new Uint8Array(task.evaluate.modelHash))
      await this.passOnRewards(Number(task.evaluate.round))
    } else if (task.kind === 'done' && task.done) {
      this.finished = true
      const replicaEntries = this.replica ? await this.replica.finish(this.coordinatorPeers) : undefined
      this.finalLogSize = replicaEntries
      this.replica = undefined
      const summary = { rounds: Number(task.done.rounds), finalModel: toHex(task.done.finalModelHash), updatesAccepted: this.accepted, evaluations: this.evaluated.size, replicaEntries }
      this.emit({ type: 'done', rounds: summary.rounds, model: summary.finalModel, replicaEntries })
      return summary
    }
    return undefined
  }

  /** A global model by hash, as a checked file of the state folder (downloaded straight to disk, hashed as it arrives). */
  private async model(hash: Uint8Array): Promise<ModelFile> {
    const key = toHex(hash)
    if (this.lastModel?.hash === key) return this.lastModel
    await this.lastModel?.remove()
    this.lastModel = undefined
    const file = path.join(modelDirOf(this.config), `${key}.flw`)
    await this.client.downloadModelToFile(this.token, hash, file, encodedSize(this.shapes))
    this.lastModel = await ModelFile.open(file, key, this.shapes)
    return this.lastModel
  }

  /**
   * SCAFFOLD's inputs for `round`: the server control variate c (the logged
   * state blob the instructions name, fetched and hash-checked like a model;
   * zero before the first commit), the site's own c_i from its state folder,
   * and the gradient correction c − c_i.
   */
  private async controlVariates(round: number, stateHash: string): Promise<{ file: string; serverC: Weights; siteC: Weights; correction: Weights }> {
    const stateShapes = stateSlotShapes(SCAFFOLD_STATE_SLOT, this.shapes)
    const state = stateHash === '' ? null : decodeWeights(await this.client.downloadModel(this.token, fromHex(stateHash), encodedSize(stateShapes)), stateShapes)
    const serverC = serverControlVariate(state, this.shapes)
    // parseSiteConfig always resolves stateDir (the config file's folder by default).
    const file = controlVariateFile(this.config.stateDir ?? '.', this.config.siteId, this.spec!.id, specHash(encodeSpec(this.spec!)))
    const siteC = controlVariateFor(await readControlVariate(file, this.shapes), round, this.shapes)
    const correction: Weights = {
      tensors: serverC.tensors.map((c, t) => ({ name: c.name, shape: c.shape, values: c.values.map((v, j) => v - siteC.tensors[t]!.values[j]!) })),
    }
    return { file, serverC, siteC, correction }
  }

  /**
   * The training settings of a round: the study's, with the strategy's
   * instructions for this site applied. An instruction this agent cannot
   * apply refuses the task (no update is sent): training with a setting it
   * ignored would put a wrong claim in the log.
   */
  private roundTraining(round: number, config: Uint8Array): TrainingSpec | undefined {
    try {
      return applyInstructions(this.spec!.training, decodeInstructions(config))
    } catch (err) {
      if (!(err instanceof InstructionsInvalidError)) throw err
      this.log.error({ round, code: err.code, err: err.message }, 'fit task refused: its instructions cannot be applied')
      this.emit({ type: 'update-refused', round, code: err.code, message: err.message })
      return undefined
    }
  }

  private async fit(round: number, base: Uint8Array, roundSeed: number, openedMs: number, config: Uint8Array): Promise<void> {
    if (this.fitted.has(round) || this.dropCancelled(round)) return
    const spec = this.spec!
    if (!this.pending || this.pending.round !== round || this.pending.base !== toHex(base)) {
      if (!(await this.fitMatchesLog(round, base, config))) return void this.fitted.add(round)
      const training = this.roundTraining(round, config)
      if (training === undefined) return void this.fitted.add(round)
      const ext = this.consent ? await this.roundConsent(round, openedMs) : undefined
      const data = this.data!
      const refusal = checkRoundPolicy(this.config.policy, round, data.train.count)
      if (refusal !== undefined) return this.decline(round, refusal)
      const dp = this.config.policy.dpSgd
      const charge = dp === undefined ? undefined : await this.chargeDpSgd(round, training, data.train.count)
      if (charge !== undefined && 'code' in charge) return this.decline(round, charge)
      const baseModel = await this.model(base)
      if (spec.secureAggregation !== undefined && !this.secagg.has(round) && !(await this.joinSecAgg(round, roundSeed))) return void this.fitted.add(round)
      const scaffold = training.serverControlVariate === undefined ? undefined : await this.controlVariates(round, training.serverControlVariate)
      const participant = this.secagg.get(round)
      const init = {
        model: spec.model,
        training,
        // Read from its file one tensor at a time as TF.js builds the model, and not held while training.
        global: baseModel.tensorReader(),
        data: data.train,
        seed: (roundSeed ^ hashSeed(this.config.siteId)) >>> 0,
        ...(scaffold === undefined ? {} : { correction: scaffold.correction }),
      }
      let result: TrainStats
      let delta: Uint8Array | DeltaFile
      if (dp === undefined && scaffold === undefined && participant === undefined) {
        // Plain training: each trained tensor becomes its delta and goes to a file as TF.js hands it over, so no
        // model-sized array exists outside TF.js's heap at its largest (SCAFFOLD, DP-SGD and secure aggregation
        // need the trained weights or the delta whole, below).
        ;({ result, delta } = await this.trainToDeltaFile(round, init, baseModel))
        this.emit({ type: 'trained', round, trainLoss: result.trainLoss, examples: result.examples, steps: result.steps, durationMs: result.durationMs })
      } else {
        // The trained weights are read out of TF.js into the delta's own encoding, and become the delta there (computeDeltaInto).
        const encoder = createWeightsEncoder(this.shapes)
        const trained = dp === undefined ? await trainLocal({ ...init, into: encoder.weights }) : await trainDpSgd({ ...init, into: encoder.weights, dpSgd: dp })
        result = trained
        // SCAFFOLD: c_i advances with this round's training and is stored before anything is sent (it never leaves the site).
        if (scaffold !== undefined) {
          const after = nextSiteControlVariate(scaffold.siteC, scaffold.serverC, await baseModel.readWeights(), trained.weights, training.localSteps, training.learningRate)
          await writeControlVariate(scaffold.file, { round, before: scaffold.siteC, after })
        }
        this.emit({ type: 'trained', round, trainLoss: result.trainLoss, examples: result.examples, steps: result.steps, durationMs: result.durationMs })
        // The delta where the trained weights stand, against the base read back one tensor at a time.
        const readBase = baseModel.tensorReader()
        baseModel.shapes.forEach((g, i) => {
          computeDeltaInto({ tensors: [encoder.weights.tensors[i]!] }, { tensors: [trained.weights.tensors[i]!] }, { tensors: [{ name: g.name, shape: g.shape, values: readBase(i) }] })
        })
        if (participant === undefined) delta = encoder.finish()
        else {
          // Secure aggregation: only the masked input leaves the site, once the round's share boxes are in.
          const waitMs = spec.roundDeadlineMs + 3 * spec.secureAggregation!.phaseDeadlineMs
          try {
            delta = await participant.maskedInput(encoder.weights, data.train.count, waitMs)
          } catch (err) {
            if (!(err instanceof SiteAgentErrorClass)) throw err
            if (this.dropCancelled(round)) return
            this.log.error({ round, code: err.code, err: err.message }, 'secure aggregation: the masked input is not sent')
            this.emit({ type: 'update-refused', round, code: err.code, message: err.message })
            return void this.fitted.add(round)
          }
        }
      }
      const envelope = signStatement(this.components.signer, {
        t: 'update',
        study: spec.id,
        round,
        site: this.config.siteId,
        base,
        delta: delta instanceof Uint8Array ? sha256(delta) : delta.hash,
        size: delta.length,
        examples: data.train.count,
        // Under DP-SGD the training loss is not sent: it is computed from the records without noise.
        metrics: dp === undefined ? { trainLoss: result.trainLoss, steps: result.steps } : { steps: result.steps },
        nonce: new Uint8Array(randomBytes(16)),
        time: Date.now(),
        ...(ext || charge ? { ext: { ...ext, ...(charge === undefined || dp === undefined ? {} : { [DP_SGD_EXT_KEY]: dpSgdExt(charge, dp.clipNorm) }) } } : {}),
      })
      this.pending = { round, base: toHex(base), envelope, delta }
    }
    // The hub may have aborted the round while it trained.
    if (this.dropCancelled(round)) return
    const started = performance.now()
    try {
      const { envelope, delta } = this.pending
      // A busy coordinator read nothing of the upload: the same envelope goes again, with backoff, as long as the agent would wait for an absent one.
      const receipt = await retryWhileBusy(() => this.client.uploadUpdate(envelope, delta), {
        maxWaitMs: this.config.reconnectTimeoutMs,
        onBusy: (attempt, delayMs) => this.log.info({ round, attempt, delayMs }, 'coordinator busy: upload sent again after a pause'),
      })
      this.accepted++
      this.emit({ type: 'uploaded', round, logSeq: receipt.logSeq, bytes: this.pending.delta.length, durationMs: performance.now() - started })
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err // transient: keep `pending` and re-send after reconnecting
      if (err.remoteCode && ALREADY_HAVE.has(err.remoteCode)) await this.settleSeenUpdate(round, err, performance.now() - started)
      else {
        this.emit({ type: 'update-refused', round, code: err.remoteCode, message: err.message })
        this.log.warn({ round, code: err.remoteCode, err: err.message }, 'update refused')
      }
    }
    await this.dropPending()
    this.fitted.add(round)
  }

  /**
   * Trains from `baseModel` with the trained weights handed over one tensor
   * at a time; each becomes its delta a slice at a time (against the base,
   * read back from its file) and is appended to the round's delta file,
   * hashed on the way.
   */
  private async trainToDeltaFile(round: number, init: Omit<TrainInit, 'into'>, baseModel: ModelFile): Promise<{ result: TrainStats; delta: DeltaFile }> {
    const writer = new DeltaFileWriter(path.join(modelDirOf(this.config), `delta-round-${round}.flw`), this.shapes)
    try {
      const result = await trainLocal({
        ...init,
        into: (i, trained) => {
          const g = this.shapes[i]!
          // A slice at a time: one tensor may be most of the model (a 3,155² kernel is 99% of a 10M MLP).
          for (let start = 0; start < trained.length; start += DELTA_SLICE_VALUES) {
            const count = Math.min(DELTA_SLICE_VALUES, trained.length - start)
            const base = baseModel.readSlice(i, start, count)
            const slice = (values: Float32Array) => ({ tensors: [{ name: g.name, shape: [count], values }] })
            // Written over the base slice just read: computeDeltaInto reads each value before it writes it.
            computeDeltaInto(slice(base), slice(trained.subarray(start, start + count)), slice(base))
            writer.append(base)
          }
        },
      })
      return { result, delta: await writer.finish() }
    } catch (err) {
      await writer.abandon()
      throw err
    }
  }

  /** Forgets the update in hand, and deletes its delta file if it has one. */
  private async dropPending(): Promise<void> {
    const delta = this.pending?.delta
    this.pending = undefined
    if (delta !== undefined && !(delta instanceof Uint8Array)) await delta.remove()
  }

  /**
   * The coordinator says it already has this update (a re-send after a lost
   * ack, or a second envelope after a restart). Whether it counted or was
   * refused is in the log, so the site reads it there instead of assuming.
   */
  private async settleSeenUpdate(round: number, err: SiteRequestRejectedError, durationMs: number): Promise<void> {
    const { envelope, delta } = this.pending!
    const fate = await this.fromLog(`the outcome of round ${round}'s update`, (s) => loggedUpdate(s, this.config.siteId, round, statementHash(envelope)))
    if (fate === 'unverified') {
      this.log.warn({ round, code: err.remoteCode }, 'the coordinator says it already has this update; without a replica that is taken on trust')
      return this.emit({ type: 'uploaded', round, logSeq: -1, bytes: delta.length, durationMs })
    }
    if ('missing' in fate) {
      this.log.error({ round, code: err.remoteCode, err: fate.missing }, 'the coordinator says it already has this update, but the verified log does not show it')
      return this.emit({ type: 'update-refused', round, code: err.remoteCode, message: `${err.message}; but ${fate.missing}` })
    }
    const f = fate.found
    if (f.outcome !== 'refused') return this.emit({ type: 'uploaded', round, logSeq: f.seq, bytes: delta.length, durationMs })
    const message = `this update was refused${f.seq === undefined ? '' : ` at log entry ${f.seq}`}${f.reason === undefined ? '' : `: ${f.reason}`}`
    this.log.warn({ round, code: f.code ?? err.remoteCode, err: message }, 'update refused')
    this.emit({ type: 'update-refused', round, code: f.code ?? err.remoteCode, message })
  }

  /**
   * The DP-SGD charge of training `round` (policy.dpSgd): reads the site's
   * account, and either refuses (SITE_DP_BUDGET_SPENT: the round would take
   * ε above the budget) or stores the round in the account before training,
   * so that a crash mid-round cannot leave a spent round off it.
   */
  private async chargeDpSgd(round: number, training: TrainingSpec, rows: number): Promise<DpSgdCharge | SiteRefusal> {
    const dp = this.config.policy.dpSgd!
    // parseSiteConfig always resolves stateDir (the config file's folder by default).
    const file = dpSgdAccountFile(this.config.stateDir ?? '.', this.config.siteId)
    const run = { study: this.spec!.id, round, q: dpSgdSamplingRate(training.batchSize, rows), noiseMultiplier: dp.noiseMultiplier, steps: training.localSteps }
    const charge = dpSgdCharge(await readDpSgdAccount(file), run, dp.delta)
    const refusal = checkDpSgdBudget(this.config.policy, charge, this.spec!.patientDp?.maxEpsilon)
    if (refusal !== undefined) return refusal
    await writeDpSgdAccount(file, [...charge.runs, charge.run])
    const spent = { q: run.q, noiseMultiplier: dp.noiseMultiplier, clipNorm: dp.clipNorm, steps: run.steps, delta: dp.delta, epsilon: charge.epsilonAfter, budget: dp.epsilon }
    this.log.info({ round, ...spent }, 'DP-SGD round charged to the site account')
    this.emit({ type: 'dp-sgd', round, ...spent })
    return charge
  }

  /** True when the fit task matches its round's logged opening (or no replica can tell); else refuses it, saying why. */
  private async fitMatchesLog(round: number, base: Uint8Array, config: Uint8Array): Promise<boolean> {
    const opened = await this.fromLog(`round ${round}'s opening`, (s) => openedRound(s, round))
    if (opened === 'unverified') return true
    const err = 'missing' in opened ? new SiteTaskUnverifiedError(opened.missing) : mismatch(checkFitTask(opened.found, this.config.siteId, base, config))
    if (err === undefined) return true
    this.log.error({ round, code: err.code, err: err.message }, 'fit task refused: it does not match the verified log')
    this.emit({ type: 'update-refused', round, code: err.code, message: err.message })
    return false
  }

  /**
   * What `read` finds in the site's verified replica: `{ found }`, or
   * `{ missing }` (why) when the replica does not show it within
   * `p2p.verifyTimeoutMs`, or 'unverified' when the site has no replica to
   * ask (warned once).
   */
  private async fromLog<T>(what: string, read: (state: StudyState) => T | undefined): Promise<{ found: T } | { missing: string } | 'unverified'> {
    const timeoutMs = this.config.p2p.verifyTimeoutMs
    const until = Date.now() + timeoutMs
    // The replica starts after the first hello; wait for it unless it is off or gave up.
    while (this.config.p2p.enabled && !this.replica && !this.replicaGaveUp && !this.finished && Date.now() < until) await sleep(50)
    const replica = this.replica
    if (!replica) {
      if (!this.warnedUnverified) {
        this.warnedUnverified = true
        this.log.warn({ p2p: this.config.p2p.enabled }, 'no verified replica of the log: tasks, models and credit are taken from the coordinator unverified')
      }
      return 'unverified'
    }
    let found: T | undefined
    try {
      found = await replica.waitFor(read, Math.max(0, until - Date.now()))
    } catch (err) {
      // The verified entries do not fold: the coordinator logged what the protocol forbids.
      return { missing: `the verified log cannot be read as a study: ${(err as Error).message}` }
    }
    return found === undefined ? { missing: `${what} is not in the verified log after ${timeoutMs} ms` } : { found }
  }

  /**
   * Decides the round's consent at its opening time, re-prepares the splits
   * from the consented records, keeps the round's leaves, and returns the
   * envelope's `ext` with the claim. Logs and emits the counts.
   */
  private async roundConsent(round: number, openedMs: number): Promise<Record<string, CanonicalValue>> {
    const { consent } = await this.prepare(openedMs)
    const c = consent!
    await this.consent!.keep(round, c)
    const root = toHex(c.claim.root)
    this.log.info({ round, atMs: openedMs, counts: c.result.counts, patients: c.claim.count, root, revoked: c.claim.revoked.length }, 'consent decided')
    this.emit({ type: 'consent', round, atMs: openedMs, counts: c.result.counts, patients: c.claim.count, root, revoked: c.claim.revoked.length })
    return { consent: encodeConsentClaim(c.claim) }
  }

  /**
   * In a study with consent and rewards: the site's credit A for `round`
   * (its allocation in the round's logged `round-rewarded` entry), when
   * A > 0, split over the patients it trained on that round (the round's
   * kept consent leaves, weight 1 each) with `splitToPatients`; the
   * allocation is kept beside the leaves (consent/patient-rewards.ts) and
   * its root sent in a signed `patient-rewards` statement. Once per round.
   */
  private async passOnRewards(round: number): Promise<void> {
    const spec = this.spec!
    if (round < 1 || !this.consent || !spec.rewards || this.rewardsPassed.has(round)) return
    const me = this.config.siteId
    const credit = await this.creditOf(round)
    if (credit === undefined) return // not in the log yet: tried again at the next task
    if (credit.passed || credit.amount === 0n) return void this.rewardsPassed.add(round)
    const amount = credit.amount
    const dir = this.consent.init.roundsDir
    let record: ConsentRoundRecord
    try {
      record = (await loadConsentRound(dir, round)).record
    } catch (err) {
      if (!(err instanceof ConsentRoundMissingError)) throw err
      // Credited for a round whose leaves this site no longer holds: nothing to split over; say so and go on.
      this.log.warn({ round, amount: amount.toString(), code: err.code }, 'patient rewards not passed on: no consent leaves kept for the round')
      return void this.rewardsPassed.add(round)
    }
    const split = splitToPatients(
      amount,
      record.leaves.map((l) => ({ pseudonym: toHex(l.pseudonym), weight: 1n })),
    )
    const tree = await savePatientRewardsRound(dir, { study: spec.id, site: me, round, amount, allocations: split.allocations })
    const statement = signStatement(this.components.signer, {
      t: 'patient-rewards',
      study: spec.id,
      round,
      site: me,
      amount,
      count: tree.count,
      root: tree.root,
      time: Date.now(),
    })
    const root = toHex(tree.root)
    try {
      const receipt = await this.client.submitPatientRewards(statement)
      this.log.info({ round, amount: amount.toString(), patients: tree.count, root, seq: receipt.logSeq }, 'patient rewards logged')
      this.emit({ type: 'patient-rewards', round, amount, patients: tree.count, root, logSeq: receipt.logSeq })
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err // transient: try again after reconnecting
      this.log.warn({ round, code: err.remoteCode, err: err.message }, 'patient rewards refused')
      this.emit({ type: 'patient-rewards', round, amount, patients: tree.count, root, logSeq: -1, code: err.remoteCode })
    }
    this.rewardsPassed.add(round)
  }

  /** The site's logged credit for `round`; from the coordinator's RoundStatus only when there is no replica. */
  private async creditOf(round: number): Promise<LoggedCredit | undefined> {
    const me = this.config.siteId
    const logged = await this.fromLog(`round ${round}'s rewards`, (s) => loggedCredit(s, me, round))
    if (logged !== 'unverified') {
      if ('found' in logged) return logged.found
      this.log.warn({ round, reason: logged.missing }, "patient rewards not passed on yet: the round's credit is not in the verified log")
      return undefined
    }
    const status = await this.client.roundStatus(round)
    const summary = status.rounds.find((r) => r.round === String(round))
    if (summary === undefined) return { amount: 0n, passed: false }
    const credit = summary.rewards.find((r) => r.siteId === me)
    return { amount: credit === undefined ? 0n : BigInt(credit.amount), passed: summary.patientRewards.includes(me) }
  }

  /** Scores a global model on the local validation split and reports it, once per round; refuses a model that is not the logged one. */
  private async ensureEvaluated(round: number, modelHash: Uint8Array): Promise<void> {
    if (this.evaluated.has(round)) return
    const logged = await this.fromLog(`round ${round}'s model`, (s) => loggedModel(s, round))
    if (logged !== 'unverified') {
      const err = 'missing' in logged ? new SiteTaskUnverifiedError(logged.missing) : mismatch(checkEvaluateTask(logged.found, round, modelHash))
      if (err !== undefined) {
        this.log.error({ round, code: err.code, err: err.message }, 'evaluate task refused: it does not match the verified log')
        this.emit({ type: 'evaluation-refused', round, code: err.code, message: err.message })
        return void this.evaluated.add(round)
      }
    }
    // A site with no validation records has nothing to report; it still trains.
    if (this.data!.validation.count === 0) return void this.evaluated.add(round)
    const refusal = checkEvaluationPolicy(this.config.policy, round, this.data!.train.count, this.data!.validation.count)
    if (refusal !== undefined) return this.refuseEvaluation(round, refusal)
    const spec = this.spec!
    const result = await evaluateModel(spec.model, (await this.model(modelHash)).tensorReader(), this.data!.validation)
    const metrics: Record<string, number> = { loss: result.loss, accuracy: result.accuracy }
    if (Number.isFinite(result.auc)) metrics['auc'] = result.auc
    const report = signStatement(this.components.signer, {
      t: 'evaluation',
      study: spec.id,
      round,
      site: this.config.siteId,
      model: modelHash,
      examples: result.examples,
      metrics,
      time: Date.now(),
    })
    try {
      await this.client.reportEvaluation(report)
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err
      // Already reported (before a reconnect) or the round's evaluation window has moved on: nothing to redo.
      this.log.debug({ round, code: err.remoteCode }, 'evaluation not taken')
    }
    this.evaluated.add(round)
    this.emit({ type: 'evaluated', round, metrics })
  }
}

/** The envelope's `ext.dpSgd`: what the round spent and the site's ε after it. */
function dpSgdExt(charge: DpSgdCharge, clipNorm: number) {
  const { run } = charge
  return encodeDpSgdClaim({ q: run.q, noiseMultiplier: run.noiseMultiplier, clipNorm, steps: run.steps, delta: charge.delta, epsilon: charge.epsilonAfter })
}

/** A mismatch reason as the error that refuses the task. */
function mismatch(reason: string | undefined): SiteAgentError | undefined {
  return reason === undefined ? undefined : new SiteTaskMismatchError(reason)
}
