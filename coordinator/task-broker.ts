/**
 * Holds each connected site's one task stream and writes tasks to it. A task for
 * everyone (`siteId === null`) goes to every connected site; sites that are
 * offline get their pending work from `RoundRunner.pendingTasks` when they
 * reconnect, so a broadcast never needs to be retried here.
 */
import type { ServerWritableStream } from '@grpc/grpc-js'
import type { Task, TasksRequest__Output } from '../protos/index.ts'
import { encodeInstructions, type SiteTask } from '../protocol/index.ts'
import { TaskStreamReplacedError } from './errors.ts'
import { failStream } from './grpc/status.ts'

type TaskStream = ServerWritableStream<TasksRequest__Output, Task>

/** Models remembered per site for the dashboard's download step. */
const MODELS_REMEMBERED = 4

/** A site's task stream as the dashboard shows it: open now, or when it was last open. */
export interface SitePresence {
  readonly site: string
  readonly online: boolean
  /** Now when online; otherwise when its last task stream closed. */
  readonly lastSeenMs: number
}

export class TaskBroker {
  /** One task stream per site: a site that opens another (a reconnect) replaces the old. */
  private readonly streams = new Map<string, TaskStream>()
  /** When each site's task stream last closed (or opened, while it is open). */
  private readonly lastSeen = new Map<string, number>()
  /** Per site, the newest fit task written to its stream: round and time (the dashboard's "task sent"). */
  private readonly fitSent = new Map<string, { round: number; timeMs: number }>()
  /** Per site, the models it last finished downloading (hex hash → time), the newest few only. */
  private readonly downloaded = new Map<string, Map<string, number>>()

  constructor(private readonly now: () => number = Date.now) {}

  attach(siteId: string, stream: TaskStream): void {
    const old = this.streams.get(siteId)
    this.streams.set(siteId, stream)
    this.lastSeen.set(siteId, this.now())
    // The older stream ends with a status, so nothing writes to it again and no client waits on it.
    if (old !== undefined && !old.writableEnded && !old.destroyed) failStream(old, new TaskStreamReplacedError(`site "${siteId}" opened a newer task stream`))
    const detach = () => {
      if (this.streams.get(siteId) !== stream) return
      this.streams.delete(siteId)
      this.lastSeen.set(siteId, this.now())
    }
    stream.on('cancelled', detach)
    stream.on('close', detach)
    stream.on('error', detach)
  }

  /** Sites with an open task stream. */
  connectedSites(): string[] {
    return [...this.streams.keys()].sort()
  }

  /** Every site that ever opened a task stream, in id order. */
  presence(): SitePresence[] {
    const now = this.now()
    return [...this.lastSeen.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([site, seen]) => ({ site, online: this.streams.has(site), lastSeenMs: this.streams.has(site) ? now : seen }))
  }

  /**
   * A site finished downloading a model: the dashboard's "model downloaded"
   * step, and a sign of life (its last-seen time moves, also with no open
   * task stream).
   */
  noteDownload(siteId: string, modelHex: string): void {
    const models = this.downloaded.get(siteId) ?? new Map<string, number>()
    models.delete(modelHex)
    models.set(modelHex, this.now())
    // A site downloads a round's base and the model it evaluates: a few entries cover the current round.
    while (models.size > MODELS_REMEMBERED) models.delete(models.keys().next().value!)
    this.downloaded.set(siteId, models)
    if (!this.streams.has(siteId)) this.lastSeen.set(siteId, this.now())
  }

  /** When each site last finished downloading the model `modelHex` (sites that did not are absent). */
  modelDownloads(modelHex: string): Map<string, number> {
    const out = new Map<string, number>()
    for (const [site, models] of this.downloaded) {
      const at = models.get(modelHex)
      if (at !== undefined) out.set(site, at)
    }
    return out
  }

  /** When the fit task of `round` was written to each site's stream (sites not sent it are absent). */
  fitTasksSent(round: number): Map<string, number> {
    const out = new Map<string, number>()
    for (const [site, sent] of this.fitSent) if (sent.round === round) out.set(site, sent.timeMs)
    return out
  }

  send(siteId: string | null, task: SiteTask): void {
    const targets = siteId === null ? [...this.streams.entries()] : this.streams.has(siteId) ? [[siteId, this.streams.get(siteId)!] as const] : []
    const message = toProtoTask(task)
    for (const [site, stream] of targets) {
      if (stream.writableEnded || stream.destroyed) continue
      stream.write(message)
      if (task.kind === 'fit') this.fitSent.set(site, { round: task.round, timeMs: this.now() })
    }
  }

  /** Ends every stream (on shutdown), so sites see a clean end and reconnect. */
  endAll(): void {
    for (const stream of this.streams.values()) if (!stream.writableEnded) stream.end()
    this.streams.clear()
  }
}

export function toProtoTask(task: SiteTask): Task {
  switch (task.kind) {
    case 'fit':
      return {
        fit: {
          round: String(task.round),
          baseModelHash: task.base,
          seed: String(task.seed),
          deadlineMs: String(task.deadlineMs),
          deltaSizeBytes: String(task.deltaSizeBytes),
          baseRound: String(task.baseRound),
          openedMs: String(task.openedMs),
          config: encodeInstructions(task.instructions),
        },
      }
    case 'evaluate':
      return { evaluate: { round: String(task.round), modelHash: task.model, deadlineMs: String(task.deadlineMs) } }
    case 'done':
      return { done: { rounds: String(task.rounds), finalModelHash: task.model } }
    case 'cancel':
      return { cancel: { round: String(task.round), reason: task.reason } }
    case 'secagg': {
      const base = { round: String(task.round), phase: task.phase, sites: [...task.sites] }
      if (task.phase === 'shares') return { secagg: { ...base, k: task.k, t: task.t, keys: task.keys.map((k) => ({ body: k.body, signature: k.signature })) } }
      if (task.phase === 'input') return { secagg: { ...base, boxes: task.boxes.map((b) => ({ from: b.from, box: b.box })) } }
      return { secagg: base }
    }
  }
}
