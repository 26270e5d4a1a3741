/**
 * auditor/core/statements.ts: the hub's round starts, the sites' update
 * envelopes and evaluation reports, each checked against the entry that
 * embeds it. Every field gets a sibling re-signed by the rightful key with
 * that field changed (a mismatch), and every statement one signed by the
 * wrong key (a forged signature).
 */
import { describe, expect, it } from 'vitest'
import { AuditStatementMismatchError, checkDeltaSize, checkEvaluationReport, checkRoundRequest, checkUpdateEnvelope, type AuditError } from '../../../auditor/core/index.ts'
import { sha256, toHex, type Signer } from '../../../ledger/core/index.ts'
import { draftRecords, findRecord, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { embedStatement, type UpdateAcceptedBody, decodeStatement, signStatement, type Statement } from '../../../protocol/index.ts'

function thrown(fn: () => unknown): AuditError {
  try {
    fn()
  } catch (err) {
    return err as AuditError
  }
  throw new Error('expected a throw')
}

const study = syntheticStudy()
const records = draftRecords(study.drafts)
const site = study.sites[1]!
const opened = findRecord(records, 'round-opened', (r) => r.body.round === 2)
const accepted = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site === site.id)
const evaluated = findRecord(records, 'evaluation-reported', (r) => r.body.round === 1 && r.body.site === site.id)
const stateAt = (seq: number) => foldDrafts(study.drafts, seq + 1)

/** `signed` re-signed by `signer` with `patch` applied to its statement. */
function resigned<T extends Statement>(signer: Signer, statement: T, patch: Partial<T>): { body: Uint8Array; sig: Uint8Array } {
  return embedStatement(signStatement(signer, { ...statement, ...patch }))
}

describe('checkRoundRequest', () => {
  const request = decodeStatement('round-start', opened.body.request.body)

  it("accepts the hub's signed request for this study and round", () => {
    // Execute / Assert
    expect(() => checkRoundRequest(opened.seq, stateAt(opened.seq), opened.body, request)).not.toThrow()
  })

  it('refuses a request signed by the coordinator rather than the hub: AUDIT_STATEMENT_SIGNATURE_INVALID', () => {
    // Prepare
    const body = { ...opened.body, request: resigned(study.coordinator, request, {}) }

    // Execute
    const err = thrown(() => checkRoundRequest(opened.seq, stateAt(opened.seq), body, request))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_SIGNATURE_INVALID')
    expect(err.message).toContain(toHex(study.hub.publicKey))
  })

  it.each([
    { field: 'study', patch: { study: 'another-study' } },
    { field: 'round', patch: { round: 3 } },
  ])('refuses a request with another $field: AUDIT_STATEMENT_MISMATCH', ({ field, patch }) => {
    // Prepare
    const body = { ...opened.body, request: resigned(study.hub, request, patch) }

    // Execute
    const err = thrown(() => checkRoundRequest(opened.seq, stateAt(opened.seq), body, decodeStatement('round-start', body.request.body)))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_MISMATCH')
    expect((err as AuditStatementMismatchError).field).toBe(field)
  })
})

