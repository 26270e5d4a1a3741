/**
 * models/core/robust-aggregate.ts on inputs worked out by hand. Every expected
 * number is written here and was computed independently of the code under
 * test by robust-aggregate.reference.py (plain Python, the same definitions
 * as Flower's aggregate.py, float32 rounding with struct).
 */
import { describe, expect, it } from 'vitest'
import { DuplicateSiteError, StrategyPreconditionError, bulyan, coordinateMedian, krum, krumScores, trimCount, trimmedMean, type WeightedUpdate, type Weights } from '../../../models/core/index.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

function updates(deltas: Record<string, number[]>, examples: Record<string, number> = {}): WeightedUpdate[] {
  return Object.entries(deltas).map(([siteId, d]) => ({ siteId, delta: vector(d), exampleCount: examples[siteId] ?? 1 }))
}

const values = (w: Weights): number[] => Array.from(w.tensors[0]!.values)

const G = vector([0, 1, -1])
const D4 = { a: [1, -2, 0.5], b: [3, 0, 0.5], c: [2, 10, -1], d: [-4, 1, 0.25] }

describe('coordinateMedian (FedMedian)', () => {
  it('takes the mean of the two middle values for an even count', () => {
    // Prepare: columns sorted [-4,1,2,3] → 1.5, [-2,0,1,10] → 0.5, [-1,0.25,0.5,0.5] → 0.375.
    const u = updates(D4)
    // Execute
    const next = coordinateMedian(G, u)
    // Assert
    expect(values(next)).toEqual([1.5, 1.5, -0.625])
  })

  it('takes the middle value for an odd count and ignores example counts and arrival order', () => {
    // Prepare
    const { a, b, c } = D4
    const u = updates({ c, a, b }, { a: 1000, b: 1, c: 7 })
    // Execute
    const next = coordinateMedian(G, u)
    // Assert
    expect(values(next)).toEqual([2, 1, -0.5])
  })

  it('refuses two updates of one site', () => {
    // Prepare
    const u = [...updates({ a: [1, 1, 1] }), ...updates({ a: [2, 2, 2] })]
    // Execute / Assert
    expect(() => coordinateMedian(G, u)).toThrow(DuplicateSiteError)
  })
})

describe('trimmedMean (FedTrimmedAvg)', () => {
  it('cuts floor(beta · n) values from each side, then averages the rest unweighted', () => {
    // Prepare: [100, 1, 2, 3, -50], beta 0.2, n 5 → k 1 → mean(1, 2, 3) = 2.
    const u = updates({ a: [100], b: [1], c: [2], d: [3], e: [-50] }, { a: 50, e: 3 })
    // Execute
    const next = trimmedMean(vector([0.5]), u, 0.2)
    // Assert
    expect(trimCount(5, 0.2)).toBe(1)
    expect(values(next)).toEqual([2.5])
  })

  it('is the plain mean when floor(beta · n) is 0, and cuts one per side at beta 0.3 of 4', () => {
    // Prepare: [4, -1, 2, 9]: mean 3.5; sorted [-1, 2, 4, 9] minus one each side → 3.
    const u = updates({ a: [4], b: [-1], c: [2], d: [9] })
    // Execute
    const plain = trimmedMean(vector([0]), u, 0.2)
    const trimmed = trimmedMean(vector([0]), u, 0.3)
    // Assert
    expect(values(plain)).toEqual([3.5])
    expect(values(trimmed)).toEqual([3])
  })

  it('refuses a trim of half or more: StrategyPreconditionError', () => {
    // Prepare
    const u = updates({ a: [1], b: [2] })
    // Execute / Assert
    expect(() => trimmedMean(vector([0]), u, 0.5)).toThrow(StrategyPreconditionError)
  })
})

// Z-clinic, a-, b-, c-clinic sit on a unit square (each score 1 + 1 = 2 with n − f − 2 = 2 closest); the attacker is far away (162 + 181 = 343).
const SQUARE = { 'a-clinic': [0, 0], 'Z-clinic': [1, 0], 'b-clinic': [0, 1], 'c-clinic': [1, 1], 'e-attacker': [10, 10] }

