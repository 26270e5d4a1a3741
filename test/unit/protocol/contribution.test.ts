import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DuplicateSiteError, evaluateCore, fedAvg, initialWeights, mulberry32, shuffleIndices, type Dataset, type ModelSpec, type Weights } from '../../../models/core/index.ts'
import {
  ContributionInputError,
  ContributionUtilityError,
  ShapleyTooManySitesError,
  contributionSeed,
  roundSeed,
  scoreContributions,
  type CoalitionUtility,
  type ContributionMethod,
  type ContributionUpdate,
} from '../../../protocol/index.ts'

/** A small non-zero delta, distinct per seed (the exclusion checks look at deltas even under an injected utility). */
function delta(seed: number, scale = 0.01): Weights {
  const random = mulberry32(seed)
  return { tensors: [{ name: 'v', shape: [4], values: Float32Array.from({ length: 4 }, () => scale * (2 * random() - 1)) }] }
}

function updatesFor(ids: readonly string[]): ContributionUpdate[] {
  return ids.map((siteId, i) => ({ siteId, delta: delta(100 + i), exampleCount: 10 * (i + 1) }))
}

/** U from a table keyed by the coalition's ids joined with "+" ("" = ∅); records every coalition asked for. */
function tableUtility(table: Record<string, number>, asked: string[][] = []): CoalitionUtility {
  return {
    kind: 'function',
    utility: (coalition) => {
      asked.push([...coalition])
      const value = table[coalition.join('+')]
      if (value === undefined) throw new Error(`no table entry for [${coalition.join(', ')}]`)
      return value
    },
  }
}

// The 3-site game worked by hand. Sites a, b, c; v(∅) = 0.
//   v(a) = 12  v(b) = 6   v(c) = 0
//   v(ab) = 24 v(ac) = 18 v(bc) = 12
//   v(abc) = 36
// Shapley weights for n = 3: |S|!(n−|S|−1)!/n! = 2/6 = 1/3 for |S| = 0, 1/6 for |S| = 1, 1/3 for |S| = 2.
//   φ_a = 1/3·(v(a)−0) + 1/6·(v(ab)−v(b)) + 1/6·(v(ac)−v(c)) + 1/3·(v(abc)−v(bc))
//       = 1/3·12 + 1/6·18 + 1/6·18 + 1/3·24 = 4 + 3 + 3 + 8 = 18
//   φ_b = 1/3·6 + 1/6·(24−12) + 1/6·(12−0) + 1/3·(36−18) = 2 + 2 + 2 + 6 = 12
//   φ_c = 1/3·0 + 1/6·(18−12) + 1/6·(12−6) + 1/3·(36−24) = 0 + 1 + 1 + 4 = 6
//   Σφ = 36 = v(abc) (efficiency).
// Leave-one-out: a: 36 − v(bc) = 24; b: 36 − v(ac) = 18; c: 36 − v(ab) = 12.
const HAND: Record<string, number> = { '': 0, a: 12, b: 6, c: 0, 'a+b': 24, 'a+c': 18, 'b+c': 12, 'a+b+c': 36 }

