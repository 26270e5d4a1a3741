/**
 * The hospital's agent. It joins one study, prepares its local records with
 * the schema the hub declared, then follows its task stream: for a fit task it
 * trains from the round's base model and uploads only the signed delta; for an
 * evaluate task it scores a global model on its local validation split and
 * reports signed metrics. No record, and no statistic of records other than
 * those metrics and the example count, leaves the site.
 *
 * It survives a coordinator restart: a broken stream means hello again (with
 * backoff, up to `reconnectTimeoutMs`), and a trained update that could not be
 * uploaded is kept and re-sent for the same round rather than retrained.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { decodeCanonical, signStatement, toHex, type SignedStatement, type Signer } from '../ledger/index.ts'
import {
  StudySpecSchema,
  computeDelta,
  decodeWeights,
  encodeWeights,
  evaluateModel,
  hashBytes,
  initBackend,
  inputWidth,
  modelShapes,
  trainLocal,
  type Dataset,
  type StudySpec,
  type TensorShape,
  type Weights,
} from '../models/index.ts'
import type { Task__Output } from '../protos/index.ts'
import type { SiteConfig } from './config.ts'
import { CoordinatorClient, isTransient } from './coordinator-client.ts'
import { readCsvRecords, prepareSplits, type DataReport } from './data/index.ts'
import { hashSeed } from './data/random.ts'
import { SiteReplica } from './replica.ts'
import { SiteCoordinatorUnavailableError, SiteRequestRejectedError, SiteStudyMismatchError } from './errors.ts'

export type SiteAgentEvent =
  | { readonly type: 'joined'; readonly study: string; readonly train: number; readonly validation: number; readonly report: DataReport; readonly backend: string }
  | { readonly type: 'trained'; readonly round: number; readonly trainLoss: number; readonly examples: number; readonly steps: number; readonly durationMs: number }
  | { readonly type: 'uploaded'; readonly round: number; readonly logSeq: number; readonly bytes: number; readonly durationMs: number }
  | { readonly type: 'update-refused'; readonly round: number; readonly code: string | undefined; readonly message: string }
  | { readonly type: 'evaluated'; readonly round: number; readonly metrics: Readonly<Record<string, number>> }
  | { readonly type: 'reconnecting'; readonly reason: string }
  | { readonly type: 'replicating'; readonly peers: readonly string[] }
  | { readonly type: 'done'; readonly rounds: number; readonly model: string; readonly replicaEntries: number | undefined }

export interface SiteAgentComponents {
  readonly signer: Signer
  readonly logger: Logger
}

export interface SiteRunSummary {
  /** Entries in the site's verified replica of the log at the end (undefined without p2p). */
  readonly replicaEntries: number | undefined
  readonly rounds: number
  readonly finalModel: string
  readonly updatesAccepted: number
  readonly evaluations: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Codes that mean "the coordinator already has this", so the work is done. */
const ALREADY_HAVE = new Set(['COORD_UPDATE_REPLAYED', 'COORD_DUPLICATE_UPDATE'])

export class SiteAgent {
  private readonly client: CoordinatorClient
  private spec: StudySpec | undefined
  private shapes: readonly TensorShape[] = []
  private data: { train: Dataset; validation: Dataset } | undefined
  private token: Uint8Array = new Uint8Array()
  private readonly models = new Map<string, Weights>()
  private readonly fitted = new Set<number>()
  private readonly evaluated = new Set<number>()
  /** A trained update not yet acknowledged, kept to re-send instead of retraining. */
  private pending: { round: number; base: string; envelope: SignedStatement; delta: Uint8Array } | undefined
  private accepted = 0
  private replica: SiteReplica | undefined
  private coordinatorPeers: string[] = []
  private listeners: ((e: SiteAgentEvent) => void)[] = []

