/**
 * The coordinator is a separate process (the real CLI). It is killed with
 * SIGKILL in the middle of a round, right after it acknowledged an update,
 * and started again on the same data dir. The sites reconnect by themselves;
 * the study finishes; every update acknowledged before the kill is in the
 * final log at the sequence number the site was given; the log verifies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { HubConfigInput } from '../../coordinator/index.ts'
import { Ledger, openLevelStorage, toHex, verifyLog, writeIdentity } from '../../ledger/index.ts'
import { DEMO_SITES, SiteAgent, parseSiteConfig, writeSyntheticSite } from '../../site-agent/index.ts'
import { quietLogger, tempDir, testSigner, TEST_STUDY } from '../helpers/federation.ts'
import { ENTRY_KINDS, readLineageRecord } from '../../protocol/index.ts'

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
    let coordinator = await startCoordinatorProcess(hubJson)

    // Execute: kill -9 right after the first acknowledged update of round 2, then restart.
    const acknowledged: { site: string; round: number; seq: number }[] = []
    let killed: Promise<void> | undefined
    const runs = sites.map((s) => {
      const agent = new SiteAgent(
        { signer: s.signer, logger: quietLogger },
        parseSiteConfig({ siteId: s.id, study: TEST_STUDY.id, coordinator: `127.0.0.1:${port}`, keyFile: 'x', data: { file: s.csv }, reconnectTimeoutMs: 60_000 }, 'site', dir),
      )
      agent.onEvent((e) => {
        if (e.type !== 'uploaded' || e.logSeq < 0) return
        acknowledged.push({ site: s.id, round: e.round, seq: e.logSeq })
        if (e.round === 2 && !killed) {
          coordinator.kill('SIGKILL')
          killed = new Promise<void>((resolve) => coordinator.once('exit', () => resolve())).then(async () => {
            coordinator = await startCoordinatorProcess(hubJson)
          })
        }
      })
      return agent.run()
    })
    const summaries = await Promise.all(runs)
    await killed
    coordinator.kill('SIGTERM')
    await new Promise((resolve) => coordinator.once('exit', resolve))

    // Assert: a restart happened, the study finished, and the log holds every acknowledged update.
    expect(killed).toBeDefined()
    for (const s of summaries) expect(s.rounds).toBe(4)
    const storage = await openLevelStorage(path.join(dir, 'ledger'))
    const report = await verifyLog(storage)
    const ledger = await Ledger.open(storage)
    const accepted = new Map<number, { site: string; round: number }>()
    let completed = false
    for await (const { entry } of ledger.scan()) {
      const r = readLineageRecord(entry)
      if (r.kind === ENTRY_KINDS.UPDATE_ACCEPTED) accepted.set(r.seq, { site: r.body.site, round: r.body.round })
      if (r.kind === ENTRY_KINDS.STUDY_COMPLETED) completed = r.body.rounds === 4
    }
    await ledger.close()
    expect(completed).toBe(true)
    expect(report.entries).toBeGreaterThan(0)
    expect(acknowledged.some((a) => a.round === 2)).toBe(true)
    for (const a of acknowledged) expect(accepted.get(a.seq)).toEqual({ site: a.site, round: a.round })
  })
})
