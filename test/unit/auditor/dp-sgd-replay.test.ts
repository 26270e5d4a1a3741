/**
 * The audit of sites' patient-level DP-SGD claims (`ext.dpSgd` in their
 * update envelopes): it lists them per site and round, recomputes each ε
 * from the site's own logged (q, σ, steps, δ) with the RDP accountant, and
 * flags a claim whose logged ε is below that, or that does not read. Old
 * envelopes (no claim) audit as before.
 */
import { describe, expect, it } from 'vitest'
import { formatAuditSummary, replayLog } from '../../../auditor/index.ts'
import type { CanonicalValue } from '../../../ledger/index.ts'
import { epsilonOfRuns } from '../../../models/index.ts'
import { encodeDpSgdClaim, type DpSgdClaim } from '../../../protocol/index.ts'
import { memorySource, signLog } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

const COORDINATOR = testSigner(1)
const RUN = { q: 0.04, noiseMultiplier: 1.1, clipNorm: 1, steps: 100, delta: 1e-5 }

/** The honest claim after `rounds` rounds of RUN. */
function honest(rounds: number): DpSgdClaim {
  const runs = Array.from({ length: rounds }, () => ({ q: RUN.q, sigma: RUN.noiseMultiplier, steps: RUN.steps }))
  return { ...RUN, epsilon: epsilonOfRuns(runs, RUN.delta).epsilon }
}

/** Two rounds: site 0 claims honestly, site 1 understates round 2 (`lie`), site 2 trains without DP-SGD. */
function study(lie: CanonicalValue | undefined) {
  const h = new DeciderHarness({ study: { rounds: 2 } })
  for (const round of [1, 2]) {
    h.openRound()
    h.feed(h.updateInput(0, {}, { ext: { dpSgd: encodeDpSgdClaim(honest(round)) } }))
    h.feed(h.updateInput(1, {}, { ext: { dpSgd: round === 2 && lie !== undefined ? lie : encodeDpSgdClaim(honest(round)) } }))
    h.feed(h.updateInput(2, {}, { ext: null }))
    h.evaluate()
  }
  return replayLog(memorySource(signLog(COORDINATOR, h.drafts), [...h.blobs.values()]))
}

describe('audit of DP-SGD claims', () => {
  it('lists every claim with its recomputed ε and passes when none is understated', async () => {
    // Execute
    const { report } = await study(undefined)
    // Assert
    expect(report.verdict).toBe('passed')
    expect(report.dpSgd).toHaveLength(4)
    expect(report.dpSgd!.map((c) => [c.round, c.site, c.flagged])).toEqual([
      [1, report.sites[0]!.id, false],
      [1, report.sites[1]!.id, false],
      [2, report.sites[0]!.id, false],
      [2, report.sites[1]!.id, false],
    ])
    // The second round's ε composes both rounds: larger than the first's.
    expect(report.dpSgd![2]!.recomputed!).toBeGreaterThan(report.dpSgd![0]!.recomputed!)
    expect(report.dpSgd![2]!.recomputed!).toBeCloseTo(honest(2).epsilon, 12)
    const summary = formatAuditSummary(report)
    expect(summary).toMatch(/patient-level DP-SGD \(per site and round/)
    expect(summary.split('\n').at(-1)).toMatch(/^audit passed: .*, 4 DP-SGD claims checked \(ε recomputed from each site's logged q, σ, steps, δ/)
    expect(summary).not.toMatch(/FLAGGED/)
  })

  it('flags a site whose logged ε is below what its own logged numbers give, in the table and the verdict line', async () => {
    // Prepare: round 2 claims round 1's ε, as if the first round cost nothing
    const lie = encodeDpSgdClaim(honest(1))
    // Execute
    const { report } = await study(lie)
    // Assert
    const flagged = report.dpSgd!.filter((c) => c.flagged)
    expect(flagged.map((c) => [c.round, c.site])).toEqual([[2, report.sites[1]!.id]])
    expect(flagged[0]!.recomputed!).toBeGreaterThan(flagged[0]!.claim!.epsilon)
    const summary = formatAuditSummary(report)
    expect(summary).toMatch(/FLAGGED: understated/)
    expect(summary.split('\n').at(-1)).toMatch(new RegExp(`1 FLAGGED: site "${report.sites[1]!.id}" round 2: logged ε \\S+ < \\S+, `))
  })

  it('flags a claim that does not read, naming the field', async () => {
    // Execute
    const { report } = await study({ ...RUN, epsilon: -1 })
    // Assert
    const flagged = report.dpSgd!.filter((c) => c.flagged)
    expect(flagged).toHaveLength(1)
    expect(flagged[0]!.invalid).toMatch(/^epsilon: /)
    expect(formatAuditSummary(report).split('\n').at(-1)).toMatch(/round 2: unreadable \(epsilon: /)
  })

  it('reports nothing of DP-SGD for envelopes without a claim', async () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()
    h.evaluate()
    // Execute
    const { report } = await replayLog(memorySource(signLog(COORDINATOR, h.drafts), [...h.blobs.values()]))
    // Assert
    expect(report.verdict).toBe('passed')
    expect(report.dpSgd).toBeUndefined()
    expect(formatAuditSummary(report)).not.toMatch(/DP-SGD/)
  })

  it('re-derives an envelope embedded by reference with its claim in the summary, and lists it', async () => {
    // Prepare: 40 KB of padding beside the claim puts the envelope in a blob
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.openRound()
    h.feed(h.updateInput(0, {}, { ext: { dpSgd: encodeDpSgdClaim(honest(1)), padding: new Uint8Array(40_000) } }))
    h.submit([1, 2])
    h.evaluate()
    // Execute
    const { report } = await replayLog(memorySource(signLog(COORDINATOR, h.drafts), [...h.blobs.values()]))
    // Assert
    expect(report.verdict).toBe('passed')
    expect(report.dpSgd?.map((c) => [c.site, c.flagged])).toEqual([[report.sites[0]!.id, false]])
  })
})
