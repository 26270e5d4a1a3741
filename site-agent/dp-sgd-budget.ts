/**
 * The site's own DP-SGD accountant and budget: every round it trains in with
 * DP-SGD is one run of the Poisson-subsampled Gaussian mechanism, (q, σ,
 * steps), on the site's records; RDP adds up over the runs
 * (models/core/rdp-accountant.ts `epsilonOfRuns`) and ε at the policy's δ
 * is read off the sum. The account spans every study the site trains in:
 * the patients are the hospital's, whatever the study, so a new study does
 * not reset what they have spent.
 *
 * A round is charged once: training the same (study, round) again (after a
 * restart) replaces its run, since the coordinator takes one update per
 * site and round, so at most one of the two trainings is ever released.
 * Pure: the agent reads the account (dp-sgd-account.ts), asks here, and
 * writes the account before it trains.
 */
import { epsilonOfRuns } from '../models/index.ts'
import { SITE_REFUSAL_CODES, type SitePolicy, type SiteRefusal } from './policy.ts'

/** One round the site trained in with DP-SGD. */
export interface DpSgdRun {
  readonly study: string
  readonly round: number
  /** Poisson sampling rate of each step. */
  readonly q: number
  readonly noiseMultiplier: number
  readonly steps: number
}

/** What a round would spend: the account's ε before and after it, at `delta`. */
export interface DpSgdCharge {
  readonly run: DpSgdRun
  /** The account without this round. */
  readonly runs: readonly DpSgdRun[]
  readonly delta: number
  readonly epsilonBefore: number
  readonly epsilonAfter: number
}

const sameRound = (a: DpSgdRun, b: DpSgdRun): boolean => a.study === b.study && a.round === b.round

/** The charge of `run` on the account `runs` at `delta` (a run of the same study and round is replaced, not added). */
export function dpSgdCharge(runs: readonly DpSgdRun[], run: DpSgdRun, delta: number): DpSgdCharge {
  const others = runs.filter((r) => !sameRound(r, run))
  const sigmaOf = (r: DpSgdRun) => ({ q: r.q, sigma: r.noiseMultiplier, steps: r.steps })
  return {
    run,
    runs: others,
    delta,
    epsilonBefore: epsilonOfRuns(others.map(sigmaOf), delta).epsilon,
    epsilonAfter: epsilonOfRuns([...others, run].map(sigmaOf), delta).epsilon,
  }
}

/**
 * The budget check of one fit task: a refusal (SITE_DP_BUDGET_SPENT) when the
 * charge would take the account above `policy.dpSgd.epsilon`, or above the
 * study's `studyMaxEpsilon` (its `patientDp.maxEpsilon`, which the
 * coordinator would refuse anyway), naming ε before and after, the limit
 * and what to do; undefined when it fits (or no limit is set).
 */
export function checkDpSgdBudget(policy: SitePolicy, charge: DpSgdCharge, studyMaxEpsilon?: number): SiteRefusal | undefined {
  const own = policy.dpSgd?.epsilon
  const limits = [
    ...(own === undefined ? [] : [{ value: own, what: `its budget ${own} (policy.dpSgd.epsilon)` }]),
    ...(studyMaxEpsilon === undefined ? [] : [{ value: studyMaxEpsilon, what: `the study's limit ${studyMaxEpsilon} (patientDp.maxEpsilon)` }]),
  ].sort((a, b) => a.value - b.value)
  const limit = limits[0]
  if (limit === undefined || charge.epsilonAfter <= limit.value) return undefined
  const { run } = charge
  const fmt = (x: number) => x.toPrecision(4)
  return {
    code: SITE_REFUSAL_CODES.DP_BUDGET_SPENT,
    reason:
      `round ${run.round}: DP-SGD training (q ${fmt(run.q)}, σ ${run.noiseMultiplier}, ${run.steps} steps) would take this site's ε from ${fmt(charge.epsilonBefore)} to ${fmt(charge.epsilonAfter)} at δ ${charge.delta}, ` +
      `over ${limit.what}, spent over ${charge.runs.length} ${charge.runs.length === 1 ? 'round' : 'rounds'} so far: no update leaves the site. ` +
      'The site takes part in no more training unless its data owner raises the budget; a larger policy.dpSgd.noiseMultiplier or fewer local steps spend less per round',
  }
}
