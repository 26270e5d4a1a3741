import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  InvalidModelInputError,
  ModelShapeMismatchError,
  binaryAccuracy,
  evaluateCore,
  evaluateModel,
  initBackend,
  initialWeights,
  logLoss,
  modelShapes,
  mulberry32,
  portableLogLoss,
  predictLogits,
  predictProbabilities,
  predictProbabilitiesCore,
  rocAuc,
  type Dataset,
  type ModelSpec,
  type Weights,
} from '../../../models/index.ts'

function weightsOf(model: ModelSpec, inputDim: number, values: readonly number[][]): Weights {
  return { tensors: modelShapes(model, inputDim).map((s, i) => ({ name: s.name, shape: s.shape, values: Float32Array.from(values[i]!) })) }
}

function dataset(rows: readonly number[][], labels: readonly number[]): Dataset {
  return { features: Float32Array.from(rows.flat()), labels: Float32Array.from(labels), count: rows.length, width: rows[0]!.length }
}

/** Standard-normal-ish features, labels from a noisy linear rule: both classes present. */
function randomData(count: number, width: number, seed: number): Dataset {
  const random = mulberry32(seed)
  const features = new Float32Array(count * width)
  const labels = new Float32Array(count)
  for (let r = 0; r < count; r++) {
    let s = 0
    for (let k = 0; k < width; k++) {
      const x = (random() + random() + random() - 1.5) * 2
      features[r * width + k] = x
      s += (k % 2 === 0 ? 1 : -0.5) * x
    }
    labels[r] = s + random() - 0.5 > 0 ? 1 : 0
  }
  return { features, labels, count, width }
}

/** The seeded initial model scaled up, so hidden units saturate and logits spread over several units. */
function scaled(weights: Weights, factor: number): Weights {
  return { tensors: weights.tensors.map((t) => ({ ...t, values: t.values.map((v) => v * factor) })) }
}

/** SHA-256 of the values as binary64 little-endian, whatever the host byte order. */
function sha256LittleEndian(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8)
  const view = new DataView(bytes.buffer)
  values.forEach((v, i) => view.setFloat64(8 * i, v, true))
  return createHash('sha256').update(bytes).digest('hex')
}

const RELU: ModelSpec = { kind: 'mlp', hidden: [2], activation: 'relu' }
const TANH: ModelSpec = { kind: 'mlp', hidden: [2], activation: 'tanh' }
// hidden kernel [2,2] row-major: W[0,0]=0.5 W[0,1]=-1 W[1,0]=0.25 W[1,1]=0.5; bias [0.5, -0.25]; output kernel [2,1] = [2, 3]; bias [-1].
const HAND = [[0.5, -1, 0.25, 0.5], [0.5, -0.25], [2, 3], [-1]]

describe('predictLogits', () => {
  it('computes a relu MLP by hand', () => {
    // Prepare: row [1, 2]: z = (1·0.5 + 2·0.25 + 0.5, 1·(−1) + 2·0.5 − 0.25) = (1.5, −0.25) → relu (1.5, 0) → 2·1.5 + 3·0 − 1 = 2.
    //          row [−2, 0]: z = (−1 + 0 + 0.5, 2 + 0 − 0.25) = (−0.5, 1.75) → relu (0, 1.75) → 0 + 3·1.75 − 1 = 4.25.
    const data = dataset(
      [
        [1, 2],
        [-2, 0],
      ],
      [1, 0],
    )
    // Execute
    const logits = predictLogits(RELU, weightsOf(RELU, 2, HAND), data)
    // Assert
    expect(Array.from(logits)).toEqual([2, 4.25])
  })

  it('computes a tanh MLP and a logistic regression by hand', () => {
    // Prepare: tanh, row [1, 2]: pre-activations (1.5, −0.25) as above → 2·tanh(1.5) + 3·tanh(−0.25) − 1.
    //          logreg [1, −2, 0.5] + 0.25 on [1, 1, 2]: 1 − 2 + 1 + 0.25 = 0.25.
    const tanhData = dataset([[1, 2]], [1])
    const logreg: ModelSpec = { kind: 'logreg' }
    const logregData = dataset([[1, 1, 2]], [0])
    // Execute
    const tanhLogit = predictLogits(TANH, weightsOf(TANH, 2, HAND), tanhData)[0]!
    const logregLogit = predictLogits(logreg, weightsOf(logreg, 3, [[1, -2, 0.5], [0.25]]), logregData)[0]!
    // Assert: 2·0.9051482536448664 + 3·(−0.24491866240370913) − 1 = 0.0755405200786055
    expect(tanhLogit).toBeCloseTo(2 * Math.tanh(1.5) + 3 * Math.tanh(-0.25) - 1, 15)
    expect(tanhLogit).toBeCloseTo(0.0755405200786055, 14)
    expect(logregLogit).toBe(0.25)
  })

  it('gives probabilities as the sigmoid of the logits', () => {
    // Prepare: σ(2) = 1/(1 + e^−2) = 0.8807970779778823, σ(4.25) = 0.9859363729567544.
    const data = dataset(
      [
        [1, 2],
        [-2, 0],
      ],
      [1, 0],
    )
    // Execute
    const probs = predictProbabilitiesCore(RELU, weightsOf(RELU, 2, HAND), data)
    // Assert
    expect(probs[0]).toBeCloseTo(0.8807970779778823, 15)
    expect(probs[1]).toBeCloseTo(0.9859363729567544, 15)
  })

  it('does not mutate its inputs and gives the same bits twice (rolling SHA-256 pinned)', () => {
    // Prepare
    const model: ModelSpec = { kind: 'mlp', hidden: [16, 8], activation: 'tanh' }
    const data = randomData(500, 13, 5)
    const weights = scaled(initialWeights(model, 13, 9), 3)
    const before = weights.tensors.map((t) => t.values.slice())
    const featuresBefore = data.features.slice()
    // Execute
    const a = predictLogits(model, weights, data)
    const b = predictLogits(model, weights, data)
    // Assert
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
    weights.tensors.forEach((t, i) => expect(t.values).toEqual(before[i]))
    expect(data.features).toEqual(featuresBefore)
    expect(sha256LittleEndian(a)).toBe(LOGITS_SHA256)
  })

  it('refuses weights of another layout and inconsistent data', () => {
    // Prepare
    const data = dataset([[1, 2]], [1])
    const wrong = weightsOf(RELU, 3, [[0, 0, 0, 0, 0, 0], [0, 0], [0, 0], [0]])
    const badLabels: Dataset = { ...data, labels: Float32Array.of(2) }
    // Execute / Assert
    expect(() => predictLogits(RELU, wrong, data)).toThrow(ModelShapeMismatchError)
    expect(() => predictLogits(RELU, weightsOf(RELU, 2, HAND), badLabels)).toThrow(InvalidModelInputError)
  })
})

