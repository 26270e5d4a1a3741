/**
 * The FedAvg loops in WebAssembly SIMD, with exactly the arithmetic of the
 * plain loops (aggregate-kernel-js.ts), hence the same bytes:
 *
 * - each f64x2 lane holds one parameter j, so lane j still computes
 *   `acc[j] = acc[j] + n_i · float64(Δ_i[j])` for the sites in order, one
 *   IEEE-754 float64 multiply and add each (WebAssembly has no fused
 *   multiply-add outside relaxed SIMD, which this does not use);
 * - the result is `float64(global[j]) + (lr · acc[j]) / N`, rounded once by
 *   `f32x4.demote_f64x2_zero` (round to nearest, ties to even, as the
 *   Float32Array store of the plain path).
 *
 * The tensor is walked in chunks of CHUNK_VALUES parameters; for each chunk,
 * `accumulate` adds up to GROUP_SITES sites at a time, keeping eight
 * parameters' sums in registers across the sites; a longer site list
 * continues from the stored sums, which changes nothing (the sums are float64
 * either way). Each site's delta is found through a table of pointers.
 *
 * Where the inputs are: WebAssembly reads only its own memory.
 * - In place (the fast path): when every delta was allocated in the kernel's
 *   shared memory (kernel-memory.ts; `decodeWeightsShared` does that), one
 *   `fedAvgRange` call walks all chunks reading the deltas where they are,
 *   and the output is allocated there too. Main memory sees each input byte
 *   once, as numpy does. When the work is large enough and the second thread
 *   (aggregate-second-thread.ts) is up, both threads claim units of whole
 *   chunks from a shared counter and run `fedAvgRange` on them.
 * - Copied (any other input): the driver copies each chunk of up to
 *   GROUP_SITES sites into the scratch (memcpy) and calls `accumulate`, as
 *   before this module had a heap; one thread.
 * Both give the same bytes as each other and as the plain loops: only where
 * a value is read from, and which core computes which parameter, differ.
 *
 * The compiled module, its memory and the worker are the module state of
 * models/core: made once on first use, never observable from outside (every
 * call fills what it reads before reading it, JS runs it to completion
 * without interleaving, and the worker touches only the range it is given
 * during a call), and absent (`null`) where the engine lacks WebAssembly SIMD,
 * in which case callers use the plain loops.
 */
import type { WeightedUpdate } from './aggregate.ts'
import type { AggregationKernel, FedAvgValues } from './aggregate-kernel-js.ts'
import { CONTROL_BYTES, SecondThread, UNIT_VALUES } from './aggregate-second-thread.ts'
import { KERNEL_SCRATCH_BYTES, type KernelMemory, sharedKernelMemory, type WasmMemory } from './kernel-memory.ts'
import { buildModule, F64, type FunctionDefinition, I32, op, V128, type ValueType } from './wasm-module-builder.ts'

/** f64x2 sums the accumulate loop keeps in registers: 2·LANES parameters per step (a power of two). */
const LANES = 4
const STEP_VALUES = 2 * LANES
/**
 * Parameters per chunk: a multiple of STEP_VALUES. Large because, on the copy
 * path, each TypedArray `set` into the module costs about half a microsecond
 * on top of the bytes (measured on Node 20: 8192 beat 1024 to 4096 by 20–40 %).
 */
const CHUNK_VALUES = 8192
/** Sites whose chunks one `accumulate` call adds: 8 × 32 KiB of chunks stays in L2 beside the 64 KiB accumulator. */
const GROUP_SITES = 8
/** Below this many multiply-adds (sites × parameters) one thread does the tensor: posting and waking a worker costs tens of microseconds. */
const TWO_THREAD_MIN_WORK = 1 << 20

