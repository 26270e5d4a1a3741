import { describe, expect, it } from 'vitest'
import { mulberry32, shuffleIndices, type Random } from '../../../models/core/index.ts'
import { RewardInputError, SCORE_UNITS_PER_POINT, scoreContributions, scoreToUnits, splitRewardPool, splitToPatients, PatientRewardSplitError } from '../../../protocol/index.ts'

const amounts = (split: { allocations: readonly { amount: bigint }[] }) => split.allocations.map((a) => a.amount)

describe('scoreToUnits', () => {
  it('rounds score × 10^9 half to even, exactly', () => {
    // Prepare: 1/1024 × 10^9 = 5^9/2 = 976562.5 exactly → 976562 (even); 3/1024 → 2929687.5 → 2929688.
    // A float product would round both halves up (Math.round(976562.5) = 976563).
    // 0.1 is 0.1000000000000000055511151231257827… → 100000000; 1e20 is exactly 10^20 → 10^29.
    // Execute / Assert
    expect(scoreToUnits(0)).toBe(0n)
    expect(scoreToUnits(1)).toBe(SCORE_UNITS_PER_POINT)
    expect(scoreToUnits(1 / 1024)).toBe(976562n)
    expect(scoreToUnits(3 / 1024)).toBe(2929688n)
    expect(scoreToUnits(0.1)).toBe(100000000n)
    expect(scoreToUnits(1e20)).toBe(10n ** 29n)
    expect(scoreToUnits(4e-10)).toBe(0n)
    expect(scoreToUnits(6e-10)).toBe(1n)
    expect(scoreToUnits(5e-324)).toBe(0n)
    expect(scoreToUnits(Number.MAX_VALUE)).toBe(BigInt(Number.MAX_VALUE) * SCORE_UNITS_PER_POINT)
  })

  it('agrees with the exact decimal rounding of toFixed(9), and breaks exact ties to even', () => {
    // Prepare: toFixed rounds the exact binary value, ties up, so off ties it is an independent oracle.
    // Above about 2^26 a double has few enough fraction bits that x·10^9 can end in exactly .5.
    const random = mulberry32(8)
    let ties = 0
    // Execute / Assert
    for (let i = 0; i < 20_000; i++) {
      const x = random() * 10 ** Math.floor(random() * 24 - 12)
      const units = scoreToUnits(x)
      const decimals = x.toFixed(20)
      if (decimals.endsWith('50000000000')) {
        ties++
        const up = BigInt(x.toFixed(9).replace('.', ''))
        expect(units).toBe(up % 2n === 0n ? up : up - 1n)
      } else expect(units).toBe(BigInt(x.toFixed(9).replace('.', '')))
    }
    expect(ties).toBeGreaterThan(0)
  })

  it('refuses negative and non-finite scores', () => {
    // Execute / Assert
    for (const bad of [-1, -1e-300, NaN, Infinity]) expect(() => scoreToUnits(bad)).toThrow(RewardInputError)
  })
})

