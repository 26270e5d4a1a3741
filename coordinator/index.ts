/**
 * The research hub's coordinator: defines a study, enrolls sites by public
 * key, runs rounds (open → collect until quorum or deadline → aggregate →
 * commit → evaluate) and writes every step into the study's lineage log.
 *
 * - `startCoordinator(config)`: the gRPC server, round runner and log, composed.
 * - `RoundRunner`: the round loop over a `Ledger` (usable without gRPC).
 * - `HubClient`: the hub's signed round starts and status reads.
 * - `loadHubConfig` / `parseHubConfig`: the validated `hub.json`.
 * - `roundStatus`, `toServiceError` and the round table: what the service
 *   answers and the CLI prints.
 * - The optional read-only HTTP port (`http/`, hub.json `http.listen` or
 *   `coordinator --http`): Prometheus `/metrics`, the live dashboard and its
 *   JSON API (`DashboardView`); `RunningCoordinator.httpAddress` says where.
 *
 * The rules it runs (lineage records, the state fold, admission, the round
 * decider) are not here: they are protocol/'s, which the auditor re-runs.
 */
export { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from './coordinator.ts'
export { RoundRunner, type RoundRunnerComponents, type RoundRunnerInit, type RoundRunnerEvents, type SiteTask, type CoordinatorPhase } from './round-runner.ts'
export { HubClient, RemoteCoordinatorError } from './hub-client.ts'
export { HubConfigSchema, loadHubConfig, parseHubConfig, withHttpListen, type HubConfig, type HubConfigInput } from './config.ts'
export type { DashboardView, SiteStatusView, CurrentRoundView, LogView } from './http/dashboard-view.ts'
export { roundStatus } from './grpc/service.ts'
export { errorCodeOf, toServiceError, ERROR_CODE_METADATA_KEY } from './grpc/status.ts'
export { formatConsentTable, formatRoundHeader, formatRoundRow, formatRoundTable, formatSiteControl, roundRow, type RoundRow } from './round-table.ts'
export { registerCoordinatorCommands, registerRewardsCommand } from './cli.ts'
export { rewardsOf, type RewardsView } from './commands/rewards.ts'
export { secAggRoundsOf, type SecAggRoundView } from './commands/secagg-view.ts'
export * from './errors.ts'
export { abortRound, type RoundAbortOptions } from './commands/round-abort.ts'
export { renderStatus, runStatus, watchStatus, type WatchInit } from './commands/status.ts'
export { DEFAULT_FLAG_RULE, formatCurrentRound, formatDuration, formatSiteMetrics, missingSites, type FlagRule } from './status-view.ts'
export { REFUSAL_LOG_WINDOW_MS, RefusalLog, peerAddress, type Refusal, type RefusalLogStats } from './grpc/refusal-log.ts'
export { LOG_FORMATS, createHubLogger, eventText, prettyLine, resolveLogFormat, type LogFormat, type LogRecord } from './log-format.ts'
export { NOISE_SEEDS_FILE } from './constants.ts'
