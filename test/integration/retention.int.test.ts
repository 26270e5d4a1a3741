/**
 * Retention of sites' deltas (`retention.deltaRounds` in the spec): the
 * coordinator deletes a round's deltas once that many later rounds have
 * committed, and the audit of its store passes with those rounds reported
 * hash-only, never re-derived, while a delta the rule still keeps, once
 * lost, fails the audit as before. Real federation: gRPC, LevelDB, TF.js.
 */
import { cp } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../ledger/index.ts'
import { ENTRY_KINDS, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'
import { auditDir } from '../helpers/audit.ts'
import { createFederation, tempDir } from '../helpers/federation.ts'
import { blobStored, removeBlob } from '../helpers/ledger.ts'
import { formatAuditVerdict } from '../../auditor/index.ts'

describe('a study with delta retention', () => {
  it('deletes deltas past retention, and its audit passes with those rounds hash-only and the rest re-derived', async () => {
    // Prepare: 3 rounds, deltas kept for 1 later commit.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 3, retention: { deltaRounds: 1 } } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const records: LineageRecord[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) records.push(readLineageRecord(entry))
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const deltas = (round: number) => records.flatMap((r) => (r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.round === round ? [toHex(r.body.delta)] : []))
    const models = records.flatMap((r) => (r.kind === ENTRY_KINDS.ROUND_COMMITTED ? [toHex(r.body.model)] : []))

    // Execute
    const honest = await auditDir(dir)
    const lost = path.join(await tempDir(), 'ledger')
    await cp(dir, lost, { recursive: true })
    await removeBlob(lost, deltas(3)[0]!)
    const broken = await auditDir(lost)

    // Assert: rounds 1 and 2 lost their deltas, round 3 kept them; every model is kept.
    for (const d of [...deltas(1), ...deltas(2)]) expect(await blobStored(dir, d)).toBe(false)
    for (const d of deltas(3)) expect(await blobStored(dir, d)).toBe(true)
    for (const m of models) expect(await blobStored(dir, m)).toBe(true)
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => [r.round, r.rederived, r.hashOnly ?? false])).toEqual([
      [1, false, true],
      [2, false, true],
      [3, true, false],
    ])
    expect(formatAuditVerdict(honest.report)).toMatch(/^audit passed: 1 round re-derived, .*; 2 rounds hash-only \(deltas deleted under the study's retention/)
    expect(broken.error?.code).toBe('AUDIT_BLOB_MISSING')
  })
})
