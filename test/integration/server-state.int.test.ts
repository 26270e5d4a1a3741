/**
 * A server optimiser's state across a coordinator restart (3 sites, FedAdam,
 * 3 rounds, real gRPC, LevelDB and TF.js): the coordinator is closed right after
 * it acknowledged the first update of round 2 and started again on the same data dir, so round 2 can
 * only start from the state the log names (read back from the stored blob;
 * the new coordinator has no memory of it). The study finishes, every
 * commit names a state, the audit re-derives every round from the stored
 * states, and a tampered state blob fails the audit with
 * AUDIT_SERVER_STATE_MISMATCH.
 */
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../ledger/index.ts'
import { decodeWeights } from '../../models/core/index.ts'
import { ENTRY_KINDS, sampleSites } from '../../protocol/index.ts'
import { auditDir, readBlob, readStoredLog, storeBlobAs } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'
import { readLineageRecord, type LineageRecord } from '../../protocol/index.ts'

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

describe('server state across a coordinator restart', () => {
  it('is read back from the log after a restart, re-derived by the audit, and a tampered copy is caught', { timeout: 180_000 }, async () => {
    // Prepare: a FedAdam study on a fixed loopback port, so the sites find the restarted coordinator.
    const port = await freePort()
    const fed = await createFederation({ siteCount: 3, study: { strategy: { name: 'fedadam', eta: 0.05 }, rounds: 3 }, hub: { listen: `127.0.0.1:${port}` } })

    // Execute: restart the coordinator right after the first acknowledged update of round 2 (so round 2 commits after the restart), then run the study to its end.
    let restarted: Promise<unknown> | undefined
    const runs = fed.sites.map((s) =>
      fed.runSite(s, (e) => {
        if (e.type === 'uploaded' && e.round === 2 && e.logSeq >= 0 && restarted === undefined) restarted = fed.restartCoordinator()
      }),
    )
    const summaries = await Promise.all(runs)
    await restarted
    await fed.coordinator.completed
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const records: LineageRecord[] = (await readStoredLog(dir)).map((e) => readLineageRecord(e.entry))
    const commits = records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    const honest = await auditDir(dir)

    // Assert: the restart happened, the study finished on round 3, every commit names a distinct stored state of m and v.
    expect(restarted).toBeDefined()
    expect(summaries.map((s) => s.rounds)).toEqual([3, 3, 3])
    expect(commits.map((c) => c.body.round)).toEqual([1, 2, 3])
    expect(new Set(commits.map((c) => toHex(c.body.state!))).size).toBe(3)
    const state1 = decodeWeights(await readBlob(dir, commits[0]!.body.state!))
    expect(state1.tensors.map((t) => t.name)).toEqual(['m/output/kernel', 'm/output/bias', 'v/output/kernel', 'v/output/bias'])

    // Assert: the audit re-derives all three rounds, each from the state the previous commit names.
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => [r.round, r.rederived])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ])

    // Execute: round 1's stored state replaced by round 2's (well-formed, not the one named).
    await storeBlobAs(dir, commits[0]!.body.state!, await readBlob(dir, commits[1]!.body.state!))
    const tampered = await auditDir(dir)

    // Assert
    expect(tampered.report.failure).toMatchObject({ code: 'AUDIT_SERVER_STATE_MISMATCH', expected: toHex(commits[0]!.body.state!), calculated: toHex(commits[1]!.body.state!) })
  })
})

describe('client sampling through the real coordinator', () => {
  it('plans the seeded sample each round, gives the others no fit task, and finishes the study', { timeout: 180_000 }, async () => {
    // Prepare: 3 sites, 2 planned per round, FedYogi with a norm bound.
    const fed = await createFederation({ siteCount: 3, study: { strategy: { name: 'fedyogi', clipNorm: 1, sampling: { count: 2 } }, rounds: 3, minSites: 2 } })
    const trained = new Map<string, number[]>()

    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s, (e) => void (e.type === 'trained' && trained.set(s.id, [...(trained.get(s.id) ?? []), e.round])))))
    await fed.coordinator.completed
    await fed.coordinator.close()
    const records: LineageRecord[] = (await readStoredLog(fed.config.dataDir)).map((e) => readLineageRecord(e.entry))
    const opened = records.filter((r): r is Extract<LineageRecord, { kind: 'round-opened' }> => r.kind === ENTRY_KINDS.ROUND_OPENED)
    const commits = records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    const audit = await auditDir(fed.config.dataDir)

    // Assert: each round plans the draw of its own seed, and only the planned sites trained in it.
    const ids = fed.sites.map((s) => s.id)
    for (const o of opened) {
      const plan = o.body.plan.map((p) => p.site)
      expect(plan).toEqual(sampleSites(ids, { count: 2 }, 2, o.body.seed))
      for (const id of ids) expect(trained.get(id)?.includes(o.body.round) ?? false, `${id} round ${o.body.round}`).toBe(plan.includes(id))
    }
    expect(commits.map((c) => [c.body.round, c.body.inputs.length, c.body.strategy.params['samplingCount'], c.body.strategy.params['clipNorm']])).toEqual([
      [1, 2, 2, 1],
      [2, 2, 2, 1],
      [3, 2, 2, 1],
    ])
    for (const c of commits) expect(c.body.clipped).toBeDefined()
    expect(audit.error).toBeUndefined()
    expect(audit.report.rounds.map((r) => r.rederived)).toEqual([true, true, true])
  })
})
