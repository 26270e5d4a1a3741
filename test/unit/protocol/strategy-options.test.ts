/**
 * The strategy options and the server-optimiser strategies as the decider
 * drives them: norm bounding (clipNorm), seeded client sampling, the spec's
 * preconditions, and the plan and state a server optimiser returns.
 * Expected numbers come from `python3 -c` one-liners and
 * `python3 test/reference/site-sampling.py`, never from this code.
 */
import { describe, expect, it } from 'vitest'
import { StrategySpecSchema, StudySpecSchema, type TrainingSpec, type Weights, type WeightedUpdate } from '../../../models/core/index.ts'
import { createStrategy, needsBlobs, sampleSites, samplingSeed, step, StudyState, readLineageRecord, signStatement, type DeciderInput } from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY, SYNTHETIC_REQUEST_MAX_AGE_MS, SYNTHETIC_T0_MS } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

const TRAINING: TrainingSpec = { optimizer: 'sgd', learningRate: 0.05, batchSize: 8, localSteps: 4 }
const SITES = 'abcdefghij'.split('').map((c) => `site-${c}`)

describe('norm bounding (clipNorm)', () => {
  it('scales a delta above the bound to its norm, logs its original norm, and leaves the others untouched', () => {
    // Prepare: ‖[3,4]‖ = 5 > 2.5, so scale 0.5; ‖[0.6,0.8]‖ = 1 stays.
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'fedavg', clipNorm: 2.5 }))
    const replies: WeightedUpdate[] = [
      { siteId: 'b', exampleCount: 1, delta: vector([0.6, 0.8]) },
      { siteId: 'a', exampleCount: 1, delta: vector([3, 4]) },
    ]

    // Execute
    const out = strategy.aggregateRound({ round: 1, global: vector([0, 0]), replies, failures: [], state: null, seed: 0 })

    // Assert: python3 -c "import struct;f=lambda x:struct.unpack('<f',struct.pack('<f',x))[0];print([f((1.5+f(0.6))/2),f((2+f(0.8))/2)])"
    if (out.kind !== 'model') throw new Error('no model')
    expect([...out.weights.tensors[0]!.values]).toEqual([1.0499999523162842, 1.399999976158142])
    expect(out.clipped).toEqual([{ siteId: 'a', norm: 5, scale: 0.5 }])
    expect(out.metrics['clippedSites']).toBe(1)
    expect(strategy.parameters).toEqual({ serverLearningRate: 1, clipNorm: 2.5 })
    // Still slice by slice: a first pass reads the norms (strategy.test.ts holds the bytes equal).
    expect(strategy.aggregateStreamed).toBeDefined()
  })

  it('changes no bit when no delta reaches the bound, and reports an empty list', () => {
    const replies: WeightedUpdate[] = [{ siteId: 'a', exampleCount: 2, delta: vector([0.3, -0.1]) }]
    const plain = createStrategy({ name: 'fedadam', eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, biasCorrection: true }).aggregateRound({
      round: 1,
      global: vector([1, 1]),
      replies,
      failures: [],
      state: null,
      seed: 0,
    })
    const bounded = createStrategy({ name: 'fedadam', eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, biasCorrection: true, clipNorm: 10 }).aggregateRound({
      round: 1,
      global: vector([1, 1]),
      replies,
      failures: [],
      state: null,
      seed: 0,
    })
    if (plain.kind !== 'model' || bounded.kind !== 'model') throw new Error('no model')
    expect(bounded.weights).toEqual(plain.weights)
    expect(bounded.state).toEqual(plain.state)
    expect(bounded.clipped).toEqual([])
  })
})

describe('client sampling', () => {
  it('draws the sites of the reference vector (python3 test/reference/site-sampling.py)', () => {
    expect(samplingSeed(12345)).toBe(3532499990)
    expect(sampleSites([...SITES].reverse(), { count: 3 }, 1, 12345)).toEqual(['site-a', 'site-d', 'site-g'])
    expect(sampleSites(SITES, { count: 3 }, 1, 4000000000)).toEqual(['site-e', 'site-g', 'site-h'])
  })

  it('plans max(floor(fraction · n), minSites), never more than n, and a count as given', () => {
    const size = (sampling: { fraction?: number; count?: number }, minSites: number, n = 10) => sampleSites(SITES.slice(0, n), sampling, minSites, 7).length
    expect(size({ fraction: 0.35 }, 2)).toBe(3)
    expect(size({ fraction: 0.1 }, 4)).toBe(4)
    expect(size({ fraction: 1 }, 1)).toBe(10)
    expect(size({ count: 6 }, 2)).toBe(6)
    expect(size({ count: 6 }, 2, 4)).toBe(4)
  })

  it('is the same draw for the same seed and another for other seeds', () => {
    const draws = new Set([1, 2, 3, 4, 5, 6].map((seed) => sampleSites(SITES, { count: 3 }, 1, seed).join(',')))
    expect(sampleSites(SITES, { count: 3 }, 1, 99)).toEqual(sampleSites([...SITES].reverse(), { count: 3 }, 1, 99))
    expect(draws.size).toBeGreaterThan(1)
  })

  it('plans only the drawn sites, with the study settings, and logs the fraction with the parameters', () => {
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'fedyogi', etaL: 0.2, sampling: { fraction: 0.3 } }))
    const plan = strategy.configureRound({ round: 1, siteIds: SITES, training: TRAINING, state: null, seed: 12345, minSites: 2 })
    expect(plan.sites.map((s) => s.siteId)).toEqual(['site-a', 'site-d', 'site-g'])
    expect(plan.sites[0]!.instructions).toEqual({ optimizer: 'sgd', learningRate: 0.2, batchSize: 8, localSteps: 4 })
    expect(strategy.parameters).toEqual({ eta: 0.01, etaL: 0.2, beta1: 0.9, beta2: 0.99, tau: 0.001, samplingFraction: 0.3 })
  })
})

