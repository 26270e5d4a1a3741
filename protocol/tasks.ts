/**
 * What a site is asked to do, and when the study's clock matters: pure
 * functions of the study state and a time, shared by the decider (which emits
 * tasks and says when it wants its next tick) and the coordinator shell (which
 * answers a site that connects).
 */
import { dpBudgetSpent } from './dp-accounting.ts'
import { pendingSecAggTask, secAggPhaseDeadline } from './secagg-rules.ts'
import type { SignedStatement } from './statements.ts'
import type { SiteInstructions } from './strategy.ts'
import type { RoundRecord, StudyState } from './study-state.ts'

/** Work the coordinator hands a site over its task stream. */
export type SiteTask =
  | {
      readonly kind: 'fit'
      readonly round: number
      readonly base: Uint8Array
      readonly baseRound: number
      readonly seed: number
      readonly deadlineMs: number
      readonly deltaSizeBytes: number
      /** When the round opened: the round's time, at which sites decide consent. */
      readonly openedMs: number
      /** This site's instructions from the strategy's plan, as logged in `round-opened`. */
      readonly instructions: SiteInstructions
    }
  | { readonly kind: 'evaluate'; readonly round: number; readonly model: Uint8Array; readonly deadlineMs: number }
  | { readonly kind: 'done'; readonly rounds: number; readonly model: Uint8Array }
  /** The hub aborted `round`: a site drops its fit task of that round (training, or an update not yet sent). */
  | { readonly kind: 'cancel'; readonly round: number; readonly reason: string }
  /** Secure aggregation (secagg-rules.ts), shares phase: U1's signed keys, the round's neighbourhood size k and threshold t. */
  | {
      readonly kind: 'secagg'
      readonly round: number
      readonly phase: 'shares'
      readonly k: number
      readonly t: number
      readonly sites: readonly string[]
      readonly keys: readonly SignedStatement[]
    }
  /** Input phase: U2, and the boxes U2 neighbours addressed to this site. */
  | { readonly kind: 'secagg'; readonly round: number; readonly phase: 'input'; readonly sites: readonly string[]; readonly boxes: readonly { readonly from: string; readonly box: Uint8Array }[] }
  /** Unmask phase: U3, the survivors (the site checks them against its replica before it reveals anything). */
  | { readonly kind: 'secagg'; readonly round: number; readonly phase: 'unmask'; readonly sites: readonly string[] }

/** A task for one site, or for every connected site (`siteId: null`). */
export interface AddressedTask {
  readonly siteId: string | null
  readonly task: SiteTask
}

/** The evaluation deadline of round `round`'s model (0 when it has not committed). Requires a study spec in `state`. */
export function evaluationDeadline(state: StudyState, round: number): number {
  const commit = state.rounds.get(round)?.commit
  return commit ? commit.timeMs + state.study.evaluationDeadlineMs : 0
}

/**
 * The enrolled sites whose evaluation of round `round`'s model is still
 * awaited (besides `pendingFrom`, being decided now), sorted. Not awaited:
 * a site that declined round `round`'s fit task, and in a study that
 * requires approval a site whose approval is not logged; either may still report.
 */
export function evaluationsOutstanding(state: StudyState, round: number, pendingFrom?: string): string[] {
  const reported = state.evaluations.get(round)
  const declined = state.rounds.get(round)?.declined
  const requireApproval = state.study.requireApproval === true
  return state.activeSites.filter((s) => s !== pendingFrom && !reported?.has(s) && !declined?.has(s) && !(requireApproval && !state.approvals.has(s))).sort()
}

/** True when every awaited site reported on round `round`'s model (evaluationsOutstanding), or its evaluation deadline passed. */
export function evaluationComplete(state: StudyState, round: number, timeMs: number): boolean {
  return timeMs >= evaluationDeadline(state, round) || evaluationsOutstanding(state, round).length === 0
}

/**
 * The sites that owe a `patient-rewards` statement for round `round` and have
 * not sent it: those credited (allocation > 0 in its `round-rewarded` entry)
 * whose accepted update carried a consent claim, so it names patients to pass
 * the credit on to. Sorted by site id. Empty for a round without rewards.
 */
export function owedPatientRewards(state: StudyState, round: number): string[] {
  const r = state.rounds.get(round)
  const rewarded = r?.rewards?.body
  if (r === undefined || rewarded === undefined) return []
  return rewarded.allocations
    .filter((a) => a.amount > 0n && r.accepted.get(a.site)?.consent !== undefined && !r.patientRewards.has(a.site))
    .map((a) => a.site)
    .sort()
}

