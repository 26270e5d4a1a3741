/**
 * protocol/site-control.ts and its decider inputs: a site's approval of the
 * spec hash and its refusal of a fit task, their schemas, admission, entries
 * and fold.
 */
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../../ledger/core/index.ts'
import { StudySpecSchema, type StudySpecInput } from '../../../models/core/index.ts'
import {
  ENTRY_KINDS,
  StudyState,
  decodeStatement,
  encodeSpec,
  needsBlobs,
  readLineageRecord,
  signStatement,
  specHash,
  step,
  type ApprovalStatement,
  type DeciderInput,
  type Decision,
  type DeclinedStatement,
} from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/federation.ts'

const hub = testSigner(2)
const sites = ['alpha-clinic', 'beta-hospital', 'gamma-center'].map((id, i) => ({ id, signer: testSigner(10 + i) }))
const [alpha, beta, gamma] = sites as [(typeof sites)[0], (typeof sites)[0], (typeof sites)[0]]
const T0 = 1_700_000_000_000

/** A study fed through the decider, as the coordinator would: create, then whatever the test feeds. */
function study(patch: Partial<StudySpecInput> = {}) {
  const spec = StudySpecSchema.parse({ ...SYNTHETIC_STUDY, minSites: 2, ...patch })
  const state = new StudyState()
  let timeMs = T0
  const feed = (input: DeciderInput): Decision => {
    timeMs += 1000
    const result = step(state, input, timeMs)
    if (needsBlobs(result)) throw new Error('needs blobs')
    for (const e of result.entries) state.apply(readLineageRecord({ seq: state.entries, kind: e.kind, timeMs, body: e.body }))
    return result
  }
  feed({ kind: 'create', spec, hubKey: hub.publicKey, sites: sites.map((s) => ({ id: s.id, publicKey: s.signer.publicKey })), requestMaxAgeMs: 60_000 })
  const open = () =>
    feed({ kind: 'round-start', request: signStatement(hub, { t: 'round-start', study: spec.id, round: state.lastRound + 1, time: timeMs + 1000, nonce: new Uint8Array(16).fill(state.lastRound) }) })
  const approval = (site = alpha, patch: Partial<ApprovalStatement> = {}) =>
    signStatement(site.signer, { t: 'approval', study: spec.id, site: site.id, spec: specHash(encodeSpec(spec)), time: timeMs, ...patch })
  const declined = (site = alpha, patch: Partial<DeclinedStatement> = {}) =>
    signStatement(site.signer, { t: 'declined', study: spec.id, site: site.id, round: state.lastRound, code: 'SITE_POLICY_MIN_RECORDS', reason: 'too few records', time: timeMs, ...patch })
  return { spec, state, feed, open, approval, declined }
}

describe('approval and declined statements', () => {
  it('round-trip through their schemas', () => {
    // Prepare
    const s = study()
    // Execute
    const a = decodeStatement('approval', s.approval().body)
    const d = decodeStatement('declined', s.declined(alpha, { round: 1 }).body)
    // Assert
    expect(a).toMatchObject({ t: 'approval', site: alpha.id, spec: specHash(encodeSpec(s.spec)) })
    expect(d).toMatchObject({ t: 'declined', round: 1, code: 'SITE_POLICY_MIN_RECORDS' })
  })

  it.each([
    ['a spec hash of 31 bytes', () => ({ t: 'approval', study: 's', site: 'a', spec: new Uint8Array(31), time: 1 })],
    ['an extra field', () => ({ t: 'approval', study: 's', site: 'a', spec: new Uint8Array(32), time: 1, note: 'x' })],
    ['a decline code without the SITE_ prefix', () => ({ t: 'declined', study: 's', site: 'a', round: 1, code: 'POLICY', reason: 'r', time: 1 })],
    ['a decline of round 0', () => ({ t: 'declined', study: 's', site: 'a', round: 0, code: 'SITE_X', reason: 'r', time: 1 })],
    ['an empty reason', () => ({ t: 'declined', study: 's', site: 'a', round: 1, code: 'SITE_X', reason: '', time: 1 })],
  ])('refuse %s', (_what, value) => {
    expect(() => signStatement(alpha.signer, value() as never)).toThrow(expect.objectContaining({ code: 'PROTOCOL_STATEMENT_INVALID' }))
  })

  it('the spec hash is SHA-256 of the bytes study-created logs, and changes with any spec field', () => {
    const s = study()
    expect(toHex(specHash(s.state.spec))).toBe(toHex(sha256(encodeSpec(s.spec))))
    expect(toHex(specHash(encodeSpec({ ...s.spec, rounds: s.spec.rounds + 1 })))).not.toBe(toHex(specHash(s.state.spec)))
  })
})

