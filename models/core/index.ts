/**
 * The pure core of `models/`: the arithmetic of weights with no TF.js and no
 * I/O, for consumers that must stay that way (the auditor, the coordinator's
 * aggregation, the ledger's callers).
 *
 * - `weights.ts`, `study-spec.ts`, `dataset.ts`: the plain data model.
 * - `canonical.ts`: the one byte encoding of weights and its SHA-256.
 * - `in-place-encoding.ts`: the same bytes, built and read in place (a site
 *   holds each model once).
 * - `delta.ts`: delta/apply and the checks on received updates.
 * - `aggregate.ts`: deterministic FedAvg (sorted by siteId, float64 sums, one
 *   rounding), the arithmetic protocol/strategy.ts's strategies aggregate with;
 *   its loops run in WebAssembly SIMD (`aggregate-kernel-simd.ts`, module bytes
 *   from `wasm-module-builder.ts`) or plain JS (`aggregate-kernel-js.ts`),
 *   byte-identical. The SIMD kernel reads deltas in place when they live in
 *   its shared memory (`kernel-memory.ts`; `decodeWeightsShared` puts them
 *   there) and then splits large tensors with a second thread
 *   (`aggregate-second-thread.ts`), still byte-identical.
 * - `server-optimizers.ts`: FedAvgM, FedAdagrad, FedAdam, FedYogi steps with
 *   their moments as named server-state tensors.
 * - `scaffold.ts`: SCAFFOLD's server step and a site's next control variate
 *   (option II), the server control variate as the state slot `c`.
 * - `strategy-options.ts`: the spec schemas of those strategies and of the
 *   options every strategy takes (norm bound, client sampling).
 * - `robust-aggregate.ts`: the Byzantine-robust arithmetic (median, trimmed
 *   mean, Krum and Multi-Krum, Bulyan) with the same determinism contract.
 * - `init.ts`, `random.ts`: the seeded initial model and PRNG.
 * - `metrics.ts`: accuracy, ROC AUC, log loss.
 * - `secagg-spec.ts`: the secure-aggregation spec and its resolution into a round's (k, t, quantization).
 * - `poisson-sampling.ts`: DP-SGD's Poisson-sampled batches and their rate q.
 * - `rdp-accountant.ts`: the RDP accountant of the subsampled Gaussian mechanism (ε for σ, σ for ε).
 */
export * from './weights.ts'
export * from './study-spec.ts'
export * from './strategy-options.ts'
export * from './dp-spec.ts'
export * from './secagg-spec.ts'
export * from './dataset.ts'
export * from './constants.ts'
export {
  encodeWeights,
  decodeLayout,
  decodeWeights,
  decodeWeightsShared,
  encodedSize,
  encodeHeader,
  hashBytes,
  hashWeights,
  toHex,
  fromHex,
  valueSlices,
  valuesFromBytes,
  valuesIntoBytes,
  type ValueSlice,
  type DecodedLayout,
} from './canonical.ts'
export { allocateEncoding, createWeightsEncoder, decodeWeightsInPlace, type WeightsEncoder } from './in-place-encoding.ts'
export { computeDelta, computeDeltaInto, applyDelta, assertShapes, assertFinite, l2Norm } from './delta.ts'
export { fedAvg, weightedMeanDelta, sortBySiteId, defaultAggregationKernel, type WeightedUpdate } from './aggregate.ts'
export { plainAggregationKernel, type AggregationKernel } from './aggregate-kernel-js.ts'
export { simdAggregationKernel, type SimdAggregationKernel, type SimdFedAvgValues, type SimdKernelOptions } from './aggregate-kernel-simd.ts'
export { kernelFloat32Array } from './kernel-memory.ts'
export {
  addSquaredDistances,
  bulyan,
  bulyanChoice,
  bulyanMinimum,
  bulyanReduce,
  coordinateMedian,
  coordinateWise,
  emptyDistances,
  krum,
  krumChoice,
  krumMinimum,
  krumScores,
  trimCount,
  trimmedMean,
  type KrumScore,
  type RobustSelection,
} from './robust-aggregate.ts'
export * from './robust-strategy-spec.ts'
export { initialWeights } from './init.ts'
export {
  fedAdagradStep,
  fedAdamStep,
  fedAvgMStep,
  fedYogiStep,
  meanDelta64,
  powerBySteps,
  readStateSlots,
  stateSlotShapes,
  writeStateSlots,
  type FedAdamInit,
  type FedAvgMInit,
  type FedOptInit,
  type ServerStateWeights,
  type ServerStep,
} from './server-optimizers.ts'
export { SCAFFOLD_STATE_SLOT, nextSiteControlVariate, scaffoldStep, serverControlVariate, type ScaffoldInit } from './scaffold.ts'
export { mulberry32, nextUint32, shuffleIndices, type Random } from './random.ts'
export { dpSgdSamplingRate, poissonBatch } from './poisson-sampling.ts'
export { DEFAULT_RDP_ORDERS, computeRdp, epsilonOf, epsilonOfRuns, logErfc, noiseMultiplierFor, privacySpent, rdpOfStep, type GaussianRun, type PrivacySpent } from './rdp-accountant.ts'
export { binaryAccuracy, rocAuc, logLoss } from './metrics.ts'
export * from '../errors.ts'
export { predictLogits, predictProbabilitiesCore, portableLogLoss, evaluateCore, type CoreEvaluation } from './inference.ts'
export { normalStream, standardNormals } from './gaussian-noise.ts'
export { portableExp, portableLog, portableTanh, portableSigmoid } from './portable-math.ts'
export { decodeDataset, encodeDataset } from './dataset-codec.ts'
