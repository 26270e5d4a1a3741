/**
 * The FedAvg loops in plain JavaScript: the reference arithmetic of
 * aggregate.ts's module contract, and the fallback wherever WebAssembly SIMD
 * is unavailable. Every kernel must produce these bytes exactly.
 *
 * Loops run site-major over one flat Float64Array accumulator per tensor, up
 * to four sites per pass. `acc + a + b + c + d` evaluates as
 * `(((acc + a) + b) + c) + d`, the same additions in the same order as one
 * site per pass, so the grouping only saves memory traffic.
 */
import type { WeightedUpdate } from './aggregate.ts'

/** A FedAvg tensor's values, and whether the kernel checked on the way that all are finite. */
export interface FedAvgValues {
  readonly values: Float32Array
  /** True only if every value is known to be finite; false means "not checked", and the caller checks. */
  readonly provedFinite: boolean
}

/**
 * The two loops of weighted aggregation. `sorted` is in canonical (siteId)
 * order, every delta already checked against the layout, and tensor `t` has
 * `size` values in each.
 */
export interface AggregationKernel {
  readonly name: 'js' | 'wasm-simd'
  /** acc[j] = 0 + Σ_i n_i · Δ_i[j] for tensor t, in float64, over `sorted` in order. */
  weightedSum(sorted: readonly WeightedUpdate[], t: number, size: number): Float64Array
  /** out[j] = float32(global[j] + (lr · acc[j]) / N), evaluated in float64 left to right, acc as in `weightedSum`. */
  fedAvgValues(global: Float32Array, sorted: readonly WeightedUpdate[], t: number, serverLearningRate: number, totalExamples: number): FedAvgValues
}

function weightedSum(sorted: readonly WeightedUpdate[], t: number, size: number): Float64Array {
  const acc = new Float64Array(size)
  const k = sorted.length
  let s = 0
  for (; s + 4 <= k; s += 4) {
    const u0 = sorted[s]!,
      u1 = sorted[s + 1]!,
      u2 = sorted[s + 2]!,
      u3 = sorted[s + 3]!
    const n0 = u0.exampleCount,
      n1 = u1.exampleCount,
      n2 = u2.exampleCount,
      n3 = u3.exampleCount
    const d0 = u0.delta.tensors[t]!.values,
      d1 = u1.delta.tensors[t]!.values
    const d2 = u2.delta.tensors[t]!.values,
      d3 = u3.delta.tensors[t]!.values
    for (let j = 0; j < size; j++) acc[j] = acc[j]! + n0 * d0[j]! + n1 * d1[j]! + n2 * d2[j]! + n3 * d3[j]!
  }
  for (; s < k; s++) {
    const u = sorted[s]!
    const n = u.exampleCount
    const d = u.delta.tensors[t]!.values
    for (let j = 0; j < size; j++) acc[j] = acc[j]! + n * d[j]!
  }
  return acc
}

/** The plain-JavaScript kernel. */
export const plainAggregationKernel: AggregationKernel = {
  name: 'js',
  weightedSum,
  fedAvgValues(global, sorted, t, lr, totalExamples) {
    const acc = weightedSum(sorted, t, global.length)
    const out = new Float32Array(global.length)
    // The Float32Array store is the single rounding to float32 (same as Math.fround).
    for (let j = 0; j < global.length; j++) out[j] = global[j]! + (lr * acc[j]!) / totalExamples
    return { values: out, provedFinite: false }
  },
}