/** What a step is deciding besides the state: a report or statement not yet applied. */
export interface PendingStatements {
  readonly evaluationFrom?: string
  readonly patientRewardsFrom?: string
}

/**
 * True when the study may complete now: the target rounds are committed (or
 * its DP budget cannot pay for another: dp-accounting.ts), no
 * round is open, and the newest model's round is settled: every enrolled site
 * reported its evaluation and every site that owes patient rewards for it
 * sent them (in any order), or its evaluation deadline passed. Nothing is
 * logged after `study-completed`, so completion waits for both.
 */
export function completionDue(state: StudyState, timeMs: number, pending: PendingStatements = {}): boolean {
  // A study whose DP budget cannot pay for another round is complete with the rounds it committed.
  if (!state.created || state.completed || state.openRound || (state.committedRounds < state.study.rounds && !dpBudgetSpent(state))) return false
  const latest = state.currentModelRound
  if (timeMs >= evaluationDeadline(state, latest)) return true
  const owed = owedPatientRewards(state, latest).filter((s) => s !== pending.patientRewardsFrom)
  return evaluationsOutstanding(state, latest, pending.evaluationFrom).length === 0 && owed.length === 0
}

/**
 * True when the hub may open the next round now: the study is not complete,
 * no round is open, rounds remain, and the newest model has been evaluated
 * (the initial model needs no wait), and, in a study that requires
 * approval, `minSites` approvals are logged. `autoAdvance` asks this after each step.
 */
export function nextRoundDue(state: StudyState, timeMs: number): boolean {
  if (!state.created || state.completed || state.openRound) return false
  if (state.committedRounds >= state.study.rounds || dpBudgetSpent(state)) return false
  // A study that requires approval opens a round only once `minSites` sites approved its spec.
  if (state.study.requireApproval === true && state.approvals.size < state.study.minSites) return false
  const latest = state.currentModelRound
  return latest === 0 || evaluationComplete(state, latest, timeMs)
}

/** A fit task for `siteId` in the open round `r`, with its planned instructions; undefined when the plan leaves it out. */
export function fitTask(state: StudyState, r: Pick<RoundRecord, 'round' | 'base' | 'seed' | 'deadlineMs' | 'openedMs' | 'plan'>, siteId: string): SiteTask | undefined {
  const instructions = r.plan.get(siteId)
  if (instructions === undefined) return undefined
  return {
    kind: 'fit',
    round: r.round,
    base: r.base,
    baseRound: state.currentModelRound,
    seed: r.seed,
    deadlineMs: r.deadlineMs,
    deltaSizeBytes: state.deltaSizeBytes,
    openedMs: r.openedMs,
    instructions,
  }
}

/** What a site that connects at `timeMs` should do, in order. */
export function pendingTasks(state: StudyState, siteId: string, timeMs: number): SiteTask[] {
  if (state.completed) return [{ kind: 'done', rounds: state.committedRounds, model: state.currentModel }]
  const tasks: SiteTask[] = []
  const latest = state.currentModelRound
  // A site that joins scores the current model first: for round 0 this is
  // the baseline every later round is compared against.
  const evaluated = latest > 0 && evaluationComplete(state, latest, timeMs)
  if (!evaluated && !state.evaluations.get(latest)?.has(siteId)) tasks.push({ kind: 'evaluate', round: latest, model: state.currentModel, deadlineMs: evaluationDeadline(state, latest) })
  const open = state.openRound
  if (open && !open.accepted.has(siteId)) {
    const fit = fitTask(state, open, siteId)
    if (fit) tasks.push(fit)
  }
  const secagg = pendingSecAggTask(state, siteId)
  if (secagg !== undefined) tasks.push(secagg)
  return tasks
}

/**
 * When, seen at `timeMs`, the decider next needs a tick to act without any
 * input: the open round's deadline (a tick at or after it always closes the
 * round), or the newest model's evaluation deadline while it is ahead, or
 * while it has passed and the tick would complete the study. Undefined when
 * nothing is due by time alone: in particular once that evaluation deadline
 * has passed and only the hub can act (a next round, or one after an
 * abandoned one), so a shell that sleeps until the returned time never
 * wakes in a loop for a deadline that acts no more.
 */
export function nextWakeMs(state: StudyState, timeMs: number): number | undefined {
  if (!state.created || state.completed) return undefined
  const open = state.openRound
  if (open) return open.secagg === undefined ? open.deadlineMs : secAggPhaseDeadline(state, open)
  const latest = state.currentModelRound
  if (latest === 0) return undefined
  const deadline = evaluationDeadline(state, latest)
  return deadline > timeMs || completionDue(state, timeMs) ? deadline : undefined
}
