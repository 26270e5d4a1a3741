/**
 * Where a site's training records come from, as its config says: one CSV
 * (split by a seeded fraction), a train and a validation CSV, or a FHIR R4
 * Bundle of Patient and Observation resources whose LOINC codes the config
 * maps to the study schema's columns (split like a CSV).
 */
import { readFile } from 'node:fs/promises'
import type { DataSchema } from '../models/index.ts'
import type { SiteDataSource } from './config.ts'
import { recordsFromFhirBundle } from './consent/fhir-records.ts'
import { readCsvRecords, type RawTable } from './data/index.ts'
import { SiteDataError } from './errors.ts'

export interface SiteRecords {
  readonly train: RawTable
  /** Only for a source with a separate validation file. */
  readonly validation?: RawTable
}

export async function readSiteRecords(source: SiteDataSource, schema: DataSchema): Promise<SiteRecords> {
  if ('train' in source) return { train: await readCsvRecords(source.train, schema), validation: await readCsvRecords(source.validation, schema) }
  if ('file' in source) return { train: await readCsvRecords(source.file, schema) }
  let text: string
  try {
    text = await readFile(source.fhirBundle, 'utf8')
  } catch (err) {
    throw new SiteDataError(`${source.fhirBundle}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { file: source.fhirBundle }, { cause: err })
  }
  return { train: recordsFromFhirBundle(text, source.mapping, { sourcePath: source.fhirBundle }) }
}
