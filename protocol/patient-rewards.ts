/**
 * The admission of a site's `patient-rewards` statement: the site passes its
 * credit for a round on to the patients it trained on that round, and signs
 * the amount, the number of patients and the root of the allocation tree
 * (patient-reward-split.ts). The coordinator checks it before logging
 * it as a `patient-rewards` entry, and the auditor runs the same check on
 * every such entry of the log, against the state folded up to it:
 *
 * 1. a statement of an enrolled site, validly signed by its enrolled key,
 *    for this study, never taken before (COORD_UNKNOWN_SITE,
 *    COORD_BAD_SIGNATURE, COORD_STUDY_MISMATCH, COORD_UPDATE_REPLAYED);
 * 2. for a round that was rewarded, in which the site's update was accepted
 *    with a consent claim, and the first from this site for that round
 *    (COORD_PATIENT_REWARDS_INVALID);
 * 3. `amount` is the site's allocation in the round's `round-rewarded` entry
 *    (COORD_PATIENT_REWARDS_AMOUNT_MISMATCH) and `count` the consent count
 *    its accepted envelope signed (`ext.consent`,
 *    COORD_PATIENT_REWARDS_COUNT_MISMATCH).
 *
 * The root itself is checkable only by the patients, each with the proof of
 * their own leaf (`fedlineage consent prove` / `consent verify`).
 *
 * Pure: no I/O, no clock.
 */
import { decodeStatement, statementHash, verifyStatement, type PatientRewardsStatement, type SignedStatement } from './statements.ts'
import { toHex } from '../ledger/core/index.ts'
import {
  PatientRewardsAmountMismatchError,
  PatientRewardsCountMismatchError,
  PatientRewardsInvalidError,
  SignatureInvalidError,
  StatementRejectedError,
  StudyMismatchError,
  UnknownSiteError,
  UpdateReplayedError,
} from './errors.ts'
import type { StudyState } from './study-state.ts'

/** Checks a signed `patient-rewards` statement against `state` (module comment); returns it decoded. */
export function checkPatientRewards(state: StudyState, signed: SignedStatement): PatientRewardsStatement {
  let st: PatientRewardsStatement
  try {
    st = decodeStatement('patient-rewards', signed.body)
  } catch (err) {
    throw new StatementRejectedError((err as Error).message, { cause: err })
  }
  const who = `patient rewards from "${st.site}" for round ${st.round}`
  const key = state.sites.get(st.site)
  if (!key) throw new UnknownSiteError(`${who}: site "${st.site}" is not enrolled in study "${state.studyId}"`)
  if (!verifyStatement(key, signed)) throw new SignatureInvalidError(`${who}: signature does not verify under the enrolled key`)
  if (st.study !== state.studyId) throw new StudyMismatchError(`${who}: study "${st.study}", want "${state.studyId}"`)
  if (state.seenStatements.has(toHex(statementHash(signed)))) throw new UpdateReplayedError(`${who}: this signed statement was already received`)
  const round = state.rounds.get(st.round)
  const rewarded = round?.rewards?.body
  if (round === undefined || rewarded === undefined) throw new PatientRewardsInvalidError(`${who}: round ${st.round} has no round-rewarded entry`)
  if (round.patientRewards.has(st.site)) throw new PatientRewardsInvalidError(`${who}: already logged (entry ${round.patientRewards.get(st.site)!.seq})`)
  const allocation = rewarded.allocations.find((a) => a.site === st.site)
  const accepted = round.accepted.get(st.site)
  if (allocation === undefined || accepted === undefined) throw new PatientRewardsInvalidError(`${who}: the site has no accepted update in round ${st.round}`)
  if (accepted.consent === undefined) throw new PatientRewardsInvalidError(`${who}: the site's update of round ${st.round} carries no consent claim, so it names no patients`)
  if (st.amount !== allocation.amount) {
    throw new PatientRewardsAmountMismatchError(`${who}: amount ${st.amount}, want ${allocation.amount}, the site's credit in round ${st.round}'s round-rewarded entry`, allocation.amount, st.amount)
  }
  if (st.count !== accepted.consent.count) {
    throw new PatientRewardsCountMismatchError(
      `${who}: count ${st.count}, want ${accepted.consent.count}, the consent count the site's update of round ${st.round} signed`,
      accepted.consent.count,
      st.count,
    )
  }
  return st
}
