/**
 * SCAFFOLD through the real coordinator and site agents (3 sites, 3 rounds,
 * real gRPC on loopback, LevelDB and TF.js). One site is stopped right after
 * its round-1 upload and started again as a new agent on the same state
 * folder, so its c_i for rounds 2 and 3 can only come from disk. Every
 * commit names a server control variate c; each round's plan tells the sites
 * the previous one; each site's stored c_i is the option-II chain recomputed
 * from the log (c, x and Δy of each round); the audit re-derives every round,
 * and a tampered c or delta is caught. A second study restarts the
 * coordinator mid-round: c is then served to the sites from the log.
 */
import net from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../ledger/index.ts'
import { decodeWeights, nextSiteControlVariate, serverControlVariate, type TensorShape, type Weights } from '../../models/core/index.ts'
import { ENTRY_KINDS, encodeSpec, readLineageRecord, specHash, type LineageRecord } from '../../protocol/index.ts'
import { SiteAgent, controlVariateFile, parseSiteConfig, readControlVariate, type SiteAgentEvent } from '../../site-agent/index.ts'
import { auditDir, readBlob, readStoredLog, storeBlobAs } from '../helpers/audit.ts'
import { createFederation, quietLogger, type TestFederation, type TestSite } from '../helpers/federation.ts'

const K = 20
const ETA_L = 0.1

/** Runs `site` as its own agent; `stopWhen` aborts it (as a stopped process) on the first event it matches. */
async function runAgent(fed: TestFederation, site: TestSite, stopWhen?: (e: SiteAgentEvent) => boolean): Promise<'stopped' | 'done'> {
  const cfg = parseSiteConfig(fed.siteConfig(site), 'test site config', fed.dir)
  const agent = new SiteAgent({ signer: site.signer, logger: quietLogger }, cfg)
  const stop = new AbortController()
  if (stopWhen) agent.onEvent((e) => void (stopWhen(e) && stop.abort(new Error('stopped by the test'))))
  try {
    await agent.run(stop.signal)
    return 'done'
  } catch (err) {
    if (stop.signal.aborted) return 'stopped'
    throw err
  }
}

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

const plus = (x: Weights, d: Weights): Weights => ({ tensors: x.tensors.map((t, i) => ({ ...t, values: t.values.map((v, j) => v + d.tensors[i]!.values[j]!) })) })
const flat = (w: Weights): number[] => w.tensors.flatMap((t) => [...t.values])

