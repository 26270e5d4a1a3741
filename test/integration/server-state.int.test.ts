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
import { ENTRY_KINDS } from '../../protocol/index.ts'
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
