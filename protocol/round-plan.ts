/**
 * The plan a round opens with, from the folded state alone: the study's
 * strategy asked for round `round` over the sites it may plan now (enrolled,
 * not removed, approving when the study requires it), with the round's
 * public seed and the newest server state's hash. The decider opens rounds
 * with it; the DP accountant sizes a round's sampling rate from it.
 */
import { roundSeed } from './round-rules.ts'
import { createStudyStrategy, type RoundPlan } from './strategy.ts'
import type { StudyState } from './study-state.ts'

export interface PlannedRound {
  readonly plan: RoundPlan
  /** The sites the strategy could choose from (code-unit order not implied). */
  readonly eligible: readonly string[]
  /** The round's public seed (`roundSeed`). */
  readonly seed: number
}

export function planRound(state: StudyState, round: number): PlannedRound {
  const study = state.study
  const seed = roundSeed(study.seed, round)
  // A study that requires approval plans only the sites whose approval of its spec is logged.
  const eligible = state.plannableSites()
  // The plan needs the state's hash at most (a site fetches what it is told to): its tensors are read only at commit.
  const plan = createStudyStrategy(study).configureRound({
    round,
    siteIds: eligible,
    training: study.training,
    state: null,
    ...(state.strategyState === undefined ? {} : { stateHash: state.strategyState }),
    seed,
    minSites: study.minSites,
  })
  return { plan, eligible, seed }
}
