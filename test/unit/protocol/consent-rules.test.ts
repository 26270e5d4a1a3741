/**
 * protocol/consent-rules.ts and the `consent-revoked` fold: which
 * update envelopes a study admits on their consent claim, and which
 * revocation entries a correct coordinator can write.
 */
import { describe, expect, it } from 'vitest'
import { toHex, type CanonicalValue } from '../../../ledger/core/index.ts'
import { SYNTHETIC_STUDY, draftRecords, findRecord, foldDrafts, syntheticConsentLeaf, syntheticPseudonym, syntheticStudy } from '../../helpers/audit.ts'
import {
  ENTRY_KINDS,
  checkUpdateConsent,
  lineageBody,
  readLineageRecord,
  type StudyState,
  consentTreeOf,
  decodeStatement,
  encodeConsentClaim,
  proveConsentNonInclusion,
  readConsentClaim,
  type ConsentClaim,
  type UpdateEnvelope,
} from '../../../protocol/index.ts'
import { inlineEnvelopeBody } from '../../helpers/protocol.ts'

const code = (c: string) => expect.objectContaining({ code: c })
const CONSENT_STUDY = { consent: { purpose: 'HRESCH' }, data: { ...SYNTHETIC_STUDY.data, patientIdColumn: 'pid' } }

// Site 1 (beta-hospital) withdraws patient 3 from round 2 on.
const study = syntheticStudy({ study: CONSENT_STUDY, consent: { revocations: [{ site: 1, patient: 3, round: 2 }] } })
const records = draftRecords(study.drafts)
const site = study.sites[1]!
const envelopeOf = (round: number): UpdateEnvelope =>
  decodeStatement('update', inlineEnvelopeBody(findRecord(records, 'update-accepted', (r) => r.body.round === round && r.body.site === site.id).body.envelope))
/** The state just before the update of `site` in `round` (after any revocation logged with it). */
function stateBefore(round: number): StudyState {
  const seq = findRecord(records, 'update-accepted', (r) => r.body.round === round && r.body.site === site.id).seq
  return foldDrafts(study.drafts, seq)
}
/** The state just before round `round`'s revocations and update of `site`. */
function stateBeforeRevocation(round: number): StudyState {
  const seq = findRecord(records, 'consent-revoked', (r) => r.body.round === round && r.body.site === site.id).seq
  return foldDrafts(study.drafts, seq)
}
/** The envelope with its claim read, patched and encoded again. */
function withClaim(env: UpdateEnvelope, patch: Partial<ConsentClaim>): UpdateEnvelope {
  return { ...env, ext: { consent: encodeConsentClaim({ ...readClaim(env), ...patch }) } }
}
function readClaim(env: UpdateEnvelope): ConsentClaim {
  return readConsentClaim(env.ext!['consent'])
}

