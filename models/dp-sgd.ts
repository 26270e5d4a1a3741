/**
 * Patient-level DP-SGD at a site (Abadi et al. 2016, Algorithm 1): each step
 * draws a batch by Poisson sampling at rate q = batchSize / rows (every row
 * on its own, the sampling the RDP accountant's q assumes), clips each
 * example's gradient over all trainable tensors together to L2 norm C
 * (per-example-gradients.ts), sums, adds N(0, (σ·C)²) per coordinate, and
 * divides by the expected batch size q·rows (a fixed denominator: the
 * sampled size itself would leak). The study's optimiser then steps on that
 * gradient, `training.localSteps` times. The RDP accountant turns
 * (q, σ, steps, δ) into the ε of one patient's records.
 *
 * Randomness: the batches come from the round's seed (as plain training's
 * order does); the noise comes from node:crypto, fresh 32 bytes per step
 * expanded by ChaCha20 (gaussian-noise.ts). It is private, never replayed.
 *
 * FedProx's proximal term and SCAFFOLD's correction do not read the data:
 * their gradients are added after the noise, which keeps the guarantee
 * (post-processing). The returned `trainLoss` is the plain mean batch loss,
 * computed without noise: it is for the site's own log, not for release.
 */
import { randomBytes } from 'node:crypto'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend.ts'
import { TRAIN_YIELD_INTERVAL_MS } from './constants.ts'
import { assertDataset } from './core/dataset.ts'
import { assertFinite, assertShapes } from './core/delta.ts'
import { standardNormals } from './core/gaussian-noise.ts'
import { dpSgdSamplingRate, poissonBatch } from './core/poisson-sampling.ts'
import { mulberry32 } from './core/random.ts'
import { InvalidModelInputError } from './errors.ts'
import { clippedGradientSum } from './per-example-gradients.ts'
import { buildModel, disposeModel, getModelWeights } from './tf-model.ts'
import { createOptimizer, yieldToEventLoop, type TrainInit, type TrainResult } from './train.ts'

/** DP-SGD's two knobs. */
export interface DpSgdParams {
  /** σ: the noise's standard deviation per coordinate is σ·C (0 only in tests: no privacy). */
  readonly noiseMultiplier: number
  /** C: the L2 norm each example's whole gradient is clipped to. */
  readonly clipNorm: number
}

export interface DpSgdInit extends TrainInit {
  readonly dpSgd: DpSgdParams
  /**
   * `count` standard normals for one step's noise; default: `standardNormals`
   * under 32 fresh bytes of node:crypto. Tests pass their own to measure.
   */
  readonly normals?: (count: number) => Float64Array
}

export interface DpSgdResult extends TrainResult {
  /** q: the Poisson sampling rate every step used. */
  readonly samplingRate: number
  /** Examples whose gradient was clipped (norm above C), summed over the steps. */
  readonly clippedExamples: number
  /** Examples sampled, summed over the steps. */
  readonly sampledExamples: number
}

const cryptoNormals = (count: number): Float64Array => standardNormals(randomBytes(32), count)

/**
 * Trains with DP-SGD and resolves to the new weights (see the module doc).
 * Throws `InvalidModelInputError` for σ < 0, C <= 0 or an empty dataset,
 * the errors of `trainLocal` otherwise. Frees every tensor it creates.
 */
