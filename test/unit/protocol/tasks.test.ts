/**
 * protocol/tasks.ts: what a site is asked to do (fitTask, pendingTasks) and
 * when the study's clock matters (nextWakeMs, completionDue, nextRoundDue,
 * owedPatientRewards), over states built by the DeciderHarness.
 */
import { describe, expect, it } from 'vitest'
import { nextWakeMs } from '../../../protocol/index.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

describe('nextWakeMs', () => {
  it('regression: never a past time once nothing is due by time alone (the coordinator re-armed its timer every 5 ms)', () => {
    // Prepare: two rounds planned; round 1 commits and is evaluated by all, round 2 is abandoned at its deadline.
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    h.runRound()
    h.evaluate(1)
    h.openRound()
    h.submit([0])
    const abandonedAt = h.state.openRound!.deadlineMs
    h.tick(abandonedAt)
    expect(h.state.rounds.get(2)?.status).toBe('abandoned')

    // Execute: round 1's evaluation deadline is long past, and only the hub can act now.
    const wake = nextWakeMs(h.state, abandonedAt)

    // Assert
    expect(wake).toBeUndefined()
  })
})
