/**
 * What a site checks against its verified replica before it acts: a fit task
 * against the logged round opening, an evaluate task against the logged
 * model, its credit against `round-rewarded`, and the fate of an envelope the
 * coordinator says it already has. Each is read from a real folded log (the
 * decider's own entries), never from the coordinator's word.
 */
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../../ledger/index.ts'
import { ENTRY_KINDS, encodeInstructions, readLineageRecord, signStatement, statementHash, step, type Decision, type StudyState } from '../../../protocol/index.ts'
import { checkEvaluateTask, checkFitTask, loggedCredit, loggedModel, loggedUpdate, openedRound } from '../../../site-agent/index.ts'
import { draftRecords, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'

const study = syntheticStudy({ study: { rewards: { poolPerRound: '900', method: 'examples', metric: 'neg-log-loss' } }, consent: {} })
const state = foldDrafts(study.drafts)
const [alpha, beta] = study.sites

/** Folds what the decider decided into `state`, as the coordinator's append would. */
function applyDecided(state: StudyState, out: Decision): void {
  for (const e of out.entries) state.apply(readLineageRecord({ seq: state.entries, kind: e.kind, timeMs: 0, body: e.body }))
}

/** The state just before the first entry of `kind` for `round` (that entry not yet folded). */
function stateBefore(kind: string, round: number): StudyState {
  const at = draftRecords(study.drafts).findIndex((r) => r.kind === kind && (r.body as { round?: number }).round === round)
  expect(at).toBeGreaterThan(0)
  return foldDrafts(study.drafts, at)
}

describe('a fit task against the logged round opening', () => {
  const r1 = openedRound(state, 1)!

  it('is found once the round is opened, and not before', () => {
    expect(r1.round).toBe(1)
    expect(openedRound(stateBefore(ENTRY_KINDS.ROUND_OPENED, 2), 2)).toBeUndefined()
    expect(openedRound(foldDrafts([]), 1)).toBeUndefined()
  })

  it('matches with the logged base and instructions; an empty config means none, which FedAvg never plans', () => {
    const planned = r1.plan.get(alpha!.id)!
    expect(Object.keys(planned).length).toBeGreaterThan(0)
    expect(checkFitTask(r1, alpha!.id, r1.base, encodeInstructions(planned))).toBeUndefined()
    expect(checkFitTask(r1, alpha!.id, r1.base, new Uint8Array())).toMatch(/instructions \(a0\) are not the ones round 1's plan logged/)
  })

  it('names the site, the round and both values when the task disagrees with the log', () => {
    expect(checkFitTask(r1, 'not-enrolled', r1.base, new Uint8Array())).toMatch(/round 1's logged plan does not include site "not-enrolled"/)
    const otherBase = sha256(new Uint8Array([1]))
    expect(checkFitTask(r1, alpha!.id, otherBase, new Uint8Array())).toMatch(/base model .* is not round 1's logged base/)
    const config = encodeInstructions({ learningRate: 0.5 })
    expect(checkFitTask(r1, alpha!.id, r1.base, config)).toMatch(/instructions .* are not the ones round 1's plan logged for "alpha-clinic"/)
  })
})

describe('an evaluate task against the logged model', () => {
  it('knows the initial model and each committed one, and no model of a round not committed yet', () => {
    expect(loggedModel(state, 0)).toEqual(state.modelOfRound(0))
    expect(loggedModel(state, 2)).toEqual(state.modelOfRound(2))
    expect(loggedModel(stateBefore(ENTRY_KINDS.ROUND_COMMITTED, 2), 2)).toBeUndefined()
  })

  it('refuses a model other than the logged one, naming both', () => {
    const logged = loggedModel(state, 1)!
    expect(checkEvaluateTask(logged, 1, logged)).toBeUndefined()
    expect(checkEvaluateTask(logged, 1, state.modelOfRound(2)!)).toMatch(/is not round 1's logged model/)
  })
})

describe("a site's credit from round-rewarded", () => {
  it('is unknown until the round is rewarded, then its allocation, not yet passed on', () => {
    expect(loggedCredit(stateBefore(ENTRY_KINDS.ROUND_REWARDED, 1), alpha!.id, 1)).toBeUndefined()
    const credit = loggedCredit(state, alpha!.id, 1)!
    const rewarded = state.rounds.get(1)!.rewards!.body
    expect(credit).toEqual({ amount: rewarded.allocations.find((a) => a.site === alpha!.id)!.amount, passed: false })
    expect(credit.amount).toBeGreaterThan(0n)
    expect(loggedCredit(state, 'not-enrolled', 1)).toEqual({ amount: 0n, passed: false })
  })

  it('is passed once the site’s patient-rewards entry is logged', () => {
    const s = foldDrafts(study.drafts)
    const credit = loggedCredit(s, alpha!.id, 1)!
    const signed = signStatement(alpha!.signer, {
      t: 'patient-rewards',
      study: study.spec.id,
      round: 1,
      site: alpha!.id,
      amount: credit.amount,
      count: s.rounds.get(1)!.accepted.get(alpha!.id)!.consent!.count,
      root: sha256(new Uint8Array([7])),
      time: 1_700_000_900_000,
    })
    const out = step(s, { kind: 'patient-rewards', statement: signed }, 1_700_000_900_000)
    if ('needs' in out) throw new Error('the decider asked for blobs')
    expect(out.refusal).toBeUndefined()
    applyDecided(s, out)
    expect(loggedCredit(s, alpha!.id, 1)).toEqual({ amount: credit.amount, passed: true })
    expect(loggedCredit(s, beta!.id, 1)?.passed).toBe(false)
  })
})

describe('the fate of an envelope the coordinator says it already has', () => {
  const accepted = state.rounds.get(1)!.accepted.get(alpha!.id)!

  it('is accepted, with its log entry, when the logged update is this envelope', () => {
    expect(loggedUpdate(state, alpha!.id, 1, accepted.envelopeHash)).toEqual({ outcome: 'accepted', seq: accepted.seq })
  })

  it('is another accepted envelope when the site’s update of the round was a different one', () => {
    expect(loggedUpdate(state, alpha!.id, 1, sha256(new Uint8Array([3])))).toEqual({ outcome: 'other-accepted', seq: accepted.seq })
  })

  it('is unknown while the log does not show the envelope', () => {
    expect(loggedUpdate(stateBefore(ENTRY_KINDS.UPDATE_ACCEPTED, 1), alpha!.id, 1, accepted.envelopeHash)).toBeUndefined()
  })

  it('is refused, with the logged code and reason, when the envelope was rejected', () => {
    // A second, different envelope from a site whose round-2 update is not in yet: a wrong base is refused and logged.
    const s = stateBefore(ENTRY_KINDS.UPDATE_ACCEPTED, 2)
    const envelope = signStatement(alpha!.signer, {
      t: 'update',
      study: study.spec.id,
      round: 2,
      site: alpha!.id,
      base: sha256(new Uint8Array([1])),
      delta: sha256(new Uint8Array([2])),
      size: 8,
      examples: 40,
      metrics: {},
      nonce: new Uint8Array(16).fill(9),
      time: s.openRound!.openedMs + 1,
    })
    // Before the round's deadline, so the base is what is wrong.
    const out = step(s, { kind: 'update', envelope, delta: new Uint8Array(8) }, s.openRound!.openedMs + 1)
    if ('needs' in out) throw new Error('the decider asked for blobs')
    expect(out.refusal?.code).toBe('COORD_WRONG_BASE_MODEL')
    expect(out.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    const seq = s.entries
    applyDecided(s, out)
    expect(loggedUpdate(s, alpha!.id, 2, statementHash(envelope))).toEqual({ outcome: 'refused', seq, code: 'COORD_WRONG_BASE_MODEL', reason: out.refusal!.message })
  })
})
