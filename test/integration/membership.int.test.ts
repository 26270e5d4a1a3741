/**
 * The hub changes who takes part while the study runs, over real gRPC: a
 * site enrolled after round 1 trains in round 2, a removed site is planned no
 * more, nobody restarts, and the audit of the log passes.
 */
import { describe, expect, it } from 'vitest'
import { HubClient } from '../../coordinator/index.ts'
import { ENTRY_KINDS, readLineageRecord } from '../../protocol/index.ts'
import { auditDir } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('membership changes in a running study', () => {
  it('plans a site enrolled mid-study from the next round, leaves a removed one out, and the audit passes', async () => {
    // Prepare: three sites exist, the hub config enrols two.
    const fed = await createFederation({ siteCount: 3, enrolledSites: 2, autoAdvance: false, study: { rounds: 2, minSites: 2 } })
    const [a, b, c] = fed.sites
    const hub = new HubClient(fed.coordinator.address)
    const state = () => fed.coordinator.runner.state

    // Execute: round 1 with a and b.
    const runs = [fed.runSite(a!), fed.runSite(b!)]
    await hub.startNextRound(fed.hub)
    await until(() => state().rounds.get(1)?.status === 'committed', 'round 1 to commit')
    // The hub enrols c and removes b, then opens round 2.
    await hub.changeMembership(fed.hub, { action: 'enroll', site: c!.id, publicKey: c!.signer.publicKey })
    await hub.changeMembership(fed.hub, { action: 'remove', site: b!.id })
    runs.push(fed.runSite(c!))
    await hub.startNextRound(fed.hub)
    await fed.coordinator.completed
    await Promise.all(runs)
    hub.close()

    // Assert
    expect([...state().rounds.get(1)!.plan.keys()].sort()).toEqual([a!.id, b!.id].sort())
    expect([...state().rounds.get(2)!.plan.keys()].sort()).toEqual([a!.id, c!.id].sort())
    expect([...state().rounds.get(2)!.accepted.keys()].sort()).toEqual([a!.id, c!.id].sort())
    const kinds: string[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) kinds.push(readLineageRecord(entry).kind)
    expect(kinds.filter((k) => k === ENTRY_KINDS.SITE_REMOVED)).toHaveLength(1)
    await fed.coordinator.close()
    const audit = await auditDir(fed.config.dataDir)
    expect(audit.error).toBeUndefined()
    expect(audit.report.ok).toBe(true)
  })
})
