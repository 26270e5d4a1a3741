/**
 * A study that requires patient-level DP-SGD (`patientDp`): the decider
 * accepts an update whose `ext.dpSgd` claim is within the study's limits and
 * consistent with the site's logged claims, and refuses (logging
 * update-rejected with the code) one without a claim, with a claim that does
 * not read, over `maxEpsilon` or `maxDelta`, or whose ε is below what the
 * site's own logged numbers give. A study without `patientDp` takes any.
 */
import { describe, expect, it } from 'vitest'
import type { CanonicalValue } from '../../../ledger/index.ts'
import { epsilonOf } from '../../../models/index.ts'
import { ENTRY_KINDS, type DpSgdClaim } from '../../../protocol/index.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

const RUN = { q: 0.05, noiseMultiplier: 1.1, clipNorm: 1, steps: 40, delta: 1e-5 }
const honest = (rounds: number): DpSgdClaim => ({ ...RUN, epsilon: epsilonOf(RUN.q, RUN.noiseMultiplier, RUN.steps * rounds, RUN.delta).epsilon })
const ext = (claim: DpSgdClaim | Record<string, CanonicalValue>): Record<string, CanonicalValue> => ({ dpSgd: claim as Record<string, CanonicalValue> })
const REQUIRED = { patientDp: { maxEpsilon: 5 }, minSites: 1 }

describe('checkUpdateDpSgd in the decider', () => {
  it('accepts a claim within the limits', () => {
    // Prepare
    const h = new DeciderHarness({ study: REQUIRED })
    h.openRound()
    // Execute
    const first = h.feed(h.updateInput(0, {}, { ext: ext(honest(1)) }))
    // Assert
    expect(first.refusal).toBeUndefined()
    expect(kindsOf(first)).toContain(ENTRY_KINDS.UPDATE_ACCEPTED)
  })

  it.each([
    ['no claim', null, 'COORD_DP_SGD_MISSING', /carries no ext\.dpSgd; set policy\.dpSgd/],
    ['a claim that does not read', ext({ ...RUN, epsilon: 'one' }), 'COORD_DP_SGD_INVALID', /ext\.dpSgd: epsilon: /],
    ['ε over maxEpsilon', ext({ ...RUN, q: 1, steps: 1000, epsilon: 6 }), 'COORD_DP_SGD_OVER_BUDGET', /epsilon is 6, the study allows at most 5 \(patientDp\.maxEpsilon\)/],
    ['δ over maxDelta', ext({ ...honest(1), delta: 1e-3 }), 'COORD_DP_SGD_OVER_BUDGET', /delta is 0\.001, the study allows at most 0\.00001/],
    ['ε below its own numbers', ext({ ...honest(1), epsilon: honest(1).epsilon / 2 }), 'COORD_DP_SGD_INVALID', /below .* what the site's own logged \(q, σ, steps\)/],
  ] as const)('refuses %s, logging update-rejected with %s', (_what, extension, code, message) => {
    // Prepare
    const h = new DeciderHarness({ study: REQUIRED })
    h.openRound()
    // Execute
    const fed = h.feed(h.updateInput(0, {}, { ext: extension }))
    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(fed.refusal?.message).toMatch(message)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
  })

  it("refuses a second round's claim that leaves the first round's out", () => {
    // Prepare: round 1 logged with an honest claim, round 2 claims round 1's ε again
    const h = new DeciderHarness({ study: { ...REQUIRED, rounds: 2 } })
    h.openRound()
    for (const i of [0, 1, 2]) h.feed(h.updateInput(i, {}, { ext: ext(honest(1)) }))
    h.evaluate()
    h.openRound()
    // Execute
    const lying = h.feed(h.updateInput(0, {}, { ext: ext(honest(1)) }))
    const honestSecond = h.feed(h.updateInput(1, {}, { ext: ext(honest(2)) }))
    // Assert
    expect(lying.refusal?.code).toBe('COORD_DP_SGD_INVALID')
    expect(honestSecond.refusal).toBeUndefined()
  })

  it('takes any claim, or none, in a study without patientDp', () => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 1 } })
    h.openRound()
    // Execute
    const none = h.feed(h.updateInput(0, {}, { ext: null }))
    const understated = h.feed(h.updateInput(1, {}, { ext: ext({ ...honest(1), epsilon: 0 }) }))
    // Assert
    expect(none.refusal).toBeUndefined()
    expect(understated.refusal).toBeUndefined()
  })

  it('reads the claims of envelopes embedded by reference (over 32 KiB) from their summary', () => {
    // Prepare: round 1's envelopes carry 40 KB of padding beside the claim, so the log embeds them by reference
    const h = new DeciderHarness({ study: { ...REQUIRED, rounds: 2 } })
    h.openRound()
    const padded = { ...ext(honest(1)), padding: new Uint8Array(40_000) }
    const first = [0, 1, 2].map((i) => h.feed(h.updateInput(i, {}, { ext: padded })))
    h.evaluate()
    h.openRound()
    // Execute
    const lying = h.feed(h.updateInput(0, {}, { ext: ext(honest(1)) }))
    // Assert
    expect(first.map((f) => f.refusal)).toEqual([undefined, undefined, undefined])
    expect(h.state.rounds.get(1)!.accepted.get(h.sites[0]!.id)!.dpSgd).toEqual({ claim: honest(1) })
    expect(first[0]!.blobs.length).toBeGreaterThan(0)
    expect(lying.refusal?.code).toBe('COORD_DP_SGD_INVALID')
  })
})
