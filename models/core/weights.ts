/**
 * The plain data model of model parameters, shared by every role.
 *
 * A `Weights` value is an ordered list of named tensors. The order is the
 * model's layer order (as built by `models/` from a `ModelSpec`), and it is
 * part of the canonical encoding: two machines that agree on the spec agree on
 * the order, the shapes and therefore on the bytes and the hash.
 *
 * Deltas (`local - global`) use the same type: a delta is weights-shaped.
 */

/** One named tensor. `values.length` equals the product of `shape`. */
export interface Tensor {
  readonly name: string
  readonly shape: readonly number[]
  readonly values: Float32Array
}

/** An ordered list of tensors: a model's parameters, or a delta of them. */
export interface Weights {
  readonly tensors: readonly Tensor[]
}

/** The shape part of `Weights`, without values: what a model spec produces. */
export interface TensorShape {
  readonly name: string
  readonly shape: readonly number[]
}

/** Number of scalars in a shape (1 for a scalar shape `[]`). */
export function sizeOfShape(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Total number of scalar parameters. */
export function parameterCount(weights: Weights | readonly TensorShape[]): number {
  const list = 'tensors' in weights ? weights.tensors : weights
  let n = 0
  for (const t of list) n += sizeOfShape(t.shape)
  return n
}
