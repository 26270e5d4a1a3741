import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  buildModel,
  clippedGradientSum,
  disposeModel,
  dpSgdSamplingRate,
  initBackend,
  initialWeights,
  InvalidModelInputError,
  mulberry32,
  poissonBatch,
  setModelWeights,
  standardNormals,
  trainDpSgd,
  trainLocal,
  type Dataset,
  type ModelSpec,
  type TrainingSpec,
  type Weights,
} from '../../../models/index.ts'

const MLP: ModelSpec = { kind: 'mlp', hidden: [6, 4], activation: 'tanh' }
const LOGREG: ModelSpec = { kind: 'logreg' }
const RELU: ModelSpec = { kind: 'mlp', hidden: [5], activation: 'relu' }

/** Rows of `width` features in [-1, 1) with random labels; row `huge` (if given) scaled by 1000. */
function rows(count: number, width: number, seed: number, huge?: number): Dataset {
  const random = mulberry32(seed)
  const features = Float32Array.from({ length: count * width }, (_, k) => (2 * random() - 1) * (Math.floor(k / width) === huge ? 1000 : 1))
  const labels = Float32Array.from({ length: count }, () => (random() < 0.5 ? 0 : 1))
  return { features, labels, count, width }
}

/** Per-example gradients by one backward pass per example, each clipped to `clipNorm` over all tensors, summed: the slow reference. */
function referenceClippedSum(spec: ModelSpec, weights: Weights, data: Dataset, clipNorm: number): Float64Array[] {
  const model = buildModel(spec, data.width)
  setModelWeights(model, weights)
  const variables = model.network.trainableWeights.map((w) => w.read() as tf.Variable)
  const sums = variables.map((v) => new Float64Array(v.size))
  for (let i = 0; i < data.count; i++) {
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(data.features.subarray(i * data.width, (i + 1) * data.width), [1, data.width])
      const y = tf.tensor2d([data.labels[i]!], [1, 1])
      const { grads } = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(y, model.network.apply(x) as tf.Tensor, undefined, undefined, tf.Reduction.SUM) as tf.Scalar, variables)
      return variables.map((v) => Float32Array.from(grads[v.name]!.dataSync()))
    })
    const norm = Math.sqrt(grads.reduce((n, g) => n + g.reduce((m, v) => m + v * v, 0), 0))
    const scale = Math.min(1, clipNorm / norm)
    grads.forEach((g, t) => g.forEach((v, j) => (sums[t]![j]! += v * scale)))
  }
  disposeModel(model)
  return sums
}

function batchedClippedSum(spec: ModelSpec, weights: Weights, data: Dataset, clipNorm: number): { sums: Float32Array[]; norms: Float32Array } {
  const model = buildModel(spec, data.width)
  setModelWeights(model, weights)
  const out = tf.tidy(() => {
    const r = clippedGradientSum(model, tf.tensor2d(data.features, [data.count, data.width]), tf.tensor2d(data.labels, [data.count, 1]), clipNorm)
    return { sums: r.sums.map((s) => s.dataSync().slice() as Float32Array), norms: r.norms.dataSync().slice() as Float32Array }
  })
  disposeModel(model)
  return out
}

const l2 = (tensors: readonly ArrayLike<number>[]): number => Math.sqrt(tensors.reduce((n, t) => n + Array.from(t).reduce((m, v) => m + v * v, 0), 0))

beforeAll(async () => {
  await initBackend()
})

describe('poissonBatch', () => {
  it('draws each row on its own at rate q, the same rows from the same seed', () => {
    // Prepare
    const draws = 2000
    // Execute
    const sizes = Array.from({ length: draws }, (_, s) => poissonBatch(100, 0.05, mulberry32(s)).length)
    const again = poissonBatch(100, 0.05, mulberry32(7))
    // Assert: mean q·rows = 5, variance rows·q·(1−q) = 4.75 (generous bounds), sizes vary, 0 possible
    const mean = sizes.reduce((a, b) => a + b, 0) / draws
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / draws
    expect(mean).toBeGreaterThan(4.7)
    expect(mean).toBeLessThan(5.3)
    expect(variance).toBeGreaterThan(3.8)
    expect(variance).toBeLessThan(5.8)
    expect(sizes).toContain(0)
    expect(again).toEqual(poissonBatch(100, 0.05, mulberry32(7)))
    expect(dpSgdSamplingRate(8, 200)).toBe(0.04)
    expect(dpSgdSamplingRate(500, 200)).toBe(1)
    expect(() => poissonBatch(10, 1.5, mulberry32(1))).toThrow(InvalidModelInputError)
  })
})

