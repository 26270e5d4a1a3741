import { describe, expect, it } from 'vitest'
import { DuplicateSiteError, InvalidModelInputError, UnknownStrategyError, fedAvg, StrategySpecSchema, type StrategySpec, type Weights, type WeightedUpdate } from '../../../models/core/index.ts'
import { createStrategy } from '../../../protocol/index.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

const UPDATES: WeightedUpdate[] = [
  { siteId: 'b', delta: vector([-1, 4]), exampleCount: 3 },
  { siteId: 'a', delta: vector([3, 0]), exampleCount: 1 },
]

describe('createStrategy("fedavg")', () => {
  it('exposes its name and resolved parameters', () => {
    // Prepare
    const spec = StrategySpecSchema.parse({ name: 'fedavg' })
    // Execute
    const strategy = createStrategy(spec)
    // Assert
    expect(strategy.name).toBe('fedavg')
    expect(strategy.parameters).toEqual({ serverLearningRate: 1 })
  })

  it('plans every site, sorted, without touching the input', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    const sites = ['c', 'a', 'b']
    // Execute
    const plan = strategy.configureRound(3, vector([0]), sites)
    // Assert
    expect(plan).toEqual({ round: 3, siteIds: ['a', 'b', 'c'] })
    expect(sites).toEqual(['c', 'a', 'b'])
  })

  it('refuses a negative or fractional round and a duplicate site', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    // Execute
    const negative = (): unknown => strategy.configureRound(-1, vector([0]), ['a'])
    const fractional = (): unknown => strategy.aggregateRound(1.5, vector([0]), [], [])
    const duplicate = (): unknown => strategy.configureRound(0, vector([0]), ['a', 'b', 'a'])
    // Assert
    expect(negative).toThrow(InvalidModelInputError)
    expect(fractional).toThrow(InvalidModelInputError)
    expect(duplicate).toThrow(DuplicateSiteError)
  })

  it('returns null when no site replied', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    // Execute
    const result = strategy.aggregateRound(0, vector([1, 2]), [], [{ siteId: 'a', reason: 'timeout' }])
    // Assert
    expect(result).toBeNull()
  })

  it('aggregates with fedAvg and the server learning rate, and reports metrics', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 0.5 })
    const global = vector([1, 2])
    // Execute
    const result = strategy.aggregateRound(0, global, UPDATES, [{ siteId: 'c', reason: 'timeout' }])
    // Assert: mean delta = [(3 − 3) / 4, 12 / 4] = [0, 3]; new = global + 0.5 · mean = [1, 3.5].
    expect(result?.weights).toEqual(fedAvg(global, UPDATES, 0.5))
    expect(Array.from(result!.weights.tensors[0]!.values)).toEqual([1, 3.5])
    expect(result?.metrics).toEqual({
      sites: 2,
      failures: 1,
      examples: 4,
      meanDeltaNorm: (3 + Math.hypot(1, 4)) / 2,
      updateNorm: 1.5,
    })
  })

  it('throws UnknownStrategyError for a name it does not implement', () => {
    // Prepare
    const spec = { name: 'fedyogi' } as unknown as StrategySpec
    // Execute
    let caught: unknown
    try {
      createStrategy(spec)
    } catch (error) {
      caught = error
    }
    // Assert
    expect(caught).toBeInstanceOf(UnknownStrategyError)
    expect((caught as UnknownStrategyError).code).toBe('MODEL_UNKNOWN_STRATEGY')
    expect((caught as UnknownStrategyError).strategy).toBe('fedyogi')
  })
})
