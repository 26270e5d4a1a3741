import { describe, expect, it } from 'vitest'
import {
  DuplicateSiteError,
  InvalidModelInputError,
  UnknownStrategyError,
  encodeWeights,
  fedAvg,
  StrategySpecSchema,
  type StrategySpec,
  type TrainingSpec,
  type Weights,
  type WeightedUpdate,
} from '../../../models/core/index.ts'
import { bytesReader } from '../../../ledger/core/index.ts'
import { applyInstructions, coalitionModel, createStrategy, decodeInstructions, encodeInstructions, InstructionsInvalidError, withSiteDp } from '../../../protocol/index.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

const TRAINING: TrainingSpec = { optimizer: 'adam', learningRate: 0.01, batchSize: 32, localSteps: 40 }

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

  it('plans every site, sorted, each told the study training settings, without touching the input', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    const sites = ['c', 'a', 'b']
    // Execute
    const plan = strategy.configureRound({ round: 3, siteIds: sites, training: TRAINING, state: null, seed: 9 })
    // Assert
    const instructions = { optimizer: 'adam', learningRate: 0.01, batchSize: 32, localSteps: 40 }
    expect(plan).toEqual({ round: 3, sites: ['a', 'b', 'c'].map((siteId) => ({ siteId, instructions })) })
    expect(sites).toEqual(['c', 'a', 'b'])
    expect(strategy.phases).toEqual([])
    expect(strategy.needsPrivateSeed).toBe(false)
  })

  it('refuses a negative or fractional round and a duplicate site', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    const plan = (round: number, siteIds: string[]) => () => strategy.configureRound({ round, siteIds, training: TRAINING, state: null, seed: 0 })
    // Execute
    const negative = plan(-1, ['a'])
    const fractional = (): unknown => strategy.aggregateRound({ round: 1.5, global: vector([0]), replies: [], failures: [], state: null, seed: 0 })
    const duplicate = plan(0, ['a', 'b', 'a'])
    // Assert
    expect(negative).toThrow(InvalidModelInputError)
    expect(fractional).toThrow(InvalidModelInputError)
    expect(duplicate).toThrow(DuplicateSiteError)
  })

  it('makes no model, with a reason, when no site replied', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    // Execute
    const result = strategy.aggregateRound({ round: 0, global: vector([1, 2]), replies: [], failures: [{ siteId: 'a', reason: 'no-update' }], state: null, seed: 0 })
    // Assert
    expect(result).toEqual({ kind: 'none', reason: 'no update to aggregate (1 planned sites failed)' })
  })

  it('aggregates with fedAvg and the server learning rate, reports metrics, keeps no state and excludes nobody', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 0.5 })
    const global = vector([1, 2])
    // Execute
    const result = strategy.aggregateRound({ round: 0, global, replies: UPDATES, failures: [{ siteId: 'c', reason: 'timeout' }], state: null, seed: 0 })
    // Assert: mean delta = [(3 − 3) / 4, 12 / 4] = [0, 3]; new = global + 0.5 · mean = [1, 3.5].
    if (result.kind !== 'model') throw new Error('expected a model')
    expect(result.weights).toEqual(fedAvg(global, UPDATES, 0.5))
    expect(Array.from(result.weights.tensors[0]!.values)).toEqual([1, 3.5])
    expect(result.state).toBeNull()
    expect(result.exclusions).toEqual([])
    expect(result.metrics).toEqual({
      sites: 2,
      failures: 1,
      examples: 4,
      meanDeltaNorm: (3 + Math.hypot(1, 4)) / 2,
      updateNorm: 1.5,
    })
  })

  it('builds a coalition model with the strategy itself, and the global model when it makes none', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 0.5 })
    const global = vector([1, 2])
    // Execute / Assert
    expect(coalitionModel(strategy, 1, global, UPDATES, null, 0)).toEqual(fedAvg(global, UPDATES, 0.5))
    expect(coalitionModel(strategy, 1, global, [], null, 0)).toBe(global)
  })

  it('throws UnknownStrategyError for a name it does not implement', () => {
    // Prepare
    const spec = { name: 'fedquantum' } as unknown as StrategySpec
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
    expect((caught as UnknownStrategyError).strategy).toBe('fedquantum')
  })
})

