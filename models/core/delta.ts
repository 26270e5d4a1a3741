/**
 * Element-wise arithmetic between weights of one layout: the delta a site
 * uploads (`local - global`), applying a delta, and the checks every received
 * update passes before it is aggregated (layout, finiteness).
 *
 * Float32 results are computed in float64 and rounded once. For a single
 * subtraction or addition of float32 operands this equals IEEE float32
 * arithmetic (double rounding through float64 is innocuous for +, -, *, /
 * because 53 >= 2 * 24 + 2), so every machine gets the same bits.
 */
import { NonFiniteValueError } from '../errors.ts'
import { checkLayout, checkValueCounts } from './layout.ts'
import type { Tensor, TensorShape, Weights } from './weights.ts'

/**
 * Throws `ModelShapeMismatchError` unless `weights` has exactly the names and
 * shapes of `expected`, in order, and each values array fits its shape.
 * `context` starts the message, e.g. `site "eu-3" delta`.
 */
export function assertShapes(weights: Weights, expected: readonly TensorShape[], context: string): void {
  checkLayout(weights.tensors, expected, context)
  checkValueCounts(weights, context)
}

/**
 * Throws `NonFiniteValueError` naming the tensor, the flat row-major index
 * and the value of the first NaN or infinity.
 */
export function assertFinite(weights: Weights, context: string): void {
  for (const t of weights.tensors) {
    const v = t.values
    for (let j = 0; j < v.length; j++) {
      const x = v[j]!
      // x - x is 0 for every finite x and NaN for NaN and both infinities; cheaper than Number.isFinite per element.
      if (x - x !== 0) {
        const where = context === '' ? '' : `${context} `
        throw new NonFiniteValueError(`${where}tensor "${t.name}" index ${j}: value ${x}, want a finite number`, t.name, j, x)
      }
    }
  }
}

/**
 * `local - global` per element: Math.fround(local[j] - global[j]) computed in
 * float64. Requires `local` to have the layout of `global`
 * (else `ModelShapeMismatchError`).
 */
export function computeDelta(local: Weights, global: Weights): Weights {
  assertShapes(global, global.tensors, 'global')
  assertShapes(local, global.tensors, 'local')
  return {
    tensors: global.tensors.map((g, i): Tensor => {
      const l = local.tensors[i]!.values
      const gv = g.values
      // A Float32Array store rounds to nearest-even exactly as Math.fround does.
      const out = new Float32Array(gv.length)
      for (let j = 0; j < gv.length; j++) out[j] = l[j]! - gv[j]!
      return { name: g.name, shape: g.shape, values: out }
    }),
  }
}

/**
 * `computeDelta`, written into `out`'s arrays instead of fresh ones, so a
 * site turns its trained weights into the delta where they stand (one model
 * copy fewer: 191 MiB at 50M parameters). `out` may be `local` itself: each
 * value is read before it is written. Same bits as `computeDelta`. Requires
 * `local` and `out` to have the layout of `global` (else
 * `ModelShapeMismatchError`). The one function here that writes into an
 * argument: what it writes is exactly what `computeDelta` would return.
 */
export function computeDeltaInto(out: Weights, local: Weights, global: Weights): void {
  assertShapes(global, global.tensors, 'global')
  assertShapes(local, global.tensors, 'local')
  assertShapes(out, global.tensors, 'delta output')
  global.tensors.forEach((g, i) => {
    const l = local.tensors[i]!.values
    const gv = g.values
    const o = out.tensors[i]!.values
    for (let j = 0; j < gv.length; j++) o[j] = l[j]! - gv[j]!
  })
}

/**
 * `global + scale * delta` per element: Math.fround(global[j] + scale *
 * delta[j]) computed in float64. Requires `delta` to have the layout of
 * `global`. With scale 1, `applyDelta(g, computeDelta(l, g))` equals `l`
 * exactly whenever the float32 difference is exact (e.g. when l and g are
 * within a factor of two of each other, by Sterbenz's lemma); otherwise it is
 * within one float32 rounding of `l`.
 */
export function applyDelta(global: Weights, delta: Weights, scale = 1): Weights {
  assertShapes(global, global.tensors, 'global')
  assertShapes(delta, global.tensors, 'delta')
  return {
    tensors: global.tensors.map((g, i): Tensor => {
      const d = delta.tensors[i]!.values
      const gv = g.values
      const out = new Float32Array(gv.length)
      for (let j = 0; j < gv.length; j++) out[j] = gv[j]! + scale * d[j]!
      return { name: g.name, shape: g.shape, values: out }
    }),
  }
}

/** Euclidean norm of all values, summed in float64 in tensor order. */
export function l2Norm(weights: Weights): number {
  let sum = 0
  for (const t of weights.tensors) {
    const v = t.values
    for (let j = 0; j < v.length; j++) sum += v[j]! * v[j]!
  }
  return Math.sqrt(sum)
}
