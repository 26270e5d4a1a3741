/**
 * @packageDocumentation
 *
 * The auditor: replays a study's lineage log and proves, or refutes, that
 * every global model in it is what the logged inputs produce, without
 * trusting whoever kept the log.
 *
 * **What is checked** (replay.ts): the audit re-runs the protocol's own
 * decider (`step` from protocol/) over the inputs the log records and
 * requires every logged entry to be, byte for byte, what `step` emits. Entry
 * by entry, stopping at the first failure with its `seq` and an `AUDIT_*`
 * code:
 * - the chain: canonical bytes, seq, prev hash, strict Ed25519 (S < L), and a
 *   single author, the coordinator (optionally pinned by its known key);
 * - the state machine: every record folds into `StudyState` as the
 *   coordinator's own restart does;
 * - every input the log records, fed to `step` at the entry's time: the
 *   study spec (the genesis re-derived from its seed), enrolments, the hub's
 *   signed round starts, the sites' signed update envelopes (with their
 *   deltas, fetched and re-hashed, and the consent claims and revocations
 *   they carry), evaluation reports and patient-rewards statements, and the
 *   refused ones (`update-rejected`, `statement-rejected`), each under the
 *   right key; commits, abandonments and completion are ticks of the clock;
 * - every entry `step` emits must be the next entry of the log: so every
 *   committed model is re-derived with the study's strategy from the logged
 *   deltas (AUDIT_MODEL_MISMATCH, AUDIT_METRICS_MISMATCH), with the updates
 *   validation or the strategy left out (AUDIT_EXCLUSION_MISMATCH), a
 *   stateful strategy's server state from the logged state it started from
 *   (AUDIT_SERVER_STATE_MISMATCH, also for a stored state that does not
 *   hash to its name), every reward
 *   recomputed (AUDIT_REWARD_MISMATCH), every consent claim held to the
 *   consent rule (AUDIT_CONSENT_*), and every `patient-rewards` statement to
 *   `checkPatientRewards`, the coordinator's own admission check
 *   (AUDIT_PATIENT_REWARDS_INVALID, _AMOUNT_MISMATCH, _COUNT_MISMATCH). The
 *   allocation root is the patients' to check, each with the `reward` of
 *   their `fedlineage consent prove` bundle, by `fedlineage consent verify`
 *   (with `--db`, against the logged root: AUDIT_PATIENT_REWARDS_NOT_LOGGED);
 * - after the last entry: the source's newest signed checkpoint, when it is
 *   of the replayed size, commits to exactly the replayed entries (its root is
 *   their RFC 6962 root: AUDIT_CHECKPOINT_MISMATCH), and no misbehaviour
 *   proof the source's replica holds (a split view) is valid under the
 *   coordinator's key (AUDIT_COORDINATOR_EQUIVOCATED).
 *
 * **Partial audits.** A participant's replica (a site's) holds every entry
 * but only the blobs its holder may read. A source that says so
 * (`AuditSource.holder`) gets a replay that re-runs every step it can, asks
 * the source to fetch (`fetchBlob`) only what the holder may read, folds a
 * step it cannot re-run as logged (an update's envelope is still re-admitted
 * and its entry held to it), and ends with `verdict: 'partial'` and the list
 * of what went unchecked (core/unchecked.ts), never `ok`.
 *
 * **Boundaries.** The auditor imports `protocol/`, `ledger/` and
 * `models/core/` only: no TF.js, no gRPC, no coordinator. The rules,
 * aggregation and encoding it replays with are the ones the coordinator
 * runs, never a re-implementation, so a replay can only disagree when the
 * log does.
 *
 * **Sources.** `auditLog` reads any `AuditSource` (length, scan, getBlob,
 * and optionally the replica's newest checkpoint and misbehaviour proofs):
 * a `Ledger` over a local LevelDB replica (`openLevelAuditSource`, source.ts)
 * or a fresh replica synced over libp2p from any participant, every entry
 * verified as it is stored (`openPeerAuditSource`, peer-source.ts).
 * `openAuditSource` opens either kind from an `AuditSourceSpec`.
 *
 * ```ts
 * const { source, close } = await openAuditSource({ kind: 'db', dir: 'hub-ledger' })
 * try {
 *   const report = await auditLog(source, { trustedCoordinatorKey })
 *   console.log(formatAuditSummary(report))   // ends `audit passed: 3 rounds re-derived, …`
 * } finally {
 *   await close()
 * }
 * ```
 *
 * `fedlineage audit (--db DIR [--key FILE] [--fetch-from MULTIADDR…] | --peer MULTIADDR
 * [--study ID] [--replica-dir DIR] [--key FILE]) [--report FILE] [--coordinator-key HEX]`
 * does the same from the command line (`registerAuditorCommands`): exit 0
 * passed, 1 failed, 3 partial.
 *
 * Outside the auditor folder, import this file or `core/index.ts` (the pure
 * checks and the report type) only.
 */
export { auditLog, replayLog, type AuditInit, type AuditOutcome, type AuditSource, type AuditSourceEntry } from './replay.ts'
export { openAuditSource, openLevelAuditSource, type AuditSourceSpec, type LevelAuditSourceInit, type OpenedAuditSource } from './source.ts'
export { openPeerAuditSource, type PeerSourceInit } from './peer-source.ts'
export { formatAuditSummary, formatAuditVerdict } from './summary.ts'
export { registerAuditorCommands } from './cli.ts'
export { parseAuditOptions, runAudit, type AuditCommandOptions } from './commands/audit.ts'
export { escapeHtml, renderAuditHtml, type AuditHtmlInput, type CosignedCheckpointView, type FailedEntryView } from './html-report.ts'
export { consentVerify, type ConsentVerification, type ConsentVerifyOptions } from './commands/consent-verify.ts'
export { findConsentCommitments, type ConsentCommitment } from './consent-lookup.ts'
export { HASH_PREFIX_HEX_DIGITS } from './constants.ts'
export * from './core/index.ts'