describe('scoreContributions: the 3-site hand example', () => {
  it('exact Shapley gives 18, 12, 6 from 2^3 utilities', () => {
    // Prepare
    const asked: string[][] = []
    // Execute
    const result = scoreContributions({ method: 'shapley', updates: updatesFor(['a', 'b', 'c']), utility: tableUtility(HAND, asked), seed: 0 })
    // Assert: integer-valued game, so the one-division evaluation is exact.
    expect(result.scores).toEqual([
      { siteId: 'a', raw: 18, payable: 18 },
      { siteId: 'b', raw: 12, payable: 12 },
      { siteId: 'c', raw: 6, payable: 6 },
    ])
    expect(result.gain).toBe(36)
    expect(result.utilityCalls).toBe(8)
    expect(asked).toHaveLength(8)
    expect(result.metric).toBeNull()
  })

  it('leave-one-out gives 24, 18, 12 from n + 2 utilities', () => {
    // Prepare
    const asked: string[][] = []
    // Execute
    const result = scoreContributions({ method: 'leave-one-out', updates: updatesFor(['a', 'b', 'c']), utility: tableUtility(HAND, asked), seed: 0 })
    // Assert
    expect(result.scores.map((s) => [s.siteId, s.raw, s.payable])).toEqual([
      ['a', 24, 24],
      ['b', 18, 18],
      ['c', 12, 12],
    ])
    expect(asked.map((c) => c.join('+'))).toEqual(['', 'a+b+c', 'b+c', 'a+c', 'a+b'])
    expect(result.utilityCalls).toBe(5)
  })

  it('measures against the parent: adding a constant to U changes nothing', () => {
    // Prepare: U(S) = v(S) + 100, so U(∅) = 100 is the parent's metric.
    const shifted = Object.fromEntries(Object.entries(HAND).map(([k, v]) => [k, v + 100]))
    // Execute
    const shapley = scoreContributions({ method: 'shapley', updates: updatesFor(['a', 'b', 'c']), utility: tableUtility(shifted), seed: 0 })
    // Assert
    expect(shapley.scores.map((s) => s.raw)).toEqual([18, 12, 6])
  })

  it('clamps a negative value to 0 for payment and keeps the raw value', () => {
    // Prepare: 2 sites, v(a) = 10, v(b) = −4, v(ab) = 2.
    //   φ_a = ½·10 + ½·(2 − (−4)) = 8;  φ_b = ½·(−4) + ½·(2 − 10) = −6;  Σ = 2 = v(ab).
    const table = { '': 0, a: 10, b: -4, 'a+b': 2 }
    // Execute
    const result = scoreContributions({ method: 'shapley', updates: updatesFor(['a', 'b']), utility: tableUtility(table), seed: 0 })
    // Assert
    expect(result.scores).toEqual([
      { siteId: 'a', raw: 8, payable: 8 },
      { siteId: 'b', raw: -6, payable: 0, reason: 'negative-value' },
    ])
  })
})

/**
 * A random 7-player game with known structure: U(S) = √(Σ_{i∈S} w_i) + Σ of pair bonuses,
 * where players 1 and 2 have equal weights and bonuses (symmetric) and player 3 has weight 0 and no
 * bonus (null player).
 */
function structuredGame(seed: number): { ids: string[]; utility: CoalitionUtility } {
  const random = mulberry32(seed)
  const ids = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']
  const w = ids.map(() => 0.1 + random())
  w[2] = w[1]!
  w[3] = 0
  const bonus = ids.map(() => ids.map(() => 0.05 * (random() - 0.5)))
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < ids.length; j++) bonus[i]![j] = bonus[Math.min(i, j)]![Math.max(i, j)]!
  for (let j = 0; j < ids.length; j++) {
    bonus[3]![j] = 0
    bonus[j]![3] = 0
  }
  for (let j = 0; j < ids.length; j++) if (j !== 1 && j !== 2) bonus[2]![j] = bonus[j]![2] = bonus[1]![j]!
  return {
    ids,
    utility: {
      kind: 'function',
      utility: (coalition) => {
        const members = coalition.map((id) => ids.indexOf(id))
        let weight = 0
        let pairs = 0
        for (const i of members) weight += w[i]!
        for (const i of members) for (const j of members) if (i < j) pairs += bonus[i]![j]!
        return Math.sqrt(weight) + pairs + 0.25
      },
    },
  }
}

describe('scoreContributions: Shapley axioms on a 7-site game', () => {
  const { ids, utility } = structuredGame(3)
  const result = scoreContributions({ method: 'shapley', updates: updatesFor(ids), utility, seed: 0 })
  const phi = result.scores.map((s) => s.raw)

  it('efficiency: Σφ = U(N) − U(∅)', () => {
    // Prepare / Execute
    const sum = phi.reduce((a, b) => a + b, 0)
    // Assert
    expect(sum).toBeCloseTo(result.gain!, 12)
    expect(result.utilityCalls).toBe(2 ** 7)
  })

  it('symmetry: interchangeable sites get equal values', () => {
    // Assert
    expect(phi[1]).toBeCloseTo(phi[2]!, 12)
  })

  it('null player: a site that never changes U gets exactly 0', () => {
    // Assert: every marginal is exactly 0, so the sum is exactly 0.
    expect(phi[3]).toBe(0)
    expect(result.scores[3]).toEqual({ siteId: 'p3', raw: 0, payable: 0 })
  })
})

