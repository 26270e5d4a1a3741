import { describe, expect, it } from 'vitest'
import {
  DuplicateSiteError,
  EmptyAggregationError,
  InvalidExampleCountError,
  InvalidModelInputError,
  ModelShapeMismatchError,
  NonFiniteValueError,
  fedAvg,
  hashWeights,
  initialWeights,
  modelShapes,
  mulberry32,
  shuffleIndices,
  sortBySiteId,
  toHex,
  weightedMeanDelta,
  type ModelSpec,
  type Weights,
  type WeightedUpdate,
} from '../../../models/core/index.ts'

const SPEC: ModelSpec = { kind: 'mlp', hidden: [16], activation: 'relu' }
const INPUT = 9
const SHAPES = modelShapes(SPEC, INPUT)

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

/** Deltas spanning several magnitudes so that float64 summation order matters. */
function randomDelta(seed: number): Weights {
  const random = mulberry32(seed)
  return {
    tensors: SHAPES.map((s) => ({
      name: s.name,
      shape: s.shape,
      values: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => (random() - 0.5) * 10 ** Math.floor(random() * 8 - 4)),
    })),
  }
}

function randomUpdates(count: number): WeightedUpdate[] {
  return Array.from({ length: count }, (_, i) => ({
    siteId: `site-${String.fromCharCode(97 + ((i * 7) % 26))}${i}`,
    delta: randomDelta(100 + i),
    exampleCount: 1 + ((i * 37) % 500),
  }))
}

/** The contract of aggregate.ts written as plainly as possible: one element at a time. */
function naiveFedAvg(global: Weights, updates: readonly WeightedUpdate[], lr: number): Weights {
  const sorted = [...updates].sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0))
  let total = 0
  for (const u of sorted) total += u.exampleCount
  return {
    tensors: global.tensors.map((g, t) => {
      const values = new Float32Array(g.values.length)
      for (let j = 0; j < values.length; j++) {
        let acc = 0
        for (const u of sorted) acc += u.exampleCount * u.delta.tensors[t]!.values[j]!
        values[j] = Math.fround(g.values[j]! + (lr * acc) / total)
      }
      return { name: g.name, shape: g.shape, values }
    }),
  }
}

