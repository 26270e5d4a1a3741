import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BackendUnavailableError,
  InvalidModelInputError,
  ModelShapeMismatchError,
  TF_BACKEND_ENV,
  backendName,
  buildModel,
  disposeModel,
  evaluateModel,
  getModelWeights,
  hashWeights,
  initBackend,
  initialWeights,
  mulberry32,
  predictProbabilities,
  setModelWeights,
  toHex,
  trainLocal,
  type Dataset,
  type ModelSpec,
  type TrainingSpec,
  type Weights,
} from '../../../models/index.ts'

/** Two Gaussian-ish clouds split by the line x0 + 2·x1 = 0.5, labels exact (separable). */
function separable(count: number, seed: number): Dataset {
  const random = mulberry32(seed)
  const features = new Float32Array(count * 2)
  const labels = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    const x0 = 4 * random() - 2
    const x1 = 4 * random() - 2
    features[2 * i] = x0
    features[2 * i + 1] = x1
    labels[i] = x0 + 2 * x1 > 0.5 ? 1 : 0
  }
  return { features, labels, count, width: 2 }
}

const LOGREG: ModelSpec = { kind: 'logreg' }
const MLP: ModelSpec = { kind: 'mlp', hidden: [8], activation: 'tanh' }
const SGD: TrainingSpec = { optimizer: 'sgd', learningRate: 0.5, batchSize: 8, localSteps: 60 }
const ADAM: TrainingSpec = { optimizer: 'adam', learningRate: 0.05, batchSize: 4, localSteps: 25 }

beforeAll(async () => {
  await initBackend()
})

describe('tf-model', () => {
  it('round-trips canonical weights through the TF.js variables', () => {
    // Prepare
    const weights = initialWeights(MLP, 5, 3)
    const model = buildModel(MLP, 5)
    // Execute
    setModelWeights(model, weights)
    const back = getModelWeights(model)
    disposeModel(model)
    // Assert
    expect(back).toEqual(weights)
  })

  it('refuses weights of another layout', () => {
    // Prepare
    const model = buildModel(LOGREG, 3)
    const weights = initialWeights(LOGREG, 4, 0)
    // Execute
    const run = (): void => setModelWeights(model, weights)
    // Assert
    expect(run).toThrow(ModelShapeMismatchError)
    disposeModel(model)
  })
})

describe('trainLocal', () => {
  it('lowers the loss and raises the accuracy on separable data', async () => {
    // Prepare
    const data = separable(200, 1)
    const global = initialWeights(LOGREG, 2, 5)
    const before = await evaluateModel(LOGREG, global, data)
    // Execute
    const result = await trainLocal({ model: LOGREG, training: SGD, global, data, seed: 7 })
    const after = await evaluateModel(LOGREG, result.weights, data)
    // Assert
    expect(after.loss).toBeLessThan(before.loss / 2)
    expect(after.accuracy).toBeGreaterThanOrEqual(0.95)
    expect(after.accuracy).toBeGreaterThan(before.accuracy)
    expect(result.steps).toBe(60)
    expect(result.examples).toBe(200)
    expect(result.trainLoss).toBeGreaterThan(after.loss)
    expect(result.durationMs).toBeGreaterThan(0)
  })

  it('trains an MLP with Adam, cycling epochs with a partial last batch', async () => {
    // Prepare: 10 rows in batches of 4 → 4, 4, 2 per epoch; 25 steps span 9 epochs.
    const data = separable(10, 2)
    const global = initialWeights(MLP, 2, 1)
    const progress: number[] = []
    // Execute
    const result = await trainLocal({
      model: MLP,
      training: ADAM,
      global,
      data,
      seed: 3,
      onProgress: (step, total) => progress.push(step / total),
    })
    // Assert
    expect(progress).toHaveLength(25)
    expect(progress.at(-1)).toBe(1)
    expect(Number.isFinite(result.trainLoss)).toBe(true)
    expect(toHex(hashWeights(result.weights))).not.toBe(toHex(hashWeights(global)))
  })

  it('is reproducible for a seed on one backend, and the seed changes the batch order', async () => {
    // Prepare
    const data = separable(50, 3)
    const global = initialWeights(LOGREG, 2, 5)
    const init = { model: LOGREG, training: { ...SGD, localSteps: 10 }, global, data }
    // Execute
    const a = await trainLocal({ ...init, seed: 1 })
    const b = await trainLocal({ ...init, seed: 1 })
    const c = await trainLocal({ ...init, seed: 2 })
    // Assert
    expect(a.weights).toEqual(b.weights)
    expect(a.trainLoss).toBe(b.trainLoss)
    expect(c.weights).not.toEqual(a.weights)
  })

  it('frees every tensor it creates', async () => {
    // Prepare
    const data = separable(30, 4)
    await trainLocal({ model: MLP, training: ADAM, global: initialWeights(MLP, 2, 0), data, seed: 0 })
    const before = tf.memory().numTensors
    // Execute
    await trainLocal({ model: MLP, training: ADAM, global: initialWeights(MLP, 2, 0), data, seed: 1 })
    await trainLocal({ model: LOGREG, training: SGD, global: initialWeights(LOGREG, 2, 0), data, seed: 2 })
    await evaluateModel(MLP, initialWeights(MLP, 2, 0), data)
    // Assert
    expect(tf.memory().numTensors).toBe(before)
  })

  it('frees its tensors when it fails, and refuses a global of another layout', async () => {
    // Prepare
    const data = separable(30, 4)
    const before = tf.memory().numTensors
    // Execute
    const run = trainLocal({ model: LOGREG, training: SGD, global: initialWeights(LOGREG, 3, 0), data, seed: 0 })
    // Assert
    await expect(run).rejects.toThrow(ModelShapeMismatchError)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses an inconsistent dataset', async () => {
    // Prepare
    const data: Dataset = { ...separable(10, 4), labels: new Float32Array(9) }
    // Execute
    const run = trainLocal({ model: LOGREG, training: SGD, global: initialWeights(LOGREG, 2, 0), data, seed: 0 })
    // Assert
    await expect(run).rejects.toThrow(InvalidModelInputError)
  })
})

