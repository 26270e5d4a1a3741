/**
 * The aggregation kernel's second thread: a worker that instantiates the same
 * WebAssembly module on the same shared memory and shares the work of one
 * `fedAvgRange` over a tensor with the calling thread.
 *
 * Why this does not change a byte: each parameter j is computed by exactly one
 * thread, with the same arithmetic in the same site order (float64 sums, one
 * rounding); sharing only decides which core runs which j.
 *
 * How the work is shared: the tensor is cut into units of UNIT_VALUES
 * parameters (a multiple of the kernel's chunk, so no two threads ever write
 * the same bytes), and both threads claim units from one counter
 * (compare-and-swap) until none is left. A worker that the OS has not
 * scheduled (a loaded machine) simply claims nothing, and the caller does all
 * units itself: never much slower than one thread. The caller then waits only
 * for the units the worker did claim.
 *
 * The call stays synchronous, because the round decider is: the job is posted
 * through words in the shared memory, the caller works, then blocks in
 * Atomics.wait for the worker's claimed units. Every word is read and written
 * with Atomics (sequentially consistent), which orders the plain writes of
 * inputs before the post and of outputs before "unit done". The claim counter
 * carries the job's tag in its high bits and is closed (−1) before the next
 * job's arguments are written, so a worker that wakes late claims nothing of
 * a job it did not read the arguments of.
 *
 * The worker is started once, lazily, on the first aggregation big enough to
 * use it, and unref'd (it never keeps the process alive). It boots
 * asynchronously; until it reports ready, aggregations run on one thread.
 * A worker that fails to start or throws is never used again (one thread from
 * then on), and one that holds a claimed unit for 30 s (WAIT_SLICES) is
 * abandoned: the caller computes the tensor again into fresh memory, and
 * the blocks the worker might still touch are never freed.
 *
 * Worker code is a string run with `eval: true`, so it needs no file on disk,
 * loader or bundling step (tsx and the esbuild bundle both run it as is).
 */
import { Worker } from 'node:worker_threads'
import type { WasmMemory } from './kernel-memory.ts'

/** Parameters per claimed unit: 4 kernel chunks (a multiple of CHUNK_VALUES); small enough to balance, large enough that a claim (~1 µs) is noise. */
export const UNIT_VALUES = 4 * 8192
/** Units a job may have: the claim counter keeps the unit in its low 16 bits. */
const MAX_UNITS = 0xffff
/** Int32 words of the control block. */
const JOB = 0
const NEXT = 1
const DONE_UNITS = 2
const READY = 3
const FAILED = 4
const RESULT = 5
const ARGS = 6
/** Argument words: out, global, acc (the worker's), ptrs, counts, sites, size, units; then lr and total as float64 bit patterns (2 words each). */
const ARG_WORDS = 8
const REAL_WORDS = ARGS + ARG_WORDS
/** The claim counter between jobs. */
const CLOSED = -1
/** Bytes the control block needs. */
export const CONTROL_BYTES = 128
/** The caller waits for the worker's claimed units WAIT_SLICES × WAIT_SLICE_MS (30 s), then gives up on the worker. Generous: a loaded machine can stall a thread for seconds. */
const WAIT_SLICE_MS = 100
const WAIT_SLICES = 300

/** A tensor's `fedAvgRange` arguments (see aggregate-kernel-simd.ts), minus the accumulator and range. Pointers are byte offsets into the shared memory. */
export interface SharedJob {
  readonly out: number
  readonly global: number
  readonly ptrs: number
  readonly counts: number
  readonly sites: number
  readonly lr: number
  readonly total: number
  readonly size: number
}

/** The OR of the units' `fedAvgRange` results, and how many of the units the worker computed. */
export interface SharedResult {
  readonly result: number
  readonly workerUnits: number
  readonly units: number
}

