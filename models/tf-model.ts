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
 */
export function setModelWeights(model: DenseModel, weights: Weights): void {
  assertShapes(weights, model.shapes, 'weights')
  // slice(): the cpu backend would otherwise adopt the caller's array as the variable's storage.
  const tensors = weights.tensors.map((t) => tf.tensor(t.values.slice(), [...t.shape], 'float32'))
  try {
    // setWeights copies into the layer variables, so the temporary tensors can go.
    model.network.setWeights(tensors)
  } finally {
    tf.dispose(tensors)
  }
}

/** The network's current weights, canonically named and ordered, as fresh arrays. */
export function getModelWeights(model: DenseModel): Weights {
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