  constructor(
    private readonly components: SiteAgentComponents,
    readonly config: SiteConfig,
  ) {
    this.client = new CoordinatorClient(config.coordinator)
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
    let lastContact = Date.now()
    let backoffMs = 200
    try {
      for (;;) {
        signal?.throwIfAborted()
        try {
          await this.hello()
          lastContact = Date.now()
          backoffMs = 200
          for await (const task of this.client.tasks(this.token)) {
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
        await sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, 2000)
      }
    } finally {
      if (this.replica) await this.replica.finish([]).catch(() => undefined)
      this.client.close()
    }
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
    await this.replicate(res.p2pAddrs, new Uint8Array(res.coordinatorKey))
  }

  /** Starts (once) or refreshes the site's replica of the log from the coordinator's libp2p addresses. */
  private async replicate(addrs: readonly string[], coordinatorKey: Uint8Array): Promise<void> {
    const p2p = this.config.p2p
    if (!p2p.enabled || addrs.length === 0) return
    this.coordinatorPeers = [...addrs]
    if (this.replica) return this.replica.addPeers(addrs)
    const peers = [...addrs, ...p2p.peers]
    this.replica = await SiteReplica.start({
      dataDir: p2p.dataDir!,
      peerKeyFile: p2p.peerKeyFile!,
      listen: p2p.listen,
      peers,
      origin: this.config.study,
      coordinatorKey,
      witness: this.components.signer,
      logger: this.log,
      submitCosignature: (size, cosig) => this.client.submitCosignature(this.token, size, cosig),
    })
    this.emit({ type: 'replicating', peers })
  }

  /** First contact: load and prepare the local records with the study's schema. */
  private async join(spec: StudySpec): Promise<void> {
    const backend = await initBackend(this.config.backend)
    const source = this.config.data
    const table = await readCsvRecords('file' in source ? source.file : source.train, spec.data)
    const prepared =
      'file' in source
        ? prepareSplits(table, spec.data, { kind: 'fraction', validationFraction: source.validationFraction, seed: source.splitSeed })
        : prepareSplits(table, spec.data, { kind: 'tables', validation: await readCsvRecords(source.validation, spec.data) })
    this.spec = spec
    this.shapes = modelShapes(spec.model, inputWidth(spec.data))
    this.data = { train: prepared.train, validation: prepared.validation }
    this.emit({ type: 'joined', study: spec.id, train: prepared.train.count, validation: prepared.validation.count, report: prepared.report, backend })
  }

  /** Handles one task; returns the run summary when the study is done. */
  private async handle(task: Task__Output): Promise<SiteRunSummary | undefined> {
    if (task.kind === 'fit' && task.fit) {
      const f = task.fit
      await this.ensureEvaluated(Number(f.baseRound), new Uint8Array(f.baseModelHash))
      await this.fit(Number(f.round), new Uint8Array(f.baseModelHash), Number(f.seed))
    } else if (task.kind === 'evaluate' && task.evaluate) {
      await this.ensureEvaluated(Number(task.evaluate.round), new Uint8Array(task.evaluate.modelHash))
    } else if (task.kind === 'done' && task.done) {
      const replicaEntries = this.replica ? await this.replica.finish(this.coordinatorPeers) : undefined
      this.replica = undefined
      const summary = { rounds: Number(task.done.rounds), finalModel: toHex(task.done.finalModelHash), updatesAccepted: this.accepted, evaluations: this.evaluated.size, replicaEntries }
      this.emit({ type: 'done', rounds: summary.rounds, model: summary.finalModel, replicaEntries })
      return summary
    }
    return undefined
  }

  private async model(hash: Uint8Array): Promise<Weights> {
    const key = toHex(hash)
    let w = this.models.get(key)
    if (!w) {
      w = decodeWeights(await this.client.downloadModel(this.token, hash), this.shapes)
      if (this.models.size >= 2) this.models.delete(this.models.keys().next().value!)
      this.models.set(key, w)
    }
    return w
  }

  private async fit(round: number, base: Uint8Array, roundSeed: number): Promise<void> {
    if (this.fitted.has(round)) return
    const spec = this.spec!
    const data = this.data!
    if (!this.pending || this.pending.round !== round || this.pending.base !== toHex(base)) {
      const global = await this.model(base)
      const result = await trainLocal({ model: spec.model, training: spec.training, global, data: data.train, seed: (roundSeed ^ hashSeed(this.config.siteId)) >>> 0 })
      this.emit({ type: 'trained', round, trainLoss: result.trainLoss, examples: result.examples, steps: result.steps, durationMs: result.durationMs })
      const delta = encodeWeights(computeDelta(result.weights, global))
      const envelope = signStatement(this.components.signer, {
        t: 'update',
        study: spec.id,
        round,
        site: this.config.siteId,
        base,
        delta: hashBytes(delta),
        size: delta.length,
        examples: data.train.count,
        metrics: { trainLoss: result.trainLoss, steps: result.steps },
        nonce: new Uint8Array(randomBytes(16)),
        time: Date.now(),
      })
      this.pending = { round, base: toHex(base), envelope, delta }
    }
    const started = performance.now()
    try {
      const receipt = await this.client.uploadUpdate(this.pending.envelope, this.pending.delta)
      this.accepted++
      this.emit({ type: 'uploaded', round, logSeq: receipt.logSeq, bytes: this.pending.delta.length, durationMs: performance.now() - started })
    } catch (err) {
      if (!(err instanceof SiteRequestRejectedError)) throw err // transient: keep `pending` and re-send after reconnecting
      if (err.remoteCode && ALREADY_HAVE.has(err.remoteCode)) this.emit({ type: 'uploaded', round, logSeq: -1, bytes: this.pending.delta.length, durationMs: performance.now() - started })
      else {
        this.emit({ type: 'update-refused', round, code: err.remoteCode, message: err.message })
        this.log.warn({ round, code: err.remoteCode, err: err.message }, 'update refused')
      }
    }
    this.pending = undefined
    this.fitted.add(round)
  }

  /** Scores a global model on the local validation split and reports it, once per round. */
  private async ensureEvaluated(round: number, modelHash: Uint8Array): Promise<void> {
    if (this.evaluated.has(round)) return
    // A site with no validation records has nothing to report; it still trains.
    if (this.data!.validation.count === 0) return void this.evaluated.add(round)
    const spec = this.spec!
    const result = await evaluateModel(spec.model, await this.model(modelHash), this.data!.validation)
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
