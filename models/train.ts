/**
 * Local training at a site: start from the round's global weights, take
 * `training.localSteps` optimiser steps, return the new weights. This is the
 * FLamby notion of local steps: batches of `batchSize` are drawn by cycling
 * through epochs, each epoch a fresh seeded shuffle of the rows; an epoch's
 * final partial batch is used as is (a PyTorch DataLoader without
 * `drop_last`).
 *
 * Built for many short runs (FLamby heart: 100 steps of batch 4, per site,
 * per round): the data goes to the device once, each epoch is permuted with
 * one gather and sliced per step, and the loss is summed on the device and
 * read back once at the end.
 *
 * FedProx: with `training.proximalMu` = μ > 0 each step minimises the batch
 * loss plus (μ/2)·Σ‖w − w_global‖² over the trainable tensors, w_global the
 * round's starting weights (Li et al. 2020; Flower's and FLamby's FedProx
 * clients add the same term). The reported `trainLoss` is the data loss
 * alone, so it stays comparable with FedAvg's.
 *
 * SCAFFOLD: with a `correction` (c − c_i, the server's control variate less
 * the site's, in the model's layout) each step follows the corrected gradient
 * g − c_i + c (Karimireddy et al. 2020, Algorithm 1 line 10). It is added as
 * the linear term Σ⟨w, c − c_i⟩ to the objective, whose gradient is exactly
 * c − c_i, so the optimiser's own step applies it; `trainLoss` again reports
 * the data loss alone.
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend.ts'
import { TRAIN_YIELD_INTERVAL_MS } from './constants.ts'
import { assertDataset, type Dataset } from './core/dataset.ts'
import { assertFinite, assertShapes } from './core/delta.ts'
import { mulberry32, nextUint32, shuffleIndices } from './core/random.ts'
import type { ModelSpec, TrainingSpec } from './core/study-spec.ts'
import type { Weights } from './core/weights.ts'
import { buildModel, disposeModel, getModelWeights, writeModelWeights, type TensorWriter, type WeightsSource } from './tf-model.ts'

export interface TrainInit {
  readonly model: ModelSpec
  readonly training: TrainingSpec
  /**
   * Starting point; must have the layout of `modelShapes(model, data.width)`.
   * Or a reader of it, called once per tensor while the model is built and
   * not kept, so that nothing holds a copy while training (a site reads its
   * model file; 191 MiB at 50M parameters).
   */
  readonly global: WeightsSource
  readonly data: Dataset
  /** Seeds the batch order (the initial weights come from `global`). */
  readonly seed: number
  /** SCAFFOLD's gradient correction c − c_i, in the layout of `global`; absent: none. */
  readonly correction?: Weights
  /** Called after each optimiser step with (steps done, steps in total). */
  readonly onProgress?: (step: number, total: number) => void
  /**
   * Writable arrays in the layout of `global` to read the trained weights
   * into (e.g. a `WeightsEncoder`'s, so a site turns them into its encoded
   * delta in place); `weights` is then this object. Absent: fresh arrays.
   */
  readonly into?: Weights
}

/** `TrainInit` whose trained weights go to a writer, one tensor at a time, instead of into memory. */
export interface StreamingTrainInit extends Omit<TrainInit, 'into'> {
  /**
   * Called with each trained tensor in order (after its finiteness check):
   * a site computes its delta there and writes it to a file, so no
   * model-sized array of the trained weights ever exists outside TF.js.
   */
  readonly into: TensorWriter
}

/** What `trainLocal` with a `TensorWriter` resolves to: the result without the weights, which went to the writer. */
export type TrainStats = Omit<TrainResult, 'weights'>

export interface TrainResult {
  /** The trained weights (`init.into` when given). */
  readonly weights: Weights
  /** Mean over all steps of the batch-mean binary cross-entropy. */
  readonly trainLoss: number
  readonly steps: number
  /** Rows in the training set: the site's FedAvg weight (`exampleCount`). */
  readonly examples: number
  readonly durationMs: number
}

// PyTorch's default (TF.js would use 1e-7), so Adam runs compare with PyTorch baselines such as FLamby.
const ADAM_EPSILON = 1e-8

/** The study's optimiser (plain training and DP-SGD step with the same one). */
export function createOptimizer(training: TrainingSpec): tf.Optimizer {
  return training.optimizer === 'adam' ? tf.train.adam(training.learningRate, 0.9, 0.999, ADAM_EPSILON) : tf.train.sgd(training.learningRate)
}

export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Trains locally and resolves to the new weights and the mean training loss.
 * Throws `InvalidModelInputError` for an inconsistent dataset,
 * `ModelShapeMismatchError` when `global` does not fit the model, and
 * `NonFiniteValueError` when training diverged to NaN or infinity. Frees
 * every tensor it creates, also on failure.
 */
