/**
 * The aggregation kernel's second thread: a worker that instantiates the same
 * WebAssembly module on the same shared memory and runs `fedAvgRange` on the
 * half of a tensor it is given, while the calling thread does the other half.
 *
 * Why this does not change a byte: each parameter j is computed by exactly one
 * thread, with the same arithmetic in the same site order (float64 sums, one
 * rounding); the split only decides which core runs which j.
 *
 * The call stays synchronous, because the round decider is: the job is posted
 * through words in the shared memory (Atomics.store + notify), the caller
 * computes its half, then blocks in Atomics.wait for the worker's "done".
 * Atomics give the ordering: everything written before the post is visible to
 * the worker, and everything the worker wrote before "done" is visible after.
 *
 * The worker is started once, lazily, on the first aggregation big enough to
 * use it, and unref'd (it never keeps the process alive). It boots
 * asynchronously; until it reports ready, aggregations run on one thread.
 * A worker that fails to start or throws is never used again (one thread from
 * then on), and a worker that does not answer within 30 s (WAIT_SLICES) is
 * abandoned: the caller computes that half itself into fresh memory, and the
 * blocks the worker might still write to are never freed.
 *
 * Worker code is a string run with `eval: true`, so it needs no file on disk,
 * loader or bundling step (tsx and the esbuild bundle both run it as is).
 */
import { Worker } from 'node:worker_threads'
import type { WasmMemory } from './kernel-memory.ts'

/** Int32 words of the control block. */
const JOB = 0
const DONE = 1
const RESULT = 2
const READY = 3
const ARGS = 4
/** Byte offset of the two float64 arguments (lr, total) in the control block. */
const REALS_BYTE = 64
/** Bytes the control block needs. */
export const CONTROL_BYTES = 128
/** How long the caller waits for the worker's half before doing it itself: WAIT_SLICES × WAIT_SLICE_MS (30 s). Generous: a loaded machine can stall a thread for seconds. */
const WAIT_SLICE_MS = 100
const WAIT_SLICES = 300

/** `fedAvgRange`'s arguments (see aggregate-kernel-simd.ts). Pointers are byte offsets into the shared memory. */
export interface RangeJob {
  readonly out: number
  readonly global: number
  readonly acc: number
  readonly ptrs: number
  readonly counts: number
  readonly sites: number
  readonly lr: number
  readonly total: number
  readonly begin: number
  readonly end: number
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { module, memory, control } = workerData
const { exports } = new WebAssembly.Instance(module, { env: { memory } })
const words = new Int32Array(memory.buffer, control, ${CONTROL_BYTES / 4})
const reals = new Float64Array(memory.buffer, control + ${REALS_BYTE}, 2)
Atomics.store(words, ${READY}, 1)
let seen = Atomics.load(words, ${JOB})
for (;;) {
  Atomics.wait(words, ${JOB}, seen)
  seen = Atomics.load(words, ${JOB})
  let result
  try {
    const a = ${ARGS}
    result = exports.fedAvgRange(words[a], words[a + 1], words[a + 2], words[a + 3], words[a + 4], words[a + 5], reals[0], reals[1], words[a + 6], words[a + 7])
  } catch {
    result = -1
  }
  Atomics.store(words, ${RESULT}, result)
  Atomics.store(words, ${DONE}, seen)
  Atomics.notify(words, ${DONE})
}
`

/** The worker and the words it listens on. */
export class SecondThread {
  readonly #words: Int32Array
  readonly #reals: Float64Array
  #broken = false
  #posted = 0

  private constructor(words: Int32Array, reals: Float64Array) {
    this.#words = words
    this.#reals = reals
  }

  /**
   * Starts the worker on `module` over `memory`, with its control block at
   * byte `control`; null where worker threads are unavailable.
   */
  static start(module: object, memory: WasmMemory, control: number): SecondThread | null {
    const words = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4)
    const reals = new Float64Array(memory.buffer, control + REALS_BYTE, 2)
    words.fill(0)
    const thread = new SecondThread(words, reals)
    let worker: Worker
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } })
    } catch {
      // Workers unavailable (e.g. a restricted embedder): the kernel stays on one thread.
      return null
    }
    // A worker that dies is never posted to again; the caller's timed wait covers one that dies mid-job.
    const retire = (): void => {
      thread.#broken = true
    }
    worker.on('error', retire)
    worker.on('exit', retire)
    worker.unref()
    return thread
  }

  /** True once the worker has booted, and as long as it has not failed. */
  get ready(): boolean {
    return !this.#broken && Atomics.load(this.#words, READY) === 1
  }

  /** Posts `job` to the worker. Requires `ready`, and no job in flight. */
  post(job: RangeJob): void {
    const w = this.#words
    const args = [job.out, job.global, job.acc, job.ptrs, job.counts, job.sites, job.begin, job.end]
    args.forEach((v, i) => {
      w[ARGS + i] = v
    })
    this.#reals[0] = job.lr
    this.#reals[1] = job.total
    this.#posted = (this.#posted + 1) | 0
    Atomics.store(w, JOB, this.#posted)
    Atomics.notify(w, JOB)
  }

  /**
   * Blocks until the posted job is done; returns its `fedAvgRange` result,
   * or null if the worker failed or stalled (it is then retired, and the
   * caller must compute that range itself, into memory the worker cannot reach).
   */
  wait(): number | null {
    const w = this.#words
    // Counts timed-out slices rather than reading a clock; a wake-up means DONE changed.
    let slices = 0
    for (;;) {
      const done = Atomics.load(w, DONE)
      if (done === this.#posted) break
      if (this.#broken || slices >= WAIT_SLICES) {
        this.#broken = true
        return null
      }
      if (Atomics.wait(w, DONE, done, WAIT_SLICE_MS) === 'timed-out') slices++
    }
    const result = Atomics.load(w, RESULT)
    if (result < 0) {
      this.#broken = true
      return null
    }
    return result
  }
}