describe('scoreContributions: determinism', () => {
  const methods: ContributionMethod[] = ['examples', 'leave-one-out', 'shapley', 'gtg-shapley']

  it.each(methods)('%s: shuffled input gives an identical result', (method) => {
    // Prepare
    const { ids, utility } = structuredGame(4)
    const updates = updatesFor(ids)
    const order = shuffleIndices(updates.length, 99)
    const shuffled = Array.from(order, (i) => updates[i]!)
    // Execute
    const a = scoreContributions({ method, updates, utility, seed: 5 })
    const b = scoreContributions({ method, updates: shuffled, utility, seed: 5 })
    // Assert
    expect(b).toEqual(a)
    expect(a.scores.map((s) => s.siteId)).toEqual([...ids].sort())
  })

  it('defaults to examples: score = example count, no utility needed', () => {
    // Prepare
    const updates = updatesFor(['x', 'y'])
    // Execute
    const result = scoreContributions({ updates, seed: 0 })
    // Assert
    expect(result).toEqual({
      method: 'examples',
      metric: null,
      scores: [
        { siteId: 'x', raw: 10, payable: 10 },
        { siteId: 'y', raw: 20, payable: 20 },
      ],
      gain: null,
      utilityCalls: 0,
      permutations: 0,
      converged: null,
      params: { zeroDeltaNorm: 1e-6 },
      seed: 0,
    })
  })

  it('contributionSeed is SHA-256("fedlineage/contribution-seed/<study seed>/<round>")[0..4] and differs from roundSeed', () => {
    // Prepare: node -e 'console.log(require("crypto").createHash("sha256").update("fedlineage/contribution-seed/7/3").digest().readUInt32BE(0))'
    const expected = createHash('sha256').update('fedlineage/contribution-seed/7/3').digest().readUInt32BE(0)
    // Execute / Assert
    expect(contributionSeed(7, 3)).toBe(expected)
    expect(contributionSeed(7, 3)).not.toBe(roundSeed(7, 3))
    expect(contributionSeed(7, 4)).not.toBe(contributionSeed(7, 3))
  })
})

describe('scoreContributions: updates that earn nothing', () => {
  it('excludes a zero delta and every byte-identical copy when no acceptance order is known', () => {
    // Prepare: c's delta is all zeros; d sends exactly b's delta.
    const updates = updatesFor(['a', 'b', 'c', 'd'])
    updates[2] = { ...updates[2]!, delta: delta(7, 0) }
    updates[3] = { ...updates[3]!, delta: updates[1]!.delta }
    const asked: string[][] = []
    // Execute
    const result = scoreContributions({ method: 'shapley', updates, utility: tableUtility({ '': 0, a: 5 }, asked), seed: 0 })
    // Assert: only a plays; c, b and d are forced to 0 with their reason, and no coalition ever holds them.
    expect(result.scores).toEqual([
      { siteId: 'a', raw: 5, payable: 5 },
      { siteId: 'b', raw: 0, payable: 0, reason: 'stale-copy', duplicateOf: 'd' },
      { siteId: 'c', raw: 0, payable: 0, reason: 'zero-delta' },
      { siteId: 'd', raw: 0, payable: 0, reason: 'stale-copy', duplicateOf: 'b' },
    ])
    expect(asked.map((c) => c.join('+')).sort()).toEqual(['', 'a'])
  })

  it('keeps the earliest accepted of identical deltas and excludes the later copies', () => {
    // Prepare: b accepted at seq 40, its copies at 41 (a) and 52 (c).
    const updates = updatesFor(['a', 'b', 'c']).map((u) => ({ ...u, delta: delta(1) }))
    const seqs = { a: 41, b: 40, c: 52 } as const
    const withSeq = updates.map((u) => ({ ...u, acceptedSeq: seqs[u.siteId as keyof typeof seqs] }))
    // Execute
    const result = scoreContributions({ method: 'leave-one-out', updates: withSeq, utility: tableUtility({ '': 0, b: 3 }), seed: 0 })
    // Assert
    expect(result.scores).toEqual([
      { siteId: 'a', raw: 0, payable: 0, reason: 'stale-copy', duplicateOf: 'b' },
      { siteId: 'b', raw: 3, payable: 3 },
      { siteId: 'c', raw: 0, payable: 0, reason: 'stale-copy', duplicateOf: 'b' },
    ])
  })

  it('applies to the examples method too, and zeroDeltaNorm 0 disables the norm check', () => {
    // Prepare
    const updates = updatesFor(['a', 'b'])
    updates[1] = { ...updates[1]!, delta: delta(3, 1e-9) }
    // Execute
    const strict = scoreContributions({ updates, seed: 0 })
    const lenient = scoreContributions({ updates, seed: 0, params: { zeroDeltaNorm: 0 } })
    // Assert
    expect(strict.scores[1]).toEqual({ siteId: 'b', raw: 0, payable: 0, reason: 'zero-delta' })
    expect(lenient.scores[1]).toEqual({ siteId: 'b', raw: 20, payable: 20 })
  })
})

