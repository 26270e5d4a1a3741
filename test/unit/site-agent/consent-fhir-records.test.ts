import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { signerFromSeed } from '../../../ledger/core/index.ts'
import { ConsentStore, FhirMappingError, FhirRecordError, filterTableByConsent, importFhirConsents, recordsFromFhirBundle, type FhirRecordMappingInput } from '../../../site-agent/index.ts'

const text = readFileSync(new URL('../../fixtures/fhir/records-bundle.json', import.meta.url), 'utf8')
const MAPPING: FhirRecordMappingInput = {
  observations: {
    '8480-6': { column: 'systolic_bp', unit: 'mm[Hg]' },
    '8462-4': 'diastolic_bp',
    '2093-3': { column: 'cholesterol', unit: 'mg/dL' },
    '72166-2': 'smoking',
    '39156-5': 'bmi',
  },
  patient: { gender: 'sex' },
}

describe('recordsFromFhirBundle', () => {
  it('makes one row per patient, sorted by id, with the latest final value of each mapped code', () => {
    // Execute
    const table = recordsFromFhirBundle(text, MAPPING, { sourcePath: 'records-bundle.json' })
    // Assert
    expect(table.columns).toEqual(['patient_id', 'systolic_bp', 'diastolic_bp', 'cholesterol', 'smoking', 'bmi', 'sex'])
    expect(table.rows).toEqual([
      // p1: the later of two blood-pressure panels (components), resolved through a urn:uuid subject too.
      ['p1', '128', '84', '231', '', '', 'female'],
      // p2: a preliminary cholesterol is ignored; a coded smoking status gives its code.
      ['p2', '135', '', '187', '77176002', '', 'male'],
      // p3: an Observation without a value (dataAbsentReason) leaves the cell empty.
      ['p3', '', '', '', '', '', 'male'],
    ])
    expect(table.sourcePath).toBe('records-bundle.json')
  })

  it('accepts a parsed Bundle and defaults the patient id column', () => {
    const table = recordsFromFhirBundle(JSON.parse(text), { patientIdColumn: 'mrn', observations: { '2093-3': 'cholesterol' } })
    expect(table.columns).toEqual(['mrn', 'cholesterol'])
    expect(table.rows.map((r) => r[1])).toEqual(['231', '187', ''])
  })

  it('refuses a value in another unit than the mapping says, naming the resource and field', () => {
    const mapping = { observations: { '8480-6': { column: 'systolic_bp', unit: 'mmHg' } } }
    expect(() => recordsFromFhirBundle(text, mapping)).toThrow(expect.objectContaining({ code: 'SITE_DATA_FHIR_INVALID', resourceId: 'bp-1a', field: 'component[0].valueQuantity.code' }))
  })

  it('refuses an Observation without a patient subject and a Bundle that is not one', () => {
    const bundle = JSON.parse(text) as { entry: { resource: Record<string, unknown> }[] }
    bundle.entry[5]!.resource.subject = { reference: 'Group/1' }
    expect(() => recordsFromFhirBundle(bundle, MAPPING)).toThrow(expect.objectContaining({ resourceId: 'chol-1', field: 'subject.reference' }))
    expect(() => recordsFromFhirBundle({ resourceType: 'Patient' }, MAPPING)).toThrow(FhirRecordError)
    expect(() => recordsFromFhirBundle('{', MAPPING)).toThrow(FhirRecordError)
  })

  it('validates the mapping with errors that name the field', () => {
    expect(() => recordsFromFhirBundle(text, { observations: { 'not-loinc': 'x' } })).toThrow(expect.objectContaining({ code: 'SITE_FHIR_MAPPING_INVALID', field: 'observations.not-loinc' }))
    expect(() => recordsFromFhirBundle(text, { observations: {} })).toThrow(FhirMappingError)
    expect(() => recordsFromFhirBundle(text, { observations: { '2093-3': 'sex' }, patient: { gender: 'sex' } })).toThrow(FhirMappingError)
  })

  it('feeds the consent filter like a CSV table', () => {
    // Prepare: consents for p1 and p2 as of 2024; p3 has none.
    const authority = signerFromSeed(new Uint8Array(32).fill(5))
    const siteSecret = new Uint8Array(32).fill(3)
    const consents = importFhirConsents(readFileSync(new URL('../../fixtures/fhir/consents-bundle.json', import.meta.url), 'utf8'), { format: 'bundle', siteSecret, study: 'cardio-risk', authority })
    const store = new ConsentStore({ authorities: [authority.publicKey] })
    store.addImport(consents)
    // Execute
    const { table, result } = filterTableByConsent(recordsFromFhirBundle(text, MAPPING), 'patient_id', store, {
      study: 'cardio-risk',
      purpose: 'HRESCH',
      atMs: Date.parse('2024-04-01T00:00:00Z'),
      siteSecret,
    })
    // Assert
    expect(table.rows.map((r) => r[0])).toEqual(['p1', 'p2'])
    expect(result.counts).toMatchObject({ consented: 2, expired: 1 })
  })
})
