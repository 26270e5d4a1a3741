/**
 * Latency summaries and number formatting for bench:ledger's tables. Pure.
 */
import { median } from '../support/median.ts'
import { mean } from '../support/stats.ts'

/** Nearest-rank percentile (p in (0, 100]) of the values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export interface LatencySummary {
  readonly samples: number
  readonly medianUs: number
  readonly p99Us: number
  readonly meanUs: number
  readonly maxUs: number
}

/** Median, p99, mean and max of latencies given in ms, reported in µs. */
export function latency(samplesMs: readonly number[]): LatencySummary {
  const us = samplesMs.map((ms) => ms * 1000)
  return { samples: us.length, medianUs: round2(median(us)), p99Us: round2(percentile(us, 99)), meanUs: round2(mean(us)), maxUs: round2(Math.max(...us)) }
}

export function round2(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x
}

/** Entries per second for `count` entries in `ms`. */
export function perSecond(count: number, ms: number): number {
  return Math.round((count * 1000) / ms)
}

export const fmtInt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : String(x))
export const fmtUs = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : String(x))
export const fmtMs = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : String(x))
export const fmtX = (x: number) => `${x.toFixed(x >= 10 ? 0 : 1)}×`

/** Runs `fn` and returns its result and the elapsed ms. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const t0 = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - t0 }
}

/**
 * µs per item of each piece over items 0..count-1: `reps` rounds, every piece
 * once per round in turn (so a burst of noise from elsewhere on the machine
 * hits one round, not one piece), the median round per piece. One untimed
 * pass over the first 256 items first (JIT).
 */
export function profilePieces<K extends string>(count: number, reps: number, pieces: Record<K, (i: number) => unknown>): Record<K, number> {
  const names = Object.keys(pieces) as K[]
  for (const name of names) for (let i = 0; i < Math.min(256, count); i++) pieces[name](i)
  const samples = new Map<K, number[]>(names.map((n) => [n, []]))
  for (let r = 0; r < reps; r++) {
    for (const name of names) {
      const fn = pieces[name]
      const t0 = performance.now()
      for (let i = 0; i < count; i++) fn(i)
      samples.get(name)!.push(((performance.now() - t0) * 1000) / count)
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples.get(n)!)])) as Record<K, number>
}