// The fixed scratch, at the bottom of the memory (KERNEL_SCRATCH_BYTES).
const CONTROL_OFFSET = 0
/** One accumulator chunk per thread: [0] the caller's, [1] the worker's. */
const ACC_OFFSETS = [1024, 1024 + 8 * CHUNK_VALUES] as const
const GLOBAL_OFFSET = ACC_OFFSETS[1] + 8 * CHUNK_VALUES
const OUT_OFFSET = GLOBAL_OFFSET + 4 * CHUNK_VALUES
const COUNTS_OFFSET = OUT_OFFSET + 4 * CHUNK_VALUES
const PTRS_OFFSET = COUNTS_OFFSET + 8 * GROUP_SITES
const DELTAS_OFFSET = PTRS_OFFSET + 4 * GROUP_SITES
const SCRATCH_END = DELTAS_OFFSET + 4 * CHUNK_VALUES * GROUP_SITES
if (SCRATCH_END > KERNEL_SCRATCH_BYTES || CONTROL_OFFSET + CONTROL_BYTES > ACC_OFFSETS[0]) throw new Error('aggregate-kernel-simd: scratch layout exceeds KERNEL_SCRATCH_BYTES')
if (UNIT_VALUES % CHUNK_VALUES !== 0) throw new Error('aggregate-kernel-simd: a shared unit must be whole chunks')
const SCRATCH_PAGES = KERNEL_SCRATCH_BYTES / 65536
/** The most a 32-bit memory can have (4 GiB); the shared memory's own maximum is lower (kernel-memory.ts). */
const MAX_PAGES = 65536

/**
 * `accumulate(acc, ptrs, counts, sites, steps, off)`: for j < STEP_VALUES·steps
 * and s < sites in order, acc[j] = acc[j] + float64(delta_s[j]) · n_s, where
 * delta_s starts at byte `i32[ptrs + 4s] + off` and n_s is the float64 at
 * `counts + 8s`.
 * `finish(out, global, acc, lr, total, quads)`: for j < 4·quads,
 * out[j] = float32(float64(global[j]) + (lr · acc[j]) / total); returns 1 if
 * any of those 4·quads values is not finite (padding lanes included, so a 1
 * may be a false alarm; a 0 is proof), else 0.
 * `fedAvgRange(out, global, acc, ptrs, counts, sites, lr, total, begin, end)`:
 * for values [begin, end) of a tensor (begin a multiple of CHUNK_VALUES),
 * chunk by chunk: zero the accumulator chunk at `acc`, `accumulate` the sites
 * GROUP_SITES at a time (ptrs[s] the byte offset of site s's value 0), and
 * `finish` into out (byte offset of value 0; global likewise); returns the OR
 * of `finish`'s results. Writes past `end` up to the next multiple of
 * STEP_VALUES, and reads that far past each input.
 * Pointers are byte offsets into the (imported) memory.
 */
