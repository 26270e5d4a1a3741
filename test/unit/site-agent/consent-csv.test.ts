import { describe, expect, it } from 'vitest'
import { signerFromSeed, toHex } from '../../../ledger/core/index.ts'
import { ConsentImportError, importCsvConsents } from '../../../site-agent/index.ts'
import { decodeConsent, pseudonymOf, verifyConsent } from '../../../protocol/index.ts'

const siteSecret = new Uint8Array(32).fill(3)
const authority = signerFromSeed(new Uint8Array(32).fill(5))
const init = { siteSecret, study: 'cardio-risk', authority, source: 'register.csv' } as const
const utc = (iso: string) => Date.parse(iso)

const CSV = `patient_id,status,valid_from,valid_until,purposes,note
p1,active,2024-01-01,2024-12-31,HRESCH,ok
p2,active,2024-02-01T00:00:00Z,,HRESCH;TREAT;HRESCH,open-ended
p3,revoked,,2024-06-14,,withdrawn
p4,active,,2024-12-31,HRESCH,no start
p5,pending,2024-01-01,,HRESCH,unknown status
p6,active,2024-01-01,2023-12-31,HRESCH,ends before it starts
,active,2024-01-01,,HRESCH,no patient
p8,active,2024-01-01,,,no purpose
p9,active,2024-01-01,,HRESCH;,empty purpose code
p10,active,2024-02-30,,HRESCH,no such day
p11,revoked,2024-01-01,,HRESCH,revoked without an end
p12,active,2024-01-01

"p13",active,2024-01-01,,"HRESCH",quoted cells
`

describe('importCsvConsents', () => {
  const result = importCsvConsents(CSV, init)
  const receiptOf = (id: string) => result.receipts.map((s) => decodeConsent(s.body, 'consent')).find((r) => toHex(r.pseudonym) === toHex(pseudonymOf(siteSecret, id)))

  it('imports the valid rows and reports the others', () => {
    expect(result.counts).toEqual({ read: 13, receipts: 3, revocations: 1, ignored: 0, invalid: 9, skipped: 0 })
    for (const s of [...result.receipts, ...result.revocations]) expect(() => verifyConsent(s, [authority.publicKey])).not.toThrow()
  })

  it('reads valid_from as the first instant and valid_until as including its whole day', () => {
    expect(receiptOf('p1')).toMatchObject({ validFrom: utc('2024-01-01T00:00:00Z'), validUntil: utc('2025-01-01T00:00:00Z'), purposes: ['HRESCH'] })
    expect(receiptOf('p2')).toMatchObject({ validUntil: null, purposes: ['HRESCH', 'TREAT'] })
    expect(receiptOf('p13')).toMatchObject({ purposes: ['HRESCH'] })
  })

  it('reads a revoked row as a revocation at the end of its valid_until', () => {
    const revocation = decodeConsent(result.revocations[0]!.body, 'consent-revocation')
    expect(toHex(revocation.pseudonym)).toBe(toHex(pseudonymOf(siteSecret, 'p3')))
    expect(revocation.time).toBe(utc('2024-06-15T00:00:00Z'))
  })

  it('names each bad row by patient id, line and column', () => {
    expect(result.errors.map((e) => [e.id, e.location, e.field])).toEqual([
      ['p4', 'line 5', 'valid_from'],
      ['p5', 'line 6', 'status'],
      ['p6', 'line 7', 'valid_until'],
      [null, 'line 8', 'patient_id'],
      ['p8', 'line 9', 'purposes'],
      ['p9', 'line 10', 'purposes'],
      ['p10', 'line 11', 'valid_from'],
      ['p11', 'line 12', 'valid_until'],
      ['p12', 'line 13', '(row)'],
    ])
    expect(result.errors[1]!.message).toContain('"pending"')
  })

  it('refuses a file without a required column, and an empty file', () => {
    expect(() => importCsvConsents('patient_id,status,valid_from,purposes\np1,active,2024-01-01,HRESCH\n', init)).toThrow(
      expect.objectContaining({ code: 'SITE_CONSENT_IMPORT_INVALID', source: 'register.csv' }),
    )
    expect(() => importCsvConsents('', init)).toThrow(ConsentImportError)
    expect(() => importCsvConsents('patient_id,status\n"p1,active\n', init)).toThrow(ConsentImportError)
  })
})
