/**
 * The auditor as a late, fresh replica: it knows only the coordinator
 * replica's multiaddr, syncs the log and the blobs over libp2p, and
 * re-derives every round. And a replica holding a proof that the coordinator
 * signed two views of the log fails the audit whatever its copy says.
 */
import { describe, expect, it } from 'vitest'
import { openLevelAuditSource, openPeerAuditSource, replayLog } from '../../auditor/index.ts'
import { Ledger, createReplicaNode, logOrigin, openLevelStorage, peerKeyOf, signCheckpoint, splitViewProof, toHex, type AccessRefusal } from '../../ledger/index.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { createLedger } from '../helpers/ledger.ts'
import { createFederation, testSigner } from '../helpers/federation.ts'

/** The auditor the studies here name. */
const AUDITOR = testSigner(60)
const AUDITOR_ENTRY = { name: 'regulator', publicKey: toHex(AUDITOR.publicKey) }

describe('audit over libp2p', () => {
  it('syncs a fresh replica from the coordinator and re-derives every round; an equivocation proof fails it', async () => {
    // Prepare: a finished 2-site, 2-round federation whose coordinator still serves its replica.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2, auditors: [AUDITOR_ENTRY] } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const peer = fed.coordinator.p2pAddrs[0]!

    // Execute: audit from the peer alone, as the auditor the study names.
    const opened = await openPeerAuditSource({ peer, identity: AUDITOR })
    const { report, error } = await replayLog(opened.source)
    await opened.close()

    // Assert
    expect(error).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.entries).toBe(fed.coordinator.ledger.length)
    expect(report.rounds.filter((r) => r.rederived)).toHaveLength(2)

    // Prepare: the coordinator's own replica learns of a split view it signed.
    await fed.coordinator.close()
    const ledger = await Ledger.open(await openLevelStorage(fed.config.dataDir))
    const a = signCheckpoint(testSigner(1), { origin: logOrigin(fed.config.study.id), size: 3, root: new Uint8Array(32).fill(1) })
    const b = signCheckpoint(testSigner(1), { origin: logOrigin(fed.config.study.id), size: 3, root: new Uint8Array(32).fill(2) })
    await ledger.recordMisbehaviour(splitViewProof(a, b)!)
    // A proof under another key frames nobody and is ignored.
    const c = signCheckpoint(testSigner(5), { origin: logOrigin(fed.config.study.id), size: 3, root: new Uint8Array(32).fill(3) })
    const d = signCheckpoint(testSigner(5), { origin: logOrigin(fed.config.study.id), size: 3, root: new Uint8Array(32).fill(4) })
    await ledger.recordMisbehaviour(splitViewProof(c, d)!)
    await ledger.close()

    // Execute + Assert
    const local = await openLevelAuditSource(fed.config.dataDir)
    const outcome = await replayLog(local.source)
    await local.close()
    expect(outcome.report.ok).toBe(false)
    expect(outcome.error?.code).toBe('AUDIT_COORDINATOR_EQUIVOCATED')
  })

  it("serves the study's data by its policy: an anonymous auditor gets nothing, a site its own deltas and the models, never another site's delta", async () => {
    // Prepare: a finished 2-site, 1-round federation.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 1, auditors: [AUDITOR_ENTRY] } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const peer = fed.coordinator.p2pAddrs[0]!
    const refused: AccessRefusal[] = []
    fed.coordinator.replica!.services.ledgerSync.addEventListener('access-refused', (e) => refused.push(e.detail))
    const round = fed.coordinator.runner.state.rounds.get(1)!
    const [a, b] = fed.sites
    const deltaOf = (site: string) => round.accepted.get(site)!.delta
    const model = round.commit!.body.model

    // Execute + Assert: site a's own replica identity.
    const fixture = await createLedger()
    const node = await createReplicaNode({
      ledger: fixture.ledger,
      origin: logOrigin(fed.config.study.id),
      coordinatorKey: fed.hub.publicKey,
      peers: [peer],
      syncOnConnect: false,
      privateKey: await peerKeyOf(a!.signer),
    })
    try {
      const sync = node.services.ledgerSync
      await sync.syncWith(multiaddr(peer))
      expect(fixture.ledger.length).toBe(fed.coordinator.ledger.length)
      await sync.fetchBlob(model)
      await sync.fetchBlob(deltaOf(a!.id))
      expect(toHex(await fixture.ledger.getBlob(model))).toBe(toHex(await fed.coordinator.ledger.getBlob(model)))
      expect(toHex(await fixture.ledger.getBlob(deltaOf(a!.id)))).toBe(toHex(await fed.coordinator.ledger.getBlob(deltaOf(a!.id))))
      await expect(sync.fetchBlob(deltaOf(b!.id))).rejects.toThrow()
      expect(await fixture.ledger.hasBlob(deltaOf(b!.id))).toBe(false)
    } finally {
      await node.stop()
    }
    // Execute + Assert: site a's audit over libp2p is partial: it never asks for what its key may not read.
    const asSite = await openPeerAuditSource({ peer, identity: a!.signer })
    const partial = await replayLog(asSite.source).finally(() => asSite.close())
    expect(partial.error).toBeUndefined()
    expect(partial.report).toMatchObject({ ok: false, verdict: 'partial', holder: `site "${a!.id}"` })
    expect(partial.report.unchecked).toEqual([
      `round 1: aggregation not re-derived (model taken by hash): 1 of 2 deltas is not visible to site "${a!.id}" (site "${b!.id}"); site "${a!.id}"'s own update and delta checked`,
    ])
    // Execute + Assert: an auditor without the key the study names is refused, with what to do.
    // (One attempt: libp2p limits a host to 5 inbound connections a second, and each attempt opens two.)
    await expect(openPeerAuditSource({ peer })).rejects.toMatchObject({ code: 'AUDIT_ACCESS_DENIED', message: expect.stringMatching(/--key/) })
    expect(refused.map((r) => [r.protocol, r.hash && toHex(r.hash)])).toEqual([
      ['blob', toHex(deltaOf(b!.id))],
      ['sync', undefined],
    ])
  })
})
