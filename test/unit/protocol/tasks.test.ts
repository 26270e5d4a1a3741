/**
 * protocol/tasks.ts: what a site is asked to do (fitTask, pendingTasks) and
 * when the study's clock matters (nextWakeMs, completionDue, nextRoundDue,
 * evaluationComplete, owedPatientRewards), over states built by the
 * DeciderHarness.
 */
import { describe, expect, it } from 'vitest'
import {
  ENTRY_KINDS,
  StudyState,
  completionDue,
  evaluationComplete,
  evaluationDeadline,
  fitTask,
  lineageBody,
  needsBlobs,
  nextRoundDue,
  nextWakeMs,
  owedPatientRewards,
  pendingTasks,
  step,
} from '../../../protocol/index.ts'
import { toHex } from '../../../ledger/core/index.ts'
import { CONSENT_STUDY, DeciderHarness, REWARDED_CONSENT_STUDY } from '../../helpers/protocol.ts'
import { foldDrafts, syntheticConsentExt } from '../../helpers/audit.ts'

/** The commit time plus the evaluation deadline of the newest committed round. */
const evalDeadline = (h: DeciderHarness) => evaluationDeadline(h.state, h.state.currentModelRound)

// ---- fitTask and pendingTasks ---------------------------------------------------------------------

describe('fitTask', () => {
  it('is the task the decider handed the site when the round opened', () => {
    // Prepare
    const h = new DeciderHarness()
    const opened = h.openRound()
    const open = h.state.openRound!

    // Execute / Assert
    for (const { siteId, task } of opened.tasks) expect(fitTask(h.state, open, siteId!)).toEqual(task)
  })

  it('names the newest committed round as base round, and the site’s own instructions from the plan', () => {
    // Prepare: a hand-made plan that tells alpha something else than beta.
    const h = new DeciderHarness()
    h.runRound()
    const record = {
      round: 2,
      base: h.state.currentModel,
      seed: 42,
      deadlineMs: 9_000,
      openedMs: 8_000,
      plan: new Map([
        [h.site(0).id, { localSteps: 2 }],
        [h.site(1).id, { localSteps: 8 }],
      ]),
    }

    // Execute
    const alpha = fitTask(h.state, record, h.site(0).id)

    // Assert
    expect(alpha).toEqual({
      kind: 'fit',
      round: 2,
      base: h.state.modelOfRound(1),
      baseRound: 1,
      seed: 42,
      deadlineMs: 9_000,
      deltaSizeBytes: h.state.deltaSizeBytes,
      openedMs: 8_000,
      instructions: { localSteps: 2 },
    })
    expect(fitTask(h.state, record, h.site(1).id)).toMatchObject({ instructions: { localSteps: 8 } })
  })

  it('is undefined for a site the plan leaves out', () => {
    const h = new DeciderHarness()
    h.openRound()
    h.enroll('delta-lab', 20)
    expect(fitTask(h.state, h.state.openRound!, 'delta-lab')).toBeUndefined()
  })
})

describe('pendingTasks', () => {
  it('asks a new site for the baseline evaluation (no deadline), then the open round’s fit', () => {
    // Prepare
    const h = new DeciderHarness()

    // Execute / Assert
    expect(pendingTasks(h.state, h.site(0).id, h.timeMs)).toEqual([{ kind: 'evaluate', round: 0, model: h.state.genesis, deadlineMs: 0 }])
    h.evaluate(0, [0])
    h.openRound()
    expect(pendingTasks(h.state, h.site(0).id, h.timeMs)).toEqual([fitTask(h.state, h.state.openRound!, h.site(0).id)])
    expect(pendingTasks(h.state, h.site(1).id, h.timeMs).map((t) => t.kind)).toEqual(['evaluate', 'fit'])
  })

  it('asks for the newest model’s evaluation until the site reported it or its deadline passed, then nothing', () => {
    // Prepare
    const h = new DeciderHarness()
    h.runRound()
    const deadline = evalDeadline(h)

    // Execute / Assert
    expect(pendingTasks(h.state, h.site(2).id, deadline - 1)).toEqual([{ kind: 'evaluate', round: 1, model: h.state.modelOfRound(1), deadlineMs: deadline }])
    expect(pendingTasks(h.state, h.site(2).id, deadline)).toEqual([])
    h.evaluate(1, [2])
    expect(pendingTasks(h.state, h.site(2).id, deadline - 1)).toEqual([])
  })

  it('gives no fit task to a site outside the plan, and only done once the study is complete', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.evaluate(0)
    h.openRound()
    h.enroll('delta-lab', 20)

    // Execute / Assert
    expect(pendingTasks(h.state, 'delta-lab', h.timeMs).map((t) => t.kind)).toEqual(['evaluate'])
    h.submit()
    h.evaluate(1, [0, 1, 2, 'delta-lab'])
    expect(pendingTasks(h.state, h.site(0).id, h.timeMs)).toEqual([{ kind: 'done', rounds: 1, model: h.state.modelOfRound(1) }])
  })
})