describe('krumScores and krum', () => {
  it('scores each update by its n − f − 2 closest squared distances and breaks ties by code-unit site order', () => {
    // Prepare
    const u = updates(SQUARE)
    // Execute
    const scores = krumScores(u, 1)
    // Assert: "Z" (0x5a) sorts before "a" (0x61) in code units, so Z-clinic wins the four-way tie.
    expect(scores).toEqual([
      { siteId: 'Z-clinic', score: 2, rank: 1 },
      { siteId: 'a-clinic', score: 2, rank: 2 },
      { siteId: 'b-clinic', score: 2, rank: 3 },
      { siteId: 'c-clinic', score: 2, rank: 4 },
      { siteId: 'e-attacker', score: 343, rank: 5 },
    ])
  })

  it('Krum (keep 0) adds the best-scored delta to the model and reports every other site', () => {
    // Prepare
    const u = updates(SQUARE)
    // Execute
    const s = krum(vector([0.5, 0.5]), u, 1, 0)
    // Assert
    expect(values(s.weights)).toEqual([1.5, 0.5])
    expect(s.kept).toEqual(['Z-clinic'])
    expect(s.excluded.map((e) => [e.siteId, e.rank])).toEqual([
      ['a-clinic', 2],
      ['b-clinic', 3],
      ['c-clinic', 4],
      ['e-attacker', 5],
    ])
  })

  it('Multi-Krum (keep 2) averages the two best deltas weighted by examples', () => {
    // Prepare: Z-clinic [1, 0] × 3 examples and a-clinic [0, 0] × 1 → [0.75, 0].
    const u = updates(SQUARE, { 'Z-clinic': 3, 'a-clinic': 1, 'b-clinic': 100 })
    // Execute
    const s = krum(vector([0, 0]), u, 1, 2)
    // Assert
    expect(values(s.weights)).toEqual([0.75, 0])
    expect(s.kept).toEqual(['Z-clinic', 'a-clinic'])
  })

  it('needs n ≥ 2f + 3 and keep ≤ n − f: StrategyPreconditionError', () => {
    // Prepare
    const { 'e-attacker': _drop, ...four } = SQUARE
    // Execute / Assert
    expect(() => krumScores(updates(four), 1)).toThrow(/at least 5 updates \(n ≥ 2f \+ 3\), got 4/)
    expect(() => krumScores(updates(four), 0)).not.toThrow()
    expect(() => krum(vector([0, 0]), updates(SQUARE), 1, 5)).toThrow(StrategyPreconditionError)
  })
})

const SEVEN = { s1: [0, 0], s2: [1, 0.5], s3: [2, -0.5], s4: [0.5, 1], s5: [1.5, 0], s6: [-0.5, 0.25], s7: [20, -20] }

describe('bulyan', () => {
  it('picks n − 2f by repeated Krum, then averages the β values closest to each coordinate median', () => {
    // Prepare
    const u = updates(SEVEN, { s7: 1000 })
    // Execute
    const s = bulyan(vector([0, 0]), u, 1)
    // Assert: reference gives [1.0, 0.1666666716337204]; s6 and s7 left, scored among the last three.
    expect(values(s.weights)).toEqual([1, 0.1666666716337204])
    expect(s.kept).toEqual(['s1', 's2', 's3', 's4', 's5'])
    expect(s.excluded).toEqual([
      { siteId: 's6', score: 6.8125, rank: 2 },
      { siteId: 's7', score: 704.25, rank: 3 },
    ])
  })

  it('needs n ≥ 4f + 3: StrategyPreconditionError', () => {
    // Prepare
    const { s7: _drop, ...six } = SEVEN
    // Execute / Assert
    expect(() => bulyan(vector([0, 0]), updates(six), 1)).toThrow(/at least 7 updates \(n ≥ 4f \+ 3\), got 6/)
    expect(() => bulyan(vector([0, 0]), updates(SEVEN), 1)).not.toThrow()
  })

  it('leaves its input untouched (Flower pops from its caller list)', () => {
    // Prepare
    const u = updates(SEVEN)
    const before = u.map((x) => [x.siteId, ...values(x.delta)])
    // Execute
    bulyan(vector([0, 0]), u, 1)
    // Assert
    expect(u.map((x) => [x.siteId, ...values(x.delta)])).toEqual(before)
  })
})
