/**
 * The admission rule of a study that requires patient-level DP-SGD
 * (`patientDp` in the spec): an update must carry a DP-SGD claim
 * (`ext.dpSgd`, dp-sgd-claim.ts) that reads, whose ε and δ are within the
 * study's `maxEpsilon` and `maxDelta`, and whose ε is not below what the
 * site's own logged claims of this study and this one give (the check the
 * audit makes of every study, dp-sgd-audit.ts, here made a refusal). The
 * coordinator checks the claim, never the training: that happens at the
 * site. Without `patientDp` a claim is logged as sent, whatever it says,
 * and the audit flags it. Pure.
 */
import { epsilonOfRuns } from '../models/core/index.ts'
import { dpSgdClaimOf } from './dp-sgd-claim.ts'
import { DpSgdClaimInvalidError, DpSgdMissingError, DpSgdOverBudgetError } from './errors.ts'
import type { UpdateEnvelope } from './statements.ts'
import type { StudyState } from './study-state.ts'

/** Relative slack for float noise when comparing a claimed ε with the recomputed one (as the audit allows). */
const EPSILON_SLACK = 1e-9

/**
 * Checks `env`'s DP-SGD claim against the study's `patientDp` (module doc);
 * nothing without it. Throws DpSgdMissingError, DpSgdClaimInvalidError or
 * DpSgdOverBudgetError, naming the site, the round and the values.
 */
export function checkUpdateDpSgd(state: StudyState, env: UpdateEnvelope): void {
  const required = state.study.patientDp
  if (required === undefined) return
  const who = `update from site "${env.site}" for round ${env.round}`
  const read = dpSgdClaimOf(env.ext)
  if (read === undefined) throw new DpSgdMissingError(`${who}: the study requires patient-level DP-SGD (patientDp), but the envelope carries no ext.dpSgd; set policy.dpSgd in the site config`)
  if ('invalid' in read) throw new DpSgdClaimInvalidError(`${who}: ext.dpSgd: ${read.invalid}`)
  const { claim } = read
  if (claim.delta > required.maxDelta) throw new DpSgdOverBudgetError(`${who}: ext.dpSgd.delta is ${claim.delta}, the study allows at most ${required.maxDelta} (patientDp.maxDelta)`)
  if (claim.epsilon > required.maxEpsilon)
    throw new DpSgdOverBudgetError(
      `${who}: ext.dpSgd.epsilon is ${claim.epsilon}, the study allows at most ${required.maxEpsilon} (patientDp.maxEpsilon): the site's records have spent more than this study accepts`,
    )
  const runs = [...state.rounds.values()]
    .filter((r) => r.round < env.round)
    .flatMap((r) => {
      const dp = r.accepted.get(env.site)?.dpSgd
      return dp !== undefined && 'claim' in dp ? [{ q: dp.claim.q, sigma: dp.claim.noiseMultiplier, steps: dp.claim.steps }] : []
    })
  const recomputed = epsilonOfRuns([...runs, { q: claim.q, sigma: claim.noiseMultiplier, steps: claim.steps }], claim.delta).epsilon
  if (claim.epsilon < recomputed * (1 - EPSILON_SLACK))
    throw new DpSgdClaimInvalidError(
      `${who}: ext.dpSgd.epsilon is ${claim.epsilon}, below ${recomputed}, what the site's own logged (q, σ, steps) of this study and this round give at δ ${claim.delta}`,
    )
}
