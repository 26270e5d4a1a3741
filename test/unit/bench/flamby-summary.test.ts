/**
 * The FLamby benchmark's verdicts: which strategy lands within FLamby's
 * spread, which meets the floor, and that a strategy this build
 * lacks is listed as such rather than left out. Also: every strategy the
 * bench lists parses as this build's spec.
 */
import { describe, expect, it } from 'vitest'
import type { FlambyReference } from '../../../bench/flamby/reference.ts'
import { formatSummary, withinFlambySpread, type StrategyResult } from '../../../bench/flamby/report.ts'
import { FLAMBY_STRATEGIES, strategySpec } from '../../../bench/flamby/strategies.ts'

const REFERENCE: FlambyReference = {
  method: 'FedAdam100',
  clientTestMeans: [0.75, 0.75, 0.6, 0.6],
  pooledTestMean: 0.78,
  pooledTestStd: 0.01,
  pooledTestStdSample: 0.011,
  exampleWeightedClientTestMean: 0.72,
  exampleWeightedClientTestStd: 0.01,
  seeds: 5,
} as FlambyReference

function result(pooledTestMean: number): StrategyResult {
  return { pooledTestMean, pooledTestStd: 0.02 } as StrategyResult
}

describe('FLamby summary', () => {
  it('counts a mean within FLamby mean ± 2 std (its published, ddof-0 std) and no further', () => {
    expect(withinFlambySpread(0.7601, REFERENCE)).toBe(true)
    expect(withinFlambySpread(0.7999, REFERENCE)).toBe(true)
    expect(withinFlambySpread(0.7599, REFERENCE)).toBe(false)
  })

  it('marks a missed floor and a mean outside the spread, and lists a missing strategy', () => {
    // Execute
    const text = formatSummary(
      [
        { key: 'fedadam', result: result(0.755), reference: REFERENCE, target: 0.76 },
        { key: 'fedyogi', result: result(0.775), reference: REFERENCE, target: 0.76 },
      ],
      [{ key: 'scaffold', reference: REFERENCE }],
    )
    // Assert
    const row = (key: string) => text.split('\n').find((l) => l.startsWith(key)) ?? ''
    expect(row('fedadam')).toMatch(/NO .*MISSED ≥ 0\.76/)
    expect(row('fedyogi')).toMatch(/yes .*met ≥ 0\.76/)
    expect(row('scaffold')).toMatch(/not implemented/)
  })

  it('parses every strategy it lists with this build (scaffold included)', () => {
    const missing = FLAMBY_STRATEGIES.filter((s) => strategySpec(s, 42) === undefined).map((s) => s.key)
    expect(missing).toEqual([])
    expect(strategySpec(FLAMBY_STRATEGIES.find((s) => s.key === 'scaffold')!, 42)).toEqual({ name: 'scaffold', serverLearningRate: 1, controlVariateWeights: 'examples' })
    expect(strategySpec(FLAMBY_STRATEGIES.find((s) => s.key === 'cyclic')!, 42)).toMatchObject({ name: 'cyclic', cycleSeed: 42, deterministicCycle: false })
  })
})
