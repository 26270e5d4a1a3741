/**
 * The coordinator's pure core: lineage records, the study state folded from
 * the log, admission checks and round rules. No I/O, no clock, no TF.js, so
 * the auditor can import it and replay exactly what the coordinator did.
 */
export * from './lineage.ts'
export * from './study-state.ts'
export * from './update-checks.ts'
export * from './round-rules.ts'
export * from './consent-rules.ts'
export * from './patient-rewards.ts'
export {
  CoordinatorError,
  LineageRecordError,
  ConsentClaimInvalidError,
  ConsentMissingError,
  ConsentProofInvalidError,
  ConsentProofMissingError,
  PatientRewardsAmountMismatchError,
  PatientRewardsCountMismatchError,
  PatientRewardsInvalidError,
} from '../errors.ts'
export * from './contribution.ts'
export * from './shapley.ts'
export * from './reward.ts'
export * from './reward-errors.ts'
export * from './round-rewards.ts'