// ---- evaluation phase and next round -----------------------------------------------------------

describe('evaluationComplete and nextRoundDue', () => {
  it('a round’s evaluation completes when every enrolled site reported, or at its deadline', () => {
    // Prepare
    const h = new DeciderHarness()
    h.runRound()
    const deadline = evalDeadline(h)

    // Execute / Assert
    expect(evaluationDeadline(h.state, 1)).toBe(h.state.rounds.get(1)!.commit!.timeMs + h.spec.evaluationDeadlineMs)
    expect(evaluationDeadline(h.state, 2)).toBe(0)
    expect(evaluationComplete(h.state, 1, deadline - 1)).toBe(false)
    expect(evaluationComplete(h.state, 1, deadline)).toBe(true)
    h.evaluate(1)
    expect(evaluationComplete(h.state, 1, deadline - 1)).toBe(true)
  })

  it('the next round is due at once after creation and after an abandoned round, never while one is open, and after the evaluation phase', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })

    // Execute / Assert
    expect(nextRoundDue(h.state, h.timeMs)).toBe(true)
    h.openRound()
    expect(nextRoundDue(h.state, h.timeMs)).toBe(false)
    h.submit([0])
    h.tick(h.state.openRound!.deadlineMs)
    expect(nextRoundDue(h.state, h.timeMs)).toBe(true)
    h.runRound()
    expect(nextRoundDue(h.state, evalDeadline(h) - 1)).toBe(false)
    expect(nextRoundDue(h.state, evalDeadline(h))).toBe(true)
    h.evaluate(2)
    expect(nextRoundDue(h.state, h.timeMs)).toBe(true)
    h.runRound()
    expect(nextRoundDue(h.state, evalDeadline(h) + 1)).toBe(false)
  })
})

// ---- owed patient rewards -------------------------------------------------------------------------

/** The fold of `h`'s log with its last entry, a round-rewarded of round 1, replaced by one paying `amounts` (pool: their sum). */
function withAmounts(h: DeciderHarness, amounts: readonly bigint[]): StudyState {
  const last = h.drafts.length - 1
  expect(h.drafts[last]!.kind).toBe(ENTRY_KINDS.ROUND_REWARDED)
  const body = lineageBody(ENTRY_KINDS.ROUND_REWARDED, {
    round: 1,
    method: 'examples',
    metric: null,
    pool: amounts.reduce((a, b) => a + b, 0n),
    seed: 0,
    unallocated: 0n,
    allocations: h.sites.map((s, i) => ({ site: s.id, amount: amounts[i]!, raw: 1, payable: 1 })),
  })
  return foldDrafts([...h.drafts.slice(0, last), { ...h.drafts[last]!, body }])
}

describe('owedPatientRewards', () => {
  it('lists the credited sites whose update carried a consent claim, sorted, until each statement is logged', () => {
    // Prepare
    const h = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, rounds: 2 } })
    h.runRound()

    // Execute / Assert
    expect(owedPatientRewards(h.state, 1)).toEqual(h.sites.map((s) => s.id))
    h.feed({ kind: 'patient-rewards', statement: h.patientRewards(1) })
    expect(owedPatientRewards(h.state, 1)).toEqual([h.site(0).id, h.site(2).id])
    h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0) })
    h.feed({ kind: 'patient-rewards', statement: h.patientRewards(2) })
    expect(owedPatientRewards(h.state, 1)).toEqual([])
  })

  it('is empty for a round without rewards, a round that does not exist, and an abandoned round', () => {
    const plain = new DeciderHarness({ study: CONSENT_STUDY })
    plain.runRound()
    expect(owedPatientRewards(plain.state, 1)).toEqual([])
    expect(owedPatientRewards(plain.state, 7)).toEqual([])
    const abandoned = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, minSites: 2 } })
    abandoned.openRound()
    abandoned.submit([0])
    abandoned.tick(abandoned.state.openRound!.deadlineMs)
    expect(owedPatientRewards(abandoned.state, 1)).toEqual([])
  })

  it('leaves out a site credited nothing and a site whose update carried no consent claim', () => {
    // Prepare: consent optional; gamma's update carries no claim.
    const h = new DeciderHarness({ study: { rewards: { poolPerRound: '600', method: 'examples' } } })
    h.openRound()
    for (const i of [0, 1]) h.feed(h.updateInput(i, {}, { ext: syntheticConsentExt(i, 1, h.state.openRound!.openedMs) }))
    h.submit([2])
    expect(owedPatientRewards(h.state, 1)).toEqual([h.site(0).id, h.site(1).id])

    // Execute: the same round, with alpha credited 0.
    const zero = withAmounts(h, [0n, 300n, 300n])

    // Assert
    expect(owedPatientRewards(zero, 1)).toEqual([h.site(1).id])
  })
})

// ---- completion -----------------------------------------------------------------------------------

