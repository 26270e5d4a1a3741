/**
 * Issue 12's goal check in the Byzantine bench: the worst attack by mean
 * accuracy at 2 attackers, measured against clean FedAvg's mean over the same
 * seeds (not the strategy's own clean run), met within 2 points, with the
 * per-seed paired differences.
 */
import { describe, expect, it } from 'vitest'
import { checkGoal, type GoalInit } from '../../../bench/byzantine/goal.ts'
import { summarizeSeeds, type SeedRun } from '../../../bench/byzantine/summary.ts'

const SEEDS = [42, 43]
const INIT: GoalInit = { strategies: ['fedavg', 'fedmedian'], attacks: ['sign-flip', 'replay'], attackers: 2, points: 2, baseline: 'fedavg' }

/** Runs for the cells INIT needs; `acc[key]` is the accuracy per seed, key `strategy attack×k`. */
function cells(acc: Record<string, readonly [number, number]>) {
  const runs: SeedRun[] = Object.entries(acc).flatMap(([key, values]) => {
    const [strategy, scenario] = key.split(' ') as [string, string]
    const [attack, k] = scenario.split('×') as [string, string]
    return values.map((accuracy, i) => ({ strategy, attack, attackers: Number(k), seed: SEEDS[i]!, accuracy, loss: 0, excludedAttackerUpdates: 0, excludedHonestUpdates: 0, abandonedRounds: 0 }))
  })
  return summarizeSeeds(runs, SEEDS)
}

describe('Byzantine bench goal check', () => {
  it('measures against clean FedAvg: a strategy that holds its own clean accuracy can still miss the goal', () => {
    // Prepare: clean FedAvg 0.82 on average; FedMedian's own clean run is 0.79 and stays there under attack.
    const table = cells({
      'fedavg none×0': [0.81, 0.83],
      'fedavg sign-flip×2': [0.7, 0.72],
      'fedavg replay×2': [0.8, 0.8],
      'fedmedian none×0': [0.78, 0.8],
      'fedmedian sign-flip×2': [0.79, 0.79],
      'fedmedian replay×2': [0.78, 0.8],
    })

    // Execute
    const [fedavg, fedmedian] = checkGoal(table, INIT)

    // Assert
    expect(fedavg).toMatchObject({ strategy: 'fedavg', worstAttack: 'sign-flip', pointsBelowClean: 11, met: false, pointsBelowOwnClean: 11, metAgainstOwnClean: false })
    expect(fedmedian).toMatchObject({ strategy: 'fedmedian', worstAttack: 'sign-flip', pointsBelowClean: 3, met: false, pointsBelowOwnClean: 0, metAgainstOwnClean: true })
    expect(fedmedian!.worstAccuracy).toBeCloseTo(0.79, 12)
    expect(fedmedian!.ownCleanAccuracy).toBeCloseTo(0.79, 12)
  })

  it('picks the worst attack by mean over seeds, not by one bad seed, and gives the paired per-seed gaps', () => {
    // Prepare: replay has the single lowest seed (0.70) but sign-flip the lower mean (0.77 < 0.775).
    const table = cells({
      'fedavg none×0': [0.8, 0.8],
      'fedavg sign-flip×2': [0.76, 0.78],
      'fedavg replay×2': [0.7, 0.85],
      'fedmedian none×0': [0.8, 0.8],
      'fedmedian sign-flip×2': [0.8, 0.8],
      'fedmedian replay×2': [0.8, 0.8],
    })

    // Execute
    const [fedavg] = checkGoal(table, INIT)

    // Assert
    expect(fedavg!.worstAttack).toBe('sign-flip')
    expect(fedavg!.pointsBelowCleanPerSeed).toEqual([4, 2])
    expect(fedavg!.pointsBelowClean).toBe(3)
    // sample sd of [4, 2] points
    expect(fedavg!.pairedStdPoints).toBeCloseTo(Math.SQRT2, 1)
  })

  it('counts a gap of exactly 2 points as met, 2.1 as not, and a gain as met', () => {
    // Prepare: clean FedAvg 0.85; FedAvg's worst 0.83 (exactly 2 points, though 0.85 - 0.83 is 0.020000000000000018 in floats), FedMedian's worst 0.829.
    const table = cells({
      'fedavg none×0': [0.85, 0.85],
      'fedavg sign-flip×2': [0.83, 0.83],
      'fedavg replay×2': [0.9, 0.9],
      'fedmedian none×0': [0.85, 0.85],
      'fedmedian sign-flip×2': [0.829, 0.829],
      'fedmedian replay×2': [0.86, 0.86],
    })
    const gain = cells({
      'fedavg none×0': [0.82, 0.82],
      'fedavg sign-flip×2': [0.85, 0.85],
      'fedavg replay×2': [0.83, 0.83],
      'fedmedian none×0': [0.82, 0.82],
      'fedmedian sign-flip×2': [0.82, 0.82],
      'fedmedian replay×2': [0.82, 0.82],
    })

    // Execute
    const [exactly, over] = checkGoal(table, INIT)
    const [better] = checkGoal(gain, INIT)

    // Assert
    expect([exactly!.met, exactly!.pointsBelowClean]).toEqual([true, 2])
    expect([over!.met, over!.pointsBelowClean]).toEqual([false, 2.1])
    expect([better!.met, better!.pointsBelowClean]).toEqual([true, -1])
  })

  it('reports a NaN paired sd for a single seed rather than a spread of zero', () => {
    // Prepare
    const runs: SeedRun[] = [
      ['fedavg', 'none', 0, 0.8],
      ['fedavg', 'sign-flip', 2, 0.7],
      ['fedavg', 'replay', 2, 0.75],
    ].map(
      ([strategy, attack, attackers, accuracy]) => ({ strategy, attack, attackers, seed: 1, accuracy, loss: 0, excludedAttackerUpdates: 0, excludedHonestUpdates: 0, abandonedRounds: 0 }) as SeedRun,
    )

    // Execute
    const [fedavg] = checkGoal(summarizeSeeds(runs, [1]), { ...INIT, strategies: ['fedavg'] })

    // Assert
    expect(fedavg!.pointsBelowClean).toBe(10)
    expect(fedavg!.pairedStdPoints).toBeNaN()
  })
})
