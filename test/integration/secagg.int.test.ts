/**
 * Secure aggregation with distributed DP through the real coordinator (4
 * sites, real gRPC, LevelDB, libp2p replicas and TF.js): every round runs the four phases,
 * the coordinator logs only masked inputs, the committed model is FedAvg of
 * the sites' deltas up to quantization, the audit re-derives every model
 * from the masked inputs and the logged reveals, and a masked input changed
 * in the store fails the audit.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { StudySpecSchema, resolveSecAggParams } from '../../models/index.ts'
import { ENTRY_KINDS, SiteSecAggSession, decodeStatement, readLineageRecord, signStatement, type LineageRecord } from '../../protocol/index.ts'
import { formatAuditVerdict } from '../../auditor/index.ts'
import { HubClient } from '../../coordinator/index.ts'
import { CoordinatorClient } from '../../site-agent/index.ts'
import { auditDir, readBlob, readStoredLog, storeBlobAs } from '../helpers/audit.ts'
import { TEST_STUDY, createFederation, type TestSite } from '../helpers/federation.ts'

describe('a study with secure aggregation', () => {
  it('commits every round from masked inputs only (distributed DP), and the audit replays the sums', { timeout: 240_000 }, async () => {
    // Prepare: 4 sites, complete graph, threshold 2 of 3 neighbours, with distributed DP (the sites add the noise).
    const fed = await createFederation({
      siteCount: 4,
      study: { rounds: 2, minSites: 3, secureAggregation: { phaseDeadlineMs: 20_000 }, dp: { clipNorm: 1, noiseMultiplier: 0.5, delta: 1e-5 } },
    })

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
    expect(commits.map((c) => [c.body.inputs.length, c.body.secagg?.dropped, c.body.dp?.distributed, c.body.dp?.steps])).toEqual([
      [4, [], true, 1],
      [4, [], true, 2],
    ])
    // No noise seed: the coordinator draws none under secure aggregation.
    const opened = records.filter((r): r is Extract<LineageRecord, { kind: 'round-opened' }> => r.kind === ENTRY_KINDS.ROUND_OPENED)
    expect(opened.map((o) => o.body.dp)).toEqual([{ q: 1 }, { q: 1 }])
    expect(audit.error).toBeUndefined()
    expect(audit.report.verdict).toBe('passed')
    expect(audit.report.rounds.map((r) => r.rederived)).toEqual([true, true])
    expect(audit.report.rounds.map((r) => r.secagg)).toEqual([
      { survivors: 4, dropped: [], reveals: 4 },
      { survivors: 4, dropped: [], reveals: 4 },
    ])
    expect(formatAuditVerdict(audit.report)).toMatch(/2 secure sums unmasked again \(8 masked inputs, 8 reveals, 0 dropouts\)/)
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

  it('tolerates a site that crashes after sharing its keys: its masks are removed with its rebuilt key, and the audit agrees', { timeout: 240_000 }, async () => {
    // Prepare: three real agents and a fourth site that advertises keys and sends its shares, then goes away.
    const fed = await createFederation({ siteCount: 4, study: { rounds: 1, minSites: 3, roundDeadlineMs: 4000, secureAggregation: { phaseDeadlineMs: 4000 } } })
    const quitter = fed.sites[3]!

    // Execute
    const crashed = crashAfterSharing(fed.coordinator.address, quitter)
    const summaries = await Promise.all(fed.sites.slice(0, 3).map((s) => fed.runSite(s)))
    await crashed
    await fed.coordinator.completed
    const hub = new HubClient(fed.coordinator.address)
    const status = await hub.status()
    hub.close()
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const records: LineageRecord[] = (await readStoredLog(dir)).map((e) => readLineageRecord(e.entry))
    const audit = await auditDir(dir)

    // Assert: the round committed from the three survivors, the quitter dropped after sharing, its key rebuilt from s shares.
    expect(summaries.map((s) => s.rounds)).toEqual([1, 1, 1])
    const phases = records.filter((r): r is Extract<LineageRecord, { kind: 'secagg-phase' }> => r.kind === ENTRY_KINDS.SECAGG_PHASE).map((r) => [r.body.phase, r.body.sites.length])
    expect(phases).toEqual([
      ['shares', 4],
      ['input', 4],
      ['unmask', 3],
    ])
    const commit = records.find((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)!
    expect(commit.body.secagg?.dropped).toEqual([quitter.id])
    expect(status.rounds.find((r) => r.round === '1')?.secagg).toMatchObject({
      phase: 'closed',
      dropped: [quitter.id],
      answered: ['site-a', 'site-b', 'site-c'].map((_, i) => fed.sites[i]!.id).sort(),
    })
    const reveals = records
      .filter((r): r is Extract<LineageRecord, { kind: 'secagg-unmask' }> => r.kind === ENTRY_KINDS.SECAGG_UNMASK)
      .map((r) => decodeStatement('secagg-unmask', r.body.statement.body))
    expect(reveals.every((r) => r.reveals.find((x) => x.of === quitter.id)?.kind === 's')).toBe(true)
    expect(audit.error).toBeUndefined()
    expect(audit.report.verdict).toBe('passed')
    expect(audit.report.rounds[0]!.secagg).toEqual({ survivors: 3, dropped: [quitter.id], reveals: 3 })
  })
})

/** A site that says hello, sends its keys and its shares in round 1, and then stops (a crash after sharing). */
async function crashAfterSharing(address: string, site: TestSite): Promise<void> {
  const spec = StudySpecSchema.parse({ ...TEST_STUDY, rounds: 1, minSites: 3, roundDeadlineMs: 4000, secureAggregation: { phaseDeadlineMs: 4000 } })
  const client = new CoordinatorClient(address)
  try {
    const hello = await client.hello(signStatement(site.signer, { t: 'hello', study: spec.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
    let session: SiteSecAggSession | undefined
    for await (const task of client.tasks(new Uint8Array(hello.sessionToken))) {
      if (task.fit && session === undefined) {
        const round = Number(task.fit.round)
        session = new SiteSecAggSession({ study: spec.id, round, site: site.id, seed: Number(task.fit.seed) })
        const { cPk, sPk } = session.advertise()
        await client.submitSecAgg(signStatement(site.signer, { t: 'secagg-keys', study: spec.id, round, site: site.id, cPk, sPk, time: Date.now() }))
      }
      if (task.secagg?.phase === 'shares' && session !== undefined) {
        const peers = new Map(task.secagg.keys.map((k) => decodeStatement('secagg-keys', new Uint8Array(k.body))).map((k) => [k.site, { cPk: k.cPk, sPk: k.sPk }]))
        const params = resolveSecAggParams(spec.secureAggregation!, peers.size)
        const { shares, bCommit } = await session.shareKeys(peers, params)
        await client.submitSecAgg(signStatement(site.signer, { t: 'secagg-shares', study: spec.id, round: Number(task.secagg.round), site: site.id, bCommit, shares: [...shares], time: Date.now() }))
        return
      }
    }
  } finally {
    client.close()
  }
}
