/**
 * FedProx and Cyclic studies over real gRPC on loopback, real LevelDB and
 * real TF.js: sites train with what the round's instructions say (the
 * proximal term, or their turn in the cycle), and the audit replays every
 * round to the bit.
 */
import { describe, expect, it } from 'vitest'
import { ENTRY_KINDS } from '../../protocol/index.ts'
import { auditDir } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'

describe('site-side strategies over gRPC', () => {
  it('runs a FedProx study: every site is told μ in its plan, and the audit re-derives every round', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, study: { strategy: { name: 'fedprox', proximalMu: 0.5 }, rounds: 2 } })
    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const opened: unknown[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) if (entry.kind === ENTRY_KINDS.ROUND_OPENED) opened.push(entry.body)
    await fed.coordinator.close()
    const { report, error } = await auditDir(fed.config.dataDir)
    // Assert
    expect(opened).toHaveLength(2)
    for (const body of opened) for (const p of (body as { plan: { instructions: Record<string, unknown> }[] }).plan) expect(p.instructions['proximalMu']).toBe(0.5)
    expect(error).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.rounds.filter((r) => r.rederived)).toHaveLength(2)
  })

  it('runs a Cyclic study: one site per round in turn, each model that site’s, replayed by the audit', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 3, study: { strategy: { name: 'cyclic', deterministicCycle: true }, minSites: 1, rounds: 4 } })
    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const planned: string[][] = []
    const committed: string[][] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) {
      if (entry.kind === ENTRY_KINDS.ROUND_OPENED) planned.push((entry.body as { plan: { site: string }[] }).plan.map((p) => p.site))
      if (entry.kind === ENTRY_KINDS.ROUND_COMMITTED) committed.push((entry.body as { inputs: { site: string }[] }).inputs.map((i) => i.site))
    }
    await fed.coordinator.close()
    const { report, error } = await auditDir(fed.config.dataDir)
    // Assert: turns in site-id order, wrapping after a full cycle.
    const ids = fed.sites.map((s) => s.id).sort()
    const turns = [ids[0]!, ids[1]!, ids[2]!, ids[0]!].map((id) => [id])
    expect(planned).toEqual(turns)
    expect(committed).toEqual(turns)
    expect(error).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.rounds.filter((r) => r.rederived)).toHaveLength(4)
  })
})
