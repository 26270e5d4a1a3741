/**
 * Evaluation of a model on a site's held-out data: probabilities from TF.js,
 * metrics from the pure core (`core/metrics.ts`), so the numbers a site
 * reports are computed the same way everywhere.
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend.ts'
import { PREDICT_BATCH_ROWS } from './constants.ts'
import { assertDataset, type Dataset } from './core/dataset.ts'
import { binaryAccuracy, logLoss, rocAuc } from './core/metrics.ts'
import type { ModelSpec } from './core/study-spec.ts'
import { buildModel, disposeModel, type WeightsSource } from './tf-model.ts'

export interface EvaluationResult {
  /** Mean binary cross-entropy of the clipped probabilities (`logLoss`). */
  readonly loss: number
  /** Share of rows with (p > 0.5) equal to the label. */
  readonly accuracy: number
  /** ROC AUC; NaN when the data holds only one class. */
  readonly auc: number
  readonly examples: number
}

/**
 * P(label = 1) for every row: sigmoid of the model's logit, computed in
 * chunks of `PREDICT_BATCH_ROWS` rows. Throws `InvalidModelInputError` for an
 * inconsistent dataset and `ModelShapeMismatchError` when `weights` does not
 * fit `model` over `data.width` inputs.
 */
export async function predictProbabilities(model: ModelSpec, weights: WeightsSource, data: Dataset): Promise<Float32Array> {
  assertDataset(data, 'evaluation data')
  await initBackend()
  // Built at `weights` (each tensor allocated once); a shape mismatch throws here, before anything needs freeing.
  const built = buildModel(model, data.width, weights)
  try {
    const out = new Float32Array(data.count)
    for (let start = 0; start < data.count; start += PREDICT_BATCH_ROWS) {
      const rows = Math.min(PREDICT_BATCH_ROWS, data.count - start)
      const probs = tf.tidy(() => {
        const x = tf.tensor2d(data.features.subarray(start * data.width, (start + rows) * data.width), [rows, data.width])
        return tf.sigmoid(built.network.apply(x) as tf.Tensor)
      })
      try {
        out.set(await probs.data(), start)
      } finally {
        probs.dispose()
      }
    }
    return out
  } finally {
    disposeModel(built)
  }
}

/** Loss, accuracy and AUC of `weights` on `data`. Same errors as `predictProbabilities`. */
export async function evaluateModel(model: ModelSpec, weights: WeightsSource, data: Dataset): Promise<EvaluationResult> {
  const probs = await predictProbabilities(model, weights, data)
  return {
    loss: logLoss(probs, data.labels),
    accuracy: binaryAccuracy(probs, data.labels),
    auc: rocAuc(probs, data.labels),
    examples: data.count,
  }
}
