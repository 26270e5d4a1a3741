/**
 * Issue 12's goal, checked on seed means. Pure. For each strategy: the
 * attack with the lowest mean accuracy at `attackers` attackers (the worst
 * case), compared with the clean run of the baseline (FedAvg, no attackers)
 * averaged over the same seeds, and with the strategy's own clean run. The
 * goal is met when the worst mean is at most `points` accuracy points below.
 *
 * Because every cell ran on the same seeds, the per-seed differences are
 * also given (baseline clean minus worst attack, seed by seed) with their
 * sample std: a gap is resolved only when it is large against that spread.
 */
import { mean, std } from '../support/stats.ts'
import { cellOf, type Cell } from './summary.ts'

export interface GoalInit {
  readonly strategies: readonly string[]
  readonly attacks: readonly string[]
  /** Attackers of the goal (issue 12: 2 of 10). */
  readonly attackers: number
  /** Allowed drop in accuracy points (issue 12: 2). */
  readonly points: number
  /** The strategy whose clean run is the reference (FedAvg). */
  readonly baseline: string
}

export interface GoalResult {
  readonly strategy: string
  /** The attack with the lowest mean accuracy at `attackers` attackers (the first in `attacks` order on a tie). */
  readonly worstAttack: string
  readonly worstAccuracy: number
  readonly worstStd: number
  /** Baseline clean mean minus `worstAccuracy`, in points (one decimal); negative when the strategy under attack does better. */
  readonly pointsBelowClean: number
  /** Per seed: baseline clean minus the worst attack's accuracy, in points (one decimal). */
  readonly pointsBelowCleanPerSeed: readonly number[]
  /** Sample std (ddof 1) of the per-seed differences, in points; NaN (null) for one seed. */
  readonly pairedStdPoints: number
  readonly met: boolean
  readonly ownCleanAccuracy: number
  readonly pointsBelowOwnClean: number
  readonly metAgainstOwnClean: boolean
}

/** Tolerance on "within `points`", so a gap of exactly `points` (e.g. 3 rows of 150) counts as met despite float rounding. */
const EPSILON = 1e-9
const toPoints = (fraction: number) => Math.round(1000 * fraction) / 10

export function checkGoal(cells: readonly Cell[], init: GoalInit): GoalResult[] {
  const clean = cellOf(cells, init.baseline, 'none', 0)
  return init.strategies.map((strategy) => {
    const underAttack = init.attacks.map((attack) => cellOf(cells, strategy, attack, init.attackers))
    const worst = underAttack.reduce((a, c) => (c.meanAccuracy < a.meanAccuracy ? c : a))
    const own = cellOf(cells, strategy, 'none', 0)
    const perSeed = clean.accuracyPerSeed.map((a, s) => a - worst.accuracyPerSeed[s]!)
    const below = mean(perSeed)
    const belowOwn = own.meanAccuracy - worst.meanAccuracy
    return {
      strategy,
      worstAttack: worst.attack,
      worstAccuracy: worst.meanAccuracy,
      worstStd: worst.stdAccuracy,
      pointsBelowClean: toPoints(below),
      pointsBelowCleanPerSeed: perSeed.map(toPoints),
      pairedStdPoints: Math.round(1000 * std(perSeed)) / 10,
      met: below <= init.points / 100 + EPSILON,
      ownCleanAccuracy: own.meanAccuracy,
      pointsBelowOwnClean: toPoints(belowOwn),
      metAgainstOwnClean: belowOwn <= init.points / 100 + EPSILON,
    }
  })
}
