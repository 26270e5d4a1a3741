/**
 * The events a bench child process prints, one JSON object a line (lines
 * that are not an object, e.g. a library's notice, are skipped): every event
 * so far, the first that passes a test (printed already or later), and a
 * listener for each one from now on.
 */
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

export type BenchEvent = Record<string, unknown>

export interface EventLines {
  /** Every event printed so far, in order. */
  readonly events: readonly BenchEvent[]
  /** Resolves with the first event, printed so far or later, that passes `test`. */
  next(test: (event: BenchEvent) => boolean): Promise<BenchEvent>
  /** Calls `listener` with each event printed from now on, until the returned function is called. */
  follow(listener: (event: BenchEvent) => void): () => void
}

export function followEventLines(output: Readable): EventLines {
  const events: BenchEvent[] = []
  const listeners = new Set<(e: BenchEvent) => void>()
  const waiters: { test: (e: BenchEvent) => boolean; resolve: (e: BenchEvent) => void }[] = []
  createInterface({ input: output }).on('line', (line) => {
    if (!line.startsWith('{')) return
    const event = JSON.parse(line) as BenchEvent
    events.push(event)
    for (const l of listeners) l(event)
    for (const w of [...waiters])
      if (w.test(event)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(event)
      }
  })
  return {
    events,
    next: (test) =>
      new Promise((resolve) => {
        const seen = events.find(test)
        if (seen) resolve(seen)
        else waiters.push({ test, resolve })
      }),
    follow: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
