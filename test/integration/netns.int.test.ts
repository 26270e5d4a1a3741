/**
 * A study across two machines, as far as one host can make them: the
 * coordinator in one network namespace, a site agent in another, joined only
 * by a veth pair with private addresses (each namespace has nothing else but
 * its own loopback). gRPC runs over mutual TLS, the coordinator's replica
 * listens on a wildcard address and announces its link address, and the
 * site, a separate `fedlineage site` process, must end with a verified
 * replica of the whole log, and an auditor on the site's side of the link
 * must sync the log and its blobs from the coordinator and re-derive every
 * model.
 *
 * Needs root and `ip netns` (iproute2); elsewhere it is skipped, and the
 * reason is in the suite's name and printed when the file loads.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { HubConfigInput } from '../../coordinator/index.ts'
import { fromHex, writeIdentity } from '../../ledger/index.ts'
import { provisionStudyKit } from '../../pki/index.ts'
import { DEMO_SITES, writeSyntheticSite, type SiteConfigInput } from '../../site-agent/index.ts'
import { TEST_STUDY } from '../helpers/federation.ts'
import { createNetnsPair, exitedWithin, fedlineageIn, netnsSkipReason, verifiedHeadOf, waitForOutput, type NetnsPair, type NsProcess } from '../helpers/netns.ts'

const GRPC_PORT = 50051
const P2P_PORT = 4001

const skipReason = netnsSkipReason()
if (skipReason !== undefined) process.stderr.write(`netns.int.test.ts: SKIPPED, ${skipReason}\n`)

describe.skipIf(skipReason !== undefined)(`a study across two network namespaces${skipReason === undefined ? '' : ` [skipped: ${skipReason}]`}`, () => {
  let net: NetnsPair | undefined
  let dir: string | undefined
  const procs: NsProcess[] = []

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
    await Promise.all(procs.map((p) => p.exited))
    net?.remove()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('replicates the whole log to a site in the other namespace over TLS, and an auditor there re-derives every model', async () => {
    // Prepare: two namespaces, keys, the study CA with the coordinator's certificate for its link address, the configs.
    net = createNetnsPair()
    dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-netns-'))
    const hub = await writeIdentity(path.join(dir, 'keys'), 'hub')
    const site = DEMO_SITES[0]!
    const siteKey = await writeIdentity(path.join(dir, 'keys'), site.siteId)
    const auditor = await writeIdentity(path.join(dir, 'keys'), 'auditor')
    const kit = await provisionStudyKit(
      path.join(dir, 'tls'),
      [
        { name: 'coordinator', role: 'coordinator', publicKey: fromHex(hub.publicKeyHex), hosts: [net.aIp] },
        { name: site.siteId, role: 'site', publicKey: fromHex(siteKey.publicKeyHex) },
      ],
      { study: TEST_STUDY.id, caValidDays: 1, validDays: 1 },
    )
    const { trainCsv } = await writeSyntheticSite(path.join(dir, 'data'), site)
    const hubConfig: HubConfigInput = {
      study: { ...TEST_STUDY, rounds: 2, minSites: 1, auditors: [{ name: 'regulator', publicKey: auditor.publicKeyHex }] },
      listen: `0.0.0.0:${GRPC_PORT}`,
      dataDir: path.join(dir, 'hub-state', 'ledger'),
      keyFile: hub.keyFile,
      tls: { ca: kit.caCert, cert: kit.certs['coordinator']! },
      p2p: { listen: [`/ip4/0.0.0.0/tcp/${P2P_PORT}`], announce: [`/ip4/${net.aIp}/tcp/${P2P_PORT}`] },
      sites: [{ id: site.siteId, publicKey: siteKey.publicKeyHex }],
      autoAdvance: true,
    }
    await writeFile(path.join(dir, 'hub.json'), JSON.stringify(hubConfig, null, 2))
    const siteConfig: SiteConfigInput = {
      siteId: site.siteId,
      study: TEST_STUDY.id,
      coordinator: `${net.aIp}:${GRPC_PORT}`,
      keyFile: siteKey.keyFile,
      tls: { ca: kit.caCert, cert: kit.certs[site.siteId]! },
      data: { file: trainCsv, validationFraction: 0.25, splitSeed: 5 },
      stateDir: path.join(dir, 'site-state'),
    }
    await writeFile(path.join(dir, 'site.json'), JSON.stringify(siteConfig, null, 2))
    const replicaDir = path.join(dir, 'site-state', `${site.siteId}-replica`)

    // Execute: the coordinator in namespace a, the site in namespace b, until the study is done.
    const coordinator = fedlineageIn(net.a, ['coordinator', '--config', path.join(dir, 'hub.json')])
    procs.push(coordinator)
    const announced = (await waitForOutput(coordinator, /^log replica on (\S+)$/m, 60_000))[1]!
    const agent = fedlineageIn(net.b, ['site', '--config', path.join(dir, 'site.json')])
    procs.push(agent)
    const siteCode = await exitedWithin(agent, 150_000)
    expect(siteCode, agent.output()).toBe(0)
    // An auditor on the site's side of the link joins as a fresh replica of the running coordinator: entries and blobs cross too.
    const peerAudit = fedlineageIn(net.b, ['audit', '--peer', announced, '--key', auditor.keyFile, '--coordinator-key', hub.publicKeyHex])
    const peerAuditCode = await peerAudit.exited
    const link = net.linkBytes()
    coordinator.child.kill('SIGTERM')
    expect(await coordinator.exited, coordinator.output()).toBe(0)

    // Assert: the replica address handed out is the link's, and the site took the log through it over TLS.
    expect(announced).toMatch(new RegExp(`^/ip4/${net.aIp.replace(/\./g, '\\.')}/tcp/${P2P_PORT}/p2p/12D3Koo`))
    expect(agent.output()).toMatch(/"transport":"tls"/)
    expect(agent.output()).toMatch(/replicating the lineage log from \d+ peer/)
    expect(link.rx + link.tx).toBeGreaterThan(10_000)
    // The site's replica holds every entry of the coordinator's log, up to the same head, and verifies.
    const hubLog = await verifiedHeadOf(hubConfig.dataDir)
    const siteLog = await verifiedHeadOf(replicaDir)
    expect(hubLog.entries).toBeGreaterThan(5)
    expect(siteLog).toEqual(hubLog)
    expect(agent.output()).toContain(`verified replica holds ${hubLog.entries} log entries`)
    const verify = fedlineageIn(net.b, ['log', 'verify', '--db', replicaDir])
    expect(await verify.exited, verify.output()).toBe(0)
    // The auditor across the link re-derived every model from what it synced (entries and blobs).
    expect(peerAuditCode, peerAudit.output()).toBe(0)
    expect(peerAudit.output()).toMatch(/^audit passed: 2 rounds re-derived/m)
    // The site audits its own replica, in its own namespace, against the coordinator key it was given out of band.
    // A site's replica holds every entry but only the blobs its holder may read, so with the coordinator gone the
    // verdict is an honest partial one (exit 3) that names each round it could not re-derive, never a pass or a failure.
    const audit = fedlineageIn(net.b, ['audit', '--db', replicaDir, '--coordinator-key', hub.publicKeyHex])
    const auditCode = await audit.exited
    expect(auditCode, audit.output()).toBe(3)
    expect(audit.output()).toContain(`audit PARTIAL of site "${site.siteId}"'s replica:`)
    expect(audit.output()).toMatch(/^AUDIT_PARTIAL: no check failed/m)
    expect(audit.output()).not.toMatch(/AUDIT_BLOB_MISSING/)
  }, 240_000)

  it('leaves no namespace behind once removed', () => {
    // Runs after the study: the pair is removed here too (afterAll's call is then a no-op).
    expect(net).toBeDefined()
    net!.remove()
    const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
    expect(names).not.toContain(net!.a)
    expect(names).not.toContain(net!.b)
  })
})
