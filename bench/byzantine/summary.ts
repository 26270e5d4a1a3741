/**
 * Seed averaging for the Byzantine bench. Pure: takes the per-seed run
 * results and returns one cell per (strategy, attack, attackers) with the
 * mean over seeds and its spread. Every strategy and attack runs on the same
 * seeds (same site split, initial model and training order per seed), so the
 * per-seed values line up and a difference between two cells can be taken
 * seed by seed (a paired comparison).
 */
import { mean, std } from '../support/stats.ts'
import { MissingCellError, UnpairedSeedsError } from './errors.ts'

/** What the summary needs from one run (bench/byzantine/run.ts `RunResult`). */
export interface SeedRun {
  readonly strategy: string
  readonly attack: string
  readonly attackers: number
  readonly seed: number
  readonly accuracy: number
  readonly loss: number
  readonly excludedAttackerUpdates: number
  readonly excludedHonestUpdates: number
  readonly abandonedRounds: number
}

export interface Cell {
  readonly strategy: string
  /** `none` for the clean run (0 attackers). */
  readonly attack: string
  readonly attackers: number
  /** Final test accuracy per seed, in the order of `seeds`. */
  readonly accuracyPerSeed: readonly number[]
  readonly meanAccuracy: number
  /** Sample std (ddof 1) over seeds; NaN (written null) for one seed. */
  readonly stdAccuracy: number
  readonly minAccuracy: number
  readonly maxAccuracy: number
  readonly meanLoss: number
  /** Summed over seeds and rounds. */
  readonly excludedAttackerUpdates: number
  readonly excludedHonestUpdates: number
  readonly abandonedRounds: number
}

const keyOf = (r: { strategy: string; attack: string; attackers: number }) => `${r.strategy} ${r.attack}×${r.attackers}`

/**
 * One cell per (strategy, attack, attackers), in the order each first
 * appears in `runs`. Requires every cell to have exactly one run per seed in
 * `seeds`; throws `UnpairedSeedsError` otherwise.
 */
export function summarizeSeeds(runs: readonly SeedRun[], seeds: readonly number[]): Cell[] {
  const groups = new Map<string, SeedRun[]>()
  for (const r of runs) {
    const group = groups.get(keyOf(r)) ?? []
    group.push(r)
    groups.set(keyOf(r), group)
  }
  return [...groups.entries()].map(([key, group]) => {
    const bySeed = seeds.map((s) => group.filter((r) => r.seed === s))
    if (group.length !== seeds.length || bySeed.some((g) => g.length !== 1))
      throw new UnpairedSeedsError(
        key,
        group.map((r) => r.seed),
        seeds,
      )
    const ordered = bySeed.map((g) => g[0]!)
    const accuracy = ordered.map((r) => r.accuracy)
    const first = ordered[0]!
    return {
      strategy: first.strategy,
      attack: first.attack,
      attackers: first.attackers,
      accuracyPerSeed: accuracy,
      meanAccuracy: mean(accuracy),
      stdAccuracy: std(accuracy),
      minAccuracy: Math.min(...accuracy),
      maxAccuracy: Math.max(...accuracy),
      meanLoss: mean(ordered.map((r) => r.loss)),
      excludedAttackerUpdates: ordered.reduce((a, r) => a + r.excludedAttackerUpdates, 0),
      excludedHonestUpdates: ordered.reduce((a, r) => a + r.excludedHonestUpdates, 0),
      abandonedRounds: ordered.reduce((a, r) => a + r.abandonedRounds, 0),
    }
  })
}

/** The cell of `strategy` under `attack` with `attackers` attackers; with 0 attackers, its clean run whatever `attack` says. Throws when missing. */
export function cellOf(cells: readonly Cell[], strategy: string, attack: string, attackers: number): Cell {
  const cell = cells.find((c) => c.strategy === strategy && c.attackers === attackers && (attackers === 0 || c.attack === attack))
  if (cell === undefined) throw new MissingCellError(`no results for ${strategy} ${attack}×${attackers}; add it to the bench's scenarios`)
  return cell
}
