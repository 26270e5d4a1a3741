import { describe, expect, it } from 'vitest'
import { InvalidModelInputError, assertDataset, type Dataset } from '../../../models/core/index.ts'

function dataset(overrides: Partial<Dataset> = {}): Dataset {
  return { features: Float32Array.of(1, 2, 3, 4, 5, 6), labels: Float32Array.of(0, 1, 1), count: 3, width: 2, ...overrides }
}

describe('assertDataset', () => {
  it('accepts a consistent dataset', () => {
    // Prepare
    const data = dataset()
    // Execute
    const run = (): void => assertDataset(data, 'training data')
    // Assert
    expect(run).not.toThrow()
  })

  it.each([
    ['no rows', { count: 0, features: new Float32Array(0), labels: new Float32Array(0) }],
    ['zero width', { width: 0 }],
    ['a short feature matrix', { features: Float32Array.of(1, 2, 3, 4, 5) }],
    ['a missing label', { labels: Float32Array.of(0, 1) }],
    ['a label of 0.5', { labels: Float32Array.of(0, 0.5, 1) }],
    ['a NaN feature', { features: Float32Array.of(1, 2, NaN, 4, 5, 6) }],
    ['an infinite feature', { features: Float32Array.of(1, 2, 3, 4, 5, -Infinity) }],
  ])('rejects %s', (_desc, overrides) => {
    // Prepare
    const data = dataset(overrides)
    // Execute
    const run = (): void => assertDataset(data, 'training data')
    // Assert
    expect(run).toThrow(InvalidModelInputError)
  })
})