describe('instructions', () => {
  it('round-trip through a FitTask config and override the study settings', () => {
    // Prepare
    const bytes = encodeInstructions({ learningRate: 0.5, localSteps: 3 })
    // Execute
    const training = applyInstructions(TRAINING, decodeInstructions(bytes))
    // Assert
    expect(training).toEqual({ optimizer: 'adam', learningRate: 0.5, batchSize: 32, localSteps: 3 })
    expect(decodeInstructions(new Uint8Array())).toEqual({})
  })

  it.each([
    ['an unknown key', { fancyNewKnob: 0.01 }],
    ['a value the study schema refuses', { learningRate: -1 }],
    ['a wrong type', { localSteps: 'forty' }],
  ])('refuses %s with PROTOCOL_INSTRUCTIONS_INVALID', (_what, instructions) => {
    // Execute
    const apply = () => applyInstructions(TRAINING, instructions)
    // Assert
    expect(apply).toThrow(InstructionsInvalidError)
    expect(apply).toThrow(expect.objectContaining({ code: 'PROTOCOL_INSTRUCTIONS_INVALID' }))
  })

  it('refuses a config that is not a canonical map of scalars', () => {
    // Assert
    expect(() => decodeInstructions(new Uint8Array([0xff]))).toThrow(InstructionsInvalidError)
    expect(() => decodeInstructions(encodeInstructions({ a: 1 }).slice(0, 2))).toThrow(InstructionsInvalidError)
  })
})