describe('checkUpdateEnvelope', () => {
  const envelope = decodeStatement('update', accepted.body.envelope.body)

  it("accepts the site's envelope for this entry", () => {
    // Execute / Assert
    expect(() => checkUpdateEnvelope(accepted.seq, stateAt(accepted.seq), accepted.body, envelope)).not.toThrow()
  })

  it.each([
    { desc: "another site's key", signer: () => study.sites[0]!.signer },
    { desc: "the coordinator's key", signer: () => study.coordinator },
    { desc: 'an unenrolled key', signer: () => testSigner(99) },
  ])('refuses an envelope signed with $desc: AUDIT_STATEMENT_SIGNATURE_INVALID', ({ signer }) => {
    // Prepare
    const body: UpdateAcceptedBody = { ...accepted.body, envelope: resigned(signer(), envelope, {}) }

    // Execute
    const err = thrown(() => checkUpdateEnvelope(accepted.seq, stateAt(accepted.seq), body, envelope))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_SIGNATURE_INVALID')
    expect(err.seq).toBe(accepted.seq)
  })

  it("refuses the site's signature over other bytes (one flipped bit): AUDIT_STATEMENT_SIGNATURE_INVALID", () => {
    // Prepare
    const bodyBytes = Uint8Array.from(accepted.body.envelope.body)
    bodyBytes[bodyBytes.length - 1]! ^= 1
    const body: UpdateAcceptedBody = { ...accepted.body, envelope: { body: bodyBytes, sig: accepted.body.envelope.sig } }

    // Execute
    const err = thrown(() => checkUpdateEnvelope(accepted.seq, stateAt(accepted.seq), body, envelope))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_SIGNATURE_INVALID')
  })

  it.each([
    { field: 'study', patch: { study: 'another-study' } },
    { field: 'round', patch: { round: 1 } },
    { field: 'site', patch: { site: 'alpha-clinic' } },
    { field: 'delta', patch: { delta: sha256(new Uint8Array([1])) } },
    { field: 'examples', patch: { examples: 4000 } },
    { field: 'base', patch: { base: sha256(new Uint8Array([2])) } },
  ])('refuses an envelope the site signed with another $field: AUDIT_STATEMENT_MISMATCH', ({ field, patch }) => {
    // Prepare
    const body: UpdateAcceptedBody = { ...accepted.body, envelope: resigned(site.signer, envelope, patch) }

    // Execute
    const err = thrown(() => checkUpdateEnvelope(accepted.seq, stateAt(accepted.seq), body, decodeStatement('update', body.envelope.body)))

    // Assert
    expect(err).toBeInstanceOf(AuditStatementMismatchError)
    expect(err.code).toBe('AUDIT_STATEMENT_MISMATCH')
    expect((err as AuditStatementMismatchError).field).toBe(field)
    expect(err.message).toMatch(new RegExp(`^entry ${accepted.seq} \\(update-accepted\\): `))
  })

  it("checks the declared size against the stored delta's length", () => {
    // Execute
    const err = thrown(() => checkDeltaSize(accepted.seq, accepted.body, envelope, envelope.size + 4))

    // Assert
    expect(() => checkDeltaSize(accepted.seq, accepted.body, envelope, envelope.size)).not.toThrow()
    expect(err).toMatchObject({ code: 'AUDIT_STATEMENT_MISMATCH', field: 'size', expected: envelope.size + 4, calculated: envelope.size })
  })
})

describe('checkEvaluationReport', () => {
  const report = decodeStatement('evaluation', evaluated.body.report.body)

  it("accepts the site's report of the round's model", () => {
    // Execute / Assert
    expect(() => checkEvaluationReport(evaluated.seq, stateAt(evaluated.seq), evaluated.body, report)).not.toThrow()
  })

  it('refuses a report signed by another site: AUDIT_STATEMENT_SIGNATURE_INVALID', () => {
    // Prepare
    const body = { ...evaluated.body, report: resigned(study.sites[2]!.signer, report, {}) }

    // Execute
    const err = thrown(() => checkEvaluationReport(evaluated.seq, stateAt(evaluated.seq), body, report))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_SIGNATURE_INVALID')
  })

  it.each([
    { field: 'study', patch: { study: 'another-study' } },
    { field: 'round', patch: { round: 2 } },
    { field: 'site', patch: { site: 'gamma-center' } },
    { field: 'model', patch: { model: sha256(new Uint8Array([3])) } },
  ])('refuses a report the site signed with another $field: AUDIT_STATEMENT_MISMATCH', ({ field, patch }) => {
    // Prepare
    const body = { ...evaluated.body, report: resigned(site.signer, report, patch) }

    // Execute
    const err = thrown(() => checkEvaluationReport(evaluated.seq, stateAt(evaluated.seq), body, decodeStatement('evaluation', body.report.body)))

    // Assert
    expect(err.code).toBe('AUDIT_STATEMENT_MISMATCH')
    expect((err as AuditStatementMismatchError).field).toBe(field)
  })

  it('refuses a report from a site that is not enrolled: AUDIT_STATE_INVALID', () => {
    // Prepare
    const body = { ...evaluated.body, site: 'delta-ward' }

    // Execute
    const err = thrown(() => checkEvaluationReport(evaluated.seq, stateAt(evaluated.seq), body, report))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
  })
})
