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
 * WebAssembly reads only its own memory, so the driver walks the tensor in
 * chunks of CHUNK_VALUES parameters: it copies the chunk of up to
 * GROUP_SITES sites into the module (memcpy), and one call adds them all,
 * keeping eight parameters' sums in registers across the sites; a longer site
 * list continues from the stored sums, which changes nothing (the sums are
 * float64 either way). Inputs pass through the cache once, so main memory sees
 * each input byte once, as numpy does.
 *
 * The compiled module and its 384 KiB scratch memory are the one piece of
 * module state in models/core: made once on first use, never observable from
 * outside (every call fills what it reads before reading it, and JS runs it
 * to completion without interleaving), and absent (`null`) where the engine
 * lacks WebAssembly SIMD, in which case callers use the plain loops.
 */
import type { WeightedUpdate } from './aggregate.ts'
import type { AggregationKernel, FedAvgValues } from './aggregate-kernel-js.ts'
import { buildModule, F64, type FunctionDefinition, I32, op, V128, type ValueType } from './wasm-module-builder.ts'

/** f64x2 sums the accumulate loop keeps in registers: 2·LANES parameters per step (a power of two). */
const LANES = 4
const STEP_VALUES = 2 * LANES
/**
 * Parameters per chunk: a multiple of STEP_VALUES. Large because each
 * TypedArray `set` into the module costs about half a microsecond on top of
 * the bytes (measured on Node 20: 8192 beat 1024 to 4096 by 20–40 %).
 */
const CHUNK_VALUES = 8192
/** Sites whose chunks one call adds: 8 × 32 KiB of chunks stays in L2 beside the 64 KiB accumulator. */
const GROUP_SITES = 8
const ACC_OFFSET = 0
const GLOBAL_OFFSET = ACC_OFFSET + 8 * CHUNK_VALUES
const OUT_OFFSET = GLOBAL_OFFSET + 4 * CHUNK_VALUES
const COUNTS_OFFSET = OUT_OFFSET + 4 * CHUNK_VALUES
const DELTAS_OFFSET = COUNTS_OFFSET + 8 * GROUP_SITES
const MEMORY_BYTES = DELTAS_OFFSET + 4 * CHUNK_VALUES * GROUP_SITES

/**
 * `accumulate(acc, deltas, stride, counts, sites, steps)`: for j < STEP_VALUES·steps and
 * s < sites in order, acc[j] = acc[j] + float64(delta_s[j]) · n_s, where
 * delta_s starts at `deltas + s·stride` and n_s is the float64 at `counts + 8s`.
 * `finish(out, global, acc, lr, total, quads)`: for j < 4·quads,
 * out[j] = float32(float64(global[j]) + (lr · acc[j]) / total); returns 1 if
 * any of those 4·quads values is not finite (padding lanes included, so a 1
 * may be a false alarm; a 0 is proof), else 0.
 * Pointers and `stride` are byte offsets into the module's memory.
 */