describe('scoreContributions: refusals', () => {
  it('refuses exact Shapley above 12 sites before evaluating anything', () => {
    // Prepare
    const asked: string[][] = []
    const ids = Array.from({ length: 13 }, (_, i) => `s${String(i).padStart(2, '0')}`)
    // Execute
    const run = () => scoreContributions({ method: 'shapley', updates: updatesFor(ids), utility: tableUtility({}, asked), seed: 0 })
    // Assert
    expect(run).toThrow(ShapleyTooManySitesError)
    expect(run).toThrow(expect.objectContaining({ code: 'COORD_SHAPLEY_TOO_MANY_SITES', sites: 13, limit: 12 }))
    expect(asked).toEqual([])
  })

  it('refuses a non-finite utility, naming the coalition', () => {
    // Prepare
    const utility: CoalitionUtility = { kind: 'function', utility: (c) => (c.length === 2 ? NaN : c.length) }
    // Execute
    const run = () => scoreContributions({ method: 'shapley', updates: updatesFor(['a', 'b']), utility, seed: 0 })
    // Assert
    expect(run).toThrow(expect.objectContaining({ code: 'COORD_UTILITY_NOT_FINITE', coalition: ['a', 'b'] }))
    expect(run).toThrow(ContributionUtilityError)
  })

  it('refuses bad inputs with typed errors', () => {
    // Prepare
    const updates = updatesFor(['a', 'b'])
    const utility = tableUtility(HAND)
    // Execute / Assert
    expect(() => scoreContributions({ method: 'shapley', updates, seed: 0 })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ updates, seed: -1 })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ updates, seed: 2 ** 32 })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ method: 'gtg-shapley', updates, utility, seed: 0, params: { maxPermutations: 0 } })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ method: 'gtg-shapley', updates, utility, seed: 0, params: { withinRoundTolerance: NaN } })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ updates, seed: 0, params: { zeroDeltaNorm: -1 } })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ updates: [...updates, updates[0]!], seed: 0 })).toThrow(DuplicateSiteError)
    expect(() => scoreContributions({ updates: [{ ...updates[0]!, acceptedSeq: -1 }], seed: 0 })).toThrow(ContributionInputError)
    expect(() => scoreContributions({ method: 'nope' as ContributionMethod, updates, seed: 0 })).toThrow(expect.objectContaining({ code: 'COORD_CONTRIBUTION_INVALID' }))
  })
})

// A 6-site logistic-regression round on a real validation set: sites push the parent toward the
// true model with different quality and noise; site-4 pushes away from it (negative value).
const MODEL: ModelSpec = { kind: 'logreg' }
const WIDTH = 6
const TRUTH = [1.5, -2, 0.8, 0, 1.2, -0.6, 0.3] // kernel, then bias