describe('splitRewardPool', () => {
  it('splits 100 three ways as 34, 33, 33: equal remainders go to the lowest site id', () => {
    // Prepare: quotas 33⅓ each; one unit left, remainders tie, "a" < "b" < "c".
    const scores = [
      { siteId: 'c', payable: 1 },
      { siteId: 'a', payable: 1 },
      { siteId: 'b', payable: 1 },
    ]
    // Execute
    const split = splitRewardPool(100n, scores)
    // Assert
    expect(split).toEqual({
      allocations: [
        { siteId: 'a', amount: 34n },
        { siteId: 'b', amount: 33n },
        { siteId: 'c', amount: 33n },
      ],
      unallocated: 0n,
    })
  })

  it('gives the left-over unit to the largest remainder (7 by 0.5 : 0.3 : 0.2 → 4, 2, 1)', () => {
    // Prepare: quotas 3.5, 2.1, 1.4 → floors 3, 2, 1 (6); remainders .5 > .4 > .1 → a gets the 7th unit.
    const scores = [
      { siteId: 'a', payable: 0.5 },
      { siteId: 'b', payable: 0.3 },
      { siteId: 'c', payable: 0.2 },
    ]
    // Execute / Assert
    expect(amounts(splitRewardPool(7n, scores))).toEqual([4n, 2n, 1n])
    expect(amounts(splitRewardPool(10n, scores))).toEqual([5n, 3n, 2n])
  })

  it('pays the hand-worked Shapley values 18 : 12 : 6 of a 1000-unit pool as 500, 333, 167', () => {
    // Prepare: quotas 500, 333⅓, 166⅔ → floors sum to 999; c's remainder ⅔ beats b's ⅓.
    const table: Record<string, number> = { '': 0, a: 12, b: 6, c: 0, 'a+b': 24, 'a+c': 18, 'b+c': 12, 'a+b+c': 36 }
    const updates = ['a', 'b', 'c'].map((siteId, i) => ({
      siteId,
      exampleCount: 1,
      delta: { tensors: [{ name: 'v', shape: [1], values: Float32Array.of(i + 1) }] },
    }))
    const contributions = scoreContributions({ method: 'shapley', updates, utility: { kind: 'function', utility: (c) => table[c.join('+')]! }, seed: 0 })
    // Execute
    const split = splitRewardPool(1000n, contributions.scores)
    // Assert
    expect(amounts(split)).toEqual([500n, 333n, 167n])
  })

  it('pays nothing when every score is 0 and reports the whole pool unallocated', () => {
    // Prepare
    const zeros = [
      { siteId: 'a', payable: 0 },
      { siteId: 'b', payable: 0 },
    ]
    // Execute
    const split = splitRewardPool(999n, zeros)
    const nobody = splitRewardPool(999n, [])
    // Assert
    expect(split).toEqual({
      allocations: [
        { siteId: 'a', amount: 0n },
        { siteId: 'b', amount: 0n },
      ],
      unallocated: 999n,
    })
    expect(nobody).toEqual({ allocations: [], unallocated: 999n })
  })

  it('gives one site the whole pool, and an empty pool gives nothing', () => {
    // Execute / Assert
    expect(splitRewardPool(12345678901234567890n, [{ siteId: 'only', payable: 0.003 }])).toEqual({ allocations: [{ siteId: 'only', amount: 12345678901234567890n }], unallocated: 0n })
    expect(
      amounts(
        splitRewardPool(0n, [
          { siteId: 'a', payable: 2 },
          { siteId: 'b', payable: 1 },
        ]),
      ),
    ).toEqual([0n, 0n])
  })

  it('refuses a negative pool, bad scores and duplicate sites', () => {
    // Execute / Assert
    expect(() => splitRewardPool(-1n, [])).toThrow(RewardInputError)
    expect(() => splitRewardPool(10 as unknown as bigint, [])).toThrow(RewardInputError)
    expect(() => splitRewardPool(10n, [{ siteId: 'a', payable: -0.5 }])).toThrow(expect.objectContaining({ code: 'COORD_REWARD_INVALID' }))
    expect(() => splitRewardPool(10n, [{ siteId: 'a', payable: NaN }])).toThrow(RewardInputError)
    expect(() =>
      splitRewardPool(10n, [
        { siteId: 'a', payable: 1 },
        { siteId: 'a', payable: 2 },
      ]),
    ).toThrow(RewardInputError)
  })
})

/** A random bigint below 2^bits. */
function randomBigint(random: Random, bits: number): bigint {
  let out = 0n
  for (let b = 0; b < bits; b += 16) out = (out << 16n) | BigInt(Math.floor(random() * 65536))
  return out & ((1n << BigInt(bits)) - 1n)
}

function randomScore(random: Random): number {
  const kind = random()
  if (kind < 0.2) return 0
  if (kind < 0.3) return 1e-12 // below one score unit: weighs nothing
  if (kind < 0.4) return Math.floor(random() * 5) // small integers: many ties
  return random() * 10 ** Math.floor(random() * 8 - 4)
}