describe('the decider with sampling', () => {
  it('opens a round planning only the drawn sites, and gives no task to the others', () => {
    // Prepare: 3 sites, count 2, a study created through the decider.
    const spec = StudySpecSchema.parse({ ...SYNTHETIC_STUDY, strategy: { name: 'fedadam', sampling: { count: 2 } }, minSites: 2 })
    const hub = testSigner(2)
    const sites = ['alpha-clinic', 'beta-hospital', 'gamma-center'].map((id, i) => ({ id, publicKey: testSigner(10 + i).publicKey }))
    const state = new StudyState()
    let seq = 0
    const feed = (input: DeciderInput, timeMs: number) => {
      const r = step(state, input, timeMs)
      if (needsBlobs(r) || r.refusal) throw new Error('refused')
      for (const e of r.entries) state.apply(readLineageRecord({ seq: seq++, kind: e.kind, timeMs, body: e.body }))
      return r
    }
    feed({ kind: 'create', spec, hubKey: hub.publicKey, sites, requestMaxAgeMs: SYNTHETIC_REQUEST_MAX_AGE_MS }, SYNTHETIC_T0_MS)

    // Execute
    const t = SYNTHETIC_T0_MS + 1000
    const opened = feed({ kind: 'round-start', request: signStatement(hub, { t: 'round-start', study: spec.id, round: 1, time: t, nonce: new Uint8Array(16) }) }, t)

    // Assert
    const plan = (opened.entries[0]!.body as { plan: { site: string }[] }).plan.map((p) => p.site)
    const drawn = sampleSites(
      sites.map((s) => s.id),
      { count: 2 },
      2,
      state.openRound!.seed,
    )
    expect(plan).toEqual(drawn)
    expect(plan).toHaveLength(2)
    expect(opened.tasks.map((x) => x.siteId)).toEqual(drawn)
  })
})

describe('study definition', () => {
  const parse = (strategy: unknown, extra: Record<string, unknown> = {}) => {
    const r = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy, ...extra })
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  it('fills Flower defaults', () => {
    expect(StrategySpecSchema.parse({ name: 'fedavgm' })).toEqual({ name: 'fedavgm', serverLearningRate: 1, serverMomentum: 0 })
    expect(StrategySpecSchema.parse({ name: 'fedadagrad' })).toEqual({ name: 'fedadagrad', eta: 0.1, tau: 1e-9 })
    expect(StrategySpecSchema.parse({ name: 'fedadam' })).toEqual({ name: 'fedadam', eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, biasCorrection: true })
    expect(StrategySpecSchema.parse({ name: 'fedyogi' })).toEqual({ name: 'fedyogi', eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 })
  })

  it.each([
    [{ name: 'fedadam', beta1: 1 }, 'strategy.beta1: must be < 1 (the first-moment decay)'],
    [{ name: 'fedyogi', beta2: -0.1 }, 'strategy.beta2: must be >= 0 (the second-moment decay)'],
    [{ name: 'fedadagrad', tau: 0 }, 'strategy.tau: must be > 0 (the adaptivity, which keeps a step finite where v is 0)'],
    [{ name: 'fedavgm', serverMomentum: 1 }, 'strategy.serverMomentum: must be < 1 (the server momentum)'],
    [{ name: 'fedavg', clipNorm: 0 }, 'strategy.clipNorm: must be > 0: the largest L2 norm a delta may keep'],
    [{ name: 'fedavg', sampling: { fraction: 0.5, count: 3 } }, 'strategy.sampling: give exactly one of `fraction` or `count`'],
    [{ name: 'fedavg', sampling: { fraction: 0 } }, 'strategy.sampling.fraction: must be > 0'],
    [{ name: 'fedavg', sampling: { count: 1 } }, 'strategy.sampling.count: is 1, below minSites 2: a round of 1 sites could never reach its quorum'],
  ])('refuses %j with a message naming the field', (strategy, message) => {
    expect(parse(strategy)).toEqual([message])
  })
})

describe('the options on every strategy', () => {
  // Every strategy name the spec knows, with the least it needs to parse.
  const EVERY_STRATEGY = [
    { name: 'fedavg' },
    { name: 'fedprox', proximalMu: 0.01 },
    { name: 'fedavgm' },
    { name: 'fedadagrad' },
    { name: 'fedadam' },
    { name: 'fedyogi' },
    { name: 'fedmedian' },
    { name: 'fedtrimmedavg' },
    { name: 'krum' },
    { name: 'bulyan' },
  ] as const

  it.each(EVERY_STRATEGY)('$name takes clipNorm and sampling, logs both, and plans only the drawn sites', (base) => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse({ ...base, clipNorm: 3, sampling: { count: 4 } }))

    // Execute
    const plan = strategy.configureRound({ round: 2, siteIds: SITES, training: TRAINING, state: null, seed: 77, minSites: 4 })

    // Assert: the same four sites the sampler draws alone, whatever the strategy.
    expect(strategy.parameters).toMatchObject({ clipNorm: 3, samplingCount: 4 })
    expect(plan.sites.map((s) => s.siteId)).toEqual(sampleSites(SITES, { count: 4 }, 4, 77))
    // The options keep a strategy's slice-by-slice aggregation exactly where it has one alone.
    expect(strategy.aggregateStreamed !== undefined).toBe(createStrategy(StrategySpecSchema.parse(base)).aggregateStreamed !== undefined)
  })
})
