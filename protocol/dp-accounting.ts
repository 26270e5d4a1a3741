/**
 * The privacy ledger of a study with `dp`: every committed round with DP
 * noise is one step of the subsampled Gaussian mechanism at its own sampling
 * rate q (planned sites / eligible sites when it opened, as `round-opened`
 * logs it) and the study's noise multiplier. RDP adds up over rounds at each
 * order (models/core/rdp-accountant.ts), and ε at the study's δ is read off
 * the sum. A round that commits no model released nothing and costs nothing.
 *
 * The accountant is the one for Poisson sampling; rounds here sample a fixed
 * number of sites uniformly (or all of them, q = 1, where the two agree).
 * Using it for fixed-size sampling is the usual approximation (TensorFlow
 * Federated and Flower do the same); PROTOCOL.md says so.
 */
import { DEFAULT_RDP_ORDERS, computeRdp, privacySpent, type DpSpec } from '../models/core/index.ts'
import { planRound } from './round-plan.ts'
import type { StudyState } from './study-state.ts'

/** What a DP round's commit logs of the accounting. */
export interface DpRoundAccount {
  /** This round's sampling rate. */
  readonly q: number
  readonly noiseMultiplier: number
  /** DP rounds committed so far, this one included. */
  readonly steps: number
  readonly delta: number
  /** ε at `delta` after this round. */
  readonly epsilon: number
  /** The RDP order at which ε is tightest. */
  readonly order: number
}

/** The sampling rate of a round that plans `planned` of `eligible` sites. */
export function dpSamplingRate(planned: number, eligible: number): number {
  return eligible === 0 ? 0 : Math.min(1, planned / eligible)
}

/** Sampling rates of the committed DP rounds before `round`, in round order. */
export function committedDpRates(state: StudyState, round: number): number[] {
  const rates: number[] = []
  for (let r = 1; r < round; r++) {
    const q = state.rounds.get(r)?.commit?.body.dp?.q
    if (q !== undefined) rates.push(q)
  }
  return rates
}

/** The account after the DP rounds committed before `round` and `round` itself at rate `q`. */
export function dpAccountAfter(state: StudyState, round: number, q: number, dp: DpSpec): DpRoundAccount {
  const rates = [...committedDpRates(state, round), q]
  // Rounds at the same rate compose by multiplication: one RDP curve per distinct rate.
  const counts = new Map<number, number>()
  for (const r of rates) counts.set(r, (counts.get(r) ?? 0) + 1)
  const total = DEFAULT_RDP_ORDERS.map(() => 0)
  for (const [rate, steps] of [...counts].sort((a, b) => a[0] - b[0])) computeRdp(rate, dp.noiseMultiplier, steps).forEach((v, i) => (total[i]! += v))
  const spent = privacySpent(DEFAULT_RDP_ORDERS, total, dp.delta)
  return { q, noiseMultiplier: dp.noiseMultiplier, steps: rates.length, delta: dp.delta, epsilon: spent.epsilon, order: spent.order }
}

/** The sites round `round` would plan now and how many were eligible: the plan `round-start` makes (decider.ts). */
export function roundPlanSize(state: StudyState, round: number): { planned: number; eligible: number } {
  const { plan, eligible } = planRound(state, round)
  return { planned: plan.sites.length, eligible: eligible.length }
}

/**
 * True when the study has a budget `dp.epsilon` and committing the next
 * round would take ε above it: no round opens any more (`nextRoundDue` is
 * false, a hub's round start is refused) and the study completes with the
 * rounds it has (`completionDue`).
 */
export function dpBudgetSpent(state: StudyState): boolean {
  const dp = state.study.dp
  if (dp?.epsilon === undefined) return false
  const round = state.lastRound + 1
  const { planned, eligible } = roundPlanSize(state, round)
  return dpAccountAfter(state, round, dpSamplingRate(planned, eligible), dp).epsilon > dp.epsilon
}
