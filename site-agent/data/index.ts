/**
 * The site's local data pipeline: read the hospital's CSV (`readCsvRecords`),
 * then turn it into train and validation Datasets exactly as the study's
 * DataSchema says (`prepareSplits`, pure). Records never leave the site; only
 * models trained on these Datasets do.
 *
 * Re-exported by `site-agent/index.ts`; other folders import from there.
 */
export { readCsvRecords } from './csv-source.ts'
export type { RawTable } from './raw-table.ts'
export { requiredColumns } from './raw-table.ts'
export type { DataReport, PreparedData, SplitSpec } from './prepare.ts'
export { STANDARDIZE_EPSILON, cellMatches, parseNumber, prepareSplits } from './prepare.ts'