export function fedAvgKernelModule(sharedMemory: boolean): Uint8Array {
  // accumulate's parameters, then its locals.
  const [acc, ptrs, counts, sites, steps, off] = [0, 1, 2, 3, 4, 5]
  const [end, pp, np, nend, sp, v0] = [6, 7, 8, 9, 10, 11]
  const nv = v0 + LANES
  const lanes = Array.from({ length: LANES }, (_, k) => k)
  const accumulate: FunctionDefinition = {
    name: 'accumulate',
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, I32, ...lanes.map((): ValueType => V128), V128],
    body: [
      // end = acc + steps · (8 bytes · STEP_VALUES)
      ...[op.localGet(acc), op.localGet(steps), op.i32Const(Math.log2(8 * STEP_VALUES)), op.i32Shl, op.i32Add, op.localSet(end)],
      ...[op.localGet(counts), op.localGet(sites), op.i32Const(3), op.i32Shl, op.i32Add, op.localSet(nend)],
      op.block,
      op.loop,
      ...[op.localGet(acc), op.localGet(end), op.i32GeU, op.brIf(1)],
      // Four f64x2 sums: eight parameters, each in its own lane.
      ...lanes.flatMap((k) => [op.localGet(acc), op.v128Load(16 * k), op.localSet(v0 + k)]),
      ...[op.localGet(ptrs), op.localSet(pp), op.localGet(counts), op.localSet(np)],
      op.block,
      op.loop,
      ...[op.localGet(np), op.localGet(nend), op.i32GeU, op.brIf(1)],
      ...[op.localGet(np), op.v128Load64Splat(0), op.localSet(nv)],
      // sp = this site's delta pointer for the step: its table entry plus off.
      ...[op.localGet(pp), op.i32Load(0), op.localGet(off), op.i32Add, op.localSet(sp)],
      ...lanes.flatMap((k) => [op.localGet(v0 + k), op.localGet(sp), op.v128Load64Zero(8 * k), op.f64x2PromoteLowF32x4, op.localGet(nv), op.f64x2Mul, op.f64x2Add, op.localSet(v0 + k)]),
      ...[op.localGet(pp), op.i32Const(4), op.i32Add, op.localSet(pp)],
      ...[op.localGet(np), op.i32Const(8), op.i32Add, op.localSet(np)],
      op.br(0),
      op.end,
      op.end,
      ...lanes.flatMap((k) => [op.localGet(acc), op.localGet(v0 + k), op.v128Store(16 * k)]),
      ...[op.localGet(acc), op.i32Const(8 * STEP_VALUES), op.i32Add, op.localSet(acc)],
      ...[op.localGet(off), op.i32Const(4 * STEP_VALUES), op.i32Add, op.localSet(off)],
      op.br(0),
      op.end,
      op.end,
    ],
  }
  const [out, global, acc2, lr, total, quads2, end2, lrv, totalv, rounded, nonFinite] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  const finishOne = (byteOffset: number) => [
    op.localGet(out),
    op.localGet(global),
    op.v128Load64Zero(byteOffset),
    op.f64x2PromoteLowF32x4,
    op.localGet(lrv),
    op.localGet(acc2),
    op.v128Load(2 * byteOffset),
    op.f64x2Mul,
    op.localGet(totalv),
    op.f64x2Div,
    op.f64x2Add,
    op.f32x4DemoteF64x2Zero,
    op.localTee(rounded),
    op.v128Store64Lane(byteOffset, 0),
    // x − x is 0 for a finite x and NaN otherwise, and NaN survives the sum.
    ...[op.localGet(nonFinite), op.localGet(rounded), op.localGet(rounded), op.f32x4Sub, op.f32x4Add, op.localSet(nonFinite)],
  ]
  const finish: FunctionDefinition = {
    name: 'finish',
    params: [I32, I32, I32, F64, F64, I32],
    results: [I32],
    locals: [I32, V128, V128, V128, V128],
    body: [
      ...[op.localGet(lr), op.f64x2Splat, op.localSet(lrv)],
      ...[op.localGet(total), op.f64x2Splat, op.localSet(totalv)],
      ...[op.localGet(acc2), op.localGet(quads2), op.i32Const(5), op.i32Shl, op.i32Add, op.localSet(end2)],
      op.block,
      op.loop,
      ...[op.localGet(acc2), op.localGet(end2), op.i32GeU, op.brIf(1)],
      ...finishOne(0),
      ...finishOne(8),
      ...[op.localGet(acc2), op.i32Const(32), op.i32Add, op.localSet(acc2)],
      ...[op.localGet(global), op.i32Const(16), op.i32Add, op.localSet(global)],
      ...[op.localGet(out), op.i32Const(16), op.i32Add, op.localSet(out)],
      op.br(0),
      op.end,
      op.end,
      ...[op.localGet(nonFinite), op.localGet(nonFinite), op.f32x4Ne, op.v128AnyTrue],
    ],
  }
  // fedAvgRange's parameters, then its locals.
  const [rOut, rGlobal, rAcc, rPtrs, rCounts, rSites, rLr, rTotal, rBegin, rEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  const [start, count, rSteps, first, group, rNonFinite] = [10, 11, 12, 13, 14, 15]
  /** min(x, limit) for an i32 local x, unsigned. */
  const minConst = (x: number, limit: number) => [op.i32Const(limit), op.localGet(x), op.localGet(x), op.i32Const(limit), op.i32GtU, op.select]
  const fedAvgRange: FunctionDefinition = {
    name: 'fedAvgRange',
    params: [I32, I32, I32, I32, I32, I32, F64, F64, I32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, I32, I32],
    body: [
      ...[op.localGet(rBegin), op.localSet(start)],
      op.block,
      op.loop,
      ...[op.localGet(start), op.localGet(rEnd), op.i32GeU, op.brIf(1)],
      // count = min(end − start, CHUNK_VALUES); steps = ⌈count / STEP_VALUES⌉
      ...[op.localGet(rEnd), op.localGet(start), op.i32Sub, op.localSet(count)],
      ...minConst(count, CHUNK_VALUES),
      op.localSet(count),
      ...[op.localGet(count), op.i32Const(STEP_VALUES - 1), op.i32Add, op.i32Const(Math.log2(STEP_VALUES)), op.i32ShrU, op.localSet(rSteps)],
      // The sums start from +0, as the plain loops' do.
      ...[op.localGet(rAcc), op.i32Const(0), op.localGet(rSteps), op.i32Const(Math.log2(8 * STEP_VALUES)), op.i32Shl, op.memoryFill],
      ...[op.i32Const(0), op.localSet(first)],
      op.block,
      op.loop,
      ...[op.localGet(first), op.localGet(rSites), op.i32GeU, op.brIf(1)],
      ...[op.localGet(rSites), op.localGet(first), op.i32Sub, op.localSet(group)],
      ...minConst(group, GROUP_SITES),
      op.localSet(group),
      op.localGet(rAcc),
      ...[op.localGet(rPtrs), op.localGet(first), op.i32Const(2), op.i32Shl, op.i32Add],
      ...[op.localGet(rCounts), op.localGet(first), op.i32Const(3), op.i32Shl, op.i32Add],
      ...[op.localGet(group), op.localGet(rSteps)],
      ...[op.localGet(start), op.i32Const(2), op.i32Shl],
      op.call(0),
      ...[op.localGet(first), op.i32Const(GROUP_SITES), op.i32Add, op.localSet(first)],
      op.br(0),
      op.end,
      op.end,
      op.localGet(rNonFinite),
      ...[op.localGet(rOut), op.localGet(start), op.i32Const(2), op.i32Shl, op.i32Add],
      ...[op.localGet(rGlobal), op.localGet(start), op.i32Const(2), op.i32Shl, op.i32Add],
      ...[op.localGet(rAcc), op.localGet(rLr), op.localGet(rTotal)],
      ...[op.localGet(rSteps), op.i32Const(1), op.i32Shl],
      op.call(1),
      op.i32Or,
      op.localSet(rNonFinite),
      ...[op.localGet(start), op.i32Const(CHUNK_VALUES), op.i32Add, op.localSet(start)],
      op.br(0),
      op.end,
      op.end,
      op.localGet(rNonFinite),
    ],
  }
  return buildModule({
    memoryPages: SCRATCH_PAGES,
    importedMemory: { initialPages: SCRATCH_PAGES, maximumPages: sharedMemory ? MAX_PAGES : SCRATCH_PAGES, shared: sharedMemory },
    functions: [accumulate, finish, fedAvgRange],
  })
}

