/**
 * The auditor as a late, fresh replica: it knows only the coordinator
 * replica's multiaddr, syncs the log and the blobs over libp2p, and
 * re-derives every round. And a replica holding a proof that the coordinator
 * signed two views of the log fails the audit whatever its copy says.
 */
import { describe, expect, it } from 'vitest'
import { openLevelAuditSource, openPeerAuditSource, replayLog } from '../../auditor/index.ts'
import { Ledger, openLevelStorage, signCheckpoint, splitViewProof } from '../../ledger/index.ts'
import { createFederation, testSigner } from '../helpers/federation.ts'

describe('audit over libp2p', () => {
  it('syncs a fresh replica from the coordinator and re-derives every round; an equivocation proof fails it', async () => {
    // Prepare: a finished 2-site, 2-round federation whose coordinator still serves its replica.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const peer = fed.coordinator.p2pAddrs[0]!

    // Execute: audit from the peer alone.
    const opened = await openPeerAuditSource({ peer })
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
    const a = signCheckpoint(testSigner(1), { origin: fed.config.study.id, size: 3, root: new Uint8Array(32).fill(1), timeMs: 1 })
    const b = signCheckpoint(testSigner(1), { origin: fed.config.study.id, size: 3, root: new Uint8Array(32).fill(2), timeMs: 2 })
    await ledger.recordMisbehaviour(splitViewProof(a, b)!)
    // A proof under another key frames nobody and is ignored.
    const c = signCheckpoint(testSigner(5), { origin: fed.config.study.id, size: 3, root: new Uint8Array(32).fill(3), timeMs: 3 })
    const d = signCheckpoint(testSigner(5), { origin: fed.config.study.id, size: 3, root: new Uint8Array(32).fill(4), timeMs: 4 })
    await ledger.recordMisbehaviour(splitViewProof(c, d)!)
    await ledger.close()

    // Execute + Assert
    const local = await openLevelAuditSource(fed.config.dataDir)
    const outcome = await replayLog(local.source)
    await local.close()
    expect(outcome.report.ok).toBe(false)
    expect(outcome.error?.code).toBe('AUDIT_COORDINATOR_EQUIVOCATED')
  })
})