describe('completionDue', () => {
  it('waits for the target rounds and for no round to be open', () => {
    const h = new DeciderHarness({ study: { rounds: 2 } })
    expect(completionDue(new StudyState(), 0)).toBe(false)
    h.runRound()
    h.evaluate(1)
    expect(completionDue(h.state, evalDeadline(h) + 1)).toBe(false)
    h.openRound()
    expect(completionDue(h.state, h.timeMs + 10 ** 9)).toBe(false)
  })

  it('needs every enrolled site’s evaluation and every owed statement, in either order, before the deadline', () => {
    // Prepare
    const h = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, rounds: 1 } })
    h.runRound()
    const t = h.timeMs

    // Execute / Assert: evaluations in, statements owed.
    h.evaluate(1, [0, 1])
    expect(completionDue(h.state, t)).toBe(false)
    expect(completionDue(h.state, t, { evaluationFrom: h.site(2).id })).toBe(false)
    for (const i of [0, 1]) h.feed({ kind: 'patient-rewards', statement: h.patientRewards(i) })
    // A pending report counts once, and only from a site that has not reported.
    expect(completionDue(h.state, t, { evaluationFrom: h.site(0).id, patientRewardsFrom: h.site(2).id })).toBe(false)
    expect(completionDue(h.state, t, { evaluationFrom: h.site(2).id, patientRewardsFrom: h.site(2).id })).toBe(true)
  })

  it('the statements first, then the evaluations', () => {
    const h = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, rounds: 1 } })
    h.runRound()
    for (const i of [0, 1, 2]) h.feed({ kind: 'patient-rewards', statement: h.patientRewards(i) })
    expect(completionDue(h.state, h.timeMs)).toBe(false)
    h.evaluate(1, [0, 1])
    expect(completionDue(h.state, h.timeMs, { evaluationFrom: h.site(2).id })).toBe(true)
  })

  it('is due at the newest round’s evaluation deadline whatever is missing, not a millisecond before', () => {
    const h = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, rounds: 1 } })
    h.runRound()
    expect(completionDue(h.state, evalDeadline(h) - 1)).toBe(false)
    expect(completionDue(h.state, evalDeadline(h))).toBe(true)
  })
})

// ---- nextWakeMs -----------------------------------------------------------------------------------

describe('nextWakeMs', () => {
  it('is undefined before the study exists, and with no round open before any commit', () => {
    expect(nextWakeMs(new StudyState(), 0)).toBeUndefined()
    const h = new DeciderHarness()
    expect(nextWakeMs(h.state, h.timeMs)).toBeUndefined()
  })

  it('is the open round’s deadline, even once passed (a tick then always closes the round)', () => {
    const h = new DeciderHarness()
    h.openRound()
    const deadline = h.state.openRound!.deadlineMs
    expect(nextWakeMs(h.state, h.timeMs)).toBe(deadline)
    expect(nextWakeMs(h.state, deadline + 1000)).toBe(deadline)
    expect(h.decide({ kind: 'tick' }, deadline + 1000)).toMatchObject({ entries: [{ kind: ENTRY_KINDS.ROUND_ABANDONED }] })
  })

  it('is the newest model’s evaluation deadline while it is ahead', () => {
    const h = new DeciderHarness({ study: { rounds: 2 } })
    h.runRound()
    expect(nextWakeMs(h.state, h.timeMs)).toBe(evalDeadline(h))
    expect(nextWakeMs(h.state, evalDeadline(h) - 1)).toBe(evalDeadline(h))
  })

  it('is the final round’s passed evaluation deadline while a tick would still complete the study, and undefined after', () => {
    // Prepare: the final round committed; its evaluation deadline passed before any tick came.
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()
    const deadline = evalDeadline(h)

    // Execute / Assert
    expect(nextWakeMs(h.state, deadline + 50)).toBe(deadline)
    const tick = h.tick(deadline + 55)
    expect(tick.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.STUDY_COMPLETED])
    expect(nextWakeMs(h.state, deadline + 55)).toBeUndefined()
  })

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

  it('whenever it names a time that has come, a tick at that moment writes entries (the shell never spins)', () => {
    // Prepare: sample the clock through a study with an abandoned round, a committed one and completion.
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    const spins: number[] = []
    const sample = () => {
      for (const dt of [0, 1, 30_000, 60_000, 61_000, 120_000, 10 ** 7]) {
        const t = h.timeMs + dt
        const wake = nextWakeMs(h.state, t)
        if (wake === undefined || wake > t) continue
        const result = step(h.state, { kind: 'tick' }, t, { get: (x) => h.blobs.get(toHex(x)) })
        if (needsBlobs(result) || result.entries.length === 0) spins.push(t)
      }
    }

    // Execute
    sample()
    h.openRound()
    sample()
    h.submit([0])
    sample()
    h.tick(h.state.openRound!.deadlineMs)
    sample()
    h.runRound()
    sample()
    h.evaluate(undefined, [0])
    sample()
    h.tick(evalDeadline(h))
    sample()
    h.runRound()
    sample()
    h.evaluate(undefined, [0, 1])
    sample()

    // Assert
    expect(h.state.completed).toBe(false)
    expect(spins).toEqual([])
  })
})
