/**
 * The auditor's pure core: holding each logged entry to what the protocol's
 * decider emits (decision-match.ts), and the JSON-friendly report. No I/O, no
 * clock, no TF.js, and no rule of its own: the rules are protocol/'s.
 */
export { firstDifference, matchEntry, refusedInput, type LoggedEntry } from './decision-match.ts'
export { auditFailure, buildAuditReport, type AuditFailure, type AuditProgress, type AuditReport, type AuditRoundReport, type AuditSiteReport, type AuditVerdict } from './report.ts'
export { describeUnchecked, holderName, unavailablePhrase, type UnavailableBlob, type UnavailableReason } from './unchecked.ts'
export { checkWitnessQuorum, describeQuorum, type WitnessQuorumInput, type WitnessingReport } from './witness-quorum.ts'
export * from '../errors.ts'
