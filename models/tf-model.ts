/**
 * TF.js models built from a `ModelSpec`: a stack of dense layers ending in a
 * single logit (no output activation; the sigmoid lives in the loss and in
 * prediction). Weights cross into and out of TF.js only as canonical `Weights`,
 * named and ordered by `modelShapes`.
 *
 * TF.js layer names are process-global and gain suffixes (`dense_Dense7`), so
 * tensors are matched by position in `model.weights`, never by TF.js name.
 */
import * as tf from '@tensorflow/tfjs'
import { assertShapes } from './core/delta.ts'
import { checkLayout } from './core/layout.ts'
import { modelShapes, type ModelSpec } from './core/study-spec.ts'
import type { Tensor, TensorShape, Weights } from './core/weights.ts'

/** A built network with the layout it was built for. Dispose it when done. */
export interface DenseModel {
  readonly spec: ModelSpec
  readonly inputDim: number
  /** The canonical layout (`modelShapes(spec, inputDim)`). */
  readonly shapes: readonly TensorShape[]
  readonly network: tf.Sequential
}

/**
 * Builds the network for `spec` over `inputDim` inputs. Variables start at
 * zero (callers always load weights next; skipping TF.js's own random
 * initialiser keeps building cheap and free of unseeded randomness).
 * Requires the TF.js backend to be initialised (`initBackend`).
 */
export function buildModel(spec: ModelSpec, inputDim: number): DenseModel {
  const shapes = modelShapes(spec, inputDim)
  const network = tf.sequential()
  const hidden = spec.kind === 'mlp' ? spec.hidden : []
  const activation = spec.kind === 'mlp' ? spec.activation : undefined
  let fanIn = inputDim
  for (const units of [...hidden, 1]) {
    const last = network.layers.length === hidden.length
    network.add(
      tf.layers.dense({
        units,
        inputShape: [fanIn],
        activation: last ? 'linear' : activation,
        useBias: true,
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
      }),
    )
    fanIn = units
  }
  const model: DenseModel = { spec, inputDim, shapes, network }
  // Guards the positional mapping: TF.js must hold exactly the canonical layout.
  const built = network.weights.map((v, i): TensorShape => ({ name: shapes[i]?.name ?? v.name, shape: v.read().shape }))
  checkLayout(built, shapes, 'TF.js model')
  return model
}

/**
 * Loads canonical weights into the network. Throws `ModelShapeMismatchError`
 * unless `weights` has the model's layout.
 *
 * One tensor at a time, so the backend holds the model once plus one
 * tensor while loading, not twice (at 50M parameters, 191 MiB of WASM heap,
 * which never shrinks once grown).
 */
export function setModelWeights(model: DenseModel, weights: Weights): void {
  assertShapes(weights, model.shapes, 'weights')
  // The cpu backend adopts the caller's array as the variable's storage, so it gets a copy; WASM and
  // tfjs-node copy into their own memory anyway, and a copy here would only add one more model.
  const adopts = tf.getBackend() === 'cpu'
  model.network.weights.forEach((variable, i) => {
    const t = weights.tensors[i]!
    const tensor = tf.tensor(adopts ? t.values.slice() : t.values, [...t.shape], 'float32')
    try {
      // The variable takes the tensor's data (no copy); disposing the tensor leaves it the variable's.
      variable.write(tensor)
    } finally {
      tensor.dispose()
    }
  })
}

/** Weights, or a function that reads them (see `loadModelWeights`). */
export type WeightsSource = Weights | (() => Promise<Weights>)

/**
 * `setModelWeights` from `source`. A function is called here and its
 * weights are unreachable once this returns, so the caller's training loop
 * holds no copy of them beside TF.js's variables.
 */
export async function loadModelWeights(model: DenseModel, source: WeightsSource): Promise<void> {
  setModelWeights(model, typeof source === 'function' ? await source() : source)
}

/**
 * The network's current weights, canonically named and ordered. Into
 * `into`'s arrays when given (writable arrays of the model's layout, e.g. a
 * `WeightsEncoder`'s, so the trained model lands in its encoding without
 * another copy; `into` is returned), else into fresh arrays.
 */
export function getModelWeights(model: DenseModel, into?: Weights): Weights {
  if (into !== undefined) {
    assertShapes(into, model.shapes, 'trained weights output')
    // dataSync may return the backend's own storage (cpu backend), and is a fresh copy elsewhere: either way set() copies it once.
    model.network.weights.forEach((v, i) => into.tensors[i]!.values.set(v.read().dataSync() as Float32Array))
    return into
  }
  return {
    tensors: model.network.weights.map((v, i): Tensor => {
      const shape = model.shapes[i]!
      // dataSync may return the backend's own storage (cpu backend); copy before handing it out.
      return { name: shape.name, shape: shape.shape, values: new Float32Array(v.read().dataSync()) }
    }),
  }
}

/** Frees the network's variables. */
export function disposeModel(model: DenseModel): void {
  model.network.dispose()
}
