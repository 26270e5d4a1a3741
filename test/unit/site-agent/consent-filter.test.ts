import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { signerFromSeed, toHex } from '../../../ledger/core/index.ts'
import {
  ConsentRejectedError,
  ConsentStore,
  ConsentStoreCorruptError,
  filterByConsent,
  filterTableByConsent,
  importFhirConsents,
  loadConsentStore,
  saveConsentStore,
  type RawTable,
} from '../../../site-agent/index.ts'
import { consentRoot, consentTreeOf, proveConsentInclusion, proveConsentNonInclusion, pseudonymOf, signConsent, verifyConsentInclusion, verifyConsentNonInclusion } from '../../../protocol/index.ts'

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/fhir/${name}`, import.meta.url), 'utf8')
const siteSecret = new Uint8Array(32).fill(3)
const authority = signerFromSeed(new Uint8Array(32).fill(5))
const stranger = signerFromSeed(new Uint8Array(32).fill(6))
const patientKey = signerFromSeed(new Uint8Array(32).fill(8))
const study = 'cardio-risk'
const utc = (iso: string) => Date.parse(iso)
const importInit = { siteSecret, study, authority } as const
const bundle = importFhirConsents(fixture('consents-bundle.json'), { ...importInit, format: 'bundle' })
const update = importFhirConsents(fixture('consents-update.ndjson'), { ...importInit, format: 'ndjson' })

function storeOf(...imports: (typeof bundle)[]): ConsentStore {
  const store = new ConsentStore({ authorities: [authority.publicKey] })
  for (const i of imports) store.addImport(i)
  return store
}

const query = (at: string, more: { purpose?: string; study?: string } = {}) => ({ study, purpose: 'HRESCH', atMs: utc(at), siteSecret, ...more })
// One record per row; p1 has two records, `nobody` no consent at all, '' no patient id.
const RECORDS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p1', 'nobody', '']

describe('filterByConsent', () => {
  it('keeps records of patients with valid consent at round time, and counts the others by reason', () => {
    // Prepare
    const store = storeOf(bundle)
    // Execute
    const result = filterByConsent(RECORDS, store, query('2024-04-01T00:00:00Z'))
    // Assert
    expect(result.included).toEqual([true, true, false, false, true, false, false, true, false, false])
    expect(result.counts).toEqual({ consented: 4, noConsent: 4, expired: 1, notYetValid: 1, revoked: 0 })
    expect(result.usedReceipts).toHaveLength(3) // p1, p2, p5: one receipt per patient
  })

  it('returns the used receipts sorted by pseudonym, ready for the consent tree', () => {
    const result = filterByConsent(RECORDS, storeOf(bundle), query('2024-04-01T00:00:00Z'))
    const hexes = result.usedLeaves.map((l) => toHex(l.pseudonym))
    expect(hexes).toEqual([...hexes].sort())
    const tree = consentTreeOf(result.usedLeaves)
    expect(consentRoot(result.usedReceipts)).toEqual({ root: tree.root, count: 3 })
    // Prove to p1 that the site trained on their consent, and to p6 that it did not.
    const p1 = pseudonymOf(siteSecret, 'p1')
    const used = result.usedReceipts[result.usedLeaves.findIndex((l) => toHex(l.pseudonym) === toHex(p1))]!
    expect(verifyConsentInclusion(used, proveConsentInclusion(tree, p1), tree.root).pseudonym).toEqual(p1)
    expect(() => verifyConsentNonInclusion(proveConsentNonInclusion(tree, pseudonymOf(siteSecret, 'p6')), tree.root)).not.toThrow()
  })

  it('honours the purpose and the study', () => {
    expect(filterByConsent(['p1', 'p2'], storeOf(bundle), query('2024-04-01T00:00:00Z', { purpose: 'TREAT' })).included).toEqual([false, true])
    expect(filterByConsent(['p1', 'p2'], storeOf(bundle), query('2024-04-01T00:00:00Z', { study: 'other-study' })).counts).toMatchObject({ noConsent: 2 })
  })

  it('includes a consent from its first millisecond up to, not including, its exclusive end', () => {
    const store = storeOf(bundle)
    expect(filterByConsent(['p1'], store, query('2023-12-31T23:59:59.999Z')).counts).toMatchObject({ notYetValid: 1 })
    expect(filterByConsent(['p1'], store, query('2024-01-01T00:00:00.000Z')).included).toEqual([true])
    expect(filterByConsent(['p1'], store, query('2024-12-31T23:59:59.999Z')).included).toEqual([true])
    expect(filterByConsent(['p1'], store, query('2025-01-01T00:00:00.000Z')).counts).toMatchObject({ expired: 1 })
  })

  it('honours a revocation from the first round at or after it, not before', () => {
    // Prepare: p1 consented for 2024; the update marks it inactive at 2024-06-15T08:00Z.
    const store = storeOf(bundle, update)
    // Execute
    const before = filterByConsent(['p1'], store, query('2024-06-15T07:59:59.999Z'))
    const at = filterByConsent(['p1'], store, query('2024-06-15T08:00:00.000Z'))
    const later = filterByConsent(['p1'], store, query('2024-09-01T00:00:00Z'))
    // Assert
    expect(before.included).toEqual([true])
    expect(at.counts).toEqual({ consented: 0, noConsent: 0, expired: 0, notYetValid: 0, revoked: 1 })
    expect(later.included).toEqual([false])
    expect(at.usedReceipts).toEqual([])
  })

  it('counts a renewed consent again after the old one expired, and a rejected one as revoked', () => {
    const result = filterByConsent(RECORDS, storeOf(bundle, update), query('2024-07-15T00:00:00Z'))
    expect(result.included).toEqual([false, false, true, false, true, false, false, false, false, false])
    expect(result.counts).toEqual({ consented: 2, noConsent: 4, expired: 0, notYetValid: 1, revoked: 3 })
  })

  it('a revocation made before a consent started does not touch it', () => {
    // Prepare: p9 withdrew in 2023, then consented again in 2024.
    const store = storeOf()
    const p9 = pseudonymOf(siteSecret, 'p9')
    store.add(signConsent(authority, { t: 'consent-revocation', pseudonym: p9, study, time: utc('2023-05-01T00:00:00Z'), signer: authority.publicKey }))
    store.add(signConsent(authority, { t: 'consent', pseudonym: p9, study, purposes: ['HRESCH'], validFrom: utc('2024-01-01T00:00:00Z'), validUntil: null, signer: authority.publicKey }))
    // Execute / Assert
    expect(filterByConsent(['p9'], store, query('2024-02-01T00:00:00Z')).included).toEqual([true])
  })

  it('picks the valid receipt with the latest start when a patient has several', () => {
    const store = storeOf(bundle)
    const p1 = pseudonymOf(siteSecret, 'p1')
    const later = signConsent(authority, { t: 'consent', pseudonym: p1, study, purposes: ['HRESCH'], validFrom: utc('2024-03-01T00:00:00Z'), validUntil: null, signer: authority.publicKey })
    store.add(later)
    const result = filterByConsent(['p1'], store, query('2024-04-01T00:00:00Z'))
    expect(result.usedReceipts).toEqual([later])
  })
})

describe('filterTableByConsent', () => {
  it('keeps only the consented rows and their source lines, without touching the table', () => {
    // Prepare
    const table: RawTable = {
      columns: ['patient_id', 'age'],
      rows: [
        ['p1', '61'],
        ['p6', '70'],
        ['p2', '55'],
      ],
      sourcePath: 'cohort.csv',
      lines: [2, 3, 4],
    }
    // Execute
    const { table: kept, result } = filterTableByConsent(table, 'patient_id', storeOf(bundle), query('2024-04-01T00:00:00Z'))
    // Assert
    expect(kept.rows).toEqual([
      ['p1', '61'],
      ['p2', '55'],
    ])
    expect(kept.lines).toEqual([2, 4])
    expect(result.counts.noConsent).toBe(1)
    expect(table.rows).toHaveLength(3)
    expect(() => filterTableByConsent(table, 'mrn', storeOf(bundle), query('2024-04-01T00:00:00Z'))).toThrow(expect.objectContaining({ code: 'SITE_DATA_COLUMN_MISSING' }))
  })
})

describe('ConsentStore', () => {
  const p1 = pseudonymOf(siteSecret, 'p1')
  const receiptBy = (signer: typeof authority, pseudonym = p1) =>
    signConsent(signer, { t: 'consent', pseudonym, study, purposes: ['HRESCH'], validFrom: 0, validUntil: null, signer: signer.publicKey })

  it('adds a signed record once', () => {
    const store = storeOf()
    expect(store.add(receiptBy(authority))).toBe(true)
    expect(store.add(receiptBy(authority))).toBe(false)
    expect(store.size).toEqual({ receipts: 1, revocations: 0 })
    expect(storeOf(bundle).addImport(bundle)).toEqual({ added: 0, duplicates: 6 })
  })

  it('refuses an untrusted signer and a bad signature, with the ledger code as reason', () => {
    const store = storeOf()
    expect(() => store.add(receiptBy(stranger))).toThrow(expect.objectContaining({ code: 'SITE_CONSENT_REJECTED', reason: 'PROTOCOL_CONSENT_UNTRUSTED_SIGNER' }))
    const signed = receiptBy(authority)
    const signature = signed.signature.slice()
    signature[0] = signature[0]! ^ 1
    expect(() => store.add({ body: signed.body, signature })).toThrow(expect.objectContaining({ reason: 'PROTOCOL_CONSENT_SIGNATURE_INVALID' }))
    expect(store.size.receipts).toBe(0)
  })

  it("trusts a patient's own key for their own pseudonym only", () => {
    const store = new ConsentStore({ authorities: [authority.publicKey], patientKeys: new Map([[toHex(p1), patientKey.publicKey]]) })
    expect(store.add(receiptBy(patientKey))).toBe(true)
    expect(() => store.add(receiptBy(patientKey, pseudonymOf(siteSecret, 'p2')))).toThrow(ConsentRejectedError)
  })

  describe('persistence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'consent-store-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('saves and loads every record, verifying each again', async () => {
      // Prepare
      const store = storeOf(bundle, update)
      const path = join(dir, 'consents.json')
      // Execute
      await saveConsentStore(store, path)
      const loaded = await loadConsentStore(path, { authorities: [authority.publicKey] })
      // Assert
      expect(loaded.size).toEqual(store.size)
      expect(filterByConsent(RECORDS, loaded, query('2024-07-15T00:00:00Z'))).toEqual(filterByConsent(RECORDS, store, query('2024-07-15T00:00:00Z')))
      await expect(loadConsentStore(path, { authorities: [stranger.publicKey] })).rejects.toThrow(
        // Not corruption: the records are intact, signed by an authority the caller does not trust.
        expect.objectContaining({ code: 'SITE_CONSENT_AUTHORITY_UNTRUSTED', message: expect.stringContaining('the store is intact, but its records[0]') }),
      )
    })

    it('starts empty when the file is missing and refuses a corrupt one', async () => {
      expect((await loadConsentStore(join(dir, 'absent.json'), { authorities: [] })).size).toEqual({ receipts: 0, revocations: 0 })
      writeFileSync(join(dir, 'bad.json'), '{"format":"something-else","records":[]}')
      await expect(loadConsentStore(join(dir, 'bad.json'), { authorities: [] })).rejects.toThrow(ConsentStoreCorruptError)
      writeFileSync(join(dir, 'broken.json'), '{')
      await expect(loadConsentStore(join(dir, 'broken.json'), { authorities: [] })).rejects.toThrow(ConsentStoreCorruptError)
    })
  })
})
