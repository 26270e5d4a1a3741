/**
 * Holds each connected site's task stream and writes tasks to it. A task for
 * everyone (`siteId === null`) goes to every connected site; sites that are
 * offline get their pending work from `RoundRunner.pendingTasks` when they
 * reconnect, so a broadcast never needs to be retried here.
 */
import type { ServerWritableStream } from '@grpc/grpc-js'
import type { Task, TasksRequest__Output } from '../protos/index.ts'
import { encodeInstructions, type SiteTask } from '../protocol/index.ts'

type TaskStream = ServerWritableStream<TasksRequest__Output, Task>

export class TaskBroker {
  private readonly streams = new Map<string, Set<TaskStream>>()

  attach(siteId: string, stream: TaskStream): void {
    let set = this.streams.get(siteId)
    if (!set) this.streams.set(siteId, (set = new Set()))
    set.add(stream)
    const detach = () => {
      set.delete(stream)
      if (set.size === 0 && this.streams.get(siteId) === set) this.streams.delete(siteId)
    }
    stream.on('cancelled', detach)
    stream.on('close', detach)
    stream.on('error', detach)
  }

  /** Sites with at least one open task stream. */
  connectedSites(): string[] {
    return [...this.streams.keys()].sort()
  }

  send(siteId: string | null, task: SiteTask): void {
    const targets = siteId === null ? [...this.streams.values()] : [this.streams.get(siteId) ?? new Set<TaskStream>()]
    const message = toProtoTask(task)
    for (const set of targets) for (const stream of set) if (!stream.writableEnded && !stream.destroyed) stream.write(message)
  }

  /** Ends every stream (on shutdown), so sites see a clean end and reconnect. */
  endAll(): void {
    for (const set of this.streams.values()) for (const stream of set) if (!stream.writableEnded) stream.end()
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
  }
}
