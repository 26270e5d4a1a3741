/**
 * What a task must match in the site's verified replica of the log before the
 * site acts on it. The coordinator hands tasks out over gRPC; the log is what
 * the site, the auditor and every other replica hold the coordinator to. A
 * fit task whose base or instructions differ from the logged `round-opened`,
 * or an evaluate task whose model is not the logged commit, would make the
 * site sign a claim the log contradicts, so the site refuses it.
 *
 * Pure functions of the folded `StudyState`: each returns what the log says
 * (or undefined while the log does not show it yet), and the `check*`
 * functions return a mismatch reason or undefined.
 */
import { equalBytes, toHex } from '../ledger/index.ts'
import { encodeInstructions, type RoundRecord, type StudyState } from '../protocol/index.ts'

/** The logged opening of round `round`, once the replica holds it. */
export function openedRound(state: StudyState, round: number): RoundRecord | undefined {
  return state.created ? state.rounds.get(round) : undefined
}

/** The reason a fit task disagrees with the logged `round-opened` of its round, or undefined when it matches. */
export function checkFitTask(r: RoundRecord, site: string, base: Uint8Array, config: Uint8Array): string | undefined {
  const planned = r.plan.get(site)
  if (planned === undefined) return `round ${r.round}'s logged plan does not include site "${site}"`
  if (!equalBytes(r.base, base)) return `the task's base model ${toHex(base)} is not round ${r.round}'s logged base ${toHex(r.base)}`
  const logged = encodeInstructions(planned)
  // An empty config means "no instructions"; the plan logs that as an empty map.
  const sent = config.length === 0 ? encodeInstructions({}) : config
  if (!equalBytes(logged, sent)) return `the task's instructions (${toHex(sent)}) are not the ones round ${r.round}'s plan logged for "${site}" (${toHex(logged)})`
  return undefined
}

/** The logged model of round `round` (0: the initial model), once committed in the replica. */
export function loggedModel(state: StudyState, round: number): Uint8Array | undefined {
  return state.created ? state.modelOfRound(round) : undefined
}

/** The reason an evaluate task's model is not round `round`'s logged model, or undefined when it is. */
export function checkEvaluateTask(logged: Uint8Array, round: number, model: Uint8Array): string | undefined {
  return equalBytes(logged, model) ? undefined : `the task's model ${toHex(model)} is not round ${round}'s logged model ${toHex(logged)}`
}

/** A site's standing for round `round`'s patient rewards, as the log says. */
export interface LoggedCredit {
  /** The site's allocation in the round's `round-rewarded` entry (0 when it has none). */
  readonly amount: bigint
  /** True when a `patient-rewards` entry of this site for the round is already logged. */
  readonly passed: boolean
}

/** The site's credit for round `round`, once the round's `round-rewarded` entry is in the replica. */
export function loggedCredit(state: StudyState, site: string, round: number): LoggedCredit | undefined {
  const r = state.created ? state.rounds.get(round) : undefined
  const rewarded = r?.rewards?.body
  if (r === undefined || rewarded === undefined) return undefined
  return { amount: rewarded.allocations.find((a) => a.site === site)?.amount ?? 0n, passed: r.patientRewards.has(site) }
}

/** What the log says became of one of the site's update envelopes. */
export type LoggedUpdate =
  | { readonly outcome: 'accepted'; readonly seq: number }
  /** Another envelope of this site counted for the round (e.g. one sent before a restart). */
  | { readonly outcome: 'other-accepted'; readonly seq: number }
  /** Refused and logged; `code` and `reason` are unknown when the round it named was never opened. */
  | { readonly outcome: 'refused'; readonly seq?: number; readonly code?: string; readonly reason?: string }

/**
 * The fate of the envelope hashed `envelopeHash` that `site` sent for round
 * `round`, once the replica holds it (undefined while it does not).
 */
export function loggedUpdate(state: StudyState, site: string, round: number, envelopeHash: Uint8Array): LoggedUpdate | undefined {
  if (!state.created) return undefined
  const r = state.rounds.get(round)
  const accepted = r?.accepted.get(site)
  if (accepted !== undefined) return { outcome: equalBytes(accepted.envelopeHash, envelopeHash) ? 'accepted' : 'other-accepted', seq: accepted.seq }
  if (!state.seenStatements.has(toHex(envelopeHash))) return undefined
  const refused = r?.rejected.find((x) => equalBytes(x.statementHash, envelopeHash))
  return refused === undefined ? { outcome: 'refused' } : { outcome: 'refused', seq: refused.seq, code: refused.code, reason: refused.reason }
}
