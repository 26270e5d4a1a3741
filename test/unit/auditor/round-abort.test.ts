/**
 * The audit re-decides a `round-aborted` entry from the hub's signed request
 * it embeds: an honest abort passes; an abort the hub never signed (another
 * key, or no signature), one for a round that was not open, and an update
 * accepted for the round after it each fail at their entry.
 */
import { describe, expect, it } from 'vitest'
import { replayLog } from '../../../auditor/index.ts'
import type { EntryDraft } from '../../../ledger/index.ts'
import { ENTRY_KINDS } from '../../../protocol/index.ts'
import { memorySource, signLog } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

const COORDINATOR = testSigner(1)

/** Round 1 aborted after one update, round 2 committed and evaluated: the study completes. */
function abortedStudy(): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 1, minSites: 2 } })
  h.openRound()
  h.submit([0])
  h.feed({ kind: 'round-abort', request: h.roundAbort({ reason: 'wrong cohort selected at two sites' }) })
  h.runRound()
  h.evaluate()
  return h
}

function audit(h: DeciderHarness, drafts: readonly EntryDraft[] = h.drafts) {
  return replayLog(memorySource(signLog(COORDINATOR, drafts), [...h.blobs.values()]))
}

describe('audit of a round abort', () => {
  it('passes an honest aborted round, and the study that goes on after it', async () => {
    // Prepare
    const h = abortedStudy()

    // Execute
    const out = await audit(h)

    // Assert
    expect(h.state.completed).toBe(true)
    expect(out.error).toBeUndefined()
    expect(out.report.ok).toBe(true)
  })

  it.each<[string, (h: DeciderHarness) => { body: Uint8Array; sig: Uint8Array }, string]>([
    [
      'signed by a site key',
      (h) => {
        const s = h.roundAbort({ round: 1 }, h.site(1).signer)
        return { body: s.body, sig: s.signature }
      },
      'AUDIT_STATEMENT_SIGNATURE_INVALID',
    ],
    ['unsigned (zero signature)', (h) => ({ body: h.roundAbort({ round: 1 }).body, sig: new Uint8Array(64) }), 'AUDIT_STATEMENT_SIGNATURE_INVALID'],
  ])('fails an abort %s at its entry (%s)', async (_what, forge, code) => {
    // Prepare
    const h = abortedStudy()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.ROUND_ABORTED)
    const forged = forge(h)
    const drafts = h.drafts.map((d, i) => (i === at ? { ...d, body: { ...(d.body as object), request: forged } } : d))

    // Execute
    const out = await audit(h, drafts)

    // Assert
    expect(out.report.ok).toBe(false)
    expect(out.error?.seq).toBe(at)
    expect(out.error?.code).toBe(code)
  })

  it('fails an update accepted for the aborted round after the abort', async () => {
    // Prepare: site 1's update of round 1, signed honestly, moved after the abort.
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2 } })
    h.openRound()
    h.submit([0])
    const late = h.update(1)
    h.submit([1])
    const accepted = h.drafts.at(-1)!
    const g = new DeciderHarness({ study: { rounds: 1, minSites: 2 } })
    g.openRound()
    g.submit([0])
    g.feed({ kind: 'round-abort', request: g.roundAbort() })
    const drafts = [...g.drafts, { ...accepted, timeMs: g.timeMs + 1000 }]

    // Execute
    const out = await replayLog(memorySource(signLog(COORDINATOR, drafts), [...g.blobs.values(), late.delta]))

    // Assert
    expect(out.report.ok).toBe(false)
    expect(out.error?.seq).toBe(drafts.length - 1)
  })
})
