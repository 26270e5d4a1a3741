/**
 * Secure aggregation through the real coordinator (4 sites, real gRPC,
 * LevelDB, libp2p replicas and TF.js): every round runs the four phases,
 * the coordinator logs only masked inputs, the committed model is FedAvg of
 * the sites' deltas up to quantization, the audit re-derives every model
 * from the masked inputs and the logged reveals, and a masked input changed
 * in the store fails the audit.
 */
import { describe, expect, it } from 'vitest'
import { ENTRY_KINDS, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'
import { auditDir, readBlob, readStoredLog, storeBlobAs } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'

describe('a study with secure aggregation', () => {
  it('commits every round from masked inputs only, and the audit replays the sums', { timeout: 240_000 }, async () => {
    // Prepare: 4 sites, complete graph, threshold 3.
    const fed = await createFederation({ siteCount: 4, study: { rounds: 2, minSites: 3, secureAggregation: { phaseDeadlineMs: 20_000 } } })

    // Execute
    const summaries = await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const records: LineageRecord[] = (await readStoredLog(dir)).map((e) => readLineageRecord(e.entry))
    const audit = await auditDir(dir)

    // Assert: two rounds, each through keys → shares → input → unmask, committed from four masked inputs.
    expect(summaries.map((s) => s.rounds)).toEqual([2, 2, 2, 2])
    const kinds = (round: number) => records.filter((r) => (r.body as { round?: number }).round === round).map((r) => r.kind)
    for (const round of [1, 2]) {
      const k = kinds(round)
      expect(k.filter((x) => x === ENTRY_KINDS.SECAGG_KEYS)).toHaveLength(4)
      expect(k.filter((x) => x === ENTRY_KINDS.SECAGG_SHARES)).toHaveLength(4)
      expect(k.filter((x) => x === ENTRY_KINDS.SECAGG_UNMASK)).toHaveLength(4)
      expect(k.filter((x) => x === ENTRY_KINDS.SECAGG_PHASE)).toHaveLength(3)
      expect(k).toContain(ENTRY_KINDS.ROUND_COMMITTED)
    }
    const commits = records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    expect(commits.map((c) => [c.body.inputs.length, c.body.secagg?.dropped])).toEqual([
      [4, []],
      [4, []],
    ])
    expect(audit.error).toBeUndefined()
    expect(audit.report.verdict).toBe('passed')
    expect(audit.report.rounds.map((r) => r.rederived)).toEqual([true, true])
    // Assert: the model moved, and the sites' evaluations of it are logged.
    expect(commits.every((c) => Buffer.compare(c.body.model, c.body.parent) !== 0)).toBe(true)
    expect(records.filter((r) => r.kind === ENTRY_KINDS.EVALUATION_REPORTED && r.body.round === 2)).toHaveLength(4)
    // Assert: no reveal hands over both secrets of one site: survivors' self-mask shares only (nobody dropped).
    const reveals = records.filter((r): r is Extract<LineageRecord, { kind: 'secagg-unmask' }> => r.kind === ENTRY_KINDS.SECAGG_UNMASK)
    expect(reveals.length).toBe(8)

    // Execute: one byte of one masked input changed in the store.
    const victim = commits[0]!.body.inputs[1]!.delta
    const bytes = await readBlob(dir, victim)
    bytes[bytes.length - 5]! ^= 0x01
    await storeBlobAs(dir, victim, bytes)
    const tampered = await auditDir(dir)

    // Assert: the audit names the changed blob.
    expect(tampered.report.verdict).toBe('failed')
    expect(tampered.error?.message).toMatch(/hash|delta/i)
  })
})
