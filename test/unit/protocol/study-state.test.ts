/**
 * protocol/study-state.ts: the state of a study is the fold of its log.
 * Folding the entries the decider wrote reproduces the state the decider
 * worked from, step by step; the fold is deterministic and refuses an
 * entry a correct coordinator could not have written there (out of order,
 * or applied twice), naming its seq.
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical, sha256, toHex, type EntryDraft } from '../../../ledger/core/index.ts'
import { ENTRY_KINDS, StudyState, readLineageRecord, step, type DeciderInput, type LineageRecord } from '../../../protocol/index.ts'
import { draftRecords, foldDrafts, syntheticPseudonym } from '../../helpers/audit.ts'
import { DeciderHarness, everyKindScript, REWARDED_CONSENT_STUDY, type Fed, inlineEnvelopeBody } from '../../helpers/protocol.ts'

const INIT = { study: { ...REWARDED_CONSENT_STUDY, rounds: 2, minSites: 2 }, revocations: [{ site: 2, patient: 4, round: 2 }] }

/**
 * A two-round study with every entry kind: baseline evaluations, round 1
 * abandoned, round 2 with a rejection and a revocation, round 3 aborted by
 * the hub after one update, round 4 committed at its deadline without gamma, patient rewards (one refused) and
 * evaluations, completion.
 */
function script(h: DeciderHarness): void {
  everyKindScript(h)
  h.openRound()
  h.submit([0])
  h.feed({ kind: 'round-abort', request: h.roundAbort() })
  h.openRound()
  h.submit([0, 1])
  h.tick(h.state.openRound!.deadlineMs)
  h.evaluate()
  h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0) })
  h.feed({ kind: 'patient-rewards', statement: h.patientRewards(1) })
}

function scripted(): DeciderHarness {
  const h = new DeciderHarness(INIT)
  script(h)
  return h
}

const LOG = scripted()
const RECORDS = draftRecords(LOG.drafts)
const seqOf = (kind: string, where: (r: LineageRecord) => boolean = () => true): number => {
  const r = RECORDS.find((x) => x.kind === kind && where(x))
  if (r === undefined) throw new Error(`no ${kind}`)
  return r.seq
}
const roundOf = (r: LineageRecord) => (r.body as { round?: number }).round

/** Folds `drafts` as a log (seq = index), returning the state or the error the fold threw. */
function tryFold(drafts: readonly EntryDraft[]): StudyState | { code: string; seq: number } {
  try {
    return foldDrafts(drafts)
  } catch (err) {
    return err as { code: string; seq: number }
  }
}

/** `drafts` with the entry at `from` moved to index `to`. */
function moved(drafts: readonly EntryDraft[], from: number, to: number): EntryDraft[] {
  const out = [...drafts]
  const [d] = out.splice(from, 1)
  out.splice(to, 0, d!)
  return out
}