describe('agreement with TF.js', () => {
  beforeAll(async () => {
    await initBackend()
  })

  const cases: { desc: string; model: ModelSpec; scale: number }[] = [
    { desc: 'logreg', model: { kind: 'logreg' }, scale: 2 },
    { desc: 'relu MLP 16-8', model: { kind: 'mlp', hidden: [16, 8], activation: 'relu' }, scale: 3 },
    { desc: 'tanh MLP 16', model: { kind: 'mlp', hidden: [16], activation: 'tanh' }, scale: 3 },
  ]

  it.each(cases)('$desc: probabilities within 1e-5 of predictProbabilities', async ({ model, scale }) => {
    // Prepare
    const data = randomData(300, 9, 21)
    const weights = scaled(initialWeights(model, 9, 4), scale)
    // Execute
    const ours = predictProbabilitiesCore(model, weights, data)
    const theirs = await predictProbabilities(model, weights, data)
    // Assert
    let worst = 0
    for (let i = 0; i < data.count; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!))
    expect(worst).toBeLessThan(1e-5)
  })

  it('evaluateCore matches the metrics of its probabilities and evaluateModel', async () => {
    // Prepare
    const model: ModelSpec = { kind: 'mlp', hidden: [16], activation: 'relu' }
    const data = randomData(400, 9, 22)
    const weights = scaled(initialWeights(model, 9, 6), 2)
    // Execute
    const core = evaluateCore(model, weights, data)
    const probs = predictProbabilitiesCore(model, weights, data)
    const tfjs = await evaluateModel(model, weights, data)
    // Assert
    expect(core.examples).toBe(400)
    expect(core.loss).toBeCloseTo(logLoss(probs, data.labels), 14)
    expect(core.loss).toBe(portableLogLoss(probs, data.labels))
    expect(core.accuracy).toBe(binaryAccuracy(probs, data.labels))
    expect(core.auc).toBe(rocAuc(probs, data.labels))
    expect(core.loss).toBeCloseTo(tfjs.loss, 5)
    expect(core.auc).toBeCloseTo(tfjs.auc, 5)
    expect(Math.abs(core.accuracy - tfjs.accuracy)).toBeLessThanOrEqual(1 / 400)
  })
})

describe('portableLogLoss', () => {
  it('is the clipped binary cross-entropy', () => {
    // Prepare: −(ln 0.8 + ln(1 − 0.4))/2 = 0.36698303658915; p = 0 clipped to 1e-7 → −ln(1e-7) = 16.11809565095832.
    // Execute / Assert
    expect(portableLogLoss([0.8, 0.4], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15)
    expect(portableLogLoss([0], [1])).toBeCloseTo(16.11809565095832, 12)
    expect(portableLogLoss([], [])).toBeNaN()
    expect(() => portableLogLoss([0.5], [0.5])).toThrow(InvalidModelInputError)
    expect(() => portableLogLoss([0.5, 0.1], [1])).toThrow(InvalidModelInputError)
  })
})

// Recorded on Node 20.20 x64. A different value means the forward pass changed: every logged contribution score would stop replaying.
const LOGITS_SHA256 = '48eda3b242f134a3c9e0be2c0ec1ed378ce8a7a394136cbf2eb35fd9e0a961ed'
