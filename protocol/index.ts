/**
 * @packageDocumentation
 *
 * The federation's law: everything the three roles (site agent, coordinator,
 * auditor) must agree on, in one pure folder. No I/O, no clock, no
 * randomness, no TF.js: the coordinator runs it, the site agent signs by it,
 * and the auditor re-runs it over the log.
 *
 * - **Statements** (statements.ts): hello, update envelope, evaluation,
 *   round start, patient rewards; canonical CBOR signed under a domain-separated
 *   message.
 * - **Consent** (consent.ts, consent-claim.ts, consent-rules.ts): receipts,
 *   the sorted consent tree and its non-inclusion proofs, the claim an update
 *   envelope carries, and the rule an update's claim must meet.
 * - **Patient-level DP-SGD** (dp-sgd-claim.ts, dp-sgd-audit.ts): the
 *   accounting a site's update envelope carries (`ext.dpSgd`), the
 *   admission rule of a study that requires it (dp-sgd-rules.ts), and the
 *   audit's recomputation of its ε.
 * - **Lineage** (lineage.ts, study-state.ts): the log's entry kinds and
 *   bodies, and the study state that is the fold of the log.
 * - **Study view** (study-view.ts): the one reading of a study state for
 *   people, which the dashboard serves and the audit's HTML report embeds.
 * - **Site control** (site-control.ts): a site's approval of the spec hash
 *   and its refusal of a task, both signed and logged.
 * - **Admission** (admission.ts, patient-rewards.ts, round-rules.ts): every
 *   check of an incoming statement, the close rule of a round.
 * - **The decider** (decider.ts): `step(state, input, timeMs)`, the one
 *   function that turns an input into log entries and tasks.
 * - **Strategy** (strategy.ts): how a round is planned per site and how replies
 *   become the next model, with explicit server state; the Byzantine-robust
 *   strategies (strategies/robust.ts) and the checks of updates before any
 *   strategy aggregates them (update-validation.ts), logged as exclusions.
 * - **Secure aggregation** (secagg/): a site's masking session, the
 *   coordinator's and the audit's unmasking of the sum, fixed-point encoding,
 *   the round's sharing graph, distributed discrete Gaussian noise.
 * - **Rewards** (contribution.ts, shapley.ts, reward.ts, round-rewards.ts,
 *   patient-reward-split.ts): contribution scores, the integer split of a
 *   pool, and its pass-through to patients.
 *
 * Outside this folder, import this file only.
 */
export * from './errors.ts'
export * from './statements.ts'
export * from './consent-errors.ts'
export * from './consent.ts'
export * from './consent-claim.ts'
export * from './consent-log-proof.ts'
export * from './patient-reward-split.ts'
export * from './lineage.ts'
export * from './study-state.ts'
export * from './study-view.ts'
export * from './admission.ts'
export * from './round-rules.ts'
export * from './consent-rules.ts'
export * from './patient-rewards.ts'
export * from './site-control.ts'
export * from './strategy.ts'
export { cyclicSite, type CyclicOrder } from './cyclic-order.ts'
export { sampleSites, sampleSize, samplingSeed, type Sampling } from './strategies/site-sampling.ts'
export { boundNorms } from './strategies/norm-bound.ts'
export { withSiteDp } from './strategies/site-dp.ts'
export { NOISE_DEPENDENT_METRICS, encodeNoiseSeeds, parseNoiseSeeds, withLoggedNoise } from './dp-audit.ts'
export { committedDpRates, dpAccountAfter, dpSamplingRate, type DpRoundAccount } from './dp-accounting.ts'
export { DP_SGD_EXT_KEY, dpSgdClaimOf, encodeDpSgdClaim, type DpSgdClaim } from './dp-sgd-claim.ts'
export { checkDpSgdClaims, type DpSgdClaimCheck } from './dp-sgd-audit.ts'
export { checkUpdateDpSgd } from './dp-sgd-rules.ts'
export { deltasPastRetention, prunableDeltas } from './retention.ts'
export * from './reward-errors.ts'
export * from './contribution.ts'
export * from './shapley.ts'
export * from './reward.ts'
export * from './round-rewards.ts'
export * from './tasks.ts'
export * from './delta-checks.ts'
export { validateStreamed, validateSummaries, validateUpdates, MAD_NORMAL_SCALE, type UpdateSummary, type ValidationInit, type ValidationResult } from './update-validation.ts'
export { createRobustStrategy } from './strategies/robust.ts'
export { commitRound, dpCommitRecord, type BlobView, type CloseResult, type DecidedEntry } from './round-close.ts'
export * from './decider.ts'
export { blobAudience, mayFetch, replicaReader, studyReplicaAccess, type BlobAudience, type ReplicaReader, type StudyReplicaAccess } from './replica-access.ts'
export * from './secagg/index.ts'
export { survivorsHash, secAggPhaseDeadline } from './secagg-rules.ts'
export { encodeMaskedInput, maskedWords, SECURE_SUM_REPLY } from './secagg-commit.ts'
