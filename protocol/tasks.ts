/**
 * What a site is asked to do, and when the study's clock matters: pure
 * functions of the study state and a time, shared by the decider (which emits
 * tasks and says when it wants its next tick) and the coordinator shell (which
 * answers a site that connects).
 */
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

/** True when every enrolled site reported on round `round`'s model, or its evaluation deadline passed. */
export function evaluationComplete(state: StudyState, round: number, timeMs: number): boolean {
  const reported = state.evaluations.get(round)?.size ?? 0
  return reported >= state.sites.size || timeMs >= evaluationDeadline(state, round)
}

/**
 * True when the hub may open the next round now: the study is not complete,
 * no round is open, rounds remain, and the newest model has been evaluated
 * (the initial model needs no wait). `autoAdvance` asks this after each step.
 */
export function nextRoundDue(state: StudyState, timeMs: number): boolean {
  if (!state.created || state.completed || state.openRound) return false
  if (state.committedRounds >= state.study.rounds) return false
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
  return tasks
}

/**
 * When the decider next needs a tick to act without any input: the open
 * round's deadline, or the newest model's evaluation deadline while the study
 * waits on it. Undefined when nothing is due by time alone.
 */
export function nextWakeMs(state: StudyState): number | undefined {
  if (!state.created || state.completed) return undefined
  const open = state.openRound
  if (open) return open.deadlineMs
  const latest = state.currentModelRound
  if (latest > 0) return evaluationDeadline(state, latest)
  return undefined
}