/** The slice of the WebAssembly JS API used here (this project's TypeScript libs carry no WebAssembly types). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: object }
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory
}

interface KernelExports {
  accumulate(acc: number, ptrs: number, counts: number, sites: number, steps: number, off: number): void
  finish(out: number, global: number, acc: number, lr: number, total: number, quads: number): number
  fedAvgRange(out: number, global: number, acc: number, ptrs: number, counts: number, sites: number, lr: number, total: number, begin: number, end: number): number
}

/** A FedAvg tensor from the SIMD kernel, with how it was computed (for tests and benches; the values do not depend on it). */
export interface SimdFedAvgValues extends FedAvgValues {
  /** True if the deltas were read in place from the kernel's memory, false if copied in chunk by chunk. */
  readonly inPlace: boolean
  /** 2 if the work was shared with the second thread (which may have claimed none of it on a busy machine), else 1. */
  readonly threads: 1 | 2
  /** The fraction of the tensor the second thread computed (0 on one thread). */
  readonly workerShare: number
}

export interface SimdKernelOptions {
  /**
   * Use the second thread for tensors with at least this many multiply-adds
   * (sites × parameters), when it is up. Default TWO_THREAD_MIN_WORK (2^20);
   * 0 shares any tensor longer than one unit (UNIT_VALUES; tests).
   */
  readonly twoThreadMinWork?: number
  /** Tests only: the caller claims no unit, so the worker computes the whole shared tensor. */
  readonly workerOnly?: boolean
}

