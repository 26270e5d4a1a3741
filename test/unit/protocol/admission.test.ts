/**
 * protocol/admission.ts: the checks of a signed statement before the
 * decider acts on it, in the order they are made, each with its code.
 * States come from the DeciderHarness (test/helpers/protocol.ts).
 */
import { describe, expect, it } from 'vitest'
import { ENTRY_KINDS, checkUpdateEnvelope } from '../../../protocol/index.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

const code = (c: string) => expect.objectContaining({ code: c })

describe('checkUpdateEnvelope: the round plan', () => {
  it('refuses an update from a site enrolled after the round opened (outside its plan) with COORD_WRONG_ROUND', () => {
    // Prepare
    const h = new DeciderHarness()
    h.openRound()
    h.enroll('delta-lab', 20)

    // Execute / Assert
    expect(() => checkUpdateEnvelope(h.state, h.update('delta-lab').envelope, h.state.deltaSizeBytes, h.timeMs)).toThrow(code('COORD_WRONG_ROUND'))
  })

  it('regression: the decider logs that refusal, and the unplanned update does not close the round before a planned site is in', () => {
    // Prepare: two of the three planned sites are in.
    const h = new DeciderHarness()
    h.openRound()
    h.enroll('delta-lab', 20)
    h.submit([0, 1])

    // Execute
    const intruder = h.feed(h.updateInput('delta-lab'))

    // Assert
    expect(intruder.refusal?.code).toBe('COORD_WRONG_ROUND')
    expect(kindsOf(intruder)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(h.state.openRound?.round).toBe(1)
    expect(kindsOf(h.feed(h.updateInput(2)))).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED])
  })

  it('takes the late site in the next round, whose plan names it', () => {
    // Prepare
    const h = new DeciderHarness()
    h.openRound()
    h.enroll('delta-lab', 20)
    h.submit([0, 1, 2])

    // Execute
    h.openRound()
    const fed = h.feed(h.updateInput('delta-lab'))

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED])
  })
})
