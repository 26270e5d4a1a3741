/**
 * Resident memory of another process, sampled from /proc/<pid>/status, with
 * the peak between two marks: what `bench:model-size` reports per phase.
 */
import { memoryOf } from '../support/process-memory.ts'

/** VmRSS of `pid` in bytes (0 once the process is gone). */
export function rssOf(pid: number): number {
  return memoryOf(pid).rssBytes
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
