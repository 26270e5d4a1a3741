/**
 * Writes a synthetic demo cohort to disk, so the demo's site agents read a
 * CSV exactly as a hospital's would. The pure generation is in
 * `synthetic-cohort.ts`; this is only the file system part.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type CohortInit, cohortToCsv, generateCohort } from './synthetic-cohort.ts'

/**
 * Writes `<dir>/<siteId>.csv` (creating `dir` if needed) and returns its path.
 * Overwrites an existing file: the content is a pure function of `site`.
 * With `patientIds`, a first `patient_id` column names patients `<siteId>-1` … `<siteId>-n`.
 * Throws SiteConfigError for an invalid `site` (the siteId pattern also keeps the path inside `dir`).
 */
export async function writeSyntheticSite(dir: string, site: CohortInit, init: { readonly patientIds?: boolean } = {}): Promise<{ trainCsv: string }> {
  const csv = cohortToCsv(generateCohort(site), init.patientIds ? { patientIdPrefix: site.siteId } : {})
  const trainCsv = join(dir, `${site.siteId}.csv`)
  await mkdir(dir, { recursive: true })
  await writeFile(trainCsv, csv, 'utf8')
  return { trainCsv }
}
