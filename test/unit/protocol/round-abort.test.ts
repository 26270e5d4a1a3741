/**
 * The hub aborts the open round: a hub-signed `round-abort` request the
 * decider admits once, for the round open at the time, and logs as
 * `round-aborted` (reason, hub key, accepted count, the request itself).
 * The round closes without a model, every site is told to drop its task,
 * nothing more is taken for that round, and the next round opens from the
 * same base model.
 */
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../ledger/core/index.ts'
import { ENTRY_KINDS, nextRoundDue, readLineageRecord, type SignedStatement } from '../../../protocol/index.ts'
import { SYNTHETIC_REQUEST_MAX_AGE_MS } from '../../helpers/audit.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

/** Round 1 open with site 0's update accepted. */
function withOneUpdate(): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
  h.openRound()
  h.submit([0])
  return h
}

describe('step: round-abort', () => {
  it('logs round-aborted with the reason, the hub key, the accepted count and the signed request, and cancels every site’s task', () => {
    // Prepare
    const h = withOneUpdate()
    const request = h.roundAbort({ reason: 'a site reported a data breach' })

    // Execute
    const fed = h.feed({ kind: 'round-abort', request })

    // Assert
    expect(fed.refusal).toBeUndefined()
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.ROUND_ABORTED])
    expect(fed.recordedAt).toBe(0)
    expect(fed.records[0]!.body).toEqual({ round: 1, reason: 'a site reported a data breach', accepted: 1, by: h.hub.publicKey, request: { body: request.body, sig: request.signature } })
    expect(fed.blobs).toEqual([])
    expect(fed.tasks).toEqual([{ siteId: null, task: { kind: 'cancel', round: 1, reason: 'a site reported a data breach' } }])
    const round = h.state.rounds.get(1)!
    expect([round.status, round.abortReason, round.commit]).toEqual(['aborted', 'a site reported a data breach', undefined])
    expect(h.state.openRound).toBeUndefined()
  })

  it('takes nothing more for the aborted round: a late update is refused, and its deadline closes nothing', () => {
    // Prepare
    const h = withOneUpdate()
    const deadline = h.state.rounds.get(1)!.deadlineMs
    h.feed({ kind: 'round-abort', request: h.roundAbort() })

    // Execute
    const late = h.feed(h.updateInput(1, { round: 1 }))
    const tick = h.tick(deadline)

    // Assert
    expect(late.refusal?.code).toBe('COORD_WRONG_ROUND')
    expect(kindsOf(late)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(tick.entries).toEqual([])
    expect(h.state.rounds.get(1)!.accepted.size).toBe(1)
  })

  it('lets the next round open from the same base model, and that round commits', () => {
    // Prepare
    const h = withOneUpdate()
    const base = h.state.rounds.get(1)!.base
    h.feed({ kind: 'round-abort', request: h.roundAbort() })

    // Execute
    const due = nextRoundDue(h.state, h.timeMs)
    const opened = h.openRound()
    const last = h.submit()

    // Assert
    expect(due).toBe(true)
    expect(opened.records[0]!.body).toMatchObject({ round: 2, base })
    expect(kindsOf(last)).toContain(ENTRY_KINDS.ROUND_COMMITTED)
    expect(h.state.committedRounds).toBe(1)
  })

  it.each<[string, (h: DeciderHarness) => SignedStatement, string]>([
    ['a request signed by a site key', (h) => h.roundAbort({}, h.site(0).signer), 'COORD_NOT_HUB'],
    ['an unsigned request (zero signature)', (h) => ({ ...h.roundAbort(), signature: new Uint8Array(64) }), 'COORD_NOT_HUB'],
    ['another study', (h) => h.roundAbort({ study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
    ['a request signed too long ago', (h) => h.roundAbort({ time: h.timeMs - SYNTHETIC_REQUEST_MAX_AGE_MS - 2000 }), 'COORD_STALE_REQUEST'],
    ['a round that is not the open one', (h) => h.roundAbort({ round: 2 }), 'COORD_WRONG_ROUND'],
    ['bytes that are not a round-abort statement', () => ({ body: Uint8Array.of(0xa0), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
  ])('refuses %s without a log entry (%s)', (_what, request, code) => {
    // Prepare
    const h = withOneUpdate()

    // Execute
    const fed = h.feed({ kind: 'round-abort', request: request(h) })

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(fed.entries).toEqual([])
    expect(fed.tasks).toEqual([])
    expect(h.state.openRound?.round).toBe(1)
  })

  it('refuses an abort with no round open (after a commit), and the same request twice, without a log entry', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    h.runRound()
    const afterCommit = h.roundAbort({ round: 1 })
    h.openRound()
    const request = h.roundAbort()
    h.feed({ kind: 'round-abort', request })

    // Execute
    const closed = h.feed({ kind: 'round-abort', request: afterCommit })
    const replay = h.feed({ kind: 'round-abort', request })

    // Assert
    expect([closed.refusal?.code, replay.refusal?.code]).toEqual(['COORD_ROUND_STATE', 'COORD_UPDATE_REPLAYED'])
    expect([...closed.entries, ...replay.entries]).toEqual([])
  })

  it('is refused by the fold when the entry names another key than the hub’s, or a round that is not open', () => {
    // Prepare
    const h = withOneUpdate()
    const fed = h.feed({ kind: 'round-abort', request: h.roundAbort() })
    const aborted = h.drafts.at(-1)!
    const bodyOf = (patch: object) => ({ seq: h.drafts.length, kind: aborted.kind, timeMs: aborted.timeMs, body: { ...(aborted.body as object), ...patch } })

    // Execute / Assert: applying it again (round 1 is no longer open), or with a site's key as the signer.
    expect(() => h.state.apply(readLineageRecord(bodyOf({})))).toThrow(/aborts round 1, which is not open/)
    const fresh = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    fresh.openRound()
    fresh.submit([0])
    expect(() => fresh.state.apply(readLineageRecord(bodyOf({ by: fresh.site(0).signer.publicKey })))).toThrow(new RegExp(`not the study's hub key ${toHex(fresh.hub.publicKey)}`))
    expect(fed.refusal).toBeUndefined()
  })
})
