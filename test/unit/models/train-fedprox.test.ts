import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { hashWeights, initBackend, toHex, trainLocal, type Dataset, type ModelSpec, type TrainingSpec, type Weights } from '../../../models/index.ts'

const LOGREG: ModelSpec = { kind: 'logreg' }
/** One row, one feature: every step sees the same batch, so two steps can be worked out by hand. */
const ONE_ROW: Dataset = { features: Float32Array.of(2), labels: Float32Array.of(1), count: 1, width: 1 }
const START: Weights = {
  tensors: [
    { name: 'output/kernel', shape: [1, 1], values: Float32Array.of(0.5) },
    { name: 'output/bias', shape: [1], values: Float32Array.of(-0.25) },
  ],
}
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z))

/**
 * Two SGD steps on logit = w·x + b with loss BCE + (μ/2)((w − w0)² + (b − b0)²), in float64:
 * step 1 starts at (w0, b0), where the proximal gradient is zero; step 2 adds μ(w1 − w0), μ(b1 − b0).
 */
function byHand(mu: number, lr: number): { w: number; b: number; meanDataLoss: number } {
  const x = 2
  const y = 1
  let w = 0.5
  let b = -0.25
  let lossSum = 0
  for (let step = 0; step < 2; step++) {
    const p = sigmoid(w * x + b)
    lossSum += -(y * Math.log(p) + (1 - y) * Math.log(1 - p))
    const gw = (p - y) * x + mu * (w - 0.5)
    const gb = p - y + mu * (b + 0.25)
    w -= lr * gw
    b -= lr * gb
  }
  return { w, b, meanDataLoss: lossSum / 2 }
}

beforeAll(async () => {
  await initBackend()
})

describe('trainLocal with a FedProx proximal term', () => {
  it('adds μ(w − w_global) to each step after the first, as worked out by hand', async () => {
    // Prepare: a large μ and step, so the proximal pull is far above float32 noise.
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 0.5, batchSize: 1, localSteps: 2, proximalMu: 3 }
    const expected = byHand(3, 0.5)
    const plain = byHand(0, 0.5)
    // Execute
    const result = await trainLocal({ model: LOGREG, training, global: START, data: ONE_ROW, seed: 1 })
    // Assert: the hand values, which differ from plain SGD's by more than the tolerance.
    const [kernel, bias] = result.weights.tensors
    expect(kernel!.values[0]).toBeCloseTo(expected.w, 5)
    expect(bias!.values[0]).toBeCloseTo(expected.b, 5)
    expect(Math.abs(expected.w - plain.w)).toBeGreaterThan(1e-2)
    // The reported loss is the data loss alone, comparable with FedAvg's.
    expect(result.trainLoss).toBeCloseTo(expected.meanDataLoss, 5)
  })

  it('with μ = 0 gives the very bits of training without the term', async () => {
    // Prepare
    const base: TrainingSpec = { optimizer: 'adam', learningRate: 0.1, batchSize: 1, localSteps: 5 }
    // Execute
    const without = await trainLocal({ model: LOGREG, training: base, global: START, data: ONE_ROW, seed: 7 })
    const zero = await trainLocal({ model: LOGREG, training: { ...base, proximalMu: 0 }, global: START, data: ONE_ROW, seed: 7 })
    // Assert
    expect(toHex(hashWeights(zero.weights))).toBe(toHex(hashWeights(without.weights)))
    expect(zero.trainLoss).toBe(without.trainLoss)
  })

  it('keeps the weights nearer the global model as μ grows, and frees every tensor', async () => {
    // Prepare
    const training = (proximalMu: number): TrainingSpec => ({ optimizer: 'sgd', learningRate: 0.1, batchSize: 1, localSteps: 40, proximalMu })
    const distance = (w: Weights): number => Math.hypot(w.tensors[0]!.values[0]! - 0.5, w.tensors[1]!.values[0]! + 0.25)
    const before = tf.memory().numTensors
    // Execute
    const loose = await trainLocal({ model: LOGREG, training: training(0), global: START, data: ONE_ROW, seed: 1 })
    const tight = await trainLocal({ model: LOGREG, training: training(5), global: START, data: ONE_ROW, seed: 1 })
    // Assert
    expect(distance(tight.weights)).toBeLessThan(distance(loose.weights) / 2)
    expect(tf.memory().numTensors).toBe(before)
  })
})
