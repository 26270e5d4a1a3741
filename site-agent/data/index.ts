/**
 * The site's local data pipeline: read the hospital's CSV (`readCsvRecords`),
 * then turn it into train and validation Datasets exactly as the study's
 * DataSchema says (`prepareSplits`, pure). Records never leave the site; only
 * models trained on these Datasets do.
 *
 * Also synthetic cardiology cohorts (`generateCohort`, `DEMO_SITES`,
 * `SYNTHETIC_SCHEMA`), so the demo and the tests run without real patient data.
 *
 * Re-exported by `site-agent/index.ts`; other folders import from there.
 */
export { readCsvRecords } from './csv-source.ts'
export type { RawTable } from './raw-table.ts'
export { requiredColumns } from './raw-table.ts'
export type { DataReport, PreparedData, Preprocessing, ScoringData, SplitSpec } from './prepare.ts'
export { STANDARDIZE_EPSILON, cellMatches, parseNumber, prepareScoring, prepareSplits } from './prepare.ts'
export type { ChestPain, CohortInit, CohortRow, DemoSite } from './synthetic-cohort.ts'
export { CHEST_PAIN_TYPES, COHORT_COLUMNS, DEMO_SITES, SYNTHETIC_SCHEMA, cohortToCsv, generateCohort } from './synthetic-cohort.ts'
export { writeSyntheticSite } from './synthetic-files.ts'
export { profileColumns, type CategoricalProfile, type ColumnProfile, type NumericProfile } from './profile.ts'