describe('fedAvg', () => {
  it('weights deltas by example count (hand-worked, two sites)', () => {
    // Prepare: site a (n=1) moves [+1, 0], site b (n=3) moves [-1, +4].
    // acc = [1·1 + 3·(−1), 1·0 + 3·4] = [−2, 12]; N = 4; mean = [−0.5, 3].
    const global = vector([1, 2])
    const updates: WeightedUpdate[] = [
      { siteId: 'b', delta: vector([-1, 4]), exampleCount: 3 },
      { siteId: 'a', delta: vector([1, 0]), exampleCount: 1 },
    ]
    // Execute
    const plain = fedAvg(global, updates)
    const damped = fedAvg(global, updates, 0.5)
    // Assert
    expect(Array.from(plain.tensors[0]!.values)).toEqual([0.5, 5])
    expect(Array.from(damped.tensors[0]!.values)).toEqual([0.75, 3.5])
  })

  it('matches a naive float64 reference bit for bit', () => {
    // Prepare: 11 sites exercise both the 4-site passes and the remainder.
    const global = initialWeights(SPEC, INPUT, 7)
    const updates = randomUpdates(11)
    // Execute
    const fast = fedAvg(global, updates, 0.7)
    const naive = naiveFedAvg(global, updates, 0.7)
    // Assert
    expect(toHex(hashWeights(fast))).toBe(toHex(hashWeights(naive)))
    expect(fast).toEqual(naive)
  })

  it('is independent of the input order', () => {
    // Prepare
    const global = initialWeights(SPEC, INPUT, 7)
    const updates = randomUpdates(13)
    const order = shuffleIndices(updates.length, 5)
    const shuffled = Array.from(order, (i) => updates[i]!)
    // Execute
    const a = fedAvg(global, updates)
    const b = fedAvg(global, shuffled)
    // Assert
    expect(shuffled.map((u) => u.siteId)).not.toEqual(updates.map((u) => u.siteId))
    expect(toHex(hashWeights(a))).toBe(toHex(hashWeights(b)))
  })

  it('differs from arrival-order summation, which is why the order is fixed', () => {
    // Prepare: x = fround(1e16) is far above 2^53, where float64 steps by 2, so x + 3 rounds.
    const global = vector([0])
    const updates: WeightedUpdate[] = [
      { siteId: 'a', delta: vector([1e16]), exampleCount: 1 },
      { siteId: 'c', delta: vector([-1e16]), exampleCount: 1 },
      { siteId: 'b', delta: vector([3]), exampleCount: 1 },
    ]
    // Execute: sorted order a, b, c gives ((x + 3) − x) / 3 = 4 / 3 (x + 3 rounds to x + 4, ties to even);
    // arrival order a, c, b would give ((x − x) + 3) / 3 = 1.
    const result = fedAvg(global, updates)
    // Assert
    expect(result.tensors[0]!.values[0]).toBe(Math.fround(4 / 3))
  })

  it('does not mutate its arguments', () => {
    // Prepare
    const global = initialWeights(SPEC, INPUT, 7)
    const updates = Object.freeze(randomUpdates(5))
    const ids = updates.map((u) => u.siteId)
    const before = toHex(hashWeights(global))
    // Execute
    fedAvg(global, updates)
    // Assert
    expect(updates.map((u) => u.siteId)).toEqual(ids)
    expect(toHex(hashWeights(global))).toBe(before)
  })

  it('rejects an empty update list', () => {
    // Prepare
    const global = vector([1])
    // Execute
    const run = (): Weights => fedAvg(global, [])
    // Assert
    expect(run).toThrow(EmptyAggregationError)
  })

  it('rejects two updates from one site', () => {
    // Prepare
    const global = vector([1])
    const updates: WeightedUpdate[] = [
      { siteId: 'a', delta: vector([1]), exampleCount: 1 },
      { siteId: 'a', delta: vector([2]), exampleCount: 1 },
    ]
    // Execute
    const run = (): Weights => fedAvg(global, updates)
    // Assert
    expect(run).toThrow(DuplicateSiteError)
  })

  it('rejects a delta of another layout, naming the site', () => {
    // Prepare
    const global = vector([1, 2])
    const updates: WeightedUpdate[] = [{ siteId: 'eu-3', delta: vector([1, 2, 3]), exampleCount: 1 }]
    // Execute
    let caught: unknown
    try {
      fedAvg(global, updates)
    } catch (error) {
      caught = error
    }
    // Assert
    expect(caught).toBeInstanceOf(ModelShapeMismatchError)
    expect((caught as ModelShapeMismatchError).tensor).toBe('v')
  })

  it.each([0, -1, 1.5, NaN, Infinity, 2 ** 53])('rejects example count %s', (count) => {
    // Prepare
    const global = vector([1])
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta: vector([1]), exampleCount: count }]
    // Execute
    const run = (): Weights => fedAvg(global, updates)
    // Assert
    expect(run).toThrow(InvalidExampleCountError)
  })

  it('rejects a total example count past 2^53', () => {
    // Prepare
    const global = vector([1])
    const updates: WeightedUpdate[] = [
      { siteId: 'a', delta: vector([1]), exampleCount: 2 ** 52 },
      { siteId: 'b', delta: vector([1]), exampleCount: 2 ** 52 },
    ]
    // Execute
    const run = (): Weights => fedAvg(global, updates)
    // Assert
    expect(run).toThrow(InvalidExampleCountError)
  })

  it.each([0, -1, NaN, Infinity])('rejects server learning rate %s', (lr) => {
    // Prepare
    const global = vector([1])
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta: vector([1]), exampleCount: 1 }]
    // Execute
    const run = (): Weights => fedAvg(global, updates, lr)
    // Assert
    expect(run).toThrow(InvalidModelInputError)
  })

  it('refuses a non-finite result', () => {
    // Prepare
    const global = vector([1, 3e38])
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta: vector([0, 3e38]), exampleCount: 1 }]
    // Execute
    let caught: unknown
    try {
      fedAvg(global, updates)
    } catch (error) {
      caught = error
    }
    // Assert
    expect(caught).toBeInstanceOf(NonFiniteValueError)
    expect((caught as NonFiniteValueError).index).toBe(1)
  })
})

describe('weightedMeanDelta', () => {
  it('is the example-weighted mean, rounded once', () => {
    // Prepare
    const updates: WeightedUpdate[] = [
      { siteId: 'b', delta: vector([-1, 4]), exampleCount: 3 },
      { siteId: 'a', delta: vector([1, 0]), exampleCount: 1 },
    ]
    // Execute
    const mean = weightedMeanDelta([{ name: 'v', shape: [2] }], updates)
    // Assert
    expect(Array.from(mean.tensors[0]!.values)).toEqual([-0.5, 3])
  })
})

describe('sortBySiteId', () => {
  it('sorts a copy by UTF-16 code units, not locale', () => {
    // Prepare
    const input = [{ siteId: 'b' }, { siteId: 'B' }, { siteId: 'a' }, { siteId: 'é' }, { siteId: 'Z' }]
    // Execute
    const sorted = sortBySiteId(input)
    // Assert
    expect(sorted.map((s) => s.siteId)).toEqual(['B', 'Z', 'a', 'b', 'é'])
    expect(input[0]!.siteId).toBe('b')
  })
})
