/**
 * `models/`: everything about the learned model, for the coordinator (which
 * aggregates) and the site agent (which trains and evaluates).
 *
 * Two layers:
 * - `core/` — pure arithmetic of weights, no TF.js, no I/O: the canonical
 *   encoding and hash, delta/apply, deterministic FedAvg, the study spec, the
 *   seeded initial model, metrics. Re-exported here; consumers
 *   that must stay TF.js-free (the auditor) import `models/core/index.ts`.
 * - this folder — the TF.js shell: backend selection, building a network from
 *   a `ModelSpec`, local training and evaluation. Only this folder imports
 *   `@tensorflow/*`, and no TF.js type crosses this surface except the
 *   `tf.Sequential` inside `DenseModel`.
 *
 * Typical site round: `trainLocal({ model, training, global, data, seed })`,
 * then `computeDelta(result.weights, global)`, `encodeWeights(delta)`; the
 * coordinator `decodeWeights(bytes, modelShapes(...))`, `assertFinite`, and
 * the study's strategy (protocol/strategy.ts) aggregates with `fedAvg`.
 */
export * from './core/index.ts'
export { TF_BACKEND_ENV, PREDICT_BATCH_ROWS, TRAIN_YIELD_INTERVAL_MS } from './constants.ts'
export { initBackend, backendName, type BackendPreference } from './backend.ts'
export { buildModel, setModelWeights, getModelWeights, disposeModel, type DenseModel, type WeightsSource, type TensorReader, type TensorWriter, writeModelWeights } from './tf-model.ts'
export { trainLocal, type TrainInit, type TrainResult, type StreamingTrainInit, type TrainStats } from './train.ts'
export { trainDpSgd, type DpSgdInit, type DpSgdParams, type DpSgdResult } from './dp-sgd.ts'
export { clippedGradientSum, type ClippedGradientSum } from './per-example-gradients.ts'
export { toLayersModel, fromLayersModel, LAYERS_WEIGHTS_FILE, type LayersModelFiles, type LayersModelJson, type LayersWeightSpec } from './layers-format.ts'
export { evaluateModel, predictProbabilities, type EvaluationResult } from './evaluate.ts'
