/**
 * The hub enrols and removes sites while the study runs: a hub-signed
 * request the decider admits once, logs with the request, and the next round
 * plans by; the audit re-decides it from the log.
 */
import { describe, expect, it } from 'vitest'
import { replayLog } from '../../../auditor/index.ts'
import { toHex } from '../../../ledger/index.ts'
import { ENTRY_KINDS, evaluationsOutstanding, signStatement, type SignedStatement } from '../../../protocol/index.ts'
import { memorySource, signLog } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

const NEWCOMER = testSigner(30)

function membership(h: DeciderHarness, change: { action: 'enroll' | 'remove'; site: string; key?: Uint8Array }, signer = h.hub, time = h.timeMs): SignedStatement {
  return signStatement(signer, { t: 'membership', study: h.spec.id, action: change.action, site: change.site, ...(change.key ? { key: change.key } : {}), time, nonce: h.nonce() })
}

/** A study where round 1 ran with the three founding sites, then the hub enrolled `delta-lab` and removed site 2. */
function changed(): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 3, minSites: 2 } })
  h.runRound()
  h.evaluate(1)
  const enrolled = h.feed({ kind: 'membership', request: membership(h, { action: 'enroll', site: 'delta-lab', key: NEWCOMER.publicKey }) })
  expect(kindsOf(enrolled)).toEqual([ENTRY_KINDS.SITE_ENROLLED])
  h.sites.push({ id: 'delta-lab', signer: NEWCOMER, examples: 35 })
  const removed = h.feed({ kind: 'membership', request: membership(h, { action: 'remove', site: h.sites[2]!.id }) })
  expect(kindsOf(removed)).toEqual([ENTRY_KINDS.SITE_REMOVED])
  return h
}

describe('enrolling and removing a site while the study runs', () => {
  it('logs each change with the hub request, and the next round plans by it', () => {
    // Prepare / Execute
    const h = changed()
    const removedSite = h.sites[2]!.id
    h.openRound()

    // Assert
    expect([...h.state.openRound!.plan.keys()].sort()).toEqual([h.sites[0]!.id, h.sites[1]!.id, 'delta-lab'].sort())
    expect(h.state.activeSites).not.toContain(removedSite)
    expect(h.state.removed.get(removedSite)).toBe(h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.SITE_REMOVED))
    const enrolment = h.drafts.find((d) => d.kind === ENTRY_KINDS.SITE_ENROLLED && (d.body as { site: string }).site === 'delta-lab')!
    expect(toHex((enrolment.body as { key: Uint8Array }).key)).toBe(toHex(NEWCOMER.publicKey))
    expect((enrolment.body as { request?: unknown }).request).toBeDefined()
  })

  it('does not wait for the removed site: the round commits with the others, and its evaluation is not awaited', () => {
    // Prepare
    const h = changed()
    h.openRound()

    // Execute
    const last = h.submit()

    // Assert
    expect(kindsOf(last)).toContain(ENTRY_KINDS.ROUND_COMMITTED)
    expect(evaluationsOutstanding(h.state, 2)).toEqual([h.sites[0]!.id, h.sites[1]!.id, 'delta-lab'].sort())
  })

  it('refuses, unlogged, a change not signed by the hub, a replay, a stale one, and one that cannot apply', () => {
    // Prepare
    const h = changed()
    const removedSite = h.sites[2]!.id
    const replayed = h.drafts.find((d) => d.kind === ENTRY_KINDS.SITE_REMOVED)!.body as { request: { body: Uint8Array; sig: Uint8Array } }
    const cases: [string, SignedStatement, string][] = [
      ['signed by a site', membership(h, { action: 'remove', site: h.sites[0]!.id }, h.sites[0]!.signer), 'COORD_NOT_HUB'],
      ['a replay', { body: replayed.request.body, signature: replayed.request.sig }, 'COORD_UPDATE_REPLAYED'],
      ['stale', membership(h, { action: 'remove', site: h.sites[0]!.id }, h.hub, h.timeMs - 10 * h.state.requestMaxAgeMs), 'COORD_STALE_REQUEST'],
      ['an enrolled id', membership(h, { action: 'enroll', site: h.sites[0]!.id, key: testSigner(31).publicKey }), 'COORD_MEMBERSHIP_INVALID'],
      ['a key already enrolled', membership(h, { action: 'enroll', site: 'echo-lab', key: NEWCOMER.publicKey }), 'COORD_MEMBERSHIP_INVALID'],
      ['a removed id again', membership(h, { action: 'enroll', site: removedSite, key: testSigner(32).publicKey }), 'COORD_MEMBERSHIP_INVALID'],
      ['a removal twice', membership(h, { action: 'remove', site: removedSite }), 'COORD_MEMBERSHIP_INVALID'],
      ['a site never enrolled', membership(h, { action: 'remove', site: 'nobody' }), 'COORD_MEMBERSHIP_INVALID'],
    ]

    // Execute / Assert
    for (const [what, request, code] of cases) {
      const out = h.feed({ kind: 'membership', request })
      expect([what, out.refusal?.code, out.entries.length]).toEqual([what, code, 0])
    }
  })

  it('is re-decided by the audit, which catches a removal the hub never signed', async () => {
    // Prepare: the study runs to its end with the changes.
    const h = changed()
    h.runRound()
    h.evaluate(2, [h.sites[0]!.id, h.sites[1]!.id, 'delta-lab'])
    const coordinator = testSigner(1)
    const blobs = [...h.blobs.values()]

    // Execute
    const honest = await replayLog(memorySource(signLog(coordinator, h.drafts), blobs))
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.SITE_REMOVED)
    const forged = membership(h, { action: 'remove', site: h.sites[2]!.id }, testSigner(99))
    const drafts = h.drafts.map((d, i) => (i === at ? { ...d, body: { ...(d.body as object), request: { body: forged.body, sig: forged.signature } } } : d))
    const tampered = await replayLog(memorySource(signLog(coordinator, drafts), blobs))

    // Assert
    expect(honest.error).toBeUndefined()
    expect(honest.report.ok).toBe(true)
    expect(tampered.report.ok).toBe(false)
    expect(tampered.error?.seq).toBe(at)
  })
})