/** The WebAssembly SIMD kernel: an `AggregationKernel` plus control of its second thread. */
export interface SimdAggregationKernel extends AggregationKernel {
  readonly name: 'wasm-simd'
  fedAvgValues(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, serverLearningRate: number, totalExamples: number): SimdFedAvgValues
  /** Starts the second thread if it is not started (it boots asynchronously); true once it is ready. False for good where threads or shared memory are unavailable. */
  secondThreadReady(): boolean
}

/** The instance, its memory and its worker: shared by every kernel object (one per options). */
class KernelState {
  readonly exports: KernelExports
  readonly module: object
  readonly memory: WasmMemory
  /** The shared heap that inputs can live in; null without shared memory (then every input is copied). */
  readonly heap: KernelMemory | null
  readonly acc: Float64Array
  readonly global: Float32Array
  readonly out: Float32Array
  readonly counts: Float64Array
  readonly ptrs: Int32Array
  readonly deltas: Float32Array
  /** undefined until first wanted; null if it could not start. */
  second: SecondThread | null | undefined
  /** Memory a stalled worker may still write to: kept reachable forever, so it is never reused. */
  readonly abandoned: Float32Array[] = []

  constructor(exports: KernelExports, module: object, memory: WasmMemory, heap: KernelMemory | null) {
    this.exports = exports
    this.module = module
    this.memory = memory
    this.heap = heap
    // The scratch sits below the heap; views on the first buffer stay valid when a shared memory grows.
    const buffer = memory.buffer
    this.acc = new Float64Array(buffer, ACC_OFFSETS[0], CHUNK_VALUES)
    this.global = new Float32Array(buffer, GLOBAL_OFFSET, CHUNK_VALUES)
    this.out = new Float32Array(buffer, OUT_OFFSET, CHUNK_VALUES)
    this.counts = new Float64Array(buffer, COUNTS_OFFSET, GROUP_SITES)
    this.ptrs = new Int32Array(buffer, PTRS_OFFSET, GROUP_SITES)
    this.deltas = new Float32Array(buffer, DELTAS_OFFSET, CHUNK_VALUES * GROUP_SITES)
    for (let s = 0; s < GROUP_SITES; s++) this.ptrs[s] = DELTAS_OFFSET + 4 * CHUNK_VALUES * s
  }

  secondThread(): SecondThread | null {
    if (this.second === undefined) this.second = this.heap === null ? null : SecondThread.start(this.module, this.memory, CONTROL_OFFSET, ACC_OFFSETS[1])
    return this.second
  }
}

/** A table of the sites' example counts (float64) then delta pointers (i32), in scratch from the heap. */
interface SiteTable {
  readonly counts: number
  readonly ptrs: number
  readonly bytes: number
}

class SimdKernel implements SimdAggregationKernel {
  readonly name = 'wasm-simd'
  readonly #state: KernelState
  readonly #twoThreadMinWork: number
  readonly #workerOnly: boolean

  constructor(state: KernelState, options: SimdKernelOptions) {
    this.#state = state
    this.#twoThreadMinWork = options.twoThreadMinWork ?? TWO_THREAD_MIN_WORK
    this.#workerOnly = options.workerOnly ?? false
  }

  secondThreadReady(): boolean {
    return this.#state.secondThread()?.ready ?? false
  }