describe('evaluateModel', () => {
  it('agrees with a hand computation of the logistic regression', async () => {
    // Prepare: p = σ(w·x + b) with w = [1.5, −0.5], b = 0.25, in float64.
    const weights: Weights = {
      tensors: [
        { name: 'output/kernel', shape: [2, 1], values: Float32Array.of(1.5, -0.5) },
        { name: 'output/bias', shape: [1], values: Float32Array.of(0.25) },
      ],
    }
    const data: Dataset = {
      features: Float32Array.of(1, 0, 0, 1, -1, -1, 2, 3, -2, 1),
      labels: Float32Array.of(1, 0, 0, 1, 0),
      count: 5,
      width: 2,
    }
    const want = [0, 1, 2, 3, 4].map((i) => {
      const logit = 1.5 * data.features[2 * i]! - 0.5 * data.features[2 * i + 1]! + 0.25
      return 1 / (1 + Math.exp(-logit))
    })
    // p = [0.852, 0.438, 0.269, 0.818, 0.043]; labels [1, 0, 0, 1, 0]: all correct.
    const wantLoss = -want.reduce((s, p, i) => s + (data.labels[i] === 1 ? Math.log(p) : Math.log(1 - p)), 0) / 5
    // Execute
    const probs = await predictProbabilities(LOGREG, weights, data)
    const result = await evaluateModel(LOGREG, weights, data)
    // Assert
    probs.forEach((p, i) => expect(p).toBeCloseTo(want[i]!, 6))
    expect(result.loss).toBeCloseTo(wantLoss, 6)
    expect(result.accuracy).toBe(1)
    expect(result.auc).toBe(1)
    expect(result.examples).toBe(5)
  })
})

describe('initBackend', () => {
  it('is idempotent and reports the active backend', async () => {
    // Prepare
    const first = await initBackend()
    // Execute
    const again = await initBackend('auto')
    // Assert
    expect(again).toBe(first)
    expect(backendName()).toBe(first)
    expect(['tensorflow', 'wasm', 'cpu']).toContain(first)
  })

  it('lets FEDLINEAGE_TF_BACKEND override the argument, refusing unknown names', async () => {
    // Prepare
    const saved = process.env[TF_BACKEND_ENV]
    process.env[TF_BACKEND_ENV] = 'gpu-please'
    // Execute
    const run = initBackend('cpu')
    // Assert
    try {
      await expect(run).rejects.toThrow(BackendUnavailableError)
    } finally {
      if (saved === undefined) delete process.env[TF_BACKEND_ENV]
      else process.env[TF_BACKEND_ENV] = saved
    }
  })
})