describe('the fold reproduces the decider’s state', () => {
  it('covers every entry kind and completes the study', () => {
    // The secure-aggregation kinds need a study of their own: secagg-round.test.ts folds them the same way.
    expect(new Set(LOG.drafts.map((d) => d.kind))).toEqual(new Set(Object.values(ENTRY_KINDS).filter((k) => !k.startsWith('secagg-'))))
    expect(LOG.state.completed).toBe(true)
    expect(LOG.state.committedRounds).toBe(2)
  })

  it('at every step: the state folded from scratch equals the state the harness decided from, and decides the same entries', () => {
    // Prepare: a harness that, before each step, re-folds its log and decides from that state too.
    const decisions: { fromFold: string[]; fed: string[] }[] = []
    const h = new DeciderHarness(INIT)
    const feed = h.feed.bind(h)
    h.feed = (input: DeciderInput, timeMs = h.timeMs + 1000): Fed => {
      const refolded = foldDrafts(h.drafts)
      expect(refolded).toEqual(h.state)
      const again = step(refolded, input, timeMs, { get: (hash) => h.blobs.get(toHex(hash)) })
      const fed = feed(input, timeMs)
      const bodies = (entries: readonly { kind: string; body: unknown }[]) => entries.map((e) => e.kind + toHex(encodeCanonical(e.body as never)))
      decisions.push({ fromFold: 'entries' in again ? bodies(again.entries) : ['needs'], fed: bodies(fed.entries) })
      return fed
    }

    // Execute
    script(h)

    // Assert
    expect(decisions.length).toBeGreaterThan(20)
    for (const d of decisions) expect(d.fromFold).toEqual(d.fed)
    expect(foldDrafts(h.drafts)).toEqual(h.state)
  })

  it('the derived views agree with the decider’s entries', () => {
    // Prepare
    const s = foldDrafts(LOG.drafts)
    const commit = (round: number) => RECORDS.find((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED && r.body.round === round)!

    // Assert: models and lineage.
    expect(s.rounds.get(1)?.status).toBe('abandoned')
    expect(s.modelOfRound(0)).toEqual(s.genesis)
    expect(s.modelOfRound(1)).toBeUndefined()
    expect(s.modelOfRound(3)).toBeUndefined()
    expect(s.modelOfRound(4)).toEqual(commit(4).body.model)
    expect(s.currentModel).toEqual(commit(4).body.model)
    expect(s.currentModelRound).toBe(4)
    expect(s.isLineageModel(commit(2).body.model)).toBe(true)
    expect(s.isLineageModel(commit(2).body.inputs[0]!.delta)).toBe(false)
    expect(s.openRound).toBeUndefined()
    // Each accepted update sits at the seq of its update-accepted entry, with the envelope's hash.
    for (const r of RECORDS) {
      if (r.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) continue
      expect(s.rounds.get(r.body.round)?.accepted.get(r.body.site)).toMatchObject({ seq: r.seq, envelopeHash: sha256(inlineEnvelopeBody(r.body.envelope)), delta: r.body.delta })
    }
    // Rejections, revocations, balances, patient rewards, evaluations.
    expect(s.rounds.get(2)?.rejected).toEqual([
      expect.objectContaining({ site: LOG.site(0).id, code: 'COORD_WRONG_BASE_MODEL', type: 'update' }),
      expect.objectContaining({ site: LOG.site(0).id, code: 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH', type: 'patient-rewards' }),
    ])
    expect(s.rounds.get(2)?.revocations.map((r) => toHex(r.pseudonym))).toEqual([toHex(syntheticPseudonym(2, 4))])
    expect(s.revokedPseudonyms(LOG.site(2).id)).toEqual([syntheticPseudonym(2, 4)])
    expect([...s.balances.entries()]).toEqual([
      [LOG.site(0).id, 160n + 267n],
      [LOG.site(1).id, 200n + 333n],
      [LOG.site(2).id, 240n],
    ])
    expect(s.rounds.get(3)?.status).toBe('aborted')
    expect([...s.rounds.get(4)!.patientRewards.keys()]).toEqual([LOG.site(0).id, LOG.site(1).id])
    expect([...s.evaluations.keys()]).toEqual([0, 2, 4])
    // Every statement taken in, accepted or refused, is remembered for replay detection.
    const statements = RECORDS.flatMap((r) => {
      const b = r.body as Record<string, { body?: Uint8Array } | undefined>
      return [b['request'], b['envelope'], b['report'], b['statement']].filter((x) => x?.body !== undefined).map((x) => toHex(sha256(x!.body!)))
    })
    expect(statements.length).toBeGreaterThan(20)
    expect(new Set(statements)).toEqual(s.seenStatements)
  })

  it('folds a prefix and then the rest into the same state as the whole log at once', () => {
    // Prepare
    const whole = foldDrafts(LOG.drafts)

    // Execute / Assert
    for (let k = 0; k <= LOG.drafts.length; k += 3) {
      const s = foldDrafts(LOG.drafts, k)
      for (const r of RECORDS.slice(k)) s.apply(r)
      expect(s).toEqual(whole)
    }
  })

  it('is deterministic and leaves the records it reads untouched', () => {
    // Prepare
    const before = RECORDS.map((r) => toHex(encodeCanonical(r.body as never)))

    // Execute
    const a = new StudyState()
    const b = new StudyState()
    for (const r of RECORDS) a.apply(r)
    for (const r of RECORDS) b.apply(r)

    // Assert
    expect(a).toEqual(b)
    expect(RECORDS.map((r) => toHex(encodeCanonical(r.body as never)))).toEqual(before)
  })

  it('requires a created study before reading the spec', () => {
    expect(() => new StudyState().study).toThrow(expect.objectContaining({ code: 'COORD_LINEAGE_RECORD_INVALID' }))
  })
})

describe('the fold refuses entries out of order', () => {
  const cases: [string, () => EntryDraft[], number][] = [
    ['a log that does not start with study-created', () => moved(LOG.drafts, 1, 0), 0],
    [
      'an update before its round opened',
      () =>
        moved(
          LOG.drafts,
          seqOf('update-accepted', (r) => roundOf(r) === 2),
          seqOf('round-opened', (r) => roundOf(r) === 2),
        ),
      seqOf('round-opened', (r) => roundOf(r) === 2),
    ],
    [
      'a commit before the update that completed it',
      () =>
        moved(
          LOG.drafts,
          seqOf('round-committed', (r) => roundOf(r) === 2),
          seqOf('round-committed', (r) => roundOf(r) === 2) - 1,
        ),
      seqOf('round-committed', (r) => roundOf(r) === 2) - 1,
    ],
    ['a revocation after the update that reports it', () => moved(LOG.drafts, seqOf('consent-revoked'), seqOf('consent-revoked') + 1), seqOf('consent-revoked') + 1],
    [
      'an evaluation before its round committed',
      () =>
        moved(
          LOG.drafts,
          seqOf('evaluation-reported', (r) => roundOf(r) === 2),
          seqOf('round-committed', (r) => roundOf(r) === 2),
        ),
      seqOf('round-committed', (r) => roundOf(r) === 2),
    ],
    [
      'round-rewarded before its commit',
      () =>
        moved(
          LOG.drafts,
          seqOf('round-rewarded', (r) => roundOf(r) === 2),
          seqOf('round-committed', (r) => roundOf(r) === 2),
        ),
      seqOf('round-committed', (r) => roundOf(r) === 2),
    ],
    [
      'patient rewards before the round was rewarded',
      () =>
        moved(
          LOG.drafts,
          seqOf('patient-rewards', (r) => roundOf(r) === 2),
          seqOf('round-rewarded', (r) => roundOf(r) === 2),
        ),
      seqOf('round-rewarded', (r) => roundOf(r) === 2),
    ],
    [
      'the next round opened while one is open',
      () =>
        moved(
          LOG.drafts,
          seqOf('round-opened', (r) => roundOf(r) === 3),
          seqOf('round-committed', (r) => roundOf(r) === 2),
        ),
      seqOf('round-committed', (r) => roundOf(r) === 2),
    ],
    [
      'study-completed while a round is open',
      () => moved(LOG.drafts, seqOf('study-completed'), seqOf('round-opened', (r) => roundOf(r) === 3) + 1),
      seqOf('round-opened', (r) => roundOf(r) === 3) + 1,
    ],
    ['an entry after study-completed', () => moved(LOG.drafts, seqOf('study-completed'), LOG.drafts.length - 2), LOG.drafts.length - 1],
  ]

  it.each(cases)('%s (refused at the moved entry’s seq)', (_what, drafts, seq) => {
    expect(tryFold(drafts())).toMatchObject({ code: 'COORD_LINEAGE_RECORD_INVALID', seq })
  })

  it('takes independent entries in either order: two sites’ updates of one round, two sites’ evaluations', () => {
    // Prepare: beta's update of round 2 moved before alpha's; beta's baseline report moved before alpha's.
    const updates = RECORDS.filter((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && roundOf(r) === 2).map((r) => r.seq)
    const reports = RECORDS.filter((r) => r.kind === ENTRY_KINDS.EVALUATION_REPORTED && roundOf(r) === 0).map((r) => r.seq)

    // Execute
    const byUpdates = tryFold(moved(LOG.drafts, updates[1]!, updates[0]!))
    const byReports = tryFold(moved(LOG.drafts, reports[1]!, reports[0]!))

    // Assert: the same study, only the seqs of the swapped entries differ.
    for (const s of [byUpdates, byReports]) {
      expect(s).toBeInstanceOf(StudyState)
      const folded = s as StudyState
      expect(folded.completed).toBe(true)
      expect(folded.currentModel).toEqual(LOG.state.currentModel)
      expect(folded.seenStatements).toEqual(LOG.state.seenStatements)
      expect(new Set(folded.evaluations.get(0)!.keys())).toEqual(new Set(LOG.state.evaluations.get(0)!.keys()))
      expect(new Set(folded.rounds.get(2)!.accepted.keys())).toEqual(new Set(LOG.state.rounds.get(2)!.accepted.keys()))
    }
  })
})

describe('the fold refuses an entry applied twice', () => {
  const TWICE_REFUSED = [
    ENTRY_KINDS.STUDY_CREATED,
    ENTRY_KINDS.SITE_ENROLLED,
    ENTRY_KINDS.ROUND_OPENED,
    ENTRY_KINDS.CONSENT_REVOKED,
    ENTRY_KINDS.UPDATE_ACCEPTED,
    ENTRY_KINDS.ROUND_COMMITTED,
    ENTRY_KINDS.ROUND_REWARDED,
    ENTRY_KINDS.ROUND_ABANDONED,
    ENTRY_KINDS.EVALUATION_REPORTED,
    ENTRY_KINDS.PATIENT_REWARDS,
    ENTRY_KINDS.STUDY_COMPLETED,
  ]

  it.each(TWICE_REFUSED)('%s', (kind) => {
    // Prepare: the log up to and including the first entry of this kind.
    const seq = seqOf(kind)
    const state = foldDrafts(LOG.drafts, seq + 1)
    const again = readLineageRecord({ seq: seq + 1, ...LOG.drafts[seq]! })

    // Execute / Assert
    expect(() => state.apply(again)).toThrow(expect.objectContaining({ code: 'COORD_LINEAGE_RECORD_INVALID', seq: seq + 1 }))
  })
})
