import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { hashWeights, initBackend, toHex, trainLocal, type Dataset, type ModelSpec, type TrainingSpec, type Weights } from '../../../models/index.ts'

const LOGREG: ModelSpec = { kind: 'logreg' }
/** One row, one feature: every step sees the same batch, so the steps can be worked out by hand. */
const ONE_ROW: Dataset = { features: Float32Array.of(2), labels: Float32Array.of(1), count: 1, width: 1 }
const START: Weights = {
  tensors: [
    { name: 'output/kernel', shape: [1, 1], values: Float32Array.of(0.5) },
    { name: 'output/bias', shape: [1], values: Float32Array.of(-0.25) },
  ],
}
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z))
const correctionOf = (w: number, b: number): Weights => ({
  tensors: [
    { name: 'output/kernel', shape: [1, 1], values: Float32Array.of(w) },
    { name: 'output/bias', shape: [1], values: Float32Array.of(b) },
  ],
})

/** SGD on logit = w·x + b with the corrected gradient g + (c − c_i), in float64: (cw, cb) is c − c_i. */
function byHand(cw: number, cb: number, lr: number, steps: number): { w: number; b: number; meanDataLoss: number } {
  const x = 2
  const y = 1
  let w = 0.5
  let b = -0.25
  let lossSum = 0
  for (let step = 0; step < steps; step++) {
    const p = sigmoid(w * x + b)
    lossSum += -(y * Math.log(p) + (1 - y) * Math.log(1 - p))
    w -= lr * ((p - y) * x + cw)
    b -= lr * (p - y + cb)
  }
  return { w, b, meanDataLoss: lossSum / steps }
}

beforeAll(async () => {
  await initBackend()
})

describe('trainLocal with a SCAFFOLD correction', () => {
  it('steps along g − c_i + c, as worked out by hand, and reports the data loss alone', async () => {
    // Prepare: a correction large against the data gradient, so it is far above float32 noise.
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 0.5, batchSize: 1, localSteps: 3 }
    const expected = byHand(0.4, -0.3, 0.5, 3)
    const plain = byHand(0, 0, 0.5, 3)
    // Execute
    const result = await trainLocal({ model: LOGREG, training, global: START, data: ONE_ROW, seed: 1, correction: correctionOf(0.4, -0.3) })
    // Assert
    const [kernel, bias] = result.weights.tensors
    expect(kernel!.values[0]).toBeCloseTo(expected.w, 5)
    expect(bias!.values[0]).toBeCloseTo(expected.b, 5)
    expect(Math.abs(expected.w - plain.w)).toBeGreaterThan(0.1)
    expect(result.trainLoss).toBeCloseTo(expected.meanDataLoss, 5)
  })

  it('with a zero correction gives the very bits of training without one, and frees every tensor', async () => {
    // Prepare
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 0.1, batchSize: 1, localSteps: 5 }
    const before = tf.memory().numTensors
    // Execute
    const without = await trainLocal({ model: LOGREG, training, global: START, data: ONE_ROW, seed: 7 })
    const zero = await trainLocal({ model: LOGREG, training, global: START, data: ONE_ROW, seed: 7, correction: correctionOf(0, 0) })
    // Assert
    expect(toHex(hashWeights(zero.weights))).toBe(toHex(hashWeights(without.weights)))
    expect(zero.trainLoss).toBe(without.trainLoss)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses a correction of another layout', async () => {
    const training: TrainingSpec = { optimizer: 'sgd', learningRate: 0.1, batchSize: 1, localSteps: 1 }
    const wrong: Weights = { tensors: [{ name: 'output/kernel', shape: [1, 1], values: Float32Array.of(0) }] }
    await expect(trainLocal({ model: LOGREG, training, global: START, data: ONE_ROW, seed: 1, correction: wrong })).rejects.toMatchObject({ code: 'MODEL_SHAPE_MISMATCH' })
  })
})