function gaussian(random: () => number): number {
  return (random() + random() + random() + random() - 2) * 1.7
}

function validationSet(count: number, seed: number): Dataset {
  const random = mulberry32(seed)
  const features = new Float32Array(count * WIDTH)
  const labels = new Float32Array(count)
  for (let r = 0; r < count; r++) {
    let z = TRUTH[WIDTH]!
    for (let k = 0; k < WIDTH; k++) {
      const x = gaussian(random)
      features[r * WIDTH + k] = x
      z += TRUTH[k]! * x
    }
    labels[r] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0
  }
  return { features, labels, count, width: WIDTH }
}

const PARENT = initialWeights(MODEL, WIDTH, 1)

function siteDelta(quality: number, noise: number, seed: number): Weights {
  const random = mulberry32(seed)
  const p = [...PARENT.tensors[0]!.values, ...PARENT.tensors[1]!.values]
  const d = TRUTH.map((t, j) => quality * (t - p[j]!) + noise * gaussian(random))
  return {
    tensors: [
      { name: 'output/kernel', shape: [WIDTH, 1], values: Float32Array.from(d.slice(0, WIDTH)) },
      { name: 'output/bias', shape: [1], values: Float32Array.from(d.slice(WIDTH)) },
    ],
  }
}

const SITES: readonly (readonly [quality: number, noise: number, examples: number])[] = [
  [0.9, 0.1, 200],
  [0.7, 0.3, 120],
  [0.5, 0.2, 80],
  [0.3, 0.6, 60],
  [-0.4, 0.2, 50],
  [0.8, 0.05, 150],
]
const ROUND: ContributionUpdate[] = SITES.map(([q, s, n], i) => ({ siteId: `site-${i}`, delta: siteDelta(q, s, 100 + i), exampleCount: n }))
const VALIDATION = validationSet(2000, 7)
const VALIDATION_UTILITY: CoalitionUtility = { kind: 'validation', model: MODEL, parent: PARENT, validation: VALIDATION }

describe('scoreContributions: validation utility', () => {
  it('values a coalition as −log loss of its FedAvg model minus the parent’s', () => {
    // Prepare: the same numbers by hand from fedAvg and evaluateCore.
    const u = (ids: readonly number[]) =>
      ids.length === 0
        ? -evaluateCore(MODEL, PARENT, VALIDATION).loss
        : -evaluateCore(
            MODEL,
            fedAvg(
              PARENT,
              ids.map((i) => ROUND[i]!),
            ),
            VALIDATION,
          ).loss
    const all = [0, 1, 2, 3, 4, 5]
    const expected = all.map((i) => u(all) - u(all.filter((j) => j !== i)))
    // Execute
    const result = scoreContributions({ method: 'leave-one-out', updates: ROUND, utility: VALIDATION_UTILITY, seed: 0 })
    // Assert
    expect(result.scores.map((s) => s.raw)).toEqual(expected)
    expect(result.gain).toBe(u(all) - u([]))
    expect(result.metric).toBe('neg-log-loss')
    expect(result.params).toEqual({ zeroDeltaNorm: 1e-6 })
  })

  it('can value accuracy instead', () => {
    // Prepare
    const accuracy = (w: Weights) => evaluateCore(MODEL, w, VALIDATION).accuracy
    // Execute
    const result = scoreContributions({ method: 'shapley', updates: ROUND.slice(0, 2), utility: { ...VALIDATION_UTILITY, metric: 'accuracy' }, seed: 0 })
    // Assert
    expect(result.metric).toBe('accuracy')
    expect(result.gain).toBe(accuracy(fedAvg(PARENT, ROUND.slice(0, 2))) - accuracy(PARENT))
  })
})