  /** The site table for tensor t if every delta lives in the heap, else null (then the caller copies). */
  #siteTable(sorted: readonly WeightedUpdate[], t: number): SiteTable | null {
    const heap = this.#state.heap
    if (heap === null || !sorted.every((u) => heap.holds(u.delta.tensors[t]!.values))) return null
    const bytes = 12 * sorted.length
    const at = heap.scratch(bytes)
    if (at === null) return null
    const buffer = this.#state.memory.buffer
    const counts = new Float64Array(buffer, at, sorted.length)
    const ptrs = new Int32Array(buffer, at + 8 * sorted.length, sorted.length)
    sorted.forEach((u, s) => {
      counts[s] = u.exampleCount
      ptrs[s] = u.delta.tensors[t]!.values.byteOffset
    })
    return { counts: at, ptrs: at + 8 * sorted.length, bytes }
  }

  /** Copy path: fills the accumulator with Σ n_i · Δ_i over [start, start + count) of tensor t, copying the chunks in; returns the steps computed. */
  #accumulateCopied(sorted: readonly WeightedUpdate[], t: number, start: number, count: number): number {
    const s0 = this.#state
    const steps = Math.ceil(count / STEP_VALUES)
    // Lanes past `count` compute on stale values and are never read back.
    s0.acc.fill(0, 0, STEP_VALUES * steps)
    for (let first = 0; first < sorted.length; first += GROUP_SITES) {
      const sites = Math.min(GROUP_SITES, sorted.length - first)
      for (let s = 0; s < sites; s++) {
        const u = sorted[first + s]!
        s0.deltas.set(u.delta.tensors[t]!.values.subarray(start, start + count), s * CHUNK_VALUES)
        s0.counts[s] = u.exampleCount
      }
      s0.exports.accumulate(ACC_OFFSETS[0], PTRS_OFFSET, COUNTS_OFFSET, sites, steps, 0)
    }
    return steps
  }

  /** In-place path: the same sums, reading the deltas where they are. */
  #accumulateInPlace(table: SiteTable, sites: number, start: number, count: number): void {
    const s0 = this.#state
    const steps = Math.ceil(count / STEP_VALUES)
    s0.acc.fill(0, 0, STEP_VALUES * steps)
    for (let first = 0; first < sites; first += GROUP_SITES) {
      s0.exports.accumulate(ACC_OFFSETS[0], table.ptrs + 4 * first, table.counts + 8 * first, Math.min(GROUP_SITES, sites - first), steps, 4 * start)
    }
  }

  weightedSum(sorted: readonly WeightedUpdate[], t: number, size: number): Float64Array {
    const acc = new Float64Array(size)
    const table = this.#siteTable(sorted, t)
    for (let start = 0; start < size; start += CHUNK_VALUES) {
      const count = Math.min(CHUNK_VALUES, size - start)
      if (table === null) this.#accumulateCopied(sorted, t, start, count)
      else this.#accumulateInPlace(table, sorted.length, start, count)
      acc.set(this.#state.acc.subarray(0, count), start)
    }
    if (table !== null) this.#state.heap!.releaseScratch(table.counts, table.bytes)
    return acc
  }

  fedAvgValues(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, serverLearningRate: number, totalExamples: number): SimdFedAvgValues {
    return this.#fedAvgInPlace(global, sorted, t, serverLearningRate, totalExamples) ?? this.#fedAvgCopied(global, sorted, t, serverLearningRate, totalExamples)
  }

  #fedAvgCopied(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, lr: number, totalExamples: number): SimdFedAvgValues {
    const s0 = this.#state
    const size = global.length
    const values = new Float32Array(size)
    let maybeNonFinite = 0
    for (let start = 0; start < size; start += CHUNK_VALUES) {
      const count = Math.min(CHUNK_VALUES, size - start)
      const steps = this.#accumulateCopied(sorted, t, start, count)
      s0.global.set(global.subarray(start, start + count))
      maybeNonFinite |= s0.exports.finish(OUT_OFFSET, GLOBAL_OFFSET, ACC_OFFSETS[0], lr, totalExamples, (STEP_VALUES / 4) * steps)
      values.set(s0.out.subarray(0, count), start)
    }
    return { values, provedFinite: maybeNonFinite === 0, inPlace: false, threads: 1, workerShare: 0 }
  }

  /** The in-place path (one or two threads), or null if the inputs are not in the heap or it is full. */
  #fedAvgInPlace(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, lr: number, totalExamples: number): SimdFedAvgValues | null {
    const s0 = this.#state
    const heap = s0.heap
    const table = this.#siteTable(sorted, t)
    if (heap === null || table === null) return null
    const size = global.length
    // The output lives in the heap too: the kernel writes it in place, and the caller gets it as is.
    const out = heap.float32Array(size)
    const globalCopy = out === null || heap.holds(global) ? null : heap.scratch(4 * size)
    if (out === null || (globalCopy === null && !heap.holds(global))) {
      heap.releaseScratch(table.counts, table.bytes)
      if (globalCopy !== null) heap.releaseScratch(globalCopy, 4 * size)
      return null
    }
    if (globalCopy !== null) new Float32Array(s0.memory.buffer, globalCopy, size).set(global)
    const job = {
      out: out.byteOffset,
      global: globalCopy ?? global.byteOffset,
      ptrs: table.ptrs,
      counts: table.counts,
      sites: sorted.length,
      lr,
      total: totalExamples,
    }
    const second = sorted.length * size >= this.#twoThreadMinWork && SecondThread.splits(size) ? s0.secondThread() : null
    const runRange = (begin: number, end: number): number => s0.exports.fedAvgRange(job.out, job.global, ACC_OFFSETS[0], job.ptrs, job.counts, job.sites, lr, totalExamples, begin, end)
    let maybeNonFinite: number
    let workerShare = 0
    if (second?.ready === true) {
      const shared = second.run({ ...job, size }, runRange, !this.#workerOnly)
      if (shared === null) {
        // The worker failed or stalled: it may still write into `out` and read the table and global copy, so none is reused; start over on one thread.
        s0.abandoned.push(out, new Float32Array(s0.memory.buffer, table.counts, table.bytes >> 2))
        if (globalCopy !== null) s0.abandoned.push(new Float32Array(s0.memory.buffer, globalCopy, size))
        return this.fedAvgValues(global, sorted, t, lr, totalExamples)
      }
      maybeNonFinite = shared.result
      workerShare = shared.workerUnits / shared.units
    } else maybeNonFinite = runRange(0, size)
    heap.releaseScratch(table.counts, table.bytes)
    if (globalCopy !== null) heap.releaseScratch(globalCopy, 4 * size)
    return { values: out, provedFinite: maybeNonFinite === 0, inPlace: true, threads: second?.ready === true ? 2 : 1, workerShare }
  }
}

