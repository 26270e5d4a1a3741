/**
 * Starts `blob-peer-process.ts` in a child process and reads the lines it
 * prints: for the test and the bench that measure one end of `/fl/blob`
 * without the other end in the same heap.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { BlobPeerInit, MemorySample } from './blob-peer-process.ts'

export interface BlobPeerChild {
  readonly pid: number
  /** The `ready` line: the serving address (serve) and the memory once started. */
  readonly ready: { readonly address?: string; readonly idle: MemorySample }
  /** Resolves with the first line, printed so far or later, that passes `test`. */
  next(test: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** The highest memory sampled since the previous call (or since ready), and the memory now. */
  peak(): Promise<{ readonly peak: MemorySample; readonly now: MemorySample }>
  /** Writes `line` to its stdin (`go` starts a fetch). */
  tell(line: string): void
  /** Closes its stdin and waits for it to exit. */
  stop(): Promise<void>
}

const SCRIPT = fileURLToPath(new URL('./blob-peer-process.ts', import.meta.url))

export async function startBlobPeer(init: BlobPeerInit): Promise<BlobPeerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const events: Record<string, unknown>[] = []
  const waiters: { test: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    // Each line is taken once: by the first waiter it passes, else kept for a later next().
    const event = JSON.parse(line) as Record<string, unknown>
    const waiter = waiters.find((w) => w.test(event))
    if (waiter === undefined) events.push(event)
    else {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(event)
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const died = exited.then((code) => Promise.reject(new Error(`the ${init.role} process exited with ${code}`)))
  died.catch(() => undefined)
  const next = (test: (e: Record<string, unknown>) => boolean) =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        const seen = events.find(test)
        if (seen) {
          events.splice(events.indexOf(seen), 1)
          resolve(seen)
        } else waiters.push({ test, resolve })
      }),
      died,
    ])
  const ready = (await next((e) => e['ready'] === true)) as unknown as BlobPeerChild['ready']
  return {
    pid: child.pid!,
    ready,
    next,
    peak: async () => {
      child.stdin.write('peak\n')
      const e = await next((e) => e['peak'] !== undefined)
      return { peak: e['peak'] as MemorySample, now: e['now'] as MemorySample }
    },
    tell: (line) => void child.stdin.write(`${line}\n`),
    stop: async () => {
      child.stdin.end()
      await exited
    },
  }
}
