/**
 * Starts `coordinator-process.ts` in a child process and follows the events
 * it prints (one JSON object a line): for benches that time a coordinator
 * without charging it the CPU of their own clients, as a hub with remote
 * sites runs.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CoordinatorProcessInit } from './coordinator-process.ts'
import { followEventLines } from './event-lines.ts'

export interface CoordinatorChild {
  readonly pid: number
  readonly address: string
  /** Every event printed so far, in order. */
  readonly events: readonly Record<string, unknown>[]
  /** Resolves with the first event, printed so far or later, that passes `test`. */
  next(test: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** Calls `listener` with each event printed from now on, until the returned function is called. */
  follow(listener: (event: Record<string, unknown>) => void): () => void
  /** Closes the coordinator (its stdin) and waits for the process to exit. */
  stop(): Promise<void>
}

/**
 * `script` is the process to run (default: `coordinator-process.ts` with
 * `init`); any script that prints the same `{ ready, address }` line and
 * stops when its stdin closes will do (e.g. `bare-upload-server.ts`).
 */
export async function startCoordinatorChild(init: CoordinatorProcessInit, script: URL = new URL('./coordinator-process.ts', import.meta.url)): Promise<CoordinatorChild> {
  // BENCH_COORDINATOR_CPU_PROF=DIR writes the coordinator's V8 CPU profile there, to see where its time goes.
  const profile = process.env['BENCH_COORDINATOR_CPU_PROF']
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), '--import', 'tsx', fileURLToPath(script), JSON.stringify(init)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const { events, next, follow } = followEventLines(child.stdout)
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const died = exited.then((code) => {
    throw new Error(`the coordinator process exited with ${code} before listening`)
  })
  died.catch(() => undefined)
  const ready = await Promise.race([next((e) => e['ready'] === true), died])
  return {
    pid: child.pid!,
    address: ready['address'] as string,
    events,
    next,
    follow,
    stop: async () => {
      child.stdin.end()
      await exited
    },
  }
}
