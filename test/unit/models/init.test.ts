import { describe, expect, it } from 'vitest'
import { InvalidModelInputError, hashWeights, initialWeights, modelShapes, mulberry32, toHex, type ModelSpec } from '../../../models/core/index.ts'

const MLP: ModelSpec = { kind: 'mlp', hidden: [32, 8], activation: 'relu' }

describe('initialWeights', () => {
  it('has the canonical layout of the spec', () => {
    // Prepare
    const shapes = modelShapes(MLP, 13)
    // Execute
    const weights = initialWeights(MLP, 13, 0)
    // Assert
    expect(weights.tensors.map((t) => ({ name: t.name, shape: t.shape }))).toEqual(shapes)
  })

  it('is deterministic per seed and differs across seeds', () => {
    // Prepare
    const seeds = [0, 1, 2, 1234567]
    // Execute
    const first = seeds.map((s) => toHex(hashWeights(initialWeights(MLP, 13, s))))
    const again = seeds.map((s) => toHex(hashWeights(initialWeights(MLP, 13, s))))
    // Assert
    expect(again).toEqual(first)
    expect(new Set(first).size).toBe(seeds.length)
  })

  it('draws kernel and bias from U(−1/√fanIn, 1/√fanIn), filling the range', () => {
    // Prepare
    const weights = initialWeights(MLP, 13, 9)
    const fanIns: Record<string, number> = {
      'hidden_0/kernel': 13,
      'hidden_0/bias': 13,
      'hidden_1/kernel': 32,
      'hidden_1/bias': 32,
      'output/kernel': 8,
      'output/bias': 8,
    }
    // Execute
    const ranges = weights.tensors.map((t) => ({
      bound: Math.fround(1 / Math.sqrt(fanIns[t.name]!)),
      min: Math.min(...t.values),
      max: Math.max(...t.values),
    }))
    // Assert
    for (const r of ranges) {
      expect(r.max).toBeLessThanOrEqual(r.bound)
      expect(r.min).toBeGreaterThanOrEqual(-r.bound)
    }
    // The 13 x 32 kernel has enough draws to come near both ends.
    expect(ranges[0]!.max).toBeGreaterThan(0.9 * ranges[0]!.bound)
    expect(ranges[0]!.min).toBeLessThan(-0.9 * ranges[0]!.bound)
  })

  it('follows the documented draw order: one stream, tensor by tensor, row-major', () => {
    // Prepare
    const random = mulberry32(21)
    const shapes = modelShapes({ kind: 'logreg' }, 3)
    const bound = 1 / Math.sqrt(3)
    const want = shapes.map((s) => Array.from({ length: s.shape[0]! * (s.shape[1] ?? 1) }, () => Math.fround(bound * (2 * random() - 1))))
    // Execute
    const weights = initialWeights({ kind: 'logreg' }, 3, 21)
    // Assert
    expect(weights.tensors.map((t) => Array.from(t.values))).toEqual(want)
  })

  it.each([0, -1, 2.5, NaN])('refuses input width %s', (width) => {
    // Prepare
    const spec: ModelSpec = { kind: 'logreg' }
    // Execute
    const run = (): unknown => initialWeights(spec, width, 0)
    // Assert
    expect(run).toThrow(InvalidModelInputError)
  })
})