describe('scaffold through the real coordinator and sites', () => {
  it('runs 3 rounds with c in the log and c_i kept across a site restart, and the audit replays it and catches a tampered c', { timeout: 240_000 }, async () => {
    // Prepare
    const fed = await createFederation({
      siteCount: 3,
      study: { strategy: { name: 'scaffold', serverLearningRate: 1 }, rounds: 3, training: { optimizer: 'sgd', learningRate: ETA_L, batchSize: 16, localSteps: K } },
    })
    const [restarted, ...others] = fed.sites as [TestSite, ...TestSite[]]

    // Execute: the first site stops right after its round-1 upload and comes back as a new agent.
    const rest = Promise.all(others.map((s) => runAgent(fed, s)))
    const first = await runAgent(fed, restarted, (e) => e.type === 'uploaded' && e.round === 1)
    const again = await runAgent(fed, restarted)
    await rest
    await fed.coordinator.completed
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const records: LineageRecord[] = (await readStoredLog(dir)).map((e) => readLineageRecord(e.entry))
    const commits = records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    const opened = records.filter((r): r is Extract<LineageRecord, { kind: 'round-opened' }> => r.kind === ENTRY_KINDS.ROUND_OPENED)
    const honest = await auditDir(dir)

    // Assert: the restart happened, and the study committed 3 rounds, each naming a state of c only.
    expect(first).toBe('stopped')
    expect(again).toBe('done')
    expect(commits.map((c) => [c.body.round, c.body.strategy.name, c.body.inputs.length])).toEqual([
      [1, 'scaffold', 3],
      [2, 'scaffold', 3],
      [3, 'scaffold', 3],
    ])
    // One at a time: each read opens the LevelDB store, which takes its lock.
    const states: Weights[] = []
    for (const c of commits) states.push(decodeWeights(await readBlob(dir, c.body.state!)))
    expect(states[0]!.tensors.map((t) => t.name)).toEqual(['c/output/kernel', 'c/output/bias'])
    expect(new Set(commits.map((c) => toHex(c.body.state!))).size).toBe(3)
    // Each round's plan tells every site where c is: nothing before the first commit, then the previous commit's state.
    expect(opened.map((o) => [...new Set(o.body.plan.map((p) => p.instructions['serverControlVariate']))])).toEqual([[''], [toHex(commits[0]!.body.state!)], [toHex(commits[1]!.body.state!)]])

    // Assert: each site's stored c_i is the option-II chain over the log's rounds; for the restarted site, not a chain restarted from zero.
    const shapes: TensorShape[] = states[0]!.tensors.map((t) => ({ name: t.name.slice('c/'.length), shape: t.shape }))
    for (const site of fed.sites) {
      const chain = async (from: number): Promise<Weights> => {
        let ci = serverControlVariate(null, shapes)
        for (const c of commits.filter((c) => c.body.round >= from)) {
          const x = decodeWeights(await readBlob(dir, c.body.parent), shapes)
          const delta = decodeWeights(await readBlob(dir, c.body.inputs.find((i) => i.site === site.id)!.delta), shapes)
          const previous = commits.find((p) => p.body.round === c.body.round - 1)
          const serverC = serverControlVariate(previous === undefined ? null : decodeWeights(await readBlob(dir, previous.body.state!)), shapes)
          ci = nextSiteControlVariate(ci, serverC, x, plus(x, delta), K, ETA_L)
        }
        return ci
      }
      const stored = await readControlVariate(controlVariateFile(fed.dir, site.id, fed.config.study.id, specHash(encodeSpec(fed.config.study))), shapes)
      expect(stored?.round).toBe(3)
      const want = flat(await chain(1))
      flat(stored!.after).forEach((v, j) => expect(v, `${site.id} c_i[${j}]`).toBeCloseTo(want[j]!, 4))
      if (site === restarted) expect(Math.max(...flat(await chain(2)).map((v, j) => Math.abs(v - want[j]!)))).toBeGreaterThan(1e-3)
    }
    expect(path.dirname(controlVariateFile(fed.dir, restarted.id, 'x', new Uint8Array(32)))).toBe(fed.dir)

    // Assert: the audit re-derives every round from the logged states.
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => [r.round, r.rederived])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ])

    // Execute: round 1's stored c replaced by round 2's (well formed, not the one named).
    const state1 = await readBlob(dir, commits[0]!.body.state!)
    await storeBlobAs(dir, commits[0]!.body.state!, await readBlob(dir, commits[1]!.body.state!))
    const tampered = await auditDir(dir)

    // Assert
    expect(tampered.report.failure).toMatchObject({ code: 'AUDIT_SERVER_STATE_MISMATCH', expected: toHex(commits[0]!.body.state!) })

    // Execute: c restored, and a delta of round 2 (the input each Δc_i is derived from) replaced by another site's.
    await storeBlobAs(dir, commits[0]!.body.state!, state1)
    const [victim, other] = commits[1]!.body.inputs
    await storeBlobAs(dir, victim!.delta, await readBlob(dir, other!.delta))
    const tamperedDelta = await auditDir(dir)

    // Assert
    expect(tamperedDelta.report.failure).toMatchObject({ code: 'AUDIT_BLOB_MISMATCH', expected: toHex(victim!.delta) })
  })

  it('serves c from the log after a coordinator restart, and the audit re-derives every round', { timeout: 240_000 }, async () => {
    // Prepare: a fixed loopback port, so the sites find the restarted coordinator.
    const port = await freePort()
    const fed = await createFederation({ siteCount: 3, study: { strategy: { name: 'scaffold' }, rounds: 3 }, hub: { listen: `127.0.0.1:${port}` } })

    // Execute: restart the coordinator right after the first acknowledged update of round 2, so round 2 commits (and c is served) after it.
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
    const audit = await auditDir(dir)

    // Assert: every site trained all 3 rounds (round 3 with the c committed after the restart), and the audit re-derives them.
    expect(restarted).toBeDefined()
    expect(summaries.map((s) => s.rounds)).toEqual([3, 3, 3])
    expect(commits.map((c) => [c.body.round, c.body.inputs.length, c.body.state !== undefined])).toEqual([
      [1, 3, true],
      [2, 3, true],
      [3, 3, true],
    ])
    const shapes = decodeWeights(await readBlob(dir, commits[0]!.body.state!)).tensors.map((t) => ({ name: t.name.slice('c/'.length), shape: t.shape }))
    for (const site of fed.sites) expect((await readControlVariate(controlVariateFile(fed.dir, site.id, fed.config.study.id, specHash(encodeSpec(fed.config.study))), shapes))?.round).toBe(3)
    expect(audit.error).toBeUndefined()
    expect(audit.report.rounds.map((r) => r.rederived)).toEqual([true, true, true])
  })
})
