/**
 * Layout checks shared by the encoder, the decoder and the delta arithmetic:
 * one place that decides what "same layout" means and how a mismatch reads.
 * Internal to `models/core`; the public face is `assertShapes` in `delta.ts`.
 */
import { ModelShapeMismatchError } from '../errors.ts'
import type { TensorShape, Weights } from './weights.ts'
import { sizeOfShape } from './weights.ts'

/** `[13,1]`: the shape notation of every message. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`
}

function prefix(context: string): string {
  return context === '' ? '' : `${context} `
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Throws `ModelShapeMismatchError` unless `actual` has exactly the names and
 * shapes of `expected`, in the same order. The first difference is reported.
 */
export function checkLayout(actual: readonly TensorShape[], expected: readonly TensorShape[], context: string): void {
  const p = prefix(context)
  const common = Math.min(actual.length, expected.length)
  for (let i = 0; i < common; i++) {
    const a = actual[i]!
    const e = expected[i]!
    if (a.name !== e.name) {
      throw new ModelShapeMismatchError(`${p}tensor ${i}: named "${a.name}", want "${e.name}"`, e.name, e, a)
    }
    if (!sameShape(a.shape, e.shape)) {
      throw new ModelShapeMismatchError(`${p}tensor "${e.name}": shape ${formatShape(a.shape)}, want ${formatShape(e.shape)}`, e.name, e, a)
    }
  }
  if (actual.length < expected.length) {
    const e = expected[actual.length]!
    throw new ModelShapeMismatchError(`${p}tensor "${e.name}": missing (${actual.length} tensors, want ${expected.length})`, e.name, e, null)
  }
  if (actual.length > expected.length) {
    const a = actual[expected.length]!
    throw new ModelShapeMismatchError(`${p}tensor "${a.name}": unexpected (${actual.length} tensors, want ${expected.length})`, a.name, null, a)
  }
}

/** Throws `ModelShapeMismatchError` when a tensor's values array does not fit its own shape. */
export function checkValueCounts(weights: Weights, context: string): void {
  for (const t of weights.tensors) {
    const want = sizeOfShape(t.shape)
    if (t.values.length !== want) {
      throw new ModelShapeMismatchError(
        `${prefix(context)}tensor "${t.name}": ${t.values.length} values, shape ${formatShape(t.shape)} holds ${want}`,
        t.name,
        { name: t.name, shape: t.shape },
        { name: t.name, shape: [t.values.length] },
      )
    }
  }
}
