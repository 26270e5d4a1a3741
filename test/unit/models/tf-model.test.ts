import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel, disposeModel, encodeWeights, getModelWeights, initBackend, initialWeights, ModelShapeMismatchError, trainLocal, type ModelSpec } from '../../../models/index.ts'

const SPEC: ModelSpec = { kind: 'mlp', hidden: [64, 48], activation: 'relu' }
const INPUTS = 13

beforeAll(async () => {
  await initBackend()
})

describe('buildModel from starting weights', () => {
  it('starts every variable at the given weights, bit for bit', () => {
    // Prepare
    const weights = initialWeights(SPEC, INPUTS, 5)
    // Execute
    const model = buildModel(SPEC, INPUTS, weights)
    try {
      // Assert
      expect(Buffer.from(encodeWeights(getModelWeights(model))).equals(Buffer.from(encodeWeights(weights)))).toBe(true)
    } finally {
      disposeModel(model)
    }
  })

  it('allocates each tensor once: the backend never holds more than the model while building', async () => {
    // Prepare
    const weights = initialWeights(SPEC, INPUTS, 6)
    const modelBytes = 4 * weights.tensors.reduce((n, t) => n + t.values.length, 0)
    // Execute
    let model: ReturnType<typeof buildModel> | undefined
    const profile = await tf.profile(() => void (model = buildModel(SPEC, INPUTS, weights)))
    disposeModel(model!)
    // Assert: zeros first and then the weights would peak at the model plus its largest tensor.
    expect(profile.peakBytes).toBeLessThanOrEqual(modelBytes)
  })

  it('reads the weights one tensor at a time from a reader that reuses its buffer', () => {
    // Prepare
    const weights = initialWeights(SPEC, INPUTS, 7)
    const scratch = new Float32Array(Math.max(...weights.tensors.map((t) => t.values.length)))
    const asked: number[] = []
    const reader = (index: number) => {
      asked.push(index)
      const values = scratch.subarray(0, weights.tensors[index]!.values.length)
      values.set(weights.tensors[index]!.values)
      return values
    }
    // Execute
    const model = buildModel(SPEC, INPUTS, reader)
    try {
      // Assert
      expect(asked).toEqual(weights.tensors.map((_, i) => i))
      expect(Buffer.from(encodeWeights(getModelWeights(model))).equals(Buffer.from(encodeWeights(weights)))).toBe(true)
    } finally {
      disposeModel(model)
    }
  })

  it('refuses weights of another layout, and a reader that returns the wrong number of values, naming the tensor', () => {
    const other = initialWeights({ kind: 'mlp', hidden: [8], activation: 'relu' }, INPUTS, 1)
    expect(() => buildModel(SPEC, INPUTS, other)).toThrow(ModelShapeMismatchError)
    expect(() => buildModel(SPEC, INPUTS, () => new Float32Array(3))).toThrow(/tensor "[^"]+" has 3 values/)
  })
})

describe('trainLocal with a tensor writer', () => {
  it('hands over, one tensor at a time and in order, exactly the weights it would return', async () => {
    // Prepare
    const data = { count: 40, width: INPUTS, features: Float32Array.from({ length: 40 * INPUTS }, (_, i) => Math.sin(i)), labels: Float32Array.from({ length: 40 }, (_, i) => i % 2) }
    const init = { model: SPEC, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 4, localSteps: 5 } as const, global: initialWeights(SPEC, INPUTS, 9), data, seed: 3 }
    const written: { index: number; values: number[] }[] = []
    // Execute
    const inMemory = await trainLocal(init)
    const streamed = await trainLocal({ ...init, into: (index, values) => void written.push({ index, values: Array.from(values) }) })
    // Assert
    expect(written.map((w) => w.index)).toEqual(inMemory.weights.tensors.map((_, i) => i))
    expect(written.map((w) => w.values)).toEqual(inMemory.weights.tensors.map((t) => Array.from(t.values)))
    expect(streamed.trainLoss).toBe(inMemory.trainLoss)
    expect('weights' in streamed).toBe(false)
  })
})
