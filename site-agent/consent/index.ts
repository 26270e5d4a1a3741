/**
 * The site's consent handling: import consents from FHIR R4 (`Consent`
 * resources, Bundle or NDJSON) or CSV into receipts and revocations signed by
 * the site's consent authority, keep them in a `ConsentStore`, and let the
 * site train only on records whose consent is valid at the round's time
 * (`filterByConsent`, `filterTableByConsent`); per round, the consent tree and
 * the claim the update envelope carries (`roundConsent`), the pseudonym
 * secret, and the per-round leaves kept for patients' proofs
 * (`saveConsentRound` / `loadConsentRound`). Also FHIR Bundles of Patient
 * and Observation resources as a training-record source
 * (`recordsFromFhirBundle`).
 *
 * The receipt format, pseudonyms, the consent tree and its proofs are in
 * `protocol/` (consent.ts), shared with the coordinator and the auditor.
 *
 * Re-exported by `site-agent/index.ts`; other folders import from there.
 */
export { CONSENT_CSV_COLUMNS, importCsvConsents } from './csv.ts'
export { ConsentAuthorityUntrustedError, ConsentImportError, ConsentRejectedError, ConsentRoundMissingError, ConsentStoreCorruptError, FhirMappingError, FhirRecordError } from './errors.ts'
export { importFhirConsents, type FhirConsentImportInit } from './fhir.ts'
export {
  FhirRecordMappingSchema,
  LOINC_SYSTEM,
  recordsFromFhirBundle,
  type FhirRecordMapping,
  type FhirRecordMappingInput,
  type FhirRecordsInit,
} from './fhir-records.ts'
export { readFhirTime } from './fhir-support.ts'
export { CONSENT_ROUND_FORMAT, consentRoundPath, loadConsentRound, saveConsentRound, type ConsentRoundRecord } from './rounds.ts'
export {
  PATIENT_REWARDS_ROUND_FORMAT,
  loadPatientRewardsRound,
  patientRewardsRoundPath,
  savePatientRewardsRound,
  type PatientRewardsRoundRecord,
} from './patient-rewards.ts'
export { roundConsent, type RoundConsent, type RoundConsentQuery } from './round-consent.ts'
export { SITE_SECRET_BYTES, loadOrCreateSiteSecret, loadSiteSecret } from './secret.ts'
export { SiteConsent, type SiteConsentInit } from './site-consent.ts'
export {
  filterByConsent,
  filterTableByConsent,
  type ConsentCounts,
  type ConsentFilterComponents,
  type ConsentFilterQuery,
  type ConsentFilterResult,
} from './filter.ts'
export type { ConsentDecision, ConsentImportCounts, ConsentImportInit, ConsentImportIssue, ConsentImportResult } from './import-report.ts'
export {
  CONSENT_STORE_FORMAT,
  ConsentStore,
  loadConsentStore,
  saveConsentStore,
  type ConsentDecisionKind,
  type ConsentDecisionQuery,
  type ConsentDecisionResult,
  type ConsentStoreInit,
  type StoredReceipt,
} from './store.ts'