describe('the decider on approvals', () => {
  it('logs an approval of the study spec and folds it per site', () => {
    // Prepare
    const s = study()
    // Execute
    const d = s.feed({ kind: 'approval', statement: s.approval() })
    // Assert
    expect(d.refusal).toBeUndefined()
    expect(d.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.APPROVAL])
    expect(toHex(s.state.approvals.get(alpha.id)!.spec)).toBe(toHex(specHash(s.state.spec)))
  })

  it('logs a validly signed approval of another spec as statement-rejected, and does not fold it as an approval', () => {
    const s = study()
    const d = s.feed({ kind: 'approval', statement: s.approval(alpha, { spec: sha256(new Uint8Array([1])) }) })
    expect(d.refusal?.code).toBe('COORD_APPROVAL_SPEC_MISMATCH')
    expect(d.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect((d.entries[0]!.body as { type: string; round: number }).type).toBe('approval')
    expect(s.state.approvals.size).toBe(0)
  })

  it('refuses unlogged an approval signed by another key or replayed, and logs a second approval as a duplicate', () => {
    const s = study()
    const first = s.approval()
    s.feed({ kind: 'approval', statement: first })
    const forged = s.feed({ kind: 'approval', statement: signStatement(gamma.signer, { t: 'approval', study: s.spec.id, site: beta.id, spec: specHash(s.state.spec), time: 1 }) })
    const replay = s.feed({ kind: 'approval', statement: first })
    const second = s.feed({ kind: 'approval', statement: s.approval(alpha, { time: 12345 }) })
    expect([forged.refusal?.code, forged.entries.length]).toEqual(['COORD_BAD_SIGNATURE', 0])
    expect([replay.refusal?.code, replay.entries.length]).toEqual(['COORD_UPDATE_REPLAYED', 0])
    expect([second.refusal?.code, second.entries[0]?.kind]).toEqual(['COORD_APPROVAL_DUPLICATE', ENTRY_KINDS.STATEMENT_REJECTED])
  })

  it('with requireApproval, plans only approved sites and opens no round before minSites approved', async () => {
    // Prepare
    const { nextRoundDue } = await import('../../../protocol/index.ts')
    const s = study({ requireApproval: true })
    // Execute / Assert
    expect(nextRoundDue(s.state, T0 + 5000)).toBe(false)
    s.feed({ kind: 'approval', statement: s.approval(alpha) })
    expect(nextRoundDue(s.state, T0 + 5000)).toBe(false)
    s.feed({ kind: 'approval', statement: s.approval(beta) })
    expect(nextRoundDue(s.state, T0 + 5000)).toBe(true)
    const opened = s.open()
    expect([...s.state.openRound!.plan.keys()]).toEqual([alpha.id, beta.id])
    expect(opened.tasks.map((t) => t.siteId)).toEqual([alpha.id, beta.id])
  })
})

describe('the decider on declines', () => {
  it('logs task-declined, folds it into the round, and abandons the round once every planned site answered below minSites', () => {
    // Prepare
    const s = study({ minSites: 3 })
    s.open()
    // Execute
    const first = s.feed({ kind: 'declined', statement: s.declined(alpha) })
    // Assert
    expect(first.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.TASK_DECLINED])
    expect(s.state.openRound!.declined.get(alpha.id)).toMatchObject({ code: 'SITE_POLICY_MIN_RECORDS', reason: 'too few records' })
    s.feed({ kind: 'declined', statement: s.declined(beta, { code: 'SITE_SPEC_UNAPPROVED' }) })
    const last = s.feed({ kind: 'declined', statement: s.declined(gamma) })
    expect(last.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.TASK_DECLINED, ENTRY_KINDS.ROUND_ABANDONED])
    expect(s.state.rounds.get(1)!.status).toBe('abandoned')
  })

  it.each([
    ['for a round that is not open', (s: ReturnType<typeof study>) => s.declined(alpha, { round: 2 }), 'COORD_WRONG_ROUND'],
    [
      'a second time',
      (s: ReturnType<typeof study>) => {
        s.feed({ kind: 'declined', statement: s.declined(alpha) })
        return s.declined(alpha, { time: 99 })
      },
      'COORD_DECLINE_INVALID',
    ],
  ])('logs as statement-rejected a decline %s', (_what, make, code) => {
    const s = study()
    s.open()
    const d = s.feed({ kind: 'declined', statement: make(s) })
    expect(d.refusal?.code).toBe(code)
    expect(d.entries.map((e) => e.kind)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
  })

  it('refuses unlogged a decline from an unenrolled site', () => {
    const s = study()
    s.open()
    const d = s.feed({ kind: 'declined', statement: signStatement(testSigner(99), { t: 'declined', study: s.spec.id, site: 'nowhere', round: 1, code: 'SITE_X', reason: 'r', time: 1 }) })
    expect([d.refusal?.code, d.entries.length]).toEqual(['COORD_UNKNOWN_SITE', 0])
  })
})
