/**
 * The hospital's site agent: joins one study, prepares local records with the
 * study's schema, trains with TF.js and sends back only signed weight deltas
 * and signed validation metrics over gRPC. No record leaves the site.
 *
 * - `SiteAgent`: the agent (task loop, training, upload, evaluation, reconnect).
 * - `loadSiteConfig` / `parseSiteConfig`: the validated `site.json`.
 * - The local data pipeline and synthetic cohorts (`./data/index.ts`).
 * - `registerSiteAgentCommands`: `fedlineage site`, `dataset prepare`,
 *   `consent import` and `consent prove`.
 * - Consent (`./consent/index.ts`): import, store, the per-round filter and
 *   claim, the pseudonym secret, per-round leaves for patients' proofs.
 */
export { SiteAgent, type SiteAgentComponents, type SiteAgentEvent, type SiteRunSummary } from './agent.ts'
export { SecAggParticipant, type SecAggParticipantInit } from './secagg-participant.ts'
export { SiteMetrics, startSiteMetrics, type RunningSiteMetrics } from './metrics.ts'
export { SiteConfigSchema, loadSiteConfig, parseSiteConfig, type SiteConfig, type SiteConfigInput, type SiteDataSource } from './config.ts'
export { CoordinatorClient, remoteCodeOf } from './coordinator-client.ts'
export { ModelFile } from './model-file.ts'
export { DeltaFile, DeltaFileWriter } from './delta-file.ts'
export { clearModelDir, modelDirOf } from './state-dirs.ts'
export { siteCredentials } from './credentials.ts'
export { COORDINATOR_BUSY_CODE, isCoordinatorBusy, retryWhileBusy, type BusyRetryInit } from './busy-retry.ts'
export { checkEvaluateTask, checkFitTask, loggedCredit, loggedModel, loggedUpdate, openedRound, type LoggedCredit, type LoggedUpdate } from './task-provenance.ts'
export * from './data/index.ts'
export * from './errors.ts'
export { registerSiteAgentCommands } from './cli.ts'
export { loadDataSchema, prepareDatasetFile } from './commands/dataset-prepare.ts'
export { consentImport, type ConsentImportOptions, type ConsentImportOutcome } from './commands/consent-import.ts'
export { studyApprove, studyReview, formatReview, type StudyApproveOptions, type StudyReview, type StudyReviewOptions } from './commands/study.ts'
export { readApprovalFile, signApproval, writeApprovalFile, type ApprovalFile } from './approval.ts'
export * from './policy.ts'
export { consentProve, type ConsentProveOptions } from './commands/consent-prove.ts'
export * from './consent/index.ts'
export { readSiteRecords, type SiteRecords } from './data-source.ts'
export { controlVariateFile, controlVariateFor, readControlVariate, writeControlVariate, type ControlVariateRecord } from './control-variate.ts'
export { checkDpSgdBudget, dpSgdCharge, type DpSgdCharge, type DpSgdRun } from './dp-sgd-budget.ts'
export { dpSgdAccountFile, readDpSgdAccount, writeDpSgdAccount } from './dp-sgd-account.ts'
