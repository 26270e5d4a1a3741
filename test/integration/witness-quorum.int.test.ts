/**
 * Witnessing a real federation (C2SP tlog-witness + tlog-policy): three
 * witnesses on loopback, a study whose spec carries a 2-of-3 policy, the
 * coordinator submitting every checkpoint to them. With the witnesses up the
 * final checkpoint is cosigned and the audit passes; with one witness up it
 * cannot reach the quorum, and the audit fails on it.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { formatAuditSummary, openLevelAuditSource, openPeerAuditSource, replayLog } from '../../auditor/index.ts'
import { checkpointVerifierKey, cosignatureVerifierKey, logOrigin, parseVerifierKey, readCheckpoint, startWitness, toHex, type RunningWitness } from '../../ledger/index.ts'
import { TEST_STUDY, createFederation, tempDir, testSigner, type TestFederation } from '../helpers/federation.ts'

const logVkey = checkpointVerifierKey(logOrigin(TEST_STUDY.id), testSigner(1).publicKey)

async function witnesses(n: number): Promise<RunningWitness[]> {
  const out: RunningWitness[] = []
  for (let i = 0; i < n; i++) {
    // B names itself, as C2SP witnesses do: its lines must keep that name wherever the note travels.
    const name = i === 1 ? { name: 'witness.example/b' } : {}
    const w = await startWitness({ signer: testSigner(50 + i), ...name, logs: [parseVerifierKey(logVkey)], stateDir: await tempDir() })
    onTestFinished(() => w.close())
    out.push(w)
  }
  return out
}

const policyOf = (ws: readonly RunningWitness[]) =>
  `# hospitals' witnesses\nlog ${logVkey}\n${ws.map((w, i) => `witness ${'ABC'[i]} ${w.verifierKey} ${w.url}`).join('\n')}\ngroup hospitals 2 A B C\nquorum hospitals\n`

/** Runs the study to completion, then waits until `count` witnesses cosigned its final checkpoint. */
async function runAndWitness(fed: TestFederation, ws: readonly RunningWitness[], count: number): Promise<number> {
  await Promise.all(fed.sites.map((s) => fed.runSite(s)))
  await fed.coordinator.completed
  const size = readCheckpoint((await fed.coordinator.ledger.latestCheckpoint())!).size
  const submitter = fed.coordinator.witnesses!
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`checkpoint ${size} not cosigned by ${count} witnesses in time`)), 20_000)
    const onCosigned = (_w: string, s: number) => void (s === size && check())
    function finish(err?: Error) {
      clearTimeout(timer)
      submitter.off('cosigned', onCosigned)
      if (err) reject(err)
      else resolve()
    }
    async function check() {
      // Sites cosign over gRPC too; count the policy's witnesses only.
      const keys = new Set(ws.map((w) => parseVerifierKey(w.verifierKey)).map((k) => toHex(k.publicKey)))
      const cosigs = await fed.coordinator.ledger.cosignatures(size)
      if (cosigs.filter((c) => keys.has(toHex(c.witness))).length >= count) finish()
    }
    submitter.on('cosigned', onCosigned)
    void check()
  })
  return size
}

async function audit(fed: TestFederation) {
  await fed.coordinator.close()
  const { source, close } = await openLevelAuditSource(fed.config.dataDir)
  try {
    return await replayLog(source, { trustedCoordinatorKey: fed.hub.publicKey })
  } finally {
    await close()
  }
}

