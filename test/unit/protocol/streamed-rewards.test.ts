/**
 * A study paying rewards by `examples` is committed slice by slice (one slice
 * of each delta in memory): its rewards then see each delta by its norm and
 * its logged hash, never whole. They must be the rewards the whole deltas
 * give, exclusions included: a zero delta earns nothing (`zero-delta`), and
 * a byte-identical copy of an earlier delta earns nothing (`stale-copy`).
 */
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../ledger/core/index.ts'
import { decodeWeights, type Weights } from '../../../models/core/index.ts'
import { ENTRY_KINDS, computeRoundRewards, type RoundRewardedBody } from '../../../protocol/index.ts'
import { syntheticDelta } from '../../helpers/audit.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

function zeroOf(w: Weights): Weights {
  return { tensors: w.tensors.map((t) => ({ ...t, values: new Float32Array(t.values.length) })) }
}

describe('examples rewards of a streamed commit', () => {
  it('logs the rewards whole deltas give: a zero delta and a later copy earn nothing, the others their examples', () => {
    // Prepare: site 0 sends a zero delta, site 2 a copy of site 1's (accepted after it), each site its own example count.
    const h = new DeciderHarness({ study: { rounds: 1, rewards: { poolPerRound: '900', method: 'examples' }, minSites: 3 } })
    h.openRound()
    const copied = syntheticDelta(h.shapes, 1, 1)
    h.feed(h.updateInput(0, { examples: 40 }, { delta: zeroOf(copied) }))
    h.feed(h.updateInput(1, { examples: 50 }, { delta: copied }))

    // Execute
    const closed = h.feed(h.updateInput(2, { examples: 60 }, { delta: copied }))

    // Assert: the logged rewards
    const rewarded = closed.entries.find((e) => e.kind === ENTRY_KINDS.ROUND_REWARDED)!.body as RoundRewardedBody
    const round = h.state.rounds.get(1)!
    const sites = [...round.accepted.keys()].sort()
    expect(rewarded.allocations.map((a) => [a.site, a.reason ?? null, a.payable])).toEqual([
      [sites[0], 'zero-delta', 0],
      [sites[1], null, 50],
      [sites[2], 'stale-copy', 0],
    ])
    // Assert: the same as computed from the whole deltas
    const blob = (hash: Uint8Array) => h.blobs.get(toHex(hash))!
    const whole = computeRoundRewards({
      rewards: h.spec.rewards!,
      model: h.spec.model,
      strategy: h.spec.strategy,
      studySeed: h.spec.seed,
      round: 1,
      parent: decodeWeights(blob(round.base), h.shapes),
      updates: [...round.accepted.values()].map((a) => ({ siteId: a.site, exampleCount: a.examples, acceptedSeq: a.seq, delta: decodeWeights(blob(a.delta), h.shapes) })),
      validation: undefined,
    })
    const { utilityCalls: _calls, ...wholeBody } = whole
    expect(rewarded).toEqual(wholeBody)
  })

  it('refuses summarized updates for a method that builds coalition models', () => {
    expect(() =>
      computeRoundRewards({
        rewards: { poolPerRound: '10', method: 'leave-one-out' } as never,
        model: { kind: 'logreg' } as never,
        strategy: { name: 'fedavg' } as never,
        studySeed: 1,
        round: 1,
        updates: [{ siteId: 'a', exampleCount: 1, deltaNorm: 1, deltaHash: new Uint8Array(32) }],
        validation: undefined,
      }),
    ).toThrow(expect.objectContaining({ code: 'COORD_CONTRIBUTION_INVALID' }))
  })
})
