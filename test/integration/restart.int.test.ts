/**
 * The coordinator is a separate process (the real CLI). It is killed with
 * SIGKILL in the middle of a round, right after it acknowledged an update,
 * and started again on the same data dir. The sites reconnect by themselves;
 * the study finishes; every acknowledged update (its envelope, signature and
 * delta hash, as the site sent them) is in the final log at the sequence
 * number the site was given and among its round's committed inputs; the log
 * verifies under the hub's key and the auditor re-derives every round up to
 * the final model the sites were given.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { openLevelAuditSource, replayLog } from '../../auditor/index.ts'
import type { HubConfigInput } from '../../coordinator/index.ts'
import { Ledger, openLevelStorage, sha256, toHex, verifyLog, writeIdentity } from '../../ledger/index.ts'
import { ENTRY_KINDS, decodeStatement, readLineageRecord, statementHash, type LineageRecord, type SignedStatement } from '../../protocol/index.ts'
import { CoordinatorClient, DEMO_SITES, SiteAgent, parseSiteConfig, writeSyntheticSite } from '../../site-agent/index.ts'
import { quietLogger, tempDir, testSigner, TEST_STUDY } from '../helpers/federation.ts'
import { inlineEnvelopeBody } from '../helpers/protocol.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))

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

function startCoordinatorProcess(hubJson: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'coordinator', '--config', hubJson], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDLINEAGE_LOG_LEVEL: 'warn' } })
  onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')))
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('coordinator listening on') && resolve(child))
    let err = ''
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}: ${err}`)))
  })
}

describe('coordinator crash recovery', () => {
  it('loses no accepted update when SIGKILLed mid-round and finishes the study after a restart', async () => {
    // Prepare: keys, data, a hub config on a fixed loopback port, three in-process site agents.
    const dir = await tempDir()
    const hub = await writeIdentity(dir, 'hub')
    const port = await freePort()
    const sites = await Promise.all(DEMO_SITES.slice(0, 3).map(async (s, i) => ({ id: s.siteId, signer: testSigner(20 + i), csv: (await writeSyntheticSite(dir, s)).trainCsv })))
    const hubConfig: HubConfigInput = {
      study: { ...TEST_STUDY, rounds: 4, roundDeadlineMs: 60_000 },
      listen: `127.0.0.1:${port}`,
      dataDir: 'ledger',
      keyFile: path.basename(hub.keyFile),
      sites: sites.map((s) => ({ id: s.id, publicKey: toHex(s.signer.publicKey) })),
      autoAdvance: true,
    }
    const hubJson = path.join(dir, 'hub.json')
    await writeFile(hubJson, JSON.stringify(hubConfig))
    let starts = 0
    const start = async () => {
      const child = await startCoordinatorProcess(hubJson)
      starts++
      return child
    }
    let coordinator = await start()
    // Every acknowledged upload, as the site sent it, with the receipt it was given.
    const acked: { site: string; round: number; seq: number; envelope: SignedStatement; deltaHash: Uint8Array }[] = []
    const upload = CoordinatorClient.prototype.uploadUpdate
    vi.spyOn(CoordinatorClient.prototype, 'uploadUpdate').mockImplementation(async function (this: CoordinatorClient, envelope, delta, timeoutMs) {
      const receipt = await upload.call(this, envelope, delta, timeoutMs)
      const { site, round } = decodeStatement('update', envelope.body)
      // A delta in memory, or in its file (whose hash was taken as it was written).
      acked.push({ site, round, seq: receipt.logSeq, envelope, deltaHash: delta instanceof Uint8Array ? sha256(delta) : delta.hash })
      return receipt
    })
    onTestFinished(() => void vi.restoreAllMocks())

    // Execute: kill -9 right after the first acknowledged update of round 2, then restart.
    let killSignal: NodeJS.Signals | null = null
    let killedAfter: { site: string; seq: number } | undefined
    let restarted: Promise<void> | undefined
    const runs = sites.map((s) => {
      const agent = new SiteAgent(
        { signer: s.signer, logger: quietLogger },
        parseSiteConfig({ siteId: s.id, study: TEST_STUDY.id, coordinator: `127.0.0.1:${port}`, keyFile: 'x', data: { file: s.csv }, reconnectTimeoutMs: 60_000 }, 'site', dir),
      )
      agent.onEvent((e) => {
        if (e.type !== 'uploaded' || e.logSeq < 0 || e.round !== 2 || restarted) return
        killedAfter = { site: s.id, seq: e.logSeq }
        coordinator.kill('SIGKILL')
        restarted = new Promise<void>((resolve) => coordinator.once('exit', (_code, signal) => resolve(void (killSignal = signal)))).then(async () => {
          coordinator = await start()
        })
      })
      return agent.run()
    })
    const summaries = await Promise.all(runs)
    await restarted
    coordinator.kill('SIGTERM')
    await new Promise((resolve) => coordinator.once('exit', resolve))
    const dataDir = path.join(dir, 'ledger')
    const storage = await openLevelStorage(dataDir)
    const verification = await verifyLog(storage)
    const ledger = await Ledger.open(storage)
    const length = ledger.length
    const records = new Map<number, LineageRecord>()
    for await (const { entry } of ledger.scan()) records.set(entry.seq, readLineageRecord(entry))
    await ledger.close()
    const audit = await openLevelAuditSource(dataDir)
    const { report, error } = await replayLog(audit.source)
    await audit.close()

    // Assert: one SIGKILL mid-study, then one restart that carried the study to its last round.
    expect(killSignal).toBe('SIGKILL')
    expect(starts).toBe(2)
    expect(acked.find((a) => a.seq === killedAfter?.seq)).toMatchObject({ site: killedAfter?.site, round: 2 })
    expect(Math.max(...acked.map((a) => a.round))).toBe(4)

    // Assert: the log verifies whole, under the hub's key alone.
    expect(verification.entries).toBe(length)
    expect(verification.authors.map(toHex)).toEqual([hub.publicKeyHex])

    // Assert: every acknowledged update is at its seq, byte for byte as sent, once, and among its round's committed inputs.
    const all = [...records.values()]
    const commits = new Map(all.flatMap((r) => (r.kind === ENTRY_KINDS.ROUND_COMMITTED ? [[r.body.round, r.body] as const] : [])))
    expect([...commits.keys()].sort((x, y) => x - y)).toEqual([1, 2, 3, 4])
    expect(new Set(acked.map((a) => a.seq)).size).toBe(acked.length)
    for (const a of acked) {
      const r = records.get(a.seq)
      expect(r?.kind, `seq ${a.seq}`).toBe(ENTRY_KINDS.UPDATE_ACCEPTED)
      if (r?.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) continue
      expect({ site: r.body.site, round: r.body.round, envelope: toHex(inlineEnvelopeBody(r.body.envelope)), sig: toHex(r.body.envelope.sig), delta: toHex(r.body.delta) }).toEqual({
        site: a.site,
        round: a.round,
        envelope: toHex(a.envelope.body),
        sig: toHex(a.envelope.signature),
        delta: toHex(a.deltaHash),
      })
      const input = commits.get(a.round)?.inputs.find((i) => i.site === a.site)
      expect(input && { delta: toHex(input.delta), envelope: toHex(input.envelope) }, `round ${a.round} input of ${a.site}`).toEqual({
        delta: toHex(a.deltaHash),
        envelope: toHex(statementHash(a.envelope)),
      })
    }

    // Assert: the study completed on round 4's model, which every site was given and the auditor re-derives.
    const completed = all.flatMap((r) => (r.kind === ENTRY_KINDS.STUDY_COMPLETED ? [r.body] : []))
    expect(completed.map((b) => b.rounds)).toEqual([4])
    const finalModel = toHex(completed[0]!.model)
    expect(finalModel).toBe(toHex(commits.get(4)!.model))
    for (const s of summaries) expect({ rounds: s.rounds, finalModel: s.finalModel }).toEqual({ rounds: 4, finalModel })
    expect(error).toBeUndefined()
    expect({ ok: report.ok, completed: report.completed, entries: report.entries, rederived: report.rounds.filter((r) => r.rederived).map((r) => r.round) }).toEqual({
      ok: true,
      completed: true,
      entries: length,
      rederived: [1, 2, 3, 4],
    })
    expect(report.lineage.at(-1)).toBe(finalModel)
  })
})