describe('splitRewardPool: properties over 3,000 seeded random cases', () => {
  it('sums exactly to the pool, rounds each quota down or up, never favours a smaller score, ignores input order', () => {
    // Prepare
    const random = mulberry32(2024)
    const failures: string[] = []
    for (let c = 0; c < 3000; c++) {
      const n = 1 + Math.floor(random() * 20)
      const pool = random() < 0.5 ? BigInt(Math.floor(random() * 60)) : randomBigint(random, 1 + Math.floor(random() * 96))
      const scores = Array.from({ length: n }, (_, i) => ({ siteId: `site-${(i * 7919) % 1000}`, payable: randomScore(random) }))
      // Execute
      const split = splitRewardPool(pool, scores)
      const shuffled = splitRewardPool(
        pool,
        Array.from(shuffleIndices(n, c), (i) => scores[i]!),
      )
      // Assert
      const units = new Map(scores.map((s) => [s.siteId, scoreToUnits(s.payable)]))
      const total = [...units.values()].reduce((a, b) => a + b, 0n)
      const paid = split.allocations.reduce((a, x) => a + x.amount, 0n)
      const where = `case ${c}: pool ${pool}, ${n} sites`
      if (paid + split.unallocated !== pool) failures.push(`${where}: paid ${paid} + unallocated ${split.unallocated}`)
      if (split.unallocated !== (total === 0n ? pool : 0n)) failures.push(`${where}: unallocated ${split.unallocated}`)
      expect(shuffled).toEqual(split)
      expect(split.allocations.map((a) => a.siteId)).toEqual([...units.keys()].sort())
      for (const a of split.allocations) {
        const w = units.get(a.siteId)!
        const floor = total === 0n ? 0n : (pool * w) / total
        const ok = total === 0n || w === 0n ? a.amount === 0n : a.amount === floor || a.amount === floor + 1n
        if (!ok) failures.push(`${where}: ${a.siteId} weight ${w} got ${a.amount}, quota floor ${floor}`)
        for (const b of split.allocations) {
          if (w > units.get(b.siteId)! && a.amount < b.amount) failures.push(`${where}: ${a.siteId} outweighs ${b.siteId} but gets less`)
        }
      }
    }
    expect(failures).toEqual([])
  })
})

describe('splitToPatients', () => {
  it('passes 10 units through to three equal patients as 4, 3, 3 (ties by pseudonym)', () => {
    // Prepare
    const weights = [
      { pseudonym: 'p-b', weight: 1n },
      { pseudonym: 'p-a', weight: 1n },
      { pseudonym: 'p-c', weight: 1n },
    ]
    // Execute
    const split = splitToPatients(10n, weights)
    // Assert
    expect(split).toEqual({
      allocations: [
        { pseudonym: 'p-a', amount: 4n },
        { pseudonym: 'p-b', amount: 3n },
        { pseudonym: 'p-c', amount: 3n },
      ],
      unallocated: 0n,
    })
  })

  it('is pro rata in integers and sums exactly over random cases', () => {
    // Prepare
    const random = mulberry32(77)
    for (let c = 0; c < 1000; c++) {
      const amount = randomBigint(random, 1 + Math.floor(random() * 64))
      const weights = Array.from({ length: 1 + Math.floor(random() * 300) }, (_, i) => ({ pseudonym: `pt-${i}`, weight: BigInt(Math.floor(random() * 4)) }))
      // Execute
      const split = splitToPatients(amount, weights)
      // Assert
      const total = weights.reduce((a, w) => a + w.weight, 0n)
      expect(split.allocations.reduce((a, x) => a + x.amount, 0n) + split.unallocated).toBe(amount)
      expect(split.unallocated).toBe(total === 0n ? amount : 0n)
    }
  })

  it('reports an all-zero weighting as unallocated and refuses bad input', () => {
    // Execute / Assert
    expect(splitToPatients(5n, [{ pseudonym: 'x', weight: 0n }])).toEqual({ allocations: [{ pseudonym: 'x', amount: 0n }], unallocated: 5n })
    expect(() => splitToPatients(5n, [{ pseudonym: 'x', weight: -1n }])).toThrow(PatientRewardSplitError)
    expect(() => splitToPatients(-5n, [])).toThrow(PatientRewardSplitError)
    expect(() =>
      splitToPatients(5n, [
        { pseudonym: 'x', weight: 1n },
        { pseudonym: 'x', weight: 2n },
      ]),
    ).toThrow(PatientRewardSplitError)
  })
})