describe('clippedGradientSum', () => {
  it('clips each example on its own: one huge-gradient example is cut to C, the others pass whole', () => {
    // Prepare: 12 examples, row 3 a thousand times larger; at zero weights every gradient is (½ − y)·(x, 1)
    const data = rows(12, 5, 1, 3)
    const weights: Weights = { tensors: initialWeights(LOGREG, 5, 2).tensors.map((t) => ({ ...t, values: new Float32Array(t.values.length) })) }
    const clipNorm = 2
    // Execute
    const { sums, norms } = batchedClippedSum(LOGREG, weights, data, clipNorm)
    const reference = referenceClippedSum(LOGREG, weights, data, clipNorm)
    const unclipped = referenceClippedSum(LOGREG, weights, data, 1e9)
    // Assert: only row 3 exceeds C; the sum's norm is within n·C (unclipped it is hundreds of times more) and equals the per-example loop's
    expect(norms[3]!).toBeGreaterThan(100 * clipNorm)
    expect(Array.from(norms).filter((n) => n > clipNorm)).toHaveLength(1)
    expect(l2(sums)).toBeLessThanOrEqual(data.count * clipNorm)
    expect(l2(unclipped)).toBeGreaterThan(100 * clipNorm)
    sums.forEach((s, t) => s.forEach((v, j) => expect(Math.abs(v - reference[t]![j]!)).toBeLessThan(1e-5 * clipNorm)))
  })

  it('matches the per-example loop on a two-layer tanh network, some examples clipped and some not', () => {
    // Prepare
    const data = rows(16, 5, 2)
    const weights = initialWeights(MLP, 5, 2)
    // Execute
    const free = batchedClippedSum(MLP, weights, data, 1e9)
    const clipNorm = [...free.norms].sort((a, b) => a - b)[8]!
    const { sums, norms } = batchedClippedSum(MLP, weights, data, clipNorm)
    const reference = referenceClippedSum(MLP, weights, data, clipNorm)
    // Assert
    expect(Array.from(norms).filter((n) => n > clipNorm).length).toBe(7)
    sums.forEach((s, t) => s.forEach((v, j) => expect(Math.abs(v - reference[t]![j]!)).toBeLessThan(1e-6)))
  })

  it('matches the per-example loop on a relu network when every example is clipped', () => {
    // Prepare
    const data = rows(9, 4, 3)
    const weights = initialWeights(RELU, 4, 5)
    // Execute
    const { sums, norms } = batchedClippedSum(RELU, weights, data, 1e-3)
    const reference = referenceClippedSum(RELU, weights, data, 1e-3)
    // Assert
    expect(Array.from(norms).every((n) => n > 1e-3)).toBe(true)
    sums.forEach((s, t) => s.forEach((v, j) => expect(v).toBeCloseTo(reference[t]![j]!, 7)))
  })
})

describe('trainDpSgd', () => {
  it('without noise and with C huge, takes the same step as plain SGD on the same batch', async () => {
    // Prepare: q = 1 (batchSize >= rows): every row in the one batch, expected batch = rows
    const data = rows(40, 5, 4)
    const global = initialWeights(MLP, 5, 6)
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 0.3, batchSize: 40, localSteps: 1 }
    // Execute
    const dp = await trainDpSgd({ model: MLP, training, global, data, seed: 1, dpSgd: { noiseMultiplier: 0, clipNorm: 1e9 } })
    const plain = await trainLocal({ model: MLP, training, global, data, seed: 1 })
    // Assert
    expect(dp.samplingRate).toBe(1)
    expect(dp.clippedExamples).toBe(0)
    dp.weights.tensors.forEach((t, i) => t.values.forEach((v, j) => expect(Math.abs(v - plain.weights.tensors[i]!.values[j]!)).toBeLessThan(1e-6)))
    expect(dp.weights).not.toEqual(global)
  })

  it('adds noise of standard deviation σ·C / expected batch per coordinate', async () => {
    // Prepare: C tiny, so the clipped data part (<= rows·C / batch) is negligible beside the noise σ·C / batch = 1/8
    const data = rows(64, 20, 5)
    const global = initialWeights(MLP, 20, 7)
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 1, batchSize: 8, localSteps: 1 }
    const clipNorm = 1e-4
    const noiseMultiplier = 1e4
    // Execute
    const result = await trainDpSgd({ model: MLP, training, global, data, seed: 3, dpSgd: { noiseMultiplier, clipNorm } })
    // Assert: the step is −lr · noise / 8; sample mean ~0 and standard deviation 1/8 within 15 % over 157 coordinates
    const steps = result.weights.tensors.flatMap((t, i) => Array.from(t.values, (v, j) => v - global.tensors[i]!.values[j]!))
    const mean = steps.reduce((a, b) => a + b, 0) / steps.length
    const std = Math.sqrt(steps.reduce((a, b) => a + (b - mean) ** 2, 0) / (steps.length - 1))
    expect(steps.length).toBe(20 * 6 + 6 + 6 * 4 + 4 + 4 + 1)
    expect(Math.abs(mean)).toBeLessThan(4 * (1 / 8 / Math.sqrt(steps.length)))
    expect(std).toBeGreaterThan((1 / 8) * 0.85)
    expect(std).toBeLessThan((1 / 8) * 1.15)
  })

  it('draws the noise from the source it is given, once per step, one value per parameter', async () => {
    // Prepare
    const data = rows(30, 3, 6)
    const global = initialWeights(RELU, 3, 8)
    const asked: number[] = []
    const normals = (count: number): Float64Array => {
      asked.push(count)
      return standardNormals(new Uint8Array(32).fill(asked.length), count)
    }
    const training: TrainingSpec = { optimizer: 'adam', learningRate: 0.01, batchSize: 6, localSteps: 5 }
    // Execute
    const a = await trainDpSgd({ model: RELU, training, global, data, seed: 9, dpSgd: { noiseMultiplier: 1.1, clipNorm: 1 }, normals })
    asked.length = 0
    const b = await trainDpSgd({ model: RELU, training, global, data, seed: 9, dpSgd: { noiseMultiplier: 1.1, clipNorm: 1 }, normals })
    // Assert: same seed and same noise give the same weights (batches follow the round's seed)
    expect(asked).toEqual([26, 26, 26, 26, 26])
    expect(a.weights).toEqual(b.weights)
    expect(a.samplingRate).toBeCloseTo(0.2, 12)
  })

  it('refuses a clip norm that is not positive', async () => {
    // Prepare
    const data = rows(10, 3, 1)
    const global = initialWeights(RELU, 3, 1)
    // Execute
    const run = trainDpSgd({ model: RELU, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 2, localSteps: 1 }, global, data, seed: 1, dpSgd: { noiseMultiplier: 1, clipNorm: 0 } })
    // Assert
    await expect(run).rejects.toThrow(InvalidModelInputError)
  })
})
