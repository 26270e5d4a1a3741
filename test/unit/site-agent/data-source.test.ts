/**
 * A site's records from its configured source: the FHIR R4 Bundle source
 * (Patient + Observation, LOINC codes mapped to schema columns) is read and
 * validated like a CSV, and the config resolves it against its own folder.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DataSchemaSchema } from '../../../models/index.ts'
import { parseSiteConfig, readSiteRecords } from '../../../site-agent/index.ts'

const fixtures = fileURLToPath(new URL('../../fixtures/fhir/', import.meta.url))
const mapping = {
  observations: { '8480-6': { column: 'systolic_bp', unit: 'mm[Hg]' }, '2093-3': { column: 'cholesterol', unit: 'mg/dL' }, '39156-5': 'bmi' },
  patient: { gender: 'sex' },
}
const schema = DataSchemaSchema.parse({
  features: [
    { name: 'systolic_bp', type: 'numeric' },
    { name: 'cholesterol', type: 'numeric' },
  ],
  label: { column: 'sex', positive: ['female'] },
  patientIdColumn: 'patient_id',
})

describe('readSiteRecords', () => {
  it('reads a FHIR R4 Bundle through the configured LOINC mapping', async () => {
    // Prepare
    const config = parseSiteConfig({ siteId: 'st-marys', study: 's', coordinator: '127.0.0.1:1', keyFile: 'k', data: { fhirBundle: 'records-bundle.json', mapping } }, 'site.json', fixtures)
    // Execute
    const records = await readSiteRecords(config.data, schema)
    // Assert
    expect('fhirBundle' in config.data && config.data.fhirBundle).toBe(path.join(fixtures, 'records-bundle.json'))
    expect(records.validation).toBeUndefined()
    expect(records.train.columns).toEqual(['patient_id', 'systolic_bp', 'cholesterol', 'bmi', 'sex'])
    expect(records.train.rows.length).toBeGreaterThan(0)
  })

  it('refuses a mapping that is not LOINC, naming the field', () => {
    expect(() =>
      parseSiteConfig({ siteId: 'a', study: 's', coordinator: '127.0.0.1:1', keyFile: 'k', data: { fhirBundle: 'x.json', mapping: { observations: { 'not-loinc': 'x' } } } }, 'site.json', fixtures),
    ).toThrowError(expect.objectContaining({ code: 'SITE_CONFIG_INVALID', message: expect.stringContaining('site.json: data') }))
  })
})
