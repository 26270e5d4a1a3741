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

export class TaskBroker {
  /** One task stream per site: a site that opens another (a reconnect) replaces the old. */
  private readonly streams = new Map<string, TaskStream>()

  attach(siteId: string, stream: TaskStream): void {
    const old = this.streams.get(siteId)
    this.streams.set(siteId, stream)
    // The older stream ends with a status, so nothing writes to it again and no client waits on it.
    if (old !== undefined && !old.writableEnded && !old.destroyed) failStream(old, new TaskStreamReplacedError(`site "${siteId}" opened a newer task stream`))
    const detach = () => {
      if (this.streams.get(siteId) === stream) this.streams.delete(siteId)
    }
    stream.on('cancelled', detach)
    stream.on('close', detach)
    stream.on('error', detach)
  }

  /** Sites with an open task stream. */
  connectedSites(): string[] {
    return [...this.streams.keys()].sort()
  }

  send(siteId: string | null, task: SiteTask): void {
    const one = siteId === null ? undefined : this.streams.get(siteId)
    const targets = siteId === null ? [...this.streams.values()] : one === undefined ? [] : [one]
    const message = toProtoTask(task)
    for (const stream of targets) if (!stream.writableEnded && !stream.destroyed) stream.write(message)
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
  }
}