/** Runs `fedAvgRange` for [begin, end) with the caller's accumulator; returns its result. */
export type RangeRunner = (begin: number, end: number) => number

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { module, memory, control, acc } = workerData
const { exports } = new WebAssembly.Instance(module, { env: { memory } })
const w = new Int32Array(memory.buffer, control, ${CONTROL_BYTES / 4})
const bits = new Int32Array(4)
const reals = new Float64Array(bits.buffer)
Atomics.store(w, ${READY}, 1)
let seen = Atomics.load(w, ${JOB})
for (;;) {
  Atomics.wait(w, ${JOB}, seen)
  seen = Atomics.load(w, ${JOB})
  for (;;) {
    const claim = Atomics.load(w, ${NEXT})
    if (claim === ${CLOSED} || claim >>> 16 !== seen) break
    const a = []
    for (let i = 0; i < ${ARG_WORDS}; i++) a.push(Atomics.load(w, ${ARGS} + i))
    for (let i = 0; i < 4; i++) bits[i] = Atomics.load(w, ${REAL_WORDS} + i)
    const unit = claim & 0xffff
    if (unit >= a[7]) break
    if (Atomics.compareExchange(w, ${NEXT}, claim, claim + 1) !== claim) continue
    try {
      const begin = unit * ${UNIT_VALUES}
      const r = exports.fedAvgRange(a[0], a[1], acc, a[3], a[4], a[5], reals[0], reals[1], begin, Math.min(begin + ${UNIT_VALUES}, a[6]))
      Atomics.or(w, ${RESULT}, r)
    } catch {
      Atomics.store(w, ${FAILED}, 1)
    }
    Atomics.add(w, ${DONE_UNITS}, 1)
    Atomics.notify(w, ${DONE_UNITS})
  }
}
`

/** The worker and the words it listens on. */
export class SecondThread {
  readonly #words: Int32Array
  readonly #bits = new Int32Array(4)
  readonly #reals = new Float64Array(this.#bits.buffer)
  #broken = false
  /** The last job's tag, 1..0x7fff (0 is the initial "no job"). */
  #tag = 0

  private constructor(words: Int32Array) {
    this.#words = words
  }

  /**
   * Starts the worker on `module` over `memory`, with its control block at
   * byte `control` and its accumulator chunk at byte `acc`; null where worker
   * threads are unavailable.
   */
  static start(module: object, memory: WasmMemory, control: number, acc: number): SecondThread | null {
    const words = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4)
    words.fill(0)
    Atomics.store(words, NEXT, CLOSED)
    const thread = new SecondThread(words)
    let worker: Worker
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, acc } })
    } catch {
      // Workers unavailable (e.g. a restricted embedder): the kernel stays on one thread.
      return null
    }
    // A worker that dies is never posted to again; the caller's timed wait covers one that dies holding a unit.
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

  /** True if `size` parameters make more than one unit and not too many to count. */
  static splits(size: number): boolean {
    return size > UNIT_VALUES && Math.ceil(size / UNIT_VALUES) <= MAX_UNITS
  }

  /**
   * Computes `job` with the worker's help: returns the OR of every unit's
   * `fedAvgRange` result (and the worker's share), or null if the worker failed or stalled (it is then
   * retired, and the caller must compute the tensor again into memory the
   * worker cannot reach). Requires `ready` and `splits(job.size)`.
   * `callerClaims` false (tests) leaves every unit to the worker.
   */
  run(job: SharedJob, runRange: RangeRunner, callerClaims = true): SharedResult | null {
    const w = this.#words
    const units = Math.ceil(job.size / UNIT_VALUES)
    Atomics.store(w, DONE_UNITS, 0)
    Atomics.store(w, FAILED, 0)
    Atomics.store(w, RESULT, 0)
    const args = [job.out, job.global, 0, job.ptrs, job.counts, job.sites, job.size, units]
    args.forEach((v, i) => Atomics.store(w, ARGS + i, v))
    this.#reals[0] = job.lr
    this.#reals[1] = job.total
    for (let i = 0; i < 4; i++) Atomics.store(w, REAL_WORDS + i, this.#bits[i]!)
    this.#tag = (this.#tag % 0x7fff) + 1
    // Open the claims, then wake the worker.
    Atomics.store(w, NEXT, this.#tag << 16)
    Atomics.store(w, JOB, this.#tag)
    Atomics.notify(w, JOB)
    let result = 0
    let mine = 0
    while (callerClaims) {
      const claim = Atomics.load(w, NEXT)
      const unit = claim & 0xffff
      if (unit >= units) break
      if (Atomics.compareExchange(w, NEXT, claim, claim + 1) !== claim) continue
      const begin = unit * UNIT_VALUES
      result |= runRange(begin, Math.min(begin + UNIT_VALUES, job.size))
      Atomics.add(w, DONE_UNITS, 1)
      mine++
    }
    // Every unit is claimed; wait for the worker's. Counts timed-out slices rather than reading a clock.
    let slices = 0
    for (;;) {
      const done = Atomics.load(w, DONE_UNITS)
      if (done === units) break
      if (this.#broken || slices >= WAIT_SLICES) {
        this.#broken = true
        return null
      }
      if (Atomics.wait(w, DONE_UNITS, done, WAIT_SLICE_MS) === 'timed-out') slices++
    }
    // Closed before the next job's arguments are written (see the module comment).
    Atomics.store(w, NEXT, CLOSED)
    if (Atomics.load(w, FAILED) !== 0) {
      this.#broken = true
      return null
    }
    return { result: result | Atomics.load(w, RESULT), workerUnits: units - mine, units }
  }
}
