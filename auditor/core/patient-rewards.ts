/**
 * A `patient-rewards` entry, held to `checkPatientRewards` as the coordinator
 * should have: the same pure check, against the state folded up to the
 * entry. The allocation root is not checkable here (it names patients' shares
 * only the site knows); each patient checks their own leaf against it with
 * `fedlineage consent verify`.
 */

import { AuditPatientRewardsAmountMismatchError, AuditPatientRewardsCountMismatchError, AuditPatientRewardsInvalidError, entryLabel } from '../errors.ts'
import {
  ENTRY_KINDS,
  ProtocolError,
  PatientRewardsAmountMismatchError,
  PatientRewardsCountMismatchError,
  checkPatientRewards,
  unembedStatement,
  type PatientRewardsBody,
  type StudyState,
} from '../../protocol/index.ts'

/**
 * Checks entry `seq` (its record not yet applied). Throws
 * AUDIT_PATIENT_REWARDS_INVALID, _AMOUNT_MISMATCH or _COUNT_MISMATCH.
 */
export function checkPatientRewardsEntry(seq: number, state: StudyState, body: PatientRewardsBody): void {
  const at = entryLabel(seq, ENTRY_KINDS.PATIENT_REWARDS)
  let st
  try {
    st = checkPatientRewards(state, unembedStatement(body.statement))
  } catch (err) {
    const options = { cause: err }
    if (err instanceof PatientRewardsAmountMismatchError) throw new AuditPatientRewardsAmountMismatchError(`${at}: ${err.message}`, seq, err.expected.toString(), err.calculated.toString(), options)
    if (err instanceof PatientRewardsCountMismatchError) throw new AuditPatientRewardsCountMismatchError(`${at}: ${err.message}`, seq, err.expected, err.calculated, options)
    if (err instanceof ProtocolError) throw new AuditPatientRewardsInvalidError(`${at}: ${err.message}`, seq, options)
    throw err
  }
  if (st.round !== body.round || st.site !== body.site) {
    throw new AuditPatientRewardsInvalidError(`${at}: the entry says site "${body.site}" round ${body.round}, its signed statement site "${st.site}" round ${st.round}`, seq)
  }
}