describe('FedAvg slice by slice (aggregateStreamed)', () => {
  /** Fixed-seed pseudo-random float32 values with a spread of magnitudes, so rounding differences would show. */
  function values(n: number, seed: number): Float32Array {
    let x = seed >>> 0
    const out = new Float32Array(n)
    for (let j = 0; j < n; j++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      out[j] = ((x / 2 ** 32 - 0.5) * 10 ** ((x % 7) - 3)) as number
    }
    return out
  }
  // One tensor longer than a read slice (1M values), so slices meet inside it, and two small ones.
  const shapes = [
    { name: 'dense/kernel', shape: [1_100_003] },
    { name: 'dense/bias', shape: [5] },
    { name: 'out/kernel', shape: [3, 7] },
  ]
  const weights = (seed: number): Weights => ({
    tensors: shapes.map((s, i) => ({
      name: s.name,
      shape: s.shape,
      values: values(
        s.shape.reduce((a, b) => a * b, 1),
        seed * 10 + i,
      ),
    })),
  })

  it.each([
    { name: 'fedavg', serverLearningRate: 0.7 },
    { name: 'fedavgm', serverLearningRate: 0.7, serverMomentum: 0.9 },
    { name: 'fedadagrad', eta: 0.1, tau: 1e-3 },
    { name: 'fedadam', eta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99 },
    { name: 'fedyogi', eta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99 },
    // A norm bound between the first round's deltas' norms (114,793 to 115,022 here): some are scaled, some not.
    { name: 'fedavg', serverLearningRate: 0.7, clipNorm: 114_900 },
    { name: 'fedadam', eta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99, clipNorm: 114_900 },
    { name: 'fedmedian' },
    { name: 'fedtrimmedavg', beta: 0.34 },
    { name: 'fedmedian', clipNorm: 114_900 },
  ])('$name (clipNorm $clipNorm): makes the same model bytes, state bytes and metrics as aggregateRound, bit for bit, two rounds running', (spec) => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse(spec))
    const failures = [{ siteId: 'site-d', reason: 'no-update' }]
    let global = weights(1)
    let wholeState: Weights | null = null
    let streamedState: Uint8Array | undefined
    for (const round of [3, 4]) {
      const replies = ['site-c', 'site-a', 'site-b'].map((siteId, i) => ({ siteId, exampleCount: 17 + 100 * i, delta: weights(round * 10 + i) }))
      // Execute
      const whole = strategy.aggregateRound({ round, global, replies, failures, state: wholeState, seed: 0 })
      const streamed = strategy.aggregateStreamed!({
        round,
        shapes,
        global: bytesReader(encodeWeights(global)),
        replies: replies.map((r) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: bytesReader(encodeWeights(r.delta)) })),
        failures,
        seed: 0,
        ...(streamedState === undefined ? {} : { state: bytesReader(streamedState) }),
      })
      // Assert
      if (whole.kind !== 'model' || streamed?.kind !== 'model') throw new Error('both should make a model')
      expect(Buffer.from(streamed.modelBytes).equals(Buffer.from(encodeWeights(whole.weights)))).toBe(true)
      expect(streamed.metrics).toEqual(whole.metrics)
      expect(streamed.clipped).toEqual(whole.clipped)
      // In the first round the bound falls between the deltas' norms: some are scaled, one is not.
      if ('clipNorm' in spec && round === 3) expect(whole.clipped!.map((c) => c.siteId)).toEqual(['site-b', 'site-c'])
      if (whole.state === null) expect(streamed.stateBytes).toBeUndefined()
      else expect(Buffer.from(streamed.stateBytes!).equals(Buffer.from(encodeWeights(whole.state)))).toBe(true)
      global = whole.weights
      wholeState = whole.state
      streamedState = streamed.stateBytes
    }
  })

  it.each([
    { name: 'krum', numMaliciousClients: 1, numClientsToKeep: 0 },
    { name: 'krum', numMaliciousClients: 1, numClientsToKeep: 3 },
    { name: 'bulyan', numMaliciousClients: 1 },
    { name: 'krum', numMaliciousClients: 1, numClientsToKeep: 3, clipNorm: 114_900 },
  ])('$name (keep $numClientsToKeep, clipNorm $clipNorm): chooses, aggregates and reports as aggregateRound does, bit for bit', (spec) => {
    // Prepare: seven sites, one of them far off (scaled ×30), so the rule has someone to leave out.
    const strategy = createStrategy(StrategySpecSchema.parse(spec))
    const global = weights(1)
    const replies = ['site-g', 'site-c', 'site-a', 'site-e', 'site-b', 'site-f', 'site-d'].map((siteId, i) => {
      const delta = weights(30 + i)
      if (siteId === 'site-e') for (const t of delta.tensors) t.values.forEach((v, j) => (t.values[j] = v * 30))
      return { siteId, exampleCount: 11 + 7 * i, delta }
    })
    const failures = [{ siteId: 'site-h', reason: 'no-update' }]
    // Execute
    const whole = strategy.aggregateRound({ round: 2, global, replies, failures, state: null, seed: 0 })
    const streamed = strategy.aggregateStreamed!({
      round: 2,
      shapes,
      global: bytesReader(encodeWeights(global)),
      replies: replies.map((r) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: bytesReader(encodeWeights(r.delta)) })),
      failures,
      seed: 0,
    })
    // Assert
    if (whole.kind !== 'model' || streamed?.kind !== 'model') throw new Error('both should make a model')
    // Without a bound the far-off site is left out; with one it is scaled down first, and the rule weighs it like the rest.
    if (!('clipNorm' in spec)) expect(whole.exclusions.map((e) => e.siteId)).toContain('site-e')
    else expect(whole.clipped!.map((c) => c.siteId)).toContain('site-e')
    expect(Buffer.from(streamed.modelBytes).equals(Buffer.from(encodeWeights(whole.weights)))).toBe(true)
    expect(streamed.metrics).toEqual(whole.metrics)
    expect(streamed.exclusions).toEqual(whole.exclusions)
    expect(streamed.clipped).toEqual(whole.clipped)
  })

  it.each([
    { inner: { name: 'fedavg' }, seed: true },
    { inner: { name: 'fedadam', eta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99 }, seed: true },
    { inner: { name: 'fedavg' }, seed: false },
  ])('site-level DP around $inner.name (seed given: $seed): the same clipping, noise, model, state and metrics as aggregateRound, bit for bit', ({ inner, seed }) => {
    // Prepare: a clip norm between the deltas' norms (114,793 to 115,022), 5 planned sites of which 3 answered.
    const strategy = withSiteDp(createStrategy(StrategySpecSchema.parse(inner)), { clipNorm: 114_900, noiseMultiplier: 1.1, delta: 1e-5 })
    const global = weights(1)
    const replies = ['site-c', 'site-a', 'site-b'].map((siteId, i) => ({ siteId, exampleCount: 17 + 100 * i, delta: weights(30 + i) }))
    const failures = [
      { siteId: 'site-d', reason: 'no-update' },
      { siteId: 'site-e', reason: 'no-update' },
    ]
    const secret = seed ? { privateSeed: new Uint8Array(32).fill(5) } : { noiseWithheld: true }
    // Execute
    const whole = strategy.aggregateRound({ round: 3, global, replies, failures, state: null, seed: 0, plannedSites: 5, ...secret })
    const streamed = strategy.aggregateStreamed!({
      round: 3,
      shapes,
      global: bytesReader(encodeWeights(global)),
      replies: replies.map((r) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: bytesReader(encodeWeights(r.delta)) })),
      failures,
      seed: 0,
      plannedSites: 5,
      ...secret,
    })
    // Assert
    if (whole.kind !== 'model' || streamed?.kind !== 'model') throw new Error('both should make a model')
    expect(whole.clipped!.length).toBeGreaterThan(0)
    expect(Buffer.from(streamed.modelBytes).equals(Buffer.from(encodeWeights(whole.weights)))).toBe(true)
    expect(streamed.metrics).toEqual(whole.metrics)
    expect(streamed.clipped).toEqual(whole.clipped)
    if (whole.state === null) expect(streamed.stateBytes).toBeUndefined()
    else expect(Buffer.from(streamed.stateBytes!).equals(Buffer.from(encodeWeights(whole.state)))).toBe(true)
  })

  it('keeps site-level DP with adaptive clipping on the whole-model path (its clip norm is server state)', () => {
    const dp = { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, adaptiveClipping: { targetQuantile: 0.5, learningRate: 0.2, clippedCountStddev: 1 } }
    expect(withSiteDp(createStrategy(StrategySpecSchema.parse({ name: 'fedavg' })), dp as never).aggregateStreamed).toBeUndefined()
  })

  it('reports too few updates for Krum as the whole path does: no model, the same reason', () => {
    // Prepare: Krum with f = 1 needs 5 updates; 4 come.
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'krum', numMaliciousClients: 1, numClientsToKeep: 0 }))
    const replies = ['a', 'b', 'c', 'd'].map((siteId, i) => ({ siteId, exampleCount: 1, delta: weights(40 + i) }))
    // Execute
    const whole = strategy.aggregateRound({ round: 1, global: weights(1), replies, failures: [], state: null, seed: 0 })
    const streamed = strategy.aggregateStreamed!({
      round: 1,
      shapes,
      global: bytesReader(encodeWeights(weights(1))),
      replies: replies.map((r) => ({ siteId: r.siteId, exampleCount: 1, delta: bytesReader(encodeWeights(r.delta)) })),
      failures: [],
      seed: 0,
    })
    // Assert
    expect(whole.kind).toBe('none')
    expect(streamed).toEqual(whole)
  })

  it('leaves a round with a value that is not finite to the whole-model path, which names it', () => {
    // Prepare: a FedAvgM step that overflows float32 in the last tensor's last value
    const avgm = createStrategy(StrategySpecSchema.parse({ name: 'fedavgm', serverLearningRate: 1, serverMomentum: 0.5 }))
    const global = weights(1)
    const delta = weights(2)
    const last = global.tensors.at(-1)!.values
    last[last.length - 1] = 3e38
    delta.tensors.at(-1)!.values[last.length - 1] = 3e38
    const replies = [{ siteId: 'a', exampleCount: 1, delta }]
    // Execute
    const streamed = avgm.aggregateStreamed!({
      round: 1,
      shapes,
      global: bytesReader(encodeWeights(global)),
      replies: [{ siteId: 'a', exampleCount: 1, delta: bytesReader(encodeWeights(delta)) }],
      failures: [],
      seed: 0,
    })
    // Assert
    expect(streamed).toBeUndefined()
    expect(() => avgm.aggregateRound({ round: 1, global, replies, failures: [], state: null, seed: 0 })).toThrow(expect.objectContaining({ code: 'MODEL_NON_FINITE' }))
  })

  it('leaves a round whose state is not laid out as the strategy’s slots to the whole-model path', () => {
    // Prepare: an FedAdam round given a FedAvgM state (one slot, not two)
    const adam = createStrategy(StrategySpecSchema.parse({ name: 'fedadam', eta: 0.1, tau: 1e-3, beta1: 0.9, beta2: 0.99 }))
    const momentum = encodeWeights({ tensors: shapes.map((s) => ({ name: `momentum/${s.name}`, shape: s.shape, values: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) })) })
    // Execute
    const streamed = adam.aggregateStreamed!({
      round: 1,
      shapes,
      global: bytesReader(encodeWeights(weights(1))),
      replies: [{ siteId: 'a', exampleCount: 1, delta: bytesReader(encodeWeights(weights(2))) }],
      failures: [],
      seed: 0,
      state: bytesReader(momentum),
    })
    // Assert
    expect(streamed).toBeUndefined()
  })

  it('names a value that overflows by its tensor and its index in the whole tensor, as the whole-model check does', () => {
    // Prepare
    const strategy = createStrategy({ name: 'fedavg', serverLearningRate: 1 })
    const global = weights(1)
    const big = weights(2)
    big.tensors[0]!.values[1_050_000] = 3e38
    global.tensors[0]!.values[1_050_000] = 3e38
    const replies = [
      { siteId: 'a', exampleCount: 1, delta: big },
      { siteId: 'b', exampleCount: 1, delta: big },
    ]
    // Execute
    const whole = () => strategy.aggregateRound({ round: 1, global, replies, failures: [], state: null, seed: 0 })
    const streamed = () =>
      strategy.aggregateStreamed!({
        round: 1,
        shapes,
        global: bytesReader(encodeWeights(global)),
        replies: replies.map((r) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: bytesReader(encodeWeights(r.delta)) })),
        failures: [],
        seed: 0,
      })
    // Assert
    expect(whole).toThrow(/^aggregate tensor "dense\/kernel" index 1050000: value Infinity, want a finite number$/)
    expect(streamed).toThrow(/^aggregate tensor "dense\/kernel" index 1050000: value Infinity, want a finite number$/)
  })
})
