/**
 * The Byzantine bench's seed averaging: one cell per (strategy, attack,
 * attackers) with the mean, sample std and range over seeds, per-seed values
 * in seed order (so cells pair up), and a refusal to average cells that did
 * not run on exactly the same seeds.
 */
import { describe, expect, it } from 'vitest'
import { MissingCellError, UnpairedSeedsError } from '../../../bench/byzantine/errors.ts'
import { cellOf, summarizeSeeds, type SeedRun } from '../../../bench/byzantine/summary.ts'

function run(strategy: string, attack: string, attackers: number, seed: number, accuracy: number, excluded = 0): SeedRun {
  return { strategy, attack, attackers, seed, accuracy, loss: 1 - accuracy, excludedAttackerUpdates: excluded, excludedHonestUpdates: 1, abandonedRounds: 0 }
}

describe('Byzantine bench seed averaging', () => {
  it('gives the mean, sample std and range over seeds, with per-seed values in seed order whatever the run order', () => {
    // Prepare: 0.80, 0.82, 0.84 (mean 0.82, sample std 0.02), arriving out of order.
    const runs = [run('krum', 'sign-flip', 2, 44, 0.84, 3), run('krum', 'sign-flip', 2, 42, 0.8, 1), run('krum', 'sign-flip', 2, 43, 0.82, 2)]

    // Execute
    const [cell, ...rest] = summarizeSeeds(runs, [42, 43, 44])

    // Assert
    expect(rest).toEqual([])
    expect(cell!.accuracyPerSeed).toEqual([0.8, 0.82, 0.84])
    expect(cell!.meanAccuracy).toBeCloseTo(0.82, 12)
    expect(cell!.stdAccuracy).toBeCloseTo(0.02, 12)
    expect([cell!.minAccuracy, cell!.maxAccuracy]).toEqual([0.8, 0.84])
    expect(cell!.meanLoss).toBeCloseTo(0.18, 12)
    expect(cell!.excludedAttackerUpdates).toBe(6)
    expect(cell!.excludedHonestUpdates).toBe(3)
  })

  it('keeps cells apart by strategy, attack and attacker count', () => {
    // Prepare
    const runs = [run('fedavg', 'none', 0, 1, 0.8), run('fedavg', 'replay', 1, 1, 0.7), run('fedavg', 'replay', 2, 1, 0.6), run('fedmedian', 'replay', 2, 1, 0.75)]

    // Execute
    const cells = summarizeSeeds(runs, [1])

    // Assert
    expect(cells.map((c) => [c.strategy, c.attack, c.attackers, c.meanAccuracy])).toEqual([
      ['fedavg', 'none', 0, 0.8],
      ['fedavg', 'replay', 1, 0.7],
      ['fedavg', 'replay', 2, 0.6],
      ['fedmedian', 'replay', 2, 0.75],
    ])
    expect(cells[0]!.stdAccuracy).toBeNaN()
  })

  it.each([
    { desc: 'a missing seed', seeds: [42, 43], runs: [run('bulyan', 'gaussian', 2, 42, 0.8)] },
    { desc: 'a seed run twice', seeds: [42, 43], runs: [run('bulyan', 'gaussian', 2, 42, 0.8), run('bulyan', 'gaussian', 2, 42, 0.8), run('bulyan', 'gaussian', 2, 43, 0.8)] },
    { desc: 'a seed outside the list', seeds: [42, 43], runs: [run('bulyan', 'gaussian', 2, 42, 0.8), run('bulyan', 'gaussian', 2, 44, 0.8)] },
  ])('refuses to average a cell with $desc', ({ seeds, runs }) => {
    // Execute / Assert
    expect(() => summarizeSeeds(runs, seeds)).toThrow(UnpairedSeedsError)
    try {
      summarizeSeeds(runs, seeds)
    } catch (e) {
      expect((e as UnpairedSeedsError).code).toBe('BENCH_BYZANTINE_UNPAIRED_SEEDS')
      expect((e as UnpairedSeedsError).expected).toEqual(seeds)
    }
  })

  it('finds the clean run for any attack at 0 attackers, and throws a typed error for a cell that never ran', () => {
    // Prepare
    const cells = summarizeSeeds([run('fedavg', 'none', 0, 1, 0.8), run('fedavg', 'replay', 2, 1, 0.6)], [1])

    // Execute / Assert
    expect(cellOf(cells, 'fedavg', 'sign-flip', 0).meanAccuracy).toBe(0.8)
    expect(cellOf(cells, 'fedavg', 'replay', 2).meanAccuracy).toBe(0.6)
    expect(() => cellOf(cells, 'fedavg', 'replay', 3)).toThrow(MissingCellError)
    expect(() => cellOf(cells, 'krum', 'none', 0)).toThrow(/krum none×0/)
  })
})