export async function trainDpSgd(init: DpSgdInit): Promise<DpSgdResult> {
  const { training, data, dpSgd } = init
  if (!(dpSgd.noiseMultiplier >= 0) || !Number.isFinite(dpSgd.noiseMultiplier)) throw new InvalidModelInputError(`DP-SGD noise multiplier ${dpSgd.noiseMultiplier}, want a finite number >= 0`)
  if (!(dpSgd.clipNorm > 0) || !Number.isFinite(dpSgd.clipNorm)) throw new InvalidModelInputError(`DP-SGD clip norm ${dpSgd.clipNorm}, want a finite number > 0`)
  assertDataset(data, 'training data')
  const q = dpSgdSamplingRate(training.batchSize, data.count)
  const expectedBatch = q * data.count
  const normals = init.normals ?? cryptoNormals
  await initBackend()
  const started = performance.now()
  // Built at the starting weights (each tensor allocated once); a shape mismatch throws here, before anything needs freeing.
  const model = buildModel(init.model, data.width, init.global)
  const optimizer = createOptimizer(training)
  const features = tf.tensor2d(data.features, [data.count, data.width])
  const labels = tf.tensor2d(data.labels, [data.count, 1])
  let anchors: tf.Tensor[] = []
  let corrections: tf.Tensor[] = []
  let lossSum = 0
  let clippedExamples = 0
  let sampledExamples = 0
  try {
    const variables = model.network.trainableWeights.map((w) => w.read() as tf.Variable)
    const sizes = variables.map((v) => v.size)
    const parameters = sizes.reduce((a, b) => a + b, 0)
    const mu = training.proximalMu ?? 0
    if (mu > 0) anchors = variables.map((v) => v.clone())
    if (init.correction !== undefined) {
      assertShapes(init.correction, model.shapes, 'control-variate correction')
      corrections = init.correction.tensors.map((t) => tf.tensor(t.values, [...t.shape], 'float32'))
    }
    const random = mulberry32(init.seed)
    const noiseStd = dpSgd.noiseMultiplier * dpSgd.clipNorm
    const total = training.localSteps
    let lastYield = performance.now()
    for (let step = 0; step < total; step++) {
      const batch = poissonBatch(data.count, q, random)
      const noise = noiseStd === 0 ? undefined : normals(parameters)
      const stats = tf.tidy(() => {
        let sums: tf.Tensor[]
        let stepStats: tf.Tensor[] = []
        if (batch.length > 0) {
          const index = tf.tensor1d(Int32Array.from(batch), 'int32')
          const clipped = clippedGradientSum(model, tf.gather(features, index), tf.gather(labels, index), dpSgd.clipNorm)
          sums = clipped.sums
          stepStats = [tf.keep(clipped.lossSum), tf.keep(tf.sum(tf.cast(tf.greater(clipped.norms, dpSgd.clipNorm), 'float32')))]
        } else sums = variables.map((v) => tf.zerosLike(v))
        let offset = 0
        const gradients = sums.map((sum, i) => {
          let g = sum
          if (noise !== undefined) {
            const values = Float32Array.from(noise.subarray(offset, offset + sizes[i]!), (z) => z * noiseStd)
            g = tf.add(g, tf.tensor(values, variables[i]!.shape, 'float32'))
          }
          offset += sizes[i]!
          g = tf.div(g, expectedBatch)
          if (mu > 0) g = tf.add(g, tf.mul(mu, tf.sub(variables[i]!, anchors[i]!)))
          if (corrections.length > 0) g = tf.add(g, corrections[i]!)
          return { name: variables[i]!.name, tensor: g }
        })
        optimizer.applyGradients(gradients)
        return stepStats
      })
      if (stats.length === 2) {
        const [loss, clipped] = await Promise.all(stats.map((t) => t.data()))
        tf.dispose(stats)
        lossSum += loss![0]! / batch.length
        clippedExamples += clipped![0]!
      }
      sampledExamples += batch.length
      init.onProgress?.(step + 1, total)
      if (performance.now() - lastYield >= TRAIN_YIELD_INTERVAL_MS) {
        await yieldToEventLoop()
        lastYield = performance.now()
      }
    }
    const weights = getModelWeights(model, init.into)
    assertFinite(weights, 'trained weights')
    return {
      weights,
      trainLoss: lossSum / total,
      steps: total,
      examples: data.count,
      durationMs: performance.now() - started,
      samplingRate: q,
      clippedExamples,
      sampledExamples,
    }
  } finally {
    tf.dispose([features, labels, ...anchors, ...corrections])
    optimizer.dispose()
    disposeModel(model)
  }
}