export function fedAvgKernelModule(): Uint8Array {
  // accumulate's parameters, then its locals.
  const [acc, deltas, stride, counts, sites, steps] = [0, 1, 2, 3, 4, 5]
  const [end, sp, np, nend, v0] = [6, 7, 8, 9, 10]
  const nv = v0 + LANES
  const lanes = Array.from({ length: LANES }, (_, k) => k)
  const accumulate: FunctionDefinition = {
    name: 'accumulate',
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, ...lanes.map((): ValueType => V128), V128],
    body: [
      // end = acc + steps · (8 bytes · STEP_VALUES)
      ...[op.localGet(acc), op.localGet(steps), op.i32Const(Math.log2(8 * STEP_VALUES)), op.i32Shl, op.i32Add, op.localSet(end)],
      ...[op.localGet(counts), op.localGet(sites), op.i32Const(3), op.i32Shl, op.i32Add, op.localSet(nend)],
      op.block,
      op.loop,
      ...[op.localGet(acc), op.localGet(end), op.i32GeU, op.brIf(1)],
      // Four f64x2 sums: eight parameters, each in its own lane.
      ...lanes.flatMap((k) => [op.localGet(acc), op.v128Load(16 * k), op.localSet(v0 + k)]),
      ...[op.localGet(deltas), op.localSet(sp), op.localGet(counts), op.localSet(np)],
      op.block,
      op.loop,
      ...[op.localGet(np), op.localGet(nend), op.i32GeU, op.brIf(1)],
      ...[op.localGet(np), op.v128Load64Splat(0), op.localSet(nv)],
      ...lanes.flatMap((k) => [op.localGet(v0 + k), op.localGet(sp), op.v128Load64Zero(8 * k), op.f64x2PromoteLowF32x4, op.localGet(nv), op.f64x2Mul, op.f64x2Add, op.localSet(v0 + k)]),
      ...[op.localGet(sp), op.localGet(stride), op.i32Add, op.localSet(sp)],
      ...[op.localGet(np), op.i32Const(8), op.i32Add, op.localSet(np)],
      op.br(0),
      op.end,
      op.end,
      ...lanes.flatMap((k) => [op.localGet(acc), op.localGet(v0 + k), op.v128Store(16 * k)]),
      ...[op.localGet(acc), op.i32Const(8 * STEP_VALUES), op.i32Add, op.localSet(acc)],
      ...[op.localGet(deltas), op.i32Const(4 * STEP_VALUES), op.i32Add, op.localSet(deltas)],
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
  return buildModule({ memoryPages: Math.ceil(MEMORY_BYTES / 65536), functions: [accumulate, finish] })
}

/** The slice of the WebAssembly JS API used here (this project's TypeScript libs carry no WebAssembly types). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object) => { readonly exports: object }
}

interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer }
  accumulate(acc: number, deltas: number, stride: number, counts: number, sites: number, steps: number): void
  finish(out: number, global: number, acc: number, lr: number, total: number, quads: number): number
}

class SimdKernel implements AggregationKernel {
  readonly name = 'wasm-simd'
  readonly #exports: KernelExports
  readonly #acc: Float64Array
  readonly #global: Float32Array
  readonly #out: Float32Array
  readonly #counts: Float64Array
  readonly #deltas: Float32Array

  constructor(exports: KernelExports) {
    this.#exports = exports
    const buffer = exports.memory.buffer
    this.#acc = new Float64Array(buffer, ACC_OFFSET, CHUNK_VALUES)
    this.#global = new Float32Array(buffer, GLOBAL_OFFSET, CHUNK_VALUES)
    this.#out = new Float32Array(buffer, OUT_OFFSET, CHUNK_VALUES)
    this.#counts = new Float64Array(buffer, COUNTS_OFFSET, GROUP_SITES)
    this.#deltas = new Float32Array(buffer, DELTAS_OFFSET, CHUNK_VALUES * GROUP_SITES)
  }

  /** Fills the module's accumulator with Σ n_i · Δ_i over [start, start + count) of tensor t; returns the steps computed. */
  #accumulateChunk(sorted: readonly WeightedUpdate[], t: number, start: number, count: number): number {
    const steps = Math.ceil(count / STEP_VALUES)
    // Lanes past `count` compute on stale values and are never read back.
    this.#acc.fill(0, 0, STEP_VALUES * steps)
    for (let first = 0; first < sorted.length; first += GROUP_SITES) {
      const sites = Math.min(GROUP_SITES, sorted.length - first)
      for (let s = 0; s < sites; s++) {
        const u = sorted[first + s]!
        this.#deltas.set(u.delta.tensors[t]!.values.subarray(start, start + count), s * CHUNK_VALUES)
        this.#counts[s] = u.exampleCount
      }
      this.#exports.accumulate(ACC_OFFSET, DELTAS_OFFSET, 4 * CHUNK_VALUES, COUNTS_OFFSET, sites, steps)
    }
    return steps
  }

  weightedSum(sorted: readonly WeightedUpdate[], t: number, size: number): Float64Array {
    const acc = new Float64Array(size)
    for (let start = 0; start < size; start += CHUNK_VALUES) {
      const count = Math.min(CHUNK_VALUES, size - start)
      this.#accumulateChunk(sorted, t, start, count)
      acc.set(this.#acc.subarray(0, count), start)
    }
    return acc
  }

  fedAvgValues(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, serverLearningRate: number, totalExamples: number): FedAvgValues {
    const size = global.length
    const values = new Float32Array(size)
    let maybeNonFinite = 0
    for (let start = 0; start < size; start += CHUNK_VALUES) {
      const count = Math.min(CHUNK_VALUES, size - start)
      const steps = this.#accumulateChunk(sorted, t, start, count)
      this.#global.set(global.subarray(start, start + count))
      maybeNonFinite |= this.#exports.finish(OUT_OFFSET, GLOBAL_OFFSET, ACC_OFFSET, serverLearningRate, totalExamples, (STEP_VALUES / 4) * steps)
      values.set(this.#out.subarray(0, count), start)
    }
    return { values, provedFinite: maybeNonFinite === 0 }
  }
}

let kernel: SimdKernel | null | undefined

/** The WebAssembly SIMD kernel, or null where the engine cannot compile it (no WebAssembly, or no SIMD). */
export function simdAggregationKernel(): AggregationKernel | null {
  if (kernel !== undefined) return kernel
  kernel = null
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly
  const bytes = fedAvgKernelModule()
  if (wasm?.validate(bytes)) {
    // Synchronous compile: the module is a few hundred bytes, and fedAvg is synchronous.
    const instance = new wasm.Instance(new wasm.Module(bytes))
    kernel = new SimdKernel(instance.exports as KernelExports)
  }
  return kernel
}
