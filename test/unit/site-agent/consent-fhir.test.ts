import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { signerFromSeed } from '../../../ledger/core/index.ts'
import { ConsentImportError, SiteConfigError, importFhirConsents, readFhirTime, type ConsentImportResult } from '../../../site-agent/index.ts'
import { decodeConsent, pseudonymOf, verifyConsent, type ConsentReceipt, type ConsentRevocation } from '../../../protocol/index.ts'

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/fhir/${name}`, import.meta.url), 'utf8')
const siteSecret = new Uint8Array(32).fill(3)
const authority = signerFromSeed(new Uint8Array(32).fill(5))
const init = { siteSecret, study: 'cardio-risk', authority } as const
const utc = (iso: string) => Date.parse(iso)

/** The receipts of an import by patient id (the fixture's ids are p1, p2, ...). */
function receiptsByPatient(result: ConsentImportResult): Map<string, ConsentReceipt> {
  const out = new Map<string, ConsentReceipt>()
  for (const signed of result.receipts) {
    const r = decodeConsent(signed.body, 'consent')
    for (let i = 1; i <= 20; i++) if (Buffer.from(r.pseudonym).equals(pseudonymOf(siteSecret, `p${i}`))) out.set(`p${i}`, r)
  }
  return out
}

function revocationsByPatient(result: ConsentImportResult): Map<string, ConsentRevocation> {
  const out = new Map<string, ConsentRevocation>()
  for (const signed of result.revocations) {
    const r = decodeConsent(signed.body, 'consent-revocation')
    for (let i = 1; i <= 20; i++) if (Buffer.from(r.pseudonym).equals(pseudonymOf(siteSecret, `p${i}`))) out.set(`p${i}`, r)
  }
  return out
}

describe('importFhirConsents: Bundle', () => {
  const result = importFhirConsents(fixture('consents-bundle.json'), { ...init, format: 'bundle', source: 'consents-bundle.json' })

  it('imports the valid resources and counts every outcome', () => {
    expect(result.counts).toEqual({ read: 18, receipts: 5, revocations: 1, ignored: 2, invalid: 11, skipped: 3 })
  })

  it('signs every record with the consent authority, for the study', () => {
    for (const signed of [...result.receipts, ...result.revocations]) {
      expect(verifyConsent(signed, [authority.publicKey])).toMatchObject({ study: 'cardio-risk', signer: authority.publicKey })
    }
  })

  it('reads an active permit: period start inclusive, period end included at its precision (exclusive bound the next day)', () => {
    const r = receiptsByPatient(result).get('p1')!
    expect(r.purposes).toEqual(['HRESCH'])
    expect(r.validFrom).toBe(utc('2024-01-01T00:00:00Z'))
    expect(r.validUntil).toBe(utc('2025-01-01T00:00:00Z'))
  })

  it('falls back to dateTime for the start, leaves an end-less consent open, and sorts and de-duplicates purposes', () => {
    const r = receiptsByPatient(result).get('p2')!
    expect(r.validFrom).toBe(utc('2024-02-01T00:00:00Z'))
    expect(r.validUntil).toBeNull()
    expect(r.purposes).toEqual(['HRESCH', 'TREAT'])
  })

  it('imports expired and future consents as receipts (validity is decided at round time)', () => {
    const byPatient = receiptsByPatient(result)
    expect(byPatient.get('p3')).toMatchObject({ validFrom: utc('2023-01-01T00:00:00Z'), validUntil: utc('2023-07-01T00:00:00Z') })
    expect(byPatient.get('p4')).toMatchObject({ validFrom: utc('2025-01-01T00:00:00Z'), validUntil: null })
  })

  it('resolves a urn:uuid patient reference through the Bundle and an absolute versioned one', () => {
    const byPatient = receiptsByPatient(result)
    expect(byPatient.has('p5')).toBe(true)
    expect(byPatient.has('p2')).toBe(true)
  })

  it('reads an active deny as a revocation from its start', () => {
    expect(revocationsByPatient(result).get('p6')).toMatchObject({ t: 'consent-revocation', time: utc('2024-03-01T00:00:00Z') })
  })

  it('ignores draft and entered-in-error consents', () => {
    expect(receiptsByPatient(result).has('p7')).toBe(false)
    expect(receiptsByPatient(result).has('p8')).toBe(false)
  })

  it('names each malformed resource by id and field, in Bundle order', () => {
    expect(result.errors.map((e) => [e.id, e.field])).toEqual([
      ['m-no-status', 'status'],
      ['m-bad-period', 'provision.period.end'],
      ['m-bad-date', 'provision.period.start'],
      ['m-no-patient', 'patient.reference'],
      ['m-bad-type', 'provision.type'],
      ['m-no-purpose', 'provision.purpose'],
      ['m-nested', 'provision.provision'],
      ['m-no-start', 'provision.period.start'],
      ['m-bad-status', 'status'],
      ['m-group', 'patient.reference'],
      [null, 'resource'],
    ])
    expect(result.errors[0]).toMatchObject({ location: 'entry[11]' })
    expect(result.errors.find((e) => e.id === 'm-bad-type')!.message).toContain('"maybe"')
    expect(result.errors.find((e) => e.id === 'm-bad-date')!.message).toContain('month 13')
    expect(result.errors.find((e) => e.id === 'm-bad-period')!.message).toContain('before start')
  })

  it('refuses a file that is not a Bundle, and a short site secret', () => {
    expect(() => importFhirConsents('{"resourceType":"Patient"}', { ...init, format: 'bundle' })).toThrow(ConsentImportError)
    expect(() => importFhirConsents('not json', { ...init, format: 'bundle' })).toThrow(expect.objectContaining({ code: 'SITE_CONSENT_IMPORT_INVALID' }))
    expect(() => importFhirConsents('{"resourceType":"Bundle"}', { ...init, siteSecret: new Uint8Array(8), format: 'bundle' })).toThrow(SiteConfigError)
  })
})

describe('importFhirConsents: NDJSON update of the same patients', () => {
  const result = importFhirConsents(fixture('consents-update.ndjson'), { ...init, format: 'ndjson' })

  it('reads inactive and rejected resources as revocations and goes past a broken line', () => {
    expect(result.counts).toEqual({ read: 3, receipts: 1, revocations: 2, ignored: 0, invalid: 1, skipped: 1 })
    expect(result.errors).toEqual([expect.objectContaining({ id: null, location: 'line 3', field: '(json)' })])
  })

  it('revokes an inactive consent at the earlier of its period end and meta.lastUpdated', () => {
    expect(revocationsByPatient(result).get('p1')!.time).toBe(utc('2024-06-15T08:00:00Z'))
  })

  it('revokes a rejected consent at its dateTime', () => {
    expect(revocationsByPatient(result).get('p2')!.time).toBe(utc('2024-05-01T12:00:00Z'))
  })

  it('imports a renewed consent as a new receipt', () => {
    expect(receiptsByPatient(result).get('p3')).toMatchObject({ validFrom: utc('2024-07-01T00:00:00Z'), validUntil: null })
  })
})

describe('importFhirConsents: one resource at a time', () => {
  const one = (resource: object) => importFhirConsents(JSON.stringify(resource), { ...init, format: 'ndjson' })
  const base = {
    resourceType: 'Consent',
    id: 'x',
    status: 'inactive',
    patient: { reference: 'Patient/p1' },
    provision: { type: 'permit', period: { start: '2024-01-01', end: '2024-03-31' }, purpose: [{ code: 'HRESCH' }] },
  }

  it('an inactive consent whose period ended before it was marked inactive is revoked at the period end', () => {
    const result = one({ ...base, meta: { lastUpdated: '2024-09-01T00:00:00Z' } })
    expect(decodeConsent(result.revocations[0]!.body, 'consent-revocation').time).toBe(utc('2024-04-01T00:00:00Z'))
  })

  it('an inactive consent with no time at all is an error naming the period end', () => {
    const result = one({ ...base, provision: { type: 'permit' } })
    expect(result.errors).toEqual([expect.objectContaining({ id: 'x', field: 'provision.period.end' })])
  })

  it('an unknown provision type is refused on an inactive consent too', () => {
    expect(one({ ...base, provision: { type: 'perhaps' } }).errors).toEqual([expect.objectContaining({ field: 'provision.type' })])
  })

  it('a bad purpose code names its index', () => {
    const result = one({ ...base, status: 'active', provision: { ...base.provision, purpose: [{ code: 'HRESCH' }, { display: 'research' }] } })
    expect(result.errors).toEqual([expect.objectContaining({ field: 'provision.purpose[1].code' })])
  })

  it('a malformed meta.lastUpdated and dateTime name their field', () => {
    expect(one({ ...base, meta: { lastUpdated: 'yesterday' } }).errors).toEqual([expect.objectContaining({ field: 'meta.lastUpdated' })])
    expect(one({ ...base, dateTime: 20240101 }).errors).toEqual([expect.objectContaining({ field: 'dateTime' })])
  })
})

describe('readFhirTime', () => {
  it.each([
    ['2024', 'start', '2024-01-01T00:00:00.000Z'],
    ['2024', 'end', '2025-01-01T00:00:00.000Z'],
    ['2024-02', 'end', '2024-03-01T00:00:00.000Z'],
    ['2024-02-29', 'end', '2024-03-01T00:00:00.000Z'],
    ['2024-12-31', 'end', '2025-01-01T00:00:00.000Z'],
    ['2024-03-01T10:00:00+01:00', 'start', '2024-03-01T09:00:00.000Z'],
    ['2024-03-01T10:00:00+01:00', 'end', '2024-03-01T09:00:01.000Z'],
    ['2024-03-01T10:00:00.5Z', 'end', '2024-03-01T10:00:00.600Z'],
    ['2024-03-01T10:00:00.123456Z', 'end', '2024-03-01T10:00:00.124Z'],
  ] as const)('%s as %s is %s', (value, bound, want) => {
    const got = readFhirTime(value, bound)
    expect(got.ok && new Date(got.value).toISOString()).toBe(want)
  })

  it.each([
    '0070',
    '0099-01-01',
    '2023-02-29',
    '2024-13',
    '2024-03-01T10:00',
    '2024-03-01T10:00:00',
    '2024-03-01T24:00:00Z',
    '2024-03-01T10:00:60Z',
    '1969-12-31',
    '24-03-01',
    '2024-03-01T10:00:00+15:00',
  ])('refuses %s', (value) => {
    expect(readFhirTime(value, 'start').ok).toBe(false)
  })
})
