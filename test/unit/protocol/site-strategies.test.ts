import { describe, expect, it } from 'vitest'
import { StudySpecSchema, StrategySpecSchema, type TrainingSpec, type Weights } from '../../../models/core/index.ts'
import { applyInstructions, createStrategy, cyclicSite } from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY } from '../../helpers/audit.ts'

const TRAINING: TrainingSpec = { optimizer: 'sgd', learningRate: 0.001, batchSize: 4, localSteps: 100 }
const vector = (values: number[]): Weights => ({ tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] })

describe('createStrategy("fedprox")', () => {
  it('tells every site the study settings and μ, and aggregates as FedAvg', () => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'fedprox', proximalMu: 0.01 }))
    // Execute
    const plan = strategy.configureRound({ round: 1, siteIds: ['b', 'a'], training: TRAINING, state: null, seed: 0 })
    const outcome = strategy.aggregateRound({
      round: 1,
      global: vector([1, 1]),
      replies: [
        { siteId: 'b', exampleCount: 3, delta: vector([-1, 4]) },
        { siteId: 'a', exampleCount: 1, delta: vector([3, 0]) },
      ],
      failures: [],
      state: null,
      seed: 0,
    })
    // Assert: (1·[3,0] + 3·[-1,4]) / 4 = [0, 3], added to [1, 1].
    const instructions = { optimizer: 'sgd', learningRate: 0.001, batchSize: 4, localSteps: 100, proximalMu: 0.01 }
    expect(plan.sites).toEqual([
      { siteId: 'a', instructions },
      { siteId: 'b', instructions },
    ])
    expect(strategy.parameters).toEqual({ proximalMu: 0.01, serverLearningRate: 1 })
    expect(outcome.kind === 'model' && [...outcome.weights.tensors[0]!.values]).toEqual([1, 4])
    // A site applies the instruction as its training setting.
    expect(applyInstructions(TRAINING, plan.sites[0]!.instructions)).toEqual({ ...TRAINING, proximalMu: 0.01 })
  })

  it('needs μ, and refuses a negative one', () => {
    // Execute
    const missing = StrategySpecSchema.safeParse({ name: 'fedprox' })
    const negative = StrategySpecSchema.safeParse({ name: 'fedprox', proximalMu: -0.1 })
    // Assert
    expect(missing.success).toBe(false)
    expect(negative.success).toBe(false)
  })
})

describe('cyclic', () => {
  it('visits sites in id order each cycle when deterministic', () => {
    // Prepare
    const order = { deterministicCycle: true, cycleSeed: 0 }
    // Execute
    const turns = [1, 2, 3, 4, 5, 6, 7].map((round) => cyclicSite(order, round, ['c', 'a', 'b']))
    // Assert
    expect(turns).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'])
  })

  it('draws each cycle as a permutation of every site, fixed by the seed and differing across cycles', () => {
    // Prepare
    const sites = ['s1', 's2', 's3', 's4', 's5']
    const cycle = (seed: number, c: number) => sites.map((_, i) => cyclicSite({ deterministicCycle: false, cycleSeed: seed }, c * sites.length + i + 1, sites))
    // Execute
    const cycles = [0, 1, 2, 3].map((c) => cycle(7, c))
    // Assert
    for (const c of cycles) expect([...c].sort()).toEqual(sites)
    expect(new Set(cycles.map((c) => c.join())).size).toBeGreaterThan(1)
    expect(cycle(7, 2)).toEqual(cycles[2])
    expect([0, 1, 2, 3].map((c) => cycle(8, c).join())).not.toEqual(cycles.map((c) => c.join()))
  })

  it('plans one site per round, and its model is that site’s (global + its delta)', () => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'cyclic', deterministicCycle: true }))
    // Execute
    const plans = [1, 2, 3].map((round) => strategy.configureRound({ round, siteIds: ['b', 'a'], training: TRAINING, state: null, seed: 0 }).sites.map((s) => s.siteId))
    const outcome = strategy.aggregateRound({ round: 2, global: vector([1, 2]), replies: [{ siteId: 'b', exampleCount: 40, delta: vector([0.5, -1]) }], failures: [], state: null, seed: 0 })
    const none = strategy.aggregateRound({ round: 2, global: vector([1, 2]), replies: [], failures: [{ siteId: 'b', reason: 'no-update' }], state: null, seed: 0 })
    // Assert
    expect(plans).toEqual([['a'], ['b'], ['a']])
    expect(outcome.kind === 'model' && [...outcome.weights.tensors[0]!.values]).toEqual([1.5, 1])
    expect(none.kind).toBe('none')
    expect(strategy.configureRound({ round: 1, siteIds: [], training: TRAINING, state: null, seed: 0 }).sites).toEqual([])
  })
})

describe('study spec checks for these strategies', () => {
  it('refuses a cyclic study whose minSites is not 1, naming the field', () => {
    // Execute
    const parsed = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy: { name: 'cyclic' }, minSites: 2 })
    // Assert
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['minSites'], message: expect.stringMatching(/must be 1 with strategy "cyclic"/) })
  })

  it('refuses a proximal term in the study training settings, pointing at the fedprox strategy', () => {
    // Execute
    const parsed = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, training: { ...SYNTHETIC_STUDY.training, proximalMu: 0.1 } })
    // Assert
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['training', 'proximalMu'], message: expect.stringMatching(/"fedprox"/) })
  })
})
