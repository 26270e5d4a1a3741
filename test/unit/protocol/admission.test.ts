/**
 * protocol/admission.ts: the checks of a signed statement before the
 * decider acts on it, in the order they are made, each with its code.
 * States come from the DeciderHarness (test/helpers/protocol.ts).
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical, type Signer } from '../../../ledger/core/index.ts'
import {
  ENTRY_KINDS,
  checkEvaluation,
  checkHello,
  checkRoundStart,
  checkUpdateEnvelope,
  decodeStatement,
  signStatement,
  statementSigningMessage,
  type DeciderInput,
  type HelloStatement,
  type SignedStatement,
} from '../../../protocol/index.ts'
import { testSigner } from '../../helpers/ledger.ts'
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

// ---- hello ----------------------------------------------------------------------------------------

describe('checkHello', () => {
  const h = new DeciderHarness()
  const maxAgeMs = 300_000
  const hello = (patch: Partial<HelloStatement> = {}, signer: Signer = h.site(1).signer): SignedStatement =>
    signStatement(signer, { t: 'hello', study: h.spec.id, site: h.site(1).id, time: h.timeMs, nonce: h.nonce(), ...patch })

  it('returns the site id of a fresh hello signed by its enrolled key, up to maxAgeMs either way', () => {
    expect(checkHello(h.state, hello(), h.timeMs, maxAgeMs)).toBe(h.site(1).id)
    expect(checkHello(h.state, hello({ time: h.timeMs - maxAgeMs }), h.timeMs, maxAgeMs)).toBe(h.site(1).id)
    expect(checkHello(h.state, hello({ time: h.timeMs + maxAgeMs }), h.timeMs, maxAgeMs)).toBe(h.site(1).id)
  })

  it.each<[string, () => SignedStatement, string]>([
    ['undecodable bytes', () => ({ body: Uint8Array.of(0xf6), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ['an unknown site', () => hello({ site: 'nowhere' }), 'COORD_UNKNOWN_SITE'],
    ['another key', () => hello({}, testSigner(77)), 'COORD_BAD_SIGNATURE'],
    ['another site’s key', () => hello({}, h.site(0).signer), 'COORD_BAD_SIGNATURE'],
    ['another study', () => hello({ study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
    ['a hello signed 1 ms too early', () => hello({ time: h.timeMs - maxAgeMs - 1 }), 'COORD_STALE_REQUEST'],
    ['a hello signed 1 ms too far ahead', () => hello({ time: h.timeMs + maxAgeMs + 1 }), 'COORD_STALE_REQUEST'],
    // Order: the signature is checked before the study, the study before the time.
    ['another study under another key', () => hello({ study: 'other-study' }, testSigner(77)), 'COORD_BAD_SIGNATURE'],
    ['a stale hello for another study', () => hello({ study: 'other-study', time: 0 }), 'COORD_STUDY_MISMATCH'],
  ])('refuses %s with %s', (_what, signed, want) => {
    expect(() => checkHello(h.state, signed(), h.timeMs, maxAgeMs)).toThrow(code(want))
  })
})

// ---- update envelope ------------------------------------------------------------------------------

describe('checkUpdateEnvelope', () => {
  /** Round 1 open, alpha's update accepted. */
  function open(): DeciderHarness {
    const h = new DeciderHarness()
    h.openRound()
    h.submit([0])
    return h
  }
  const check = (h: DeciderHarness, signed: SignedStatement, nowMs = h.timeMs) => checkUpdateEnvelope(h.state, signed, h.state.deltaSizeBytes, nowMs)

  it('returns the decoded envelope of an admissible update, with a declared size of exactly the delta size', () => {
    // Prepare
    const h = open()
    const { envelope } = h.update(1)

    // Execute
    const env = check(h, envelope)

    // Assert
    expect(env).toEqual(decodeStatement('update', envelope.body))
    expect(env.size).toBe(h.state.deltaSizeBytes)
  })

  it.each<[string, (h: DeciderHarness) => SignedStatement, string]>([
    ['undecodable bytes', () => ({ body: Uint8Array.of(0x80), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ['an unknown site', (h) => h.update(1, { site: 'nowhere' }).envelope, 'COORD_UNKNOWN_SITE'],
    ['another key', (h) => h.update(1, {}, { signer: testSigner(77) }).envelope, 'COORD_BAD_SIGNATURE'],
    ['another study', (h) => h.update(1, { study: 'other-study' }).envelope, 'COORD_STUDY_MISMATCH'],
    ['the next round', (h) => h.update(1, { round: 2 }).envelope, 'COORD_WRONG_ROUND'],
    ['a site already in', (h) => h.update(0).envelope, 'COORD_DUPLICATE_UPDATE'],
    ['another base', (h) => h.update(1, { base: new Uint8Array(32) }).envelope, 'COORD_WRONG_BASE_MODEL'],
    ['one byte more than the delta size', (h) => h.update(1, { size: h.state.deltaSizeBytes + 1 }).envelope, 'COORD_UPDATE_TOO_LARGE'],
    // Order: site, signature, study, replay, round, deadline, plan, duplicate, base, size.
    ['an unknown site under another key', (h) => h.update(1, { site: 'nowhere' }, { signer: testSigner(77) }).envelope, 'COORD_UNKNOWN_SITE'],
    ['another study under another key', (h) => h.update(1, { study: 'other-study' }, { signer: testSigner(77) }).envelope, 'COORD_BAD_SIGNATURE'],
    ['another study for the wrong round', (h) => h.update(1, { study: 'other-study', round: 2 }).envelope, 'COORD_STUDY_MISMATCH'],
    ['a duplicate on another base', (h) => h.update(0, { base: new Uint8Array(32) }).envelope, 'COORD_DUPLICATE_UPDATE'],
    ['another base and too large', (h) => h.update(1, { base: new Uint8Array(32), size: h.state.deltaSizeBytes + 1 }).envelope, 'COORD_WRONG_BASE_MODEL'],
  ])('refuses %s with %s', (_what, setup, want) => {
    const h = open()
    expect(() => check(h, setup(h))).toThrow(code(want))
  })

  it('refuses the very bytes it accepted before as a replay, ahead of every round check', () => {
    // Prepare
    const h = new DeciderHarness()
    h.openRound()
    const input = h.updateInput(0) as Extract<DeciderInput, { kind: 'update' }>
    h.feed(input)

    // Execute / Assert
    expect(() => check(h, input.envelope)).toThrow(code('COORD_UPDATE_REPLAYED'))
  })

  it('refuses with no round open, and at the deadline, but admits one millisecond before it', () => {
    // Prepare
    const h = new DeciderHarness()
    const early = h.update(1, { round: 1 }).envelope
    h.openRound()
    const deadline = h.state.openRound!.deadlineMs
    const { envelope } = h.update(1)

    // Execute / Assert
    expect(() => checkUpdateEnvelope(new DeciderHarness().state, early, h.state.deltaSizeBytes, h.timeMs)).toThrow(code('COORD_WRONG_ROUND'))
    expect(check(h, envelope, deadline - 1).site).toBe(h.site(1).id)
    expect(() => check(h, envelope, deadline)).toThrow(code('COORD_WRONG_ROUND'))
  })
})

// ---- evaluation -----------------------------------------------------------------------------------

describe('checkEvaluation', () => {
  /** Round 1 committed; alpha reported on it. */
  function committed(): DeciderHarness {
    const h = new DeciderHarness()
    h.runRound()
    h.evaluate(1, [0])
    return h
  }

  it('admits a report of the initial model (round 0) and of a committed model', () => {
    const h = committed()
    expect(checkEvaluation(h.state, h.evaluation(1, 0))).toMatchObject({ round: 0, site: h.site(1).id })
    expect(checkEvaluation(h.state, h.evaluation(1, 1))).toMatchObject({ round: 1, model: h.state.modelOfRound(1) })
  })

  it.each<[string, (h: DeciderHarness) => SignedStatement, string]>([
    ['undecodable bytes', () => ({ body: new Uint8Array(), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ['an unknown site', (h) => h.evaluation(1, 1, { site: 'nowhere' }), 'COORD_UNKNOWN_SITE'],
    ['another key', (h) => h.evaluation(1, 1, {}, testSigner(77)), 'COORD_BAD_SIGNATURE'],
    ['another study', (h) => h.evaluation(1, 1, { study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
    ['a round without a committed model', (h) => h.evaluation(1, 2, { model: h.state.modelOfRound(1)! }), 'COORD_WRONG_ROUND'],
    ['another model than the round’s', (h) => h.evaluation(1, 1, { model: h.state.genesis }), 'COORD_WRONG_BASE_MODEL'],
    ['a second report from a site', (h) => h.evaluation(0, 1, { time: 1 }), 'COORD_DUPLICATE_UPDATE'],
    // Order: the model is checked before the duplicate.
    ['a second report naming another model', (h) => h.evaluation(0, 1, { model: h.state.genesis }), 'COORD_WRONG_BASE_MODEL'],
  ])('refuses %s with %s', (_what, setup, want) => {
    const h = committed()
    expect(() => checkEvaluation(h.state, setup(h))).toThrow(code(want))
  })

  it('refuses the bytes of a logged report as a replay', () => {
    // Prepare
    const h = new DeciderHarness()
    const report = h.evaluation(0, 0)
    h.feed({ kind: 'evaluation', report })

    // Execute / Assert
    expect(() => checkEvaluation(h.state, report)).toThrow(code('COORD_UPDATE_REPLAYED'))
  })
})

// ---- round start ----------------------------------------------------------------------------------

describe('checkRoundStart', () => {
  const maxAgeMs = 300_000
  const check = (h: DeciderHarness, signed: SignedStatement, nowMs = h.timeMs) => checkRoundStart(h.state, signed, nowMs, maxAgeMs, h.spec.rounds)

  it('admits the hub’s request for the next round', () => {
    const h = new DeciderHarness()
    expect(check(h, h.roundStart())).toMatchObject({ t: 'round-start', round: 1, study: h.spec.id })
  })

  it.each<[string, (h: DeciderHarness) => SignedStatement, string]>([
    ['undecodable bytes', () => ({ body: Uint8Array.of(0xa1), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ['a site’s signature', (h) => h.roundStart({}, h.site(0).signer), 'COORD_NOT_HUB'],
    ['another study', (h) => h.roundStart({ study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
    ['a stale request', (h) => h.roundStart({ time: h.timeMs - maxAgeMs - 1 }), 'COORD_STALE_REQUEST'],
    [
      'round 0, validly signed by the hub',
      (h) => {
        const body = encodeCanonical({ t: 'round-start', study: h.spec.id, round: 0, time: h.timeMs, nonce: h.nonce() })
        return { body, signature: h.hub.sign(statementSigningMessage(body)) }
      },
      'COORD_STATEMENT_INVALID',
    ],
    ['a round that skips one', (h) => h.roundStart({ round: 2 }), 'COORD_WRONG_ROUND'],
    // Order: hub, study, replay, time, completion, open round, round number.
    ['another study signed by a site', (h) => h.roundStart({ study: 'other-study' }, h.site(0).signer), 'COORD_NOT_HUB'],
    ['a stale request for another study', (h) => h.roundStart({ study: 'other-study', time: 0 }), 'COORD_STUDY_MISMATCH'],
    ['a stale request that skips a round', (h) => h.roundStart({ round: 3, time: 0 }), 'COORD_STALE_REQUEST'],
  ])('refuses %s with %s', (_what, setup, want) => {
    const h = new DeciderHarness()
    expect(() => check(h, setup(h))).toThrow(code(want))
  })

  it('refuses while a round is open, a replayed request, and any request once the target rounds are committed', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    const first = h.roundStart()
    h.feed({ kind: 'round-start', request: first })

    // Execute / Assert
    expect(() => check(h, h.roundStart({ round: 2 }))).toThrow(code('COORD_ROUND_STATE'))
    expect(() => check(h, first)).toThrow(code('COORD_UPDATE_REPLAYED'))
    h.submit()
    expect(() => check(h, h.roundStart())).toThrow(code('COORD_ROUND_STATE'))
  })
})

describe('decodeStatement: decoded once, never stale', () => {
  const signer = testSigner(31)
  const update = () =>
    signStatement(signer, {
      t: 'update',
      study: 'cache',
      round: 1,
      site: 'site-a',
      base: new Uint8Array(32),
      delta: new Uint8Array(32).fill(2),
      size: 10,
      examples: 5,
      metrics: { trainLoss: 0.5 },
      nonce: new Uint8Array(16),
      time: 1,
    })

  it('hands out a frozen statement: a reader cannot change what the next reader sees', () => {
    // Prepare
    const signed = update()
    // Execute
    const a = decodeStatement('update', signed.body)
    const b = decodeStatement('update', signed.body)
    // Assert
    expect(b).toEqual(a)
    expect(Object.isFrozen(a)).toBe(true)
    expect(Object.isFrozen(a.metrics)).toBe(true)
    expect(() => {
      ;(a as { examples: number }).examples = 1e9
    }).toThrow(TypeError)
  })

  it('decodes bytes changed in place afresh, and the same bytes as another type by that type', () => {
    // Prepare
    const signed = update()
    expect(decodeStatement('update', signed.body).site).toBe('site-a')
    // Execute: the site name's last byte, changed in the very array that was decoded
    const at = Buffer.from(signed.body).lastIndexOf(Buffer.from('site-a')) + 5
    signed.body[at] = 'b'.charCodeAt(0)
    // Assert
    expect(decodeStatement('update', signed.body).site).toBe('site-b')
    expect(() => decodeStatement('evaluation', signed.body)).toThrow(expect.objectContaining({ code: 'PROTOCOL_STATEMENT_INVALID' }))
  })
})