describe('a federation witnessed under a 2-of-3 tlog-policy', () => {
  it('with three witnesses up, every one cosigns the final checkpoint and the audit passes', { timeout: 120_000 }, async () => {
    // Prepare
    const ws = await witnesses(3)
    const auditor = testSigner(70)
    const fed = await createFederation({
      study: { rounds: 1, witnessPolicy: policyOf(ws), auditors: [{ name: 'regulator', publicKey: toHex(auditor.publicKey) }] },
      hub: { http: { listen: '127.0.0.1:0' } },
    })
    // Execute
    const size = await runAndWitness(fed, ws, 3)
    const metrics = await (await fetch(`http://${fed.coordinator.httpAddress}/metrics`)).text()
    // An auditor's fresh replica, synced over libp2p, gets the cosignatures with the newest checkpoint.
    const peer = await openPeerAuditSource({ peer: fed.coordinator.p2pAddrs[0]!, identity: auditor, replicaDir: await tempDir() })
    const fromPeer = await replayLog(peer.source, { trustedCoordinatorKey: fed.hub.publicKey })
    const peerNote = (await peer.source.latestCheckpoint!())?.note
    await peer.close()
    const { report, error } = await audit(fed)
    // Assert
    expect(error).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.witnessing).toEqual({ quorum: 'hospitals', size, cosignedBy: ['A', 'B', 'C'] })
    expect(formatAuditSummary(report)).toContain(`witnesses: quorum "hospitals" met by checkpoint ${size}, cosigned by A, B, C`)
    expect(fromPeer.error).toBeUndefined()
    expect(fromPeer.report.witnessing).toEqual({ quorum: 'hospitals', size, cosignedBy: ['A', 'B', 'C'] })
    for (const w of ['A', 'B', 'C']) expect(metrics).toContain(`fedlineage_witness_lag_entries{witness="${w}"} 0`)
    expect(peerNote).toContain('\n— witness.example/b ')
  })

  it('with one witness up, the quorum is unmet and the audit fails with AUDIT_WITNESS_QUORUM_UNMET', { timeout: 120_000 }, async () => {
    // Prepare: B and C are down (their ports refuse connections); the study runs regardless.
    const ws = await witnesses(3)
    await ws[1]!.close()
    await ws[2]!.close()
    const fed = await createFederation({ study: { rounds: 1, witnessPolicy: policyOf(ws) } })
    // Execute
    await runAndWitness(fed, ws, 1)
    const { report, error } = await audit(fed)
    // Assert
    expect(report.study).toBe(TEST_STUDY.id)
    expect(report.ok).toBe(false)
    expect(error?.code).toBe('AUDIT_WITNESS_QUORUM_UNMET')
    expect(error?.message).toContain('cosigned by A of the policy')
    expect(error?.message).toContain('2 of A, B, C')
  })
})

/** Ports free right now on loopback (the policy must name the sites' witness URLs before the study starts). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer()
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

describe('site agents running witnesses (site.json witness.listen)', () => {
  it("each site's witness cosigns with the site key up to the final checkpoint, and the audit meets the quorum", { timeout: 120_000 }, async () => {
    // Prepare: the sites' keys and witness URLs in the policy; each site runs its witness beside its agent.
    const ports = await freePorts(3)
    const sites = [10, 11, 12].map((n, i) => ({ vkey: cosignatureVerifierKey(testSigner(n).publicKey), url: `http://127.0.0.1:${ports[i]}` }))
    const policy = `log ${logVkey}\n${sites.map((s, i) => `witness ${'ABC'[i]} ${s.vkey} ${s.url}`).join('\n')}\ngroup hospitals 2 A B C\nquorum hospitals\n`
    const fed = await createFederation({ study: { rounds: 1, witnessPolicy: policy }, siteConfig: (_s, i) => ({ witness: { listen: `127.0.0.1:${ports[i]}` } }) })
    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    const size = readCheckpoint((await fed.coordinator.ledger.latestCheckpoint())!).size
    const { report, error } = await audit(fed)
    // Assert: each witness persisted the final size before its site stopped, and the audit found the quorum.
    for (const s of fed.sites) {
      const state = JSON.parse(await readFile(path.join(fed.dir, `${s.id}-witness`, 'witness-state.json'), 'utf8'))
      expect(state.logs[logOrigin(TEST_STUDY.id)].size).toBe(size)
    }
    expect(error).toBeUndefined()
    expect(report.witnessing?.cosignedBy).toEqual(['A', 'B', 'C'])
  })
})