describe('checkUpdateConsent', () => {
  it('admits an honest claim and returns the revocations the log does not hold yet', () => {
    // Prepare: round 2 reports patient 3 for the first time.
    const state = stateBeforeRevocation(2)

    // Execute
    const admitted = checkUpdateConsent(state, envelopeOf(2), true)

    // Assert
    expect(admitted.claim?.count).toBe(9)
    expect(admitted.newRevocations.map((r) => toHex(r.pseudonym))).toEqual([toHex(syntheticPseudonym(1, 3))])
  })

  it('returns no new revocation once the log holds it', () => {
    // Execute
    const admitted = checkUpdateConsent(stateBefore(2), envelopeOf(2), true)

    // Assert
    expect(admitted.newRevocations).toEqual([])
  })

  it('admits an envelope without a claim only when the study does not require consent', () => {
    // Prepare
    const { ext: _ext, ...bare } = envelopeOf(1)

    // Execute / Assert
    expect(checkUpdateConsent(stateBefore(1), bare, false)).toEqual({ claim: undefined, newRevocations: [] })
    expect(() => checkUpdateConsent(stateBefore(1), bare, true)).toThrow(code('COORD_CONSENT_MISSING'))
  })

  it.each<[string, (env: UpdateEnvelope) => UpdateEnvelope, string]>([
    ['a malformed claim', (env) => ({ ...env, ext: { consent: { root: 1 } } }), 'COORD_CONSENT_INVALID'],
    ['another decision time', (env) => withClaim(env, { at: readClaim(env).at - 1 }), 'COORD_CONSENT_INVALID'],
    ['a revocation after the round opened', (env) => withClaim(env, { revoked: [{ pseudonym: syntheticPseudonym(1, 3), time: readClaim(env).at + 1 }] }), 'COORD_CONSENT_INVALID'],
    ['training records with an empty tree', (env) => withClaim(env, { root: consentTreeOf([]).root, count: 0, nonInclusion: [], revoked: [] }), 'COORD_CONSENT_INVALID'],
  ])('refuses %s', (_what, mutate, want) => {
    // Execute / Assert
    expect(() => checkUpdateConsent(stateBefore(2), mutate(envelopeOf(2)), true)).toThrow(code(want))
  })

  it('refuses a later update that drops the proof of a logged revocation, or reports it no more', () => {
    // Prepare: round 2 logged the revocation; round 2's claim is replayed without it.
    const env = envelopeOf(2)
    const state = stateBefore(2)

    // Execute / Assert: dropping the proof, and dropping both the report and the proof, both fail.
    expect(() => checkUpdateConsent(state, withClaim(env, { nonInclusion: [] }), true)).toThrow(code('COORD_CONSENT_PROOF_MISSING'))
    expect(() => checkUpdateConsent(state, withClaim(env, { nonInclusion: [], revoked: [] }), true)).toThrow(code('COORD_CONSENT_PROOF_MISSING'))
  })

  it('refuses a tree that includes the revoked patient', () => {
    // Prepare: the full tree of 10 patients (3 included), with the old proof against the smaller tree.
    const env = envelopeOf(2)
    const full = consentTreeOf(Array.from({ length: 10 }, (_, k) => syntheticConsentLeaf(1, k)))

    // Execute / Assert
    expect(() => checkUpdateConsent(stateBefore(2), withClaim(env, { root: full.root, count: full.count }), true)).toThrow(
      expect.objectContaining({ code: 'COORD_CONSENT_PROOF_INVALID', reason: 'PROTOCOL_CONSENT_COUNT_MISMATCH' }),
    )
    expect(() => checkUpdateConsent(stateBefore(2), withClaim(env, { root: full.root }), true)).toThrow(
      expect.objectContaining({ code: 'COORD_CONSENT_PROOF_INVALID', reason: 'LEDGER_ROOT_MISMATCH' }),
    )
  })

  it('checks a claim even when the study does not require consent', () => {
    // Prepare: a proof of another tree.
    const env = envelopeOf(2)
    const other = consentTreeOf([syntheticConsentLeaf(0, 0)])
    const proof = proveConsentNonInclusion(other, syntheticPseudonym(1, 3))

    // Execute / Assert
    expect(() => checkUpdateConsent(stateBefore(2), withClaim(env, { nonInclusion: [proof] }), false)).toThrow(code('COORD_CONSENT_PROOF_INVALID'))
  })
})

describe('the consent-revoked fold', () => {
  const revoked = findRecord(records, 'consent-revoked')
  const record = (body: Record<string, CanonicalValue>, seq = revoked.seq) =>
    readLineageRecord({ seq, kind: ENTRY_KINDS.CONSENT_REVOKED, timeMs: revoked.timeMs, body: lineageBody(ENTRY_KINDS.CONSENT_REVOKED, { ...revoked.body, ...body } as never) })

  it('records a revocation by site and round', () => {
    // Execute
    const state = foldDrafts(study.drafts)

    // Assert
    expect(state.revokedPseudonyms(site.id).map(toHex)).toEqual([toHex(syntheticPseudonym(1, 3))])
    expect(state.rounds.get(2)!.revocations).toHaveLength(1)
    expect(state.revokedPseudonyms(study.sites[0]!.id)).toEqual([])
  })

  it.each<[string, Record<string, CanonicalValue>, (s: StudyState) => void]>([
    ['a second revocation of the same pseudonym', {}, (s) => s.apply(record({}))],
    ['a revocation after the round opened', { time: Number.MAX_SAFE_INTEGER }, () => undefined],
    ['a revocation at an unenrolled site', { site: 'nowhere' }, () => undefined],
    ['a revocation for a round that is not open', { round: 3 }, () => undefined],
  ])('refuses %s', (_what, body, prepare) => {
    // Prepare
    const state = stateBeforeRevocation(2)
    prepare(state)

    // Execute / Assert
    expect(() => state.apply(record(body))).toThrow(code('COORD_LINEAGE_RECORD_INVALID'))
  })

  it("refuses a revocation after the site's update of the round", () => {
    // Prepare: the state after round 2's update from the site.
    const seq = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site === site.id).seq
    const state = foldDrafts(study.drafts, seq + 1)

    // Execute / Assert
    expect(() => state.apply(record({ pseudonym: syntheticPseudonym(1, 4) }))).toThrow(code('COORD_LINEAGE_RECORD_INVALID'))
  })
})