let state: KernelState | null | undefined

function kernelState(): KernelState | null {
  if (state !== undefined) return state
  state = null
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly
  if (wasm === undefined) return null
  const heap = sharedKernelMemory()
  const bytes = fedAvgKernelModule(heap !== null)
  if (!wasm.validate(bytes)) return null
  // Synchronous compile: the module is a few hundred bytes, and fedAvg is synchronous.
  const memory = heap?.memory ?? new wasm.Memory({ initial: SCRATCH_PAGES, maximum: SCRATCH_PAGES })
  const module = new wasm.Module(bytes)
  const instance = new wasm.Instance(module, { env: { memory } })
  state = new KernelState(instance.exports as KernelExports, module, memory, heap)
  return state
}

let defaultKernel: SimdKernel | null | undefined

/**
 * The WebAssembly SIMD kernel, or null where the engine cannot compile it (no
 * WebAssembly, or no SIMD). Without options, the one default kernel;
 * `options` make a kernel with another thread policy over the same module,
 * memory and worker (tests use it to force the two-thread path on small inputs).
 */
export function simdAggregationKernel(options?: SimdKernelOptions): SimdAggregationKernel | null {
  if (options !== undefined) {
    const s = kernelState()
    return s === null ? null : new SimdKernel(s, options)
  }
  if (defaultKernel === undefined) {
    const s = kernelState()
    defaultKernel = s === null ? null : new SimdKernel(s, {})
  }
  return defaultKernel
}
