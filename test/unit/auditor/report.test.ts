/**
 * auditor/core/report.ts: the JSON-friendly report built from the folded
 * study state, with and without a failure.
 */
import { describe, expect, it } from 'vitest'
import { AuditModelMismatchError, AuditSeqGapError, buildAuditReport, type AuditProgress } from '../../../auditor/core/index.ts'
import { sha256, toHex } from '../../../ledger/core/index.ts'
import { draftRecords, findRecord, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'

const study = syntheticStudy()
const records = draftRecords(study.drafts)
const genesis = findRecord(records, 'study-created').body.genesis
const models = [1, 2].map((round) => findRecord(records, 'round-committed', (r) => r.body.round === round).body.model)

function progress(count = study.drafts.length, rederived = [1, 2]): AuditProgress {
  return {
    state: foldDrafts(study.drafts, count),
    entries: count,
    unverifiedRejections: 0,
    head: sha256(new Uint8Array([count])),
    coordinatorKey: study.coordinator.publicKey,
    rederived: new Set(rederived),
    lineage: [genesis, ...models.slice(0, rederived.length)],
  }
}

describe('buildAuditReport', () => {
  it('describes a passed audit: rounds, sites, lineage, as plain JSON', () => {
    // Execute
    const report = buildAuditReport(progress())

    // Assert
    expect(report).toMatchObject({ ok: true, study: 'audit-unit', entries: study.drafts.length, coordinatorKey: toHex(study.coordinator.publicKey), completed: true })
    expect(report.failure).toBeUndefined()
    expect(report.rounds).toEqual([
      { round: 1, status: 'committed', parent: toHex(genesis), model: toHex(models[0]!), sites: study.sites.map((s) => s.id), examples: 150, rederived: true, rewarded: false },
      { round: 2, status: 'committed', parent: toHex(models[0]!), model: toHex(models[1]!), sites: study.sites.map((s) => s.id), examples: 150, rederived: true, rewarded: false },
    ])
    expect(report.lineage).toEqual([genesis, ...models].map(toHex))
    expect(report.sites).toEqual(study.sites.map((s) => ({ id: s.id, updates: 2, evaluations: 3, rejected: 0, approved: null, declined: [] })))
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })

  it('shows a round still collecting with the updates accepted so far', () => {
    // Prepare: stop after the first two updates of round 2.
    const second = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site === study.sites[1]!.id)

    // Execute
    const report = buildAuditReport(progress(second.seq + 1, [1]))

    // Assert
    expect(report.completed).toBe(false)
    expect(report.rounds[1]).toEqual({
      round: 2,
      status: 'collecting',
      parent: toHex(models[0]!),
      model: null,
      sites: study.sites.slice(0, 2).map((s) => s.id),
      examples: 90,
      rederived: false,
      rewarded: false,
    })
  })

  it('names the failure, with both values in hex for a mismatch', () => {
    // Prepare
    const commit = findRecord(records, 'round-committed', (r) => r.body.round === 2)
    const calculated = sha256(new Uint8Array([5]))
    const error = new AuditModelMismatchError('entry 19 (round-committed): …', commit.seq, 2, commit.body.model, calculated)

    // Execute
    const report = buildAuditReport(progress(commit.seq, [1]), error)

    // Assert
    expect(report.ok).toBe(false)
    expect(report.failure).toEqual({ seq: commit.seq, code: 'AUDIT_MODEL_MISMATCH', message: error.message, expected: toHex(commit.body.model), calculated: toHex(calculated) })
  })

  it('names a failure that is not a mismatch without values', () => {
    // Execute
    const report = buildAuditReport(progress(4, []), new AuditSeqGapError('entry 4: missing', 4))

    // Assert
    expect(report.failure).toEqual({ seq: 4, code: 'AUDIT_SEQ_GAP', message: 'entry 4: missing' })
    expect(Object.keys(report.failure!)).not.toContain('expected')
  })
})
