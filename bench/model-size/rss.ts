/**
 * Resident memory of another process, sampled from /proc/<pid>/status, with
 * the peak between two marks: what `bench:model-size` reports per phase.
 */
import { readFileSync } from 'node:fs'

/** VmRSS of `pid` in bytes (0 once the process is gone). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

/** Samples `pid` every `everyMs`; `peak()` is the highest RSS since the last `reset()`. */
export class RssSampler {
  #peak = 0
  readonly #timer: NodeJS.Timeout
  constructor(
    readonly pid: number,
    everyMs = 10,
  ) {
    this.#timer = setInterval(() => {
      this.#peak = Math.max(this.#peak, rssOf(pid))
    }, everyMs)
  }
  reset(): void {
    this.#peak = rssOf(this.pid)
  }
  peak(): number {
    return Math.max(this.#peak, rssOf(this.pid))
  }
  stop(): void {
    clearInterval(this.#timer)
  }
}