export async function trainLocal(init: StreamingTrainInit): Promise<TrainStats>
export async function trainLocal(init: TrainInit): Promise<TrainResult>
export async function trainLocal(init: TrainInit | StreamingTrainInit): Promise<TrainResult | TrainStats> {
  const { training, data } = init
  assertDataset(data, 'training data')
  await initBackend()
  const started = performance.now()
  // Built at the starting weights (each tensor allocated once); a shape mismatch throws here, before anything needs freeing.
  const model = buildModel(init.model, data.width, init.global)
  const optimizer = createOptimizer(training)
  const features = tf.tensor2d(data.features, [data.count, data.width])
  const labels = tf.tensor2d(data.labels, [data.count, 1])
  let epochFeatures: tf.Tensor2D | undefined
  let epochLabels: tf.Tensor2D | undefined
  let lossSum: tf.Scalar = tf.scalar(0)
  let anchors: tf.Tensor[] = []
  let corrections: tf.Tensor[] = []
  try {
    const variables = model.network.trainableWeights.map((w) => w.read() as tf.Variable)
    const mu = training.proximalMu ?? 0
    // The proximal term's centre: the round's starting weights, copied once before any step moves them.
    if (mu > 0) anchors = variables.map((v) => v.clone())
    if (init.correction !== undefined) {
      assertShapes(init.correction, model.shapes, 'control-variate correction')
      // Every tensor of these dense models is trainable, in the canonical order (buildModel checks the layout).
      corrections = init.correction.tensors.map((t) => tf.tensor(t.values, [...t.shape], 'float32'))
    }
    const corrected = corrections.length > 0
    const random = mulberry32(init.seed)
    const total = training.localSteps
    let position = data.count // forces a shuffle before the first step
    let lastYield = performance.now()
    for (let step = 0; step < total; step++) {
      if (position >= data.count) {
        tf.dispose([epochFeatures, epochLabels].filter((t) => t !== undefined))
        const order = shuffleIndices(data.count, nextUint32(random))
        ;[epochFeatures, epochLabels] = tf.tidy(() => {
          const index = tf.tensor1d(Int32Array.from(order), 'int32')
          return [tf.gather(features, index), tf.gather(labels, index)]
        })
        position = 0
      }
      const start = position
      const size = Math.min(training.batchSize, data.count - start)
      position += size
      const x = epochFeatures!
      const y = epochLabels!
      const next = tf.tidy(() => {
        let dataLoss: tf.Scalar | undefined
        const objective = optimizer.minimize(
          () => {
            const logits = model.network.apply(tf.slice(x, [start, 0], [size, data.width])) as tf.Tensor
            const bce = tf.losses.sigmoidCrossEntropy(tf.slice(y, [start, 0], [size, 1]), logits) as tf.Scalar
            if (mu === 0 && !corrected) return bce
            // Kept past the gradient's own tidy, so the data loss can be reported; disposed just below.
            dataLoss = tf.keep(bce)
            let objective: tf.Scalar = bce
            if (mu > 0) {
              const proximal = tf.addN(variables.map((v, i) => tf.sum(tf.squaredDifference(v, anchors[i]!))))
              objective = tf.add(objective, tf.mul(mu / 2, proximal)) as tf.Scalar
            }
            if (corrected) objective = tf.add(objective, tf.addN(variables.map((v, i) => tf.sum(tf.mul(v, corrections[i]!))))) as tf.Scalar
            return objective
          },
          true,
          variables,
        )
        if (dataLoss === undefined) return tf.add(lossSum, objective!) as tf.Scalar
        const sum = tf.add(lossSum, dataLoss) as tf.Scalar
        dataLoss.dispose()
        return sum
      })
      lossSum.dispose()
      lossSum = next
      init.onProgress?.(step + 1, total)
      if (performance.now() - lastYield >= TRAIN_YIELD_INTERVAL_MS) {
        await yieldToEventLoop()
        lastYield = performance.now()
      }
    }
    const trainLoss = (await lossSum.data())[0]! / total
    const stats = { trainLoss, steps: total, examples: data.count, durationMs: performance.now() - started }
    if (typeof init.into === 'function') {
      writeModelWeights(model, init.into)
      return stats
    }
    const weights = getModelWeights(model, init.into)
    assertFinite(weights, 'trained weights')
    return { weights, ...stats }
  } finally {
    tf.dispose([features, labels, lossSum, ...anchors, ...corrections, ...[epochFeatures, epochLabels].filter((t) => t !== undefined)])
    optimizer.dispose()
    disposeModel(model)
  }
}
