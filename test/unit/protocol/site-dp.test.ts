/**
 * Site-level DP-FedAvg (protocol/strategies/site-dp.ts) and its accounting
 * in the decider: clip, equal weights over the planned sites, noise of
 * standard deviation z·S/planned from the round's private seed, the seed
 * committed by hash in round-opened, ε logged per round, and the budget
 * that refuses the round that would overspend it.
 */
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../../ledger/core/index.ts'
import { StrategySpecSchema, StudySpecSchema, epsilonOf, standardNormals, type Weights } from '../../../models/core/index.ts'
import { createStrategy, needsBlobs, nextRoundDue, withSiteDp, type RoundCommittedBody } from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY } from '../../helpers/audit.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

const SEED = new Uint8Array(32).fill(3)
const DP = { clipNorm: 1, noiseMultiplier: 0.5, delta: 1e-5 }

describe('DP-FedAvg strategy', () => {
  it('clips each delta, weights sites equally over the planned ones, and adds z·S·N(0,1) from the seed', () => {
    // Prepare: ‖[3,4]‖ = 5 is clipped to [0.6, 0.8]; [0.1, 0] stays; 3 sites planned (one failed); 100 examples count for nothing.
    const strategy = withSiteDp(createStrategy(StrategySpecSchema.parse({ name: 'fedavg' })), DP)
    const replies = [
      { siteId: 'b', exampleCount: 100, delta: vector([0.1, 0]) },
      { siteId: 'a', exampleCount: 1, delta: vector([3, 4]) },
    ]

    // Execute
    const out = strategy.aggregateRound({ round: 1, global: vector([0, 0]), replies, failures: [{ siteId: 'c', reason: 'no-update' }], state: null, seed: 0, privateSeed: SEED })

    // Assert: (0.6 + 0.1 + 0.5·n0) / 3 and (0.8 + 0 + 0.5·n1) / 3, each rounded once to float32.
    if (out.kind !== 'model') throw new Error('no model')
    const n = standardNormals(SEED, 2)
    expect([...out.weights.tensors[0]!.values]).toEqual([Math.fround((0.6000000238418579 + 0.10000000149011612 + 0.5 * n[0]!) / 3), Math.fround((0.800000011920929 + 0.5 * n[1]!) / 3)])
    expect(out.clipped).toEqual([{ siteId: 'a', norm: 5, scale: 0.2 }])
    expect(out.metrics).toMatchObject({ sites: 2, failures: 1, dpPlannedSites: 3, dpNoiseStddev: 0.5 / 3 })
    expect(strategy.needsPrivateSeed).toBe(true)
    // With a fixed clip norm it also commits slice by slice (strategy.test.ts holds the two paths equal).
    expect(strategy.aggregateStreamed).toBeDefined()
  })

  it('has noise of standard deviation z·S/planned on the average', () => {
    // Prepare: 4 sites send zero deltas over 50 000 coordinates: the model is the noise alone.
    const zero: Weights = { tensors: [{ name: 'v', shape: [50_000], values: new Float32Array(50_000) }] }
    const strategy = withSiteDp(createStrategy(StrategySpecSchema.parse({ name: 'fedavg' })), { clipNorm: 2, noiseMultiplier: 1.2, delta: 1e-5 })
    const replies = ['a', 'b', 'c', 'd'].map((siteId) => ({ siteId, exampleCount: 1, delta: zero }))

    // Execute
    const out = strategy.aggregateRound({ round: 1, global: zero, replies, failures: [], state: null, seed: 0, privateSeed: SEED, plannedSites: 4 })

    // Assert: std 1.2·2/4 = 0.6, within 2% (standard error √(1/(2n)) ≈ 0.3%).
    if (out.kind !== 'model') throw new Error('no model')
    const v = out.weights.tensors[0]!.values
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length)
    expect(Math.abs(std / 0.6 - 1)).toBeLessThan(0.02)
  })

  it('with adaptive clipping moves the clip by the noised share of unclipped sites, and splits the noise (Andrew et al. 2021)', () => {
    // Prepare: z 1, σ_b 2 → z_Δ = (1 − 1/16)^(−1/2); C 1 from the spec; 1 of 2 planned sites clipped.
    const adaptive = { targetQuantile: 0.5, learningRate: 0.2, clippedCountStddev: 2 }
    const strategy = withSiteDp(createStrategy(StrategySpecSchema.parse({ name: 'fedavg' })), { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, adaptiveClipping: adaptive })
    const replies = [
      { siteId: 'a', exampleCount: 1, delta: vector([3, 4]) },
      { siteId: 'b', exampleCount: 1, delta: vector([0.1, 0]) },
    ]

    // Execute
    const out = strategy.aggregateRound({ round: 1, global: vector([0, 0]), replies, failures: [], state: null, seed: 0, privateSeed: SEED })

    // Assert: python3 -c "import math;print(repr((1-1/16)**-0.5))" → 1.0327955589886444
    if (out.kind !== 'model') throw new Error('no model')
    const n = standardNormals(SEED, 3)
    const zDelta = 1.0327955589886444
    expect(out.metrics['dpNoiseStddev']).toBeCloseTo(zDelta / 2, 15)
    expect(out.weights.tensors[0]!.values[0]).toBe(Math.fround((0.6000000238418579 + 0.10000000149011612 + zDelta * n[0]!) / 2))
    const share = (1 + 2 * n[2]!) / 2
    expect(out.state?.tensors).toEqual([{ name: 'dp/clipNorm', shape: [1], values: Float32Array.of(Math.fround(Math.exp(-0.2 * (share - 0.5)))) }])

    // Execute: the next round clips at the clip its state carries.
    const next = strategy.aggregateRound({
      round: 2,
      global: vector([0, 0]),
      replies,
      failures: [],
      state: { tensors: [{ name: 'dp/clipNorm', shape: [1], values: Float32Array.of(0.5) }] },
      seed: 0,
      privateSeed: SEED,
    })
    if (next.kind !== 'model') throw new Error('no model')
    expect(next.clipped).toEqual([{ siteId: 'a', norm: 5, scale: 0.1 }])
    expect(next.metrics['dpClipNorm']).toBe(0.5)
  })

  it('refuses to aggregate without the private seed', () => {
    const strategy = withSiteDp(createStrategy(StrategySpecSchema.parse({ name: 'fedavg' })), DP)
    expect(() => strategy.aggregateRound({ round: 1, global: vector([0]), replies: [{ siteId: 'a', exampleCount: 1, delta: vector([1]) }], failures: [], state: null, seed: 0 })).toThrow(
      expect.objectContaining({ code: 'MODEL_STRATEGY_PRECONDITION' }),
    )
  })
})

