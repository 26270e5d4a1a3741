/**
 * The audit of a round of 600 sites, whose plan and commit are logged in
 * compact form (lineage.ts COMPACT_LIST_SITES): it re-derives the model, and
 * a compact commit that names another input hash fails it.
 */
import { describe, expect, it } from 'vitest'
import { replayLog } from '../../../auditor/index.ts'
import { ENTRY_KINDS } from '../../../protocol/index.ts'
import { memorySource, signLog, withBody } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

const COORDINATOR = testSigner(1)

function sixHundredSites(): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 1, minSites: 2, roundDeadlineMs: 86_400_000 } })
  for (let i = 3; i < 600; i++) h.enroll(`lab-${String(i).padStart(4, '0')}`, 1000 + i, 30 + (i % 17))
  h.openRound()
  h.submit()
  return h
}

describe('the audit of a round of many sites', () => {
  it('re-derives the model of a compact commit, and fails one whose input hash was changed', async () => {
    // Prepare
    const h = sixHundredSites()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.ROUND_COMMITTED)
    const forged = h.drafts.map((d, i) => (i === at ? withBody(d, { inputsHash: new Uint8Array(32).fill(7) }) : d))

    // Execute
    const honest = await replayLog(memorySource(signLog(COORDINATOR, h.drafts), [...h.blobs.values()]))
    const changed = await replayLog(memorySource(signLog(COORDINATOR, forged), [...h.blobs.values()]))

    // Assert
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => r.rederived)).toEqual([true])
    expect(changed.error?.seq).toBe(at)
  }, 60_000)
})
