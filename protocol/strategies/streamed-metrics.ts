/**
 * The metrics of a slice-by-slice aggregation (`aggregateStreamed`), summed
 * as `modelMetrics` sums them over whole models (round-metrics.ts): each
 * input's sum of squares in float64 in layout order, then the mean of their
 * square roots in site-id order, and ‖new − global‖₂ element by element in
 * layout order. The same numbers, bit for bit, holding one slice at a time.
 */
import { READ_SLICE_BYTES, type BlobReader } from '../../ledger/core/index.ts'
import { valueSlices, valuesFromBytes, type TensorShape } from '../../models/core/index.ts'
import type { RoundFailure } from '../strategy.ts'

export class StreamedMetrics {
  readonly #sorted: readonly { readonly siteId: string; readonly exampleCount: number }[]
  readonly #normSquares: Float64Array
  #updateSquare = 0

  /** `sorted`: the inputs in site-id order, the order the slices' deltas come in. */
  constructor(sorted: readonly { readonly siteId: string; readonly exampleCount: number }[]) {
    this.#sorted = sorted
    this.#normSquares = new Float64Array(sorted.length)
  }

  /** Adds one slice: the global model's values, each input's delta values (in site-id order), the new model's values. */
  add(global: Float32Array, deltas: readonly Float32Array[], next: Float32Array): void {
    this.addDeltas(deltas)
    this.addUpdate(global, next)
  }

  /** Adds one slice of every input's delta (in site-id order) to their norms. */
  addDeltas(deltas: readonly Float32Array[]): void {
    deltas.forEach((d, i) => {
      let sum = this.#normSquares[i]!
      for (let j = 0; j < d.length; j++) sum += d[j]! * d[j]!
      this.#normSquares[i] = sum
    })
  }

  /** Adds one slice of the global and the new model to ‖new − global‖. */
  addUpdate(global: Float32Array, next: Float32Array): void {
    for (let j = 0; j < next.length; j++) {
      const d = next[j]! - global[j]!
      this.#updateSquare += d * d
    }
  }

  /** The `round-committed` metrics, and each input's L2 norm by site id. */
  result(failures: readonly RoundFailure[]): { metrics: Record<string, number>; deltaNorms: Map<string, number> } {
    let examples = 0
    let deltaNormSum = 0
    const deltaNorms = new Map<string, number>()
    this.#sorted.forEach((r, i) => {
      examples += r.exampleCount
      const norm = Math.sqrt(this.#normSquares[i]!)
      deltaNormSum += norm
      deltaNorms.set(r.siteId, norm)
    })
    const n = this.#sorted.length
    return { metrics: { sites: n, failures: failures.length, examples, meanDeltaNorm: deltaNormSum / n, updateNorm: Math.sqrt(this.#updateSquare) }, deltaNorms }
  }
}

/**
 * Each delta's L2 norm, read a slice at a time: the float64 sum of squares in
 * layout order and one square root, as `l2Norm` computes it on a whole delta.
 */
export function streamedNorms(shapes: readonly TensorShape[], replies: readonly { readonly siteId: string; readonly delta: BlobReader }[]): Map<string, number> {
  const squares = new Float64Array(replies.length)
  for (const { count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    replies.forEach((r, i) => {
      const d = valuesFromBytes(r.delta.read(offset, 4 * n))
      let sum = squares[i]!
      for (let j = 0; j < n; j++) sum += d[j]! * d[j]!
      squares[i] = sum
    })
  }
  return new Map(replies.map((r, i) => [r.siteId, Math.sqrt(squares[i]!)]))
}