describe('the dp spec', () => {
  const parse = (patch: object) => {
    const r = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, ...patch })
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  it('refuses a robust strategy, a second clip norm and gain-based rewards beside dp', () => {
    expect(parse({ dp: DP, strategy: { name: 'fedmedian' } })[0]).toMatch(/^dp: is not allowed with strategy "fedmedian"/)
    expect(parse({ dp: DP, strategy: { name: 'fedavg', clipNorm: 3 } })[0]).toMatch(/^strategy.clipNorm: is not allowed with dp/)
    expect(parse({ dp: DP, rewards: { poolPerRound: '10', method: 'shapley' } })[0]).toMatch(/^rewards.method: "shapley" is not allowed with dp/)
    expect(parse({ dp: { ...DP, noiseMultiplier: 0 } })[0]).toMatch(/^dp.noiseMultiplier: must be > 0/)
    expect(parse({ dp: { ...DP, adaptiveClipping: { clippedCountStddev: 0.25 } } })[0]).toMatch(/^dp.adaptiveClipping.clippedCountStddev: is 0.25, want more than noiseMultiplier \/ 2 = 0.25/)
    expect(parse({ dp: DP })).toEqual([])
  })
})

describe('DP rounds in the decider', () => {
  const openDpRound = (h: DeciderHarness, seed = SEED) => {
    const fed = h.feed({ kind: 'round-start', request: h.roundStart(), noiseSeed: seed })
    if (fed.refusal) throw fed.refusal
    return fed
  }

  it('commits to the seed by hash in round-opened, never logging it, with the sampling rate', () => {
    const h = new DeciderHarness({ study: { dp: DP } })
    const fed = openDpRound(h)
    expect(fed.records[0]!.body).toMatchObject({ dp: { seed: sha256(SEED), q: 1 } })
    const logged = JSON.stringify(
      h.drafts.map((d) => d.body),
      (_k, v) => (v instanceof Uint8Array ? toHex(v) : v),
    )
    expect(logged).not.toContain(toHex(SEED))
  })

  it('refuses a round start without a 32-byte seed', () => {
    const h = new DeciderHarness({ study: { dp: DP } })
    expect(h.feed({ kind: 'round-start', request: h.roundStart() }).refusal?.code).toBe('COORD_DP_SEED_INVALID')
    expect(h.feed({ kind: 'round-start', request: h.roundStart(), noiseSeed: new Uint8Array(16) }).refusal?.code).toBe('COORD_DP_SEED_INVALID')
  })

  it('asks for the seed by its hash at commit, and logs q, σ, steps, δ, ε with the commit', () => {
    // Prepare
    const h = new DeciderHarness({ study: { dp: DP, minSites: 3 } })
    openDpRound(h)
    h.submit([0, 1])
    const last = h.updateInput(2)

    // Execute: without the seed the commit needs it; with it (as the coordinator's private store gives it) the round commits.
    const without = h.decide(last)
    h.blobs.set(toHex(sha256(SEED)), SEED)
    const fed = h.feed(last)

    // Assert
    expect(needsBlobs(without) && without.needs.map(toHex)).toEqual([toHex(sha256(SEED))])
    const commit = fed.records.find((r) => r.kind === 'round-committed')!.body as RoundCommittedBody
    const want = epsilonOf(1, 0.5, 1, 1e-5)
    expect(commit.dp).toEqual({ q: 1, noiseMultiplier: 0.5, steps: 1, delta: 1e-5, epsilon: want.epsilon, order: want.order, clipNorm: 1, plannedSites: 3, noiseStddev: 0.5 / 3 })
    expect(commit.strategy.params).toMatchObject({ dpClipNorm: 1, dpNoiseMultiplier: 0.5, dpDelta: 1e-5 })
    expect(fed.blobs.map((b) => toHex(sha256(b as Uint8Array)))).not.toContain(toHex(sha256(SEED)))
  })

  it('refuses the commit when the seed given is not the committed one', () => {
    const h = new DeciderHarness({ study: { dp: DP, minSites: 3 } })
    openDpRound(h)
    h.submit([0, 1])
    h.blobs.set(toHex(sha256(SEED)), new Uint8Array(32).fill(9))
    expect(() => h.decide(h.updateInput(2))).toThrow(expect.objectContaining({ code: 'COORD_DP_SEED_INVALID' }))
  })

  it('refuses the round start that would take ε past dp.epsilon, saying the budget is spent', () => {
    // Prepare: a budget between ε after one round and ε after two (σ 2, q 1, δ 1e-5).
    const one = epsilonOf(1, 2, 1, 1e-5).epsilon
    const two = epsilonOf(1, 2, 2, 1e-5).epsilon
    const h = new DeciderHarness({ study: { dp: { clipNorm: 1, noiseMultiplier: 2, delta: 1e-5, epsilon: (one + two) / 2 }, minSites: 3, rounds: 5 } })
    openDpRound(h)
    h.blobs.set(toHex(sha256(SEED)), SEED)
    h.submit()
    h.evaluate(1, [0])

    // Execute: the hub asks for round 2 before every evaluation is in.
    const second = h.feed({ kind: 'round-start', request: h.roundStart(), noiseSeed: new Uint8Array(32).fill(4) })

    // Assert
    expect(second.refusal?.code).toBe('COORD_DP_BUDGET_SPENT')
    expect(second.refusal?.message).toMatch(/the budget is spent and training stops here/)
    expect(second.entries).toEqual([])
    expect(nextRoundDue(h.state, h.timeMs)).toBe(false)
  })

  it('completes the study with the rounds its budget paid for, once their evaluations are in', () => {
    // Prepare: the budget pays for one round of five.
    const h = new DeciderHarness({ study: { dp: { clipNorm: 1, noiseMultiplier: 2, delta: 1e-5, epsilon: epsilonOf(1, 2, 1, 1e-5).epsilon * 1.01 }, minSites: 3, rounds: 5 } })
    openDpRound(h)
    h.blobs.set(toHex(sha256(SEED)), SEED)
    h.submit()

    // Execute
    const last = h.evaluate()

    // Assert
    expect(last.records.map((r) => r.kind)).toContain('study-completed')
    expect(h.state.completed).toBe(true)
    expect(h.state.committedRounds).toBe(1)
  })

  it('lets a study without a budget run all its rounds', () => {
    const h = new DeciderHarness({ study: { dp: { clipNorm: 1, noiseMultiplier: 2, delta: 1e-5 }, minSites: 3, rounds: 2 } })
    for (const seed of [SEED, new Uint8Array(32).fill(5)]) {
      openDpRound(h, seed)
      h.blobs.set(toHex(sha256(seed)), seed)
      h.submit()
      h.evaluate()
    }
    expect(h.state.completed).toBe(true)
    expect(h.state.committedRounds).toBe(2)
    expect(h.state.rounds.get(2)!.commit!.body.dp).toMatchObject({ steps: 2, epsilon: epsilonOf(1, 2, 2, 1e-5).epsilon })
  })
})
