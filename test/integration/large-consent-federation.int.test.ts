/**
 * 200 withdrawals at one site of a real federation (gRPC, LevelDB, TF.js,
 * the consent store imported with `fedlineage consent import`): the site's
 * update envelope carries 200 non-inclusion proofs, well over 64 KiB, so the
 * coordinator logs it by reference (its body a blob the entry names by hash),
 * every entry of the log stays within a tlog-tiles bundle, and the audit of
 * the coordinator's store reads the envelope back and passes.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { HubClient } from '../../coordinator/index.ts'
import { MAX_ENTRY_BYTES, sha256 } from '../../ledger/index.ts'
import { SYNTHETIC_SCHEMA } from '../../site-agent/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import { ENTRY_KINDS, isEmbeddedByBlob, readLineageRecord } from '../../protocol/index.ts'
import { auditDir, readBlob, readStoredLog } from '../helpers/audit.ts'
import { runTool } from '../helpers/cli.ts'
import { cli, consentFederation, consentFiles } from '../helpers/consent.ts'
import type { TestSite } from '../helpers/federation.ts'

const PURPOSE = 'HRESCH'
const REVOKED = 200
const STUDY = { rounds: 1, consent: { purpose: PURPOSE }, data: { ...SYNTHETIC_SCHEMA, patientIdColumn: 'patient_id' } } as Partial<StudySpecInput>

/** Every patient of the site consented since 2020. */
function consentCsv(site: TestSite): string {
  const rows = ['patient_id,status,valid_from,valid_until,purposes']
  for (let k = 1; k <= site.patients; k++) rows.push(`${site.id}-${k},active,2020-01-01,,${PURPOSE}`)
  return `${rows.join('\n')}\n`
}

describe('a site with 200 withdrawals', () => {
  it('logs its envelope by reference; every entry fits a tile bundle; the audit passes', { timeout: 180_000 }, async () => {
    // Prepare: site A's first REVOKED patients withdraw before round 1.
    const { fed, io, authorityKeyFile } = await consentFederation(STUDY, consentCsv)
    const siteA = fed.sites[0]!
    expect(siteA.patients).toBeGreaterThan(REVOKED + 20)
    const csv = path.join(fed.dir, 'revocations.csv')
    const at = new Date(Date.now() - 60_000).toISOString()
    await writeFile(csv, `patient_id,status,valid_from,valid_until,purposes\n${Array.from({ length: REVOKED }, (_, k) => `${siteA.id}-${k + 1},revoked,,${at},`).join('\n')}\n`)
    const files = consentFiles(siteA)
    await cli(
      io,
      'consent',
      'import',
      '--csv',
      csv,
      '--store',
      path.join(fed.dir, files.store),
      '--secret',
      path.join(fed.dir, files.secretFile),
      '--authority-key',
      authorityKeyFile,
      '--study',
      fed.config.study.id,
    )

    // Execute: one round.
    const runs = fed.sites.map((s) => fed.runSite(s))
    const hub = new HubClient(fed.coordinator.address)
    await hub.startNextRound(fed.hub)
    await Promise.all(runs)
    hub.close()
    await fed.coordinator.completed
    await fed.coordinator.close()
    const stored = await readStoredLog(fed.config.dataDir)
    const out = await auditDir(fed.config.dataDir)
    const records = stored.map((e) => readLineageRecord(e.entry))
    const accepted = records.find((r): r is Extract<typeof r, { kind: 'update-accepted' }> => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.site === siteA.id)
    const envelope = accepted?.body.envelope
    const body = envelope !== undefined && isEmbeddedByBlob(envelope) ? await readBlob(fed.config.dataDir, envelope.blob) : undefined

    // Assert
    expect(envelope !== undefined && isEmbeddedByBlob(envelope)).toBe(true)
    expect(body!.length).toBeGreaterThan(2 * MAX_ENTRY_BYTES)
    expect(sha256(body!)).toEqual((envelope as { blob: Uint8Array }).blob)
    expect(records.filter((r) => r.kind === ENTRY_KINDS.CONSENT_REVOKED && r.body.site === siteA.id)).toHaveLength(REVOKED)
    for (const e of stored) expect(e.bytes.length, `entry ${e.entry.seq}`).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    expect(out.error).toBeUndefined()
    expect(out.report.ok).toBe(true)
    // Another site's replica fetched the envelope body at the end of its sync (every participant may read
    // it), so its holder's audit, without any key, checks that entry and ends with the honest partial verdict.
    const siteB = fed.sites[1]!
    const replicaAudit = await runTool(['audit', '--db', path.join(fed.dir, `${siteB.id}-replica`)])
    expect(replicaAudit.stderr).not.toMatch(/AUDIT_BLOB_MISSING/)
    expect(replicaAudit.stderr).toMatch(/AUDIT_PARTIAL/)
    expect(replicaAudit.stdout).toMatch(new RegExp(`audit PARTIAL of site "${siteB.id}"'s replica`))
  })
})
