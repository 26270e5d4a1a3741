/**
 * The auditor's pure core: the checks a replay makes on each record, with
 * no I/O, no clock and no TF.js. Each takes what the shell (replay.ts) has
 * fetched, re-hashed and decoded, recomputes its value with the same
 * models/core and coordinator/core function the coordinator used, and throws
 * an `AuditError` naming the entry and both values.
 *
 * - `study.ts`: the study spec, the genesis model, strategy, round seeds and limits, completion.
 * - `statements.ts`: the signed round starts, update envelopes and evaluation reports.
 * - `round.ts`: the closing rule, a commit's inputs, and the re-derivation of its model.
 * - `consent.ts`: each update's consent claim and the revocations logged with it.
 * - `patient-rewards.ts`: each site's patient-rewards statement (amount, count, once per round).
 * - `report.ts`: the JSON-friendly `AuditReport`.
 */
export { checkCompletion, checkGenesis, checkRoundOpening, checkStrategy, checkStudySpec } from './study.ts'
export { checkDeltaSize, checkEvaluationReport, checkRoundRequest, checkUpdateEnvelope } from './statements.ts'
export { checkRoundClose, commitUpdates, rederiveRound } from './round.ts'
export { checkNoRevocationPending, checkRevocationsReported, checkUpdateConsentClaim } from './consent.ts'
export { checkPatientRewardsEntry } from './patient-rewards.ts'
export { auditFailure, buildAuditReport, type AuditFailure, type AuditProgress, type AuditReport, type AuditRoundReport, type AuditSiteReport } from './report.ts'
export * from '../errors.ts'
