import { describe, expect, it } from 'vitest'
import {
  ModelShapeMismatchError,
  NonFiniteValueError,
  applyDelta,
  assertFinite,
  assertShapes,
  computeDelta,
  initialWeights,
  l2Norm,
  modelShapes,
  mulberry32,
  type ModelSpec,
  type Weights,
} from '../../../models/core/index.ts'

const SPEC: ModelSpec = { kind: 'mlp', hidden: [6], activation: 'relu' }
const SHAPES = modelShapes(SPEC, 4)

function weightsOf(values: number[][]): Weights {
  return {
    tensors: SHAPES.map((s, i) => ({ name: s.name, shape: s.shape, values: Float32Array.from(values[i]!) })),
  }
}

function copyOf(w: Weights): Weights {
  return { tensors: w.tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() })) }
}

describe('computeDelta / applyDelta', () => {
  it('round-trips exactly when local and global are within a factor of two (Sterbenz)', () => {
    // Prepare
    const global = initialWeights(SPEC, 4, 1)
    const random = mulberry32(9)
    const local: Weights = {
      tensors: global.tensors.map((t) => ({
        ...t,
        values: t.values.map((v) => v * (1 + 0.9 * random())),
      })),
    }
    // Execute
    const delta = computeDelta(local, global)
    const back = applyDelta(global, delta)
    // Assert
    expect(back).toEqual(local)
  })

  it('computes one float32 rounding of the float64 difference', () => {
    // Prepare: 1 − 2^-30 is not a float32; the difference rounds once.
    const global: Weights = { tensors: [{ name: 'a', shape: [2], values: Float32Array.of(2 ** -30, 3) }] }
    const local: Weights = { tensors: [{ name: 'a', shape: [2], values: Float32Array.of(1, 0.1) }] }
    // Execute
    const delta = computeDelta(local, global)
    // Assert
    expect(Array.from(delta.tensors[0]!.values)).toEqual([Math.fround(1 - 2 ** -30), Math.fround(Math.fround(0.1) - 3)])
  })

  it('is within one float32 rounding in general and never mutates its arguments', () => {
    // Prepare
    const global = initialWeights(SPEC, 4, 1)
    const local = initialWeights(SPEC, 4, 2)
    const globalCopy = copyOf(global)
    const localCopy = copyOf(local)
    // Execute
    const back = applyDelta(global, computeDelta(local, global))
    // Assert
    back.tensors.forEach((t, i) => {
      const want = local.tensors[i]!.values
      t.values.forEach((v, j) => expect(Math.abs(v - want[j]!)).toBeLessThanOrEqual(2 ** -23))
    })
    expect(global).toEqual(globalCopy)
    expect(local).toEqual(localCopy)
  })

  it('scales the delta: global + scale * delta', () => {
    // Prepare
    const global = weightsOf([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [2]])
    const delta = weightsOf([Array(24).fill(4), Array(6).fill(-2), Array(6).fill(1), [8]])
    // Execute
    const next = applyDelta(global, delta, 0.25)
    // Assert
    expect(next.tensors[0]!.values[0]).toBe(2)
    expect(next.tensors[1]!.values[5]).toBe(-0.5)
    expect(next.tensors[3]!.values[0]).toBe(4)
  })

  it('refuses weights of another layout', () => {
    // Prepare
    const global = initialWeights(SPEC, 4, 1)
    const other = initialWeights(SPEC, 5, 1)
    // Execute
    const run = (): Weights => computeDelta(other, global)
    // Assert
    expect(run).toThrow(ModelShapeMismatchError)
  })
})

describe('assertShapes', () => {
  it('accepts the expected layout', () => {
    // Prepare
    const weights = initialWeights(SPEC, 4, 1)
    // Execute
    const run = (): void => assertShapes(weights, SHAPES, 'site "a" delta')
    // Assert
    expect(run).not.toThrow()
  })

  it('names the tensor and both shapes', () => {
    // Prepare
    const weights = initialWeights({ kind: 'logreg' }, 13, 1)
    // Execute
    let caught: ModelShapeMismatchError | undefined
    try {
      assertShapes(weights, modelShapes({ kind: 'logreg' }, 12), 'site "eu-3" delta')
    } catch (error) {
      caught = error as ModelShapeMismatchError
    }
    // Assert
    expect(caught).toBeInstanceOf(ModelShapeMismatchError)
    expect(caught?.tensor).toBe('output/kernel')
    expect(caught?.expected?.shape).toEqual([12, 1])
    expect(caught?.actual?.shape).toEqual([13, 1])
  })

  it('refuses a values array that does not fit its own shape', () => {
    // Prepare
    const weights: Weights = { tensors: [{ name: 'output/bias', shape: [1], values: new Float32Array(2) }] }
    // Execute
    const run = (): void => assertShapes(weights, [{ name: 'output/bias', shape: [1] }], 'delta')
    // Assert
    expect(run).toThrow(ModelShapeMismatchError)
  })
})

describe('assertFinite', () => {
  it.each([
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('catches %s with its tensor and flat index', (_desc, bad) => {
    // Prepare
    const weights = initialWeights(SPEC, 4, 1)
    weights.tensors[2]!.values[4] = bad
    // Execute
    let caught: NonFiniteValueError | undefined
    try {
      assertFinite(weights, 'site "a" delta')
    } catch (error) {
      caught = error as NonFiniteValueError
    }
    // Assert
    expect(caught).toBeInstanceOf(NonFiniteValueError)
    expect(caught?.code).toBe('MODEL_NON_FINITE')
    expect(caught?.tensor).toBe('output/kernel')
    expect(caught?.index).toBe(4)
    expect(caught?.value).toBe(bad)
  })

  it('accepts finite extremes', () => {
    // Prepare
    const weights: Weights = {
      tensors: [{ name: 'a', shape: [4], values: Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, -0, 1e-45) }],
    }
    // Execute
    const run = (): void => assertFinite(weights, '')
    // Assert
    expect(run).not.toThrow()
  })
})

describe('l2Norm', () => {
  it('is the Euclidean norm over all tensors', () => {
    // Prepare
    const weights: Weights = {
      tensors: [
        { name: 'a', shape: [1], values: Float32Array.of(3) },
        { name: 'b', shape: [2], values: Float32Array.of(0, -4) },
      ],
    }
    // Execute
    const norm = l2Norm(weights)
    // Assert
    expect(norm).toBe(5)
  })
})
