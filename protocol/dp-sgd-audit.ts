/**
 * What the audit can check of the sites' DP-SGD claims (dp-sgd-claim.ts):
 * per site, it recomputes ε from the site's own logged (q, σ, steps) of this
 * study, round after round, with the same RDP accountant
 * (models/core/rdp-accountant.ts) at the claim's δ, and flags a claim whose
 * logged ε is below that (the site understated what it spent), or that does
 * not read. A site's own account may be larger (rounds of other studies,
 * updates that never reached the log), never smaller. What it cannot check
 * is that the site really clipped and noised: that happens on its machine.
 * Pure.
 */
import { epsilonOfRuns, type GaussianRun } from '../models/core/index.ts'
import type { DpSgdClaim } from './dp-sgd-claim.ts'
import { compareSiteIds, type StudyState } from './study-state.ts'
/** One logged claim as the audit checked it. */
export interface DpSgdClaimCheck {
  readonly round: number
  readonly site: string
  /** The claim, or undefined when `ext.dpSgd` did not read (`invalid` says why). */
  readonly claim?: DpSgdClaim
  readonly invalid?: string
  /** ε at the claim's δ from this site's logged (q, σ, steps) of this study up to this round; undefined for an invalid claim. */
  readonly recomputed?: number
  /** True when the claim's ε is below `recomputed`: the site understated what it spent (or the claim is invalid). */
  readonly flagged: boolean
}

/** Relative slack for float noise when comparing a logged ε with the recomputed one. */
const EPSILON_SLACK = 1e-9

/**
 * Every accepted update's DP-SGD claim, in round order then site order, with
 * ε recomputed from the site's own logged claims of this study so far (the
 * rounds it is accepted in) and flagged when the logged ε is below that.
 */
export function checkDpSgdClaims(state: StudyState): DpSgdClaimCheck[] {
  const runs = new Map<string, GaussianRun[]>()
  const out: DpSgdClaimCheck[] = []
  for (const round of [...state.rounds.keys()].sort((a, b) => a - b)) {
    const accepted = [...state.rounds.get(round)!.accepted.values()].sort((a, b) => compareSiteIds(a.site, b.site))
    for (const update of accepted) {
      const dp = update.dpSgd
      if (dp === undefined) continue
      if ('invalid' in dp) {
        out.push({ round, site: update.site, invalid: dp.invalid, flagged: true })
        continue
      }
      const { claim } = dp
      const mine = runs.get(update.site) ?? []
      mine.push({ q: claim.q, sigma: claim.noiseMultiplier, steps: claim.steps })
      runs.set(update.site, mine)
      const recomputed = epsilonOfRuns(mine, claim.delta).epsilon
      out.push({ round, site: update.site, claim, recomputed, flagged: claim.epsilon < recomputed * (1 - EPSILON_SLACK) })
    }
  }
  return out
}