describe('scoreContributions: GTG-Shapley', () => {
  const exact = scoreContributions({ method: 'shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 0 })
  const exactValues = exact.scores.map((s) => s.raw)
  const totalAbs = exactValues.reduce((a, v) => a + Math.abs(v), 0)
  const maxError = (values: readonly number[]) => Math.max(...values.map((v, i) => Math.abs(v - exactValues[i]!)))

  it('with defaults is within 10% of Σ|φ| of exact Shapley on a 6-site round, and ranks the sites alike', () => {
    // Prepare: over seeds 1–8 the worst error with defaults was 5.9% of Σ|φ| (60–120 permutations).
    // Execute
    const result = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: contributionSeed(7, 1) })
    const values = result.scores.map((s) => s.raw)
    // Assert
    expect(maxError(values)).toBeLessThan(0.1 * totalAbs)
    expect(Math.abs(values.reduce((a, b) => a + b, 0) - exact.gain!)).toBeLessThan(1e-3) // efficiency up to withinRoundTolerance
    expect(result.scores[4]).toMatchObject({ siteId: 'site-4', payable: 0, reason: 'negative-value' })
    expect(values.indexOf(Math.max(...values))).toBeOneOf([0, 5]) // the two best sites, as exact Shapley says
    expect(result.utilityCalls).toBeLessThanOrEqual(64)
  })

  it('converges on exact Shapley as permutations grow (3% of Σ|φ| at 1200 permutations)', () => {
    // Prepare: the convergence test off, so the cap decides.
    const params = { convergenceTolerance: 0, maxPermutations: 1200 }
    // Execute
    const result = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 11, params })
    // Assert
    expect(result.permutations).toBe(1200)
    expect(result.converged).toBe(false)
    expect(maxError(result.scores.map((s) => s.raw))).toBeLessThan(0.03 * totalAbs)
  })

  it('is deterministic per seed', () => {
    // Prepare / Execute
    const a = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 42 })
    const b = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 42 })
    const c = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 43 })
    // Assert
    expect(b).toEqual(a)
    expect(c.scores.map((s) => s.raw)).not.toEqual(a.scores.map((s) => s.raw))
  })

  it('runs whole cycles up to the cap', () => {
    // Prepare: cap 20 with 6 sites → 4 cycles of 6 = 24 permutations.
    const params = { convergenceTolerance: 0, maxPermutations: 20 }
    // Execute
    const result = scoreContributions({ method: 'gtg-shapley', updates: ROUND, utility: VALIDATION_UTILITY, seed: 1, params })
    // Assert
    expect(result.permutations).toBe(24)
    expect(result.params).toMatchObject({ maxPermutations: 20, minPermutations: 30, convergenceWindow: 10, roundTruncation: 0.001, withinRoundTolerance: 0.001 })
  })

  it('truncates a round whose gain is below the threshold: every score 0 after 2 utilities', () => {
    // Prepare: U(N) − U(∅) = 0.0005 <= 0.001.
    const utility: CoalitionUtility = { kind: 'function', utility: (c) => 0.7 + 0.0005 * (c.length / 3) ** 2 }
    // Execute
    const result = scoreContributions({ method: 'gtg-shapley', updates: updatesFor(['a', 'b', 'c']), utility, seed: 1 })
    // Assert
    expect(result.scores.map((s) => [s.raw, s.payable, s.reason])).toEqual([
      [0, 0, 'round-truncated'],
      [0, 0, 'round-truncated'],
      [0, 0, 'round-truncated'],
    ])
    expect([result.utilityCalls, result.permutations, result.converged]).toEqual([2, 0, true])
  })

  it('skips coalitions once a prefix is within the tolerance of U(N)', () => {
    // Prepare: any non-empty coalition already reaches U(N), so every permutation stops after its first site.
    const asked: string[][] = []
    const utility: CoalitionUtility = {
      kind: 'function',
      utility: (c) => {
        asked.push([...c])
        return c.length === 0 ? 0 : 1
      },
    }
    // Execute
    const result = scoreContributions({ method: 'gtg-shapley', updates: updatesFor(['a', 'b', 'c', 'd']), utility, seed: 1 })
    // Assert: only ∅, N and the four singletons are ever evaluated; each site leads once per cycle, so φ = ¼ each.
    expect(asked.map((c) => c.length).sort()).toEqual([0, 1, 1, 1, 1, 4])
    expect(result.scores.map((s) => s.raw)).toEqual([0.25, 0.25, 0.25, 0.25])
  })
})
