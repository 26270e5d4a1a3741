/**
 * Inference without TF.js: the forward pass of a `ModelSpec`'s dense stack in
 * plain JavaScript, for numbers the audit must reproduce bit for bit (the
 * validation utilities behind contribution scores and rewards). TF.js picks
 * kernels, summation order and float32 arithmetic per backend, so two
 * machines do not agree on its last bits; this module fixes every operation.
 *
 * The network is the one `models/tf-model.ts` builds: for each layer in
 * `modelShapes` order, a kernel `[fanIn, units]` (row-major: element (k, u)
 * at `k * units + u`) and a bias `[units]`; hidden layers apply the spec's
 * activation (relu or tanh), the output layer is one linear unit, the logit.
 *
 * Arithmetic contract (part of the audit, like `aggregate.ts`'s):
 * 1. Features and weights are float32 values read as float64 (exact).
 *    Activations stay float64 from layer to layer; nothing is rounded to
 *    float32.
 * 2. Each pre-activation is `z_u = ((…((0 + x_0·W[0,u]) + x_1·W[1,u]) + …)
 *    + x_{fanIn−1}·W[fanIn−1,u]) + b_u`: products summed in float64 in
 *    ascending k, bias added last.
 * 3. relu(z) = z < 0 ? 0 : z; tanh, exp and log are `portable-math.ts`
 *    (fdlibm transcriptions on basic arithmetic), never `Math.tanh/exp/log`.
 * 4. P(label = 1) = `portableSigmoid(logit)`; log loss clips p to
 *    [LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON] like `metrics.ts` `logLoss` and
 *    sums over rows in row order.
 * Rows are independent, so the result does not depend on batching.
 */
import { assertShapes } from './delta.ts'
import { assertDataset, type Dataset } from './dataset.ts'
import { LOG_LOSS_EPSILON } from './constants.ts'
import { binaryAccuracy, rocAuc } from './metrics.ts'
import { portableLog, portableSigmoid, portableTanh } from './portable-math.ts'
import { modelShapes, type ModelSpec } from './study-spec.ts'
import type { Weights } from './weights.ts'
import { InvalidModelInputError } from '../errors.ts'

/** What `evaluateCore` reports; the same fields as the TF.js shell's `EvaluationResult`. */
export interface CoreEvaluation {
  /** Mean binary cross-entropy of the clipped probabilities (`portableLogLoss`). */
  readonly loss: number
  /** Share of rows with (p > 0.5) equal to the label (`binaryAccuracy`). */
  readonly accuracy: number
  /** ROC AUC (`rocAuc`); NaN when the data holds only one class. */
  readonly auc: number
  readonly examples: number
}

type Activation = 'relu' | 'tanh' | 'linear'

interface DenseLayer {
  readonly kernel: Float32Array
  readonly bias: Float32Array
  readonly fanIn: number
  readonly units: number
  readonly activation: Activation
}

/** The layers of `model` over `inputDim` inputs; throws `ModelShapeMismatchError` unless `weights` has that layout. */
function denseLayers(model: ModelSpec, weights: Weights, inputDim: number): DenseLayer[] {
  const shapes = modelShapes(model, inputDim)
  assertShapes(weights, shapes, 'weights')
  const hidden: Activation = model.kind === 'mlp' ? model.activation : 'linear'
  const layers: DenseLayer[] = []
  for (let i = 0; i < shapes.length; i += 2) {
    const [fanIn, units] = shapes[i]!.shape as [number, number]
    layers.push({
      kernel: weights.tensors[i]!.values,
      bias: weights.tensors[i + 1]!.values,
      fanIn,
      units,
      activation: i === shapes.length - 2 ? 'linear' : hidden,
    })
  }
  return layers
}

/**
 * The model's logit for every row of `data`, in row order, computed as the
 * module contract says. Throws `InvalidModelInputError` for an inconsistent
 * dataset and `ModelShapeMismatchError` unless `weights` fits `model` over
 * `data.width` inputs.
 */
export function predictLogits(model: ModelSpec, weights: Weights, data: Dataset): Float64Array {
  assertDataset(data, 'evaluation data')
  const layers = denseLayers(model, weights, data.width)
  let widest = data.width
  for (const l of layers) widest = Math.max(widest, l.units)
  // Two ping-pong activation buffers, reused across rows and layers.
  let input = new Float64Array(widest)
  let output = new Float64Array(widest)
  const logits = new Float64Array(data.count)
  const features = data.features
  for (let r = 0; r < data.count; r++) {
    const rowStart = r * data.width
    for (let k = 0; k < data.width; k++) input[k] = features[rowStart + k]!
    for (const { kernel, bias, fanIn, units, activation } of layers) {
      output.fill(0, 0, units)
      // k outer, u inner: each z_u still receives its products in ascending k (rule 2), reading the kernel row by row.
      for (let k = 0; k < fanIn; k++) {
        const xk = input[k]!
        const row = k * units
        for (let u = 0; u < units; u++) output[u] = output[u]! + xk * kernel[row + u]!
      }
      for (let u = 0; u < units; u++) {
        const z = output[u]! + bias[u]!
        output[u] = activation === 'relu' ? (z < 0 ? 0 : z) : activation === 'tanh' ? portableTanh(z) : z
      }
      const swap = input
      input = output
      output = swap
    }
    logits[r] = input[0]!
  }
  return logits
}

/** P(label = 1) for every row: `portableSigmoid` of `predictLogits`. Same errors. */
export function predictProbabilitiesCore(model: ModelSpec, weights: Weights, data: Dataset): Float64Array {
  const logits = predictLogits(model, weights, data)
  for (let r = 0; r < logits.length; r++) logits[r] = portableSigmoid(logits[r]!)
  return logits
}

/**
 * Mean binary cross-entropy −[y·ln p + (1−y)·ln(1−p)] with p clipped to
 * [LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON], summed in float64 in row order
 * with `portableLog`: the definition of `metrics.ts` `logLoss` with a
 * reproducible logarithm. Throws `InvalidModelInputError` unless the arrays
 * pair up and every label is 0 or 1; NaN for empty input.
 */
export function portableLogLoss(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (probs.length !== labels.length) {
    throw new InvalidModelInputError(`${probs.length} probabilities, ${labels.length} labels; want equal counts`)
  }
  if (probs.length === 0) return NaN
  let sum = 0
  for (let i = 0; i < probs.length; i++) {
    const y = labels[i]
    if (y !== 0 && y !== 1) throw new InvalidModelInputError(`label ${i}: ${y}, want 0 or 1`)
    const p = Math.min(Math.max(probs[i]!, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON)
    sum -= y === 1 ? portableLog(p) : portableLog(1 - p)
  }
  return sum / probs.length
}

/**
 * Loss, accuracy and AUC of `weights` on `data` from `predictProbabilitiesCore`:
 * the pure, reproducible counterpart of the shell's TF.js `evaluateModel`
 * (which agrees to about 1e-6, the float32 rounding of TF.js). Same errors as
 * `predictLogits`.
 */
export function evaluateCore(model: ModelSpec, weights: Weights, data: Dataset): CoreEvaluation {
  const probs = predictProbabilitiesCore(model, weights, data)
  return {
    loss: portableLogLoss(probs, data.labels),
    accuracy: binaryAccuracy(probs, data.labels),
    auc: rocAuc(probs, data.labels),
    examples: data.count,
  }
}
