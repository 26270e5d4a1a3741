/**
 * A round's consent at the site (site-agent/consent/round-consent.ts): the
 * withdrawals the store reports by the round's time (`ConsentStore.revokedAt`),
 * the filtered tables, and the claim the envelope carries, which the
 * coordinator's rule (`checkUpdateConsent`'s proof check) accepts; and the
 * per-round leaves file the site keeps for patients' proofs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical, signerFromSeed, toHex } from '../../../ledger/core/index.ts'
import { ConsentStore, consentRoundPath, importCsvConsents, loadConsentRound, roundConsent, saveConsentRound, type RawTable } from '../../../site-agent/index.ts'
import { checkConsentNonInclusion, encodeConsentClaim, pseudonymOf, readConsentClaim } from '../../../protocol/index.ts'

const siteSecret = new Uint8Array(32).fill(4)
const authority = signerFromSeed(new Uint8Array(32).fill(5))
const study = 'cardio-risk'
const utc = (iso: string) => Date.parse(iso)

// p1 consents; p2 consented and withdrew on 2024-06-01; p3 consents only from 2025; p4 withdrew,
// then consented again; p5 has no consent; p6's refusal revokes nothing (no receipt).
const CSV = `patient_id,status,valid_from,valid_until,purposes
p1,active,2024-01-01,,HRESCH
p2,active,2024-01-01,,HRESCH
p2,revoked,,2024-05-31,
p3,active,2025-01-01,,HRESCH
p4,active,2024-01-01,,HRESCH
p4,revoked,,2024-02-29,
p4,active,2024-03-15,,HRESCH
p6,revoked,,2024-02-01,
`
const store = new ConsentStore({ authorities: [authority.publicKey] })
store.addImport(importCsvConsents(CSV, { siteSecret, study, authority }))

const table: RawTable = {
  columns: ['pid', 'x'],
  rows: [
    ['p1', '1'],
    ['p2', '2'],
    ['p3', '3'],
    ['p4', '4'],
    ['p5', '5'],
    ['p1', '6'],
  ],
  sourcePath: 'records.csv',
}
const query = (at: string) => ({ study, purpose: 'HRESCH', atMs: utc(at), siteSecret, patientIdColumn: 'pid' })
const pseudonym = (id: string) => pseudonymOf(siteSecret, id)

describe('ConsentStore.revokedAt', () => {
  it('lists the withdrawals that revoke a receipt by then, with their earliest time', () => {
    // Execute
    const before = store.revokedAt(study, utc('2024-03-10T00:00:00Z'))
    const after = store.revokedAt(study, utc('2024-07-01T00:00:00Z'))

    // Assert: p4 from March (its 2024-02-29 includes that day), p2 from June on; p6 never (it revokes no receipt); sorted by pseudonym.
    expect(before.map((r) => toHex(r.pseudonym))).toEqual([toHex(pseudonym('p4'))])
    expect(after.map((r) => toHex(r.pseudonym))).toEqual([pseudonym('p2'), pseudonym('p4')].map(toHex).sort())
    expect(after.find((r) => toHex(r.pseudonym) === toHex(pseudonym('p2')))!.time).toBe(utc('2024-06-01T00:00:00Z'))
    expect(store.revokedAt('another-study', utc('2024-07-01T00:00:00Z'))).toEqual([])
  })
})

describe('roundConsent', () => {
  it('filters by consent at the round time, keeps withdrawals out even after a new consent, and proves them absent', () => {
    // Execute
    const round = roundConsent([table], store, query('2024-07-01T00:00:00Z'))

    // Assert: only p1's two records remain; p4's new consent does not bring it back in this study.
    expect(round.tables[0]!.rows).toEqual([
      ['p1', '1'],
      ['p1', '6'],
    ])
    expect(round.result.counts).toEqual({ consented: 2, noConsent: 1, expired: 0, notYetValid: 1, revoked: 2 })
    expect(round.claim.count).toBe(1)
    expect(round.claim.excluded).toEqual({ noConsent: 1, expired: 0, notYetValid: 1, revoked: 2 })
    expect(round.claim.revoked).toHaveLength(2)
    const travelled = readConsentClaim(decodeCanonical(encodeCanonical(encodeConsentClaim(round.claim))))
    expect(() => checkConsentNonInclusion(travelled, [pseudonym('p2'), pseudonym('p4')])).not.toThrow()
  })

  it('uses a patient before their withdrawal applies', () => {
    // Execute: p2 withdrew on 2024-06-01; a round that opened in May still uses them.
    const round = roundConsent([table], store, query('2024-05-01T00:00:00Z'))

    // Assert
    expect(round.tables[0]!.rows.map((r) => r[0])).toEqual(['p1', 'p2', 'p1'])
    expect(round.claim.revoked.map((r) => toHex(r.pseudonym))).toEqual([toHex(pseudonym('p4'))])
  })

  it('counts a patient in a train and a validation table once in the tree', () => {
    // Prepare
    const validation: RawTable = {
      ...table,
      rows: [
        ['p1', '7'],
        ['p2', '8'],
      ],
      sourcePath: 'validation.csv',
    }

    // Execute
    const round = roundConsent([table, validation], store, query('2024-05-01T00:00:00Z'))

    // Assert
    expect(round.tables.map((t) => t.rows.length)).toEqual([3, 2])
    expect(round.claim.count).toBe(2)
    expect(round.result.counts.consented).toBe(5)
  })
})

describe('consent round files', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('keep the leaves of a round and rebuild its tree, and refuse a file edited since', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'fedlineage-consent-rounds-'))
    dirs.push(dir)
    const round = roundConsent([table], store, query('2024-05-01T00:00:00Z'))

    // Execute
    const saved = await saveConsentRound(dir, { study, site: 'st-marys', round: 4, at: round.claim.at, leaves: round.result.usedLeaves })
    const loaded = await loadConsentRound(dir, 4)

    // Assert
    expect(toHex(saved.root)).toBe(toHex(round.claim.root))
    expect(toHex(loaded.tree.root)).toBe(toHex(round.claim.root))
    expect(loaded.record.at).toBe(round.claim.at)
    await expect(loadConsentRound(dir, 5)).rejects.toMatchObject({ code: 'SITE_CONSENT_ROUND_MISSING' })
    const file = consentRoundPath(dir, 4)
    const body = JSON.parse(await readFile(file, 'utf8'))
    await writeFile(file, JSON.stringify({ ...body, leaves: body.leaves.slice(1) }))
    await expect(loadConsentRound(dir, 4)).rejects.toMatchObject({ code: 'SITE_CONSENT_STORE_CORRUPT' })
  })
})
