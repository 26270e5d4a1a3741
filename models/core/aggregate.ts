/**
 * Pure aggregation of site updates: the arithmetic the coordinator runs to
 * close a round and the auditor re-runs to check it. Inputs are plain
 * (weights, example count) records, never client handles, and nothing here
 * reads a clock, logs, or mutates its arguments.
 *
 * Determinism is part of the contract. The lineage log commits to the hash of
 * every aggregate, and the audit recomputes that hash from the logged inputs,
 * so two runs on any machine, with updates in any arrival order, must produce
 * the same bits. Hence, for every function here:
 *
 * 1. Updates are sorted by `siteId` in JavaScript code-unit order (`<` on
 *    strings, not `localeCompare`), on a copy.
 * 2. For each parameter j, `acc = 0 + n_1·Δ_1[j] + n_2·Δ_2[j] + …` is summed in
 *    float64, left to right in that order. (Each product is exact for
 *    n_i < 2^29, so only the additions round, in a fixed order.)
 * 3. The result is rounded to float32 exactly once, at the end.
 *
 * The loops themselves are an `AggregationKernel`: WebAssembly SIMD
 * (aggregate-kernel-simd.ts) where the engine has it, else plain JavaScript
 * (aggregate-kernel-js.ts). Both do the same float64 operations per parameter
 * in the same order, so they give the same bytes; the SIMD one is faster
 * because each lane is one parameter and the inputs are read in cache-sized
 * chunks. Tests pin the two to each other.
 */
import { DuplicateSiteError, EmptyAggregationError, InvalidExampleCountError, InvalidModelInputError } from '../errors.ts'
import { assertFinite, assertShapes } from './delta.ts'
import type { Tensor, TensorShape, Weights } from './weights.ts'
import { sizeOfShape } from './weights.ts'
import { plainAggregationKernel, type AggregationKernel } from './aggregate-kernel-js.ts'
import { simdAggregationKernel } from './aggregate-kernel-simd.ts'

/** The fastest kernel this engine runs: WebAssembly SIMD, else plain JavaScript. Same bytes either way. */
export function defaultAggregationKernel(): AggregationKernel {
  return simdAggregationKernel() ?? plainAggregationKernel
}

/** One site's contribution to a round: its delta (`local - global`) and how many examples produced it. */
export interface WeightedUpdate {
  readonly siteId: string
  readonly delta: Weights
  /** Weight of this update; a positive integer (the site's training-set size). */
  readonly exampleCount: number
}

/** A sorted copy of `updates`, by `siteId` in code-unit order. */
export function sortBySiteId<T extends { readonly siteId: string }>(updates: readonly T[]): T[] {
  return [...updates].sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0))
}

export interface PreparedUpdates {
  readonly sorted: readonly WeightedUpdate[]
  readonly totalExamples: number
}

/**
 * Checks the preconditions shared by every weighted aggregation and returns
 * the updates in canonical order with N = Σ n_i.
 */
export function prepare(shapes: readonly TensorShape[], updates: readonly WeightedUpdate[]): PreparedUpdates {
  if (updates.length === 0) throw new EmptyAggregationError('no updates to aggregate')
  const sorted = sortBySiteId(updates)
  let totalExamples = 0
  let previous: string | undefined
  for (const u of sorted) {
    if (u.siteId === previous) throw new DuplicateSiteError(`site "${u.siteId}": more than one update`, u.siteId)
    previous = u.siteId
    if (!Number.isSafeInteger(u.exampleCount) || u.exampleCount <= 0) {
      throw new InvalidExampleCountError(`site "${u.siteId}": example count ${u.exampleCount}, want a positive integer`, u.siteId, u.exampleCount)
    }
    totalExamples += u.exampleCount
    if (!Number.isSafeInteger(totalExamples)) {
      throw new InvalidExampleCountError(`site "${u.siteId}": example count ${u.exampleCount} takes the total past 2^53`, u.siteId, u.exampleCount)
    }
    assertShapes(u.delta, shapes, `site "${u.siteId}" delta`)
  }
  return { sorted, totalExamples }
}

/**
 * acc[j] = 0 + Σ_i n_i · Δ_i[j] for tensor `t`, over `sorted` in order.
 * Requires every delta to have been checked against the layout.
 */
export function accumulate(sorted: readonly WeightedUpdate[], t: number, size: number, kernel: AggregationKernel = defaultAggregationKernel()): Float64Array {
  return kernel.weightedSum(sorted, t, size)
}

/**
 * Federated averaging (McMahan et al. 2017) on deltas, with a server
 * learning rate:
 *
 *     new[j] = Math.fround(global[j] + lr * acc[j] / N)
 *
 * evaluated in float64 left to right, where acc is the example-weighted sum
 * of the module contract (updates sorted by siteId, summed in float64 in that
 * order) and N = Σ n_i. lr = 1 is plain FedAvg.
 *
 * Requires: at least one update (`EmptyAggregationError`); distinct siteIds
 * (`DuplicateSiteError`); example counts that are positive integers with a
 * safe-integer total (`InvalidExampleCountError`); every delta in the layout
 * of `global` (`ModelShapeMismatchError`); a finite, positive `lr`
 * (`InvalidModelInputError`). Throws `NonFiniteValueError` if the result is
 * not finite (a non-finite delta, or overflow past the float32 range), so a
 * broken model never reaches the log. Finite deltas are the caller's check at
 * upload time (`assertFinite`), which names the site.
 *
 * `kernel` picks the loops (default: the fastest this engine runs); every
 * kernel gives the same bytes, so it is a speed knob for tests and benches.
 */
export function fedAvg(global: Weights, updates: readonly WeightedUpdate[], serverLearningRate = 1, kernel: AggregationKernel = defaultAggregationKernel()): Weights {
  if (!Number.isFinite(serverLearningRate) || serverLearningRate <= 0) {
    throw new InvalidModelInputError(`server learning rate ${serverLearningRate}, want a finite number > 0`)
  }
  assertShapes(global, global.tensors, 'global')
  const { sorted, totalExamples } = prepare(global.tensors, updates)
  const lr = serverLearningRate
  let provedFinite = true
  const tensors = global.tensors.map((g, t): Tensor => {
    const out = kernel.fedAvgValues(g.values, sorted, t, lr, totalExamples)
    provedFinite &&= out.provedFinite
    return { name: g.name, shape: g.shape, values: out.values }
  })
  const result: Weights = { tensors }
  // The scan names the first bad value; skipped only when the kernel proved there is none.
  if (!provedFinite) assertFinite(result, 'aggregate')
  return result
}

/**
 * The example-weighted mean delta, `Math.fround(acc[j] / N)` with acc and N as
 * in `fedAvg`, laid out as `shapes`. For strategies that post-process the
 * mean (server optimizers such as FedAdam use it as a pseudo-gradient).
 * `fedAvg` does not go through it: that would round to float32 twice.
 * Same preconditions and errors as `fedAvg`, minus the global model.
 */
export function weightedMeanDelta(shapes: readonly TensorShape[], updates: readonly WeightedUpdate[], kernel: AggregationKernel = defaultAggregationKernel()): Weights {
  const { sorted, totalExamples } = prepare(shapes, updates)
  const tensors = shapes.map((s, t): Tensor => {
    const size = sizeOfShape(s.shape)
    const acc = kernel.weightedSum(sorted, t, size)
    const out = new Float32Array(size)
    for (let j = 0; j < size; j++) out[j] = acc[j]! / totalExamples
    return { name: s.name, shape: s.shape, values: out }
  })
  const result: Weights = { tensors }
  assertFinite(result, 'mean delta')
  return result
}
