/**
 * The robust strategies through `createStrategy` and the study spec: Flower's
 * defaults, the minimum-site preconditions (refused at study definition,
 * naming the field; a round short of them makes no model and says why), and
 * the exclusions Krum reports.
 */
import { describe, expect, it } from 'vitest'
import { StrategySpecSchema, StudySpecSchema, type Weights, type WeightedUpdate } from '../../../models/core/index.ts'
import { createStrategy } from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY } from '../../helpers/audit.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

const SQUARE: WeightedUpdate[] = Object.entries({ 'a-clinic': [0, 0], 'Z-clinic': [1, 0], 'b-clinic': [0, 1], 'c-clinic': [1, 1], 'e-attacker': [10, 10] }).map(([siteId, d]) => ({
  siteId,
  delta: vector(d),
  exampleCount: 10,
}))

describe('createStrategy for the robust strategies', () => {
  it.each([
    { spec: { name: 'fedmedian' }, parameters: {} },
    { spec: { name: 'fedtrimmedavg' }, parameters: { beta: 0.2 } },
    { spec: { name: 'krum' }, parameters: { numMaliciousClients: 0, numClientsToKeep: 0 } },
    { spec: { name: 'bulyan' }, parameters: { numMaliciousClients: 0 } },
  ])('$spec.name takes Flower defaults $parameters', ({ spec, parameters }) => {
    // Prepare / Execute
    const strategy = createStrategy(StrategySpecSchema.parse(spec))
    // Assert
    expect(strategy.name).toBe(spec.name)
    expect(strategy.parameters).toEqual(parameters)
  })

  it('krum reports every site it leaves out with score, rank, f and the number kept', () => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'krum', numMaliciousClients: 1 }))
    // Execute
    const out = strategy.aggregateRound({ round: 1, global: vector([0, 0]), replies: SQUARE, failures: [], state: null, seed: 0 })
    // Assert
    expect(out.kind).toBe('model')
    if (out.kind !== 'model') return
    expect(Array.from(out.weights.tensors[0]!.values)).toEqual([1, 0])
    expect(out.exclusions).toEqual([
      { siteId: 'a-clinic', reason: 'krum-score', evidence: { score: 2, rank: 2, numMaliciousClients: 1, kept: 1 } },
      { siteId: 'b-clinic', reason: 'krum-score', evidence: { score: 2, rank: 3, numMaliciousClients: 1, kept: 1 } },
      { siteId: 'c-clinic', reason: 'krum-score', evidence: { score: 2, rank: 4, numMaliciousClients: 1, kept: 1 } },
      { siteId: 'e-attacker', reason: 'krum-score', evidence: { score: 343, rank: 5, numMaliciousClients: 1, kept: 1 } },
    ])
    expect(out.metrics).toMatchObject({ sites: 5, kept: 1 })
  })

  it.each([
    { spec: { name: 'krum', numMaliciousClients: 1 }, replies: 4, reason: /^krum: Krum with 1 malicious sites needs at least 5 updates/ },
    { spec: { name: 'bulyan', numMaliciousClients: 1 }, replies: 5, reason: /^bulyan: Bulyan with 1 malicious sites needs at least 7 updates/ },
  ])('$spec.name short of its minimum makes no model and says why', ({ spec, replies, reason }) => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse(spec))
    // Execute
    const out = strategy.aggregateRound({ round: 1, global: vector([0, 0]), replies: SQUARE.slice(0, replies), failures: [], state: null, seed: 0 })
    // Assert
    expect(out).toEqual({ kind: 'none', reason: expect.stringMatching(reason) })
  })
})

describe('the study spec refuses a robust strategy its minSites cannot satisfy', () => {
  it.each([
    { strategy: { name: 'krum', numMaliciousClients: 1 }, minSites: 4, path: 'strategy.numMaliciousClients', message: /needs at least 5 updates a round .* minSites is 4: raise minSites to 5/ },
    { strategy: { name: 'krum', numMaliciousClients: 1, numClientsToKeep: 6 }, minSites: 5, path: 'strategy.numClientsToKeep', message: /needs at least 7 updates/ },
    { strategy: { name: 'bulyan', numMaliciousClients: 2 }, minSites: 10, path: 'strategy.numMaliciousClients', message: /needs at least 11 updates a round \(n ≥ 4f \+ 3\)/ },
    { strategy: { name: 'fedtrimmedavg', beta: 0.5 }, minSites: 3, path: 'strategy.beta', message: /below 0.5/ },
  ])('$strategy.name at minSites $minSites: $path', ({ strategy, minSites, path, message }) => {
    // Prepare / Execute
    const parsed = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy, minSites })
    // Assert
    expect(parsed.success).toBe(false)
    const issue = parsed.error!.issues[0]!
    expect(issue.path.join('.')).toBe(path)
    expect(issue.message).toMatch(message)
  })

  it('accepts minSites at the minimum exactly', () => {
    // Prepare / Execute / Assert
    expect(StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy: { name: 'krum', numMaliciousClients: 1 }, minSites: 5 }).success).toBe(true)
    expect(StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy: { name: 'bulyan', numMaliciousClients: 1 }, minSites: 7 }).success).toBe(true)
  })
})
