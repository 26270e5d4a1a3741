/**
 * The consent of each logged update, re-checked from the log alone: the
 * site-signed consent claim of every `update-accepted` envelope (with
 * `checkUpdateConsent`, the coordinator's own rule, so the audit and the
 * coordinator cannot disagree), and the `consent-revoked` entries logged with
 * it, which must be exactly the new revocations that signed envelope reports.
 *
 * What this proves: after a site reported a patient's withdrawal, every later
 * consent root it committed to comes with a valid proof that the patient's
 * pseudonym is not in it (given that the site builds its trees sorted, which
 * only the site's leaves can show: ledger/core/consent.ts). A coordinator
 * cannot drop a revocation the site reported, invent one, or accept a later
 * update without the proof, and a site cannot commit a root holding the
 * revoked pseudonym without the audit failing.
 *
 * Pure: no I/O.
 */
import { LedgerError, toHex } from '../../ledger/core/index.ts'
import {
  AuditConsentCountMismatchError,
  AuditConsentMalformedError,
  AuditConsentMissingError,
  AuditConsentProofInvalidError,
  AuditConsentProofMissingError,
  AuditConsentRevocationMismatchError,
  entryLabel,
} from '../errors.ts'
import {
  consentClaimOf,
  type ConsentClaim,
  type UpdateEnvelope,
  ConsentClaimInvalidError,
  ConsentMissingError,
  ConsentProofInvalidError,
  ConsentProofMissingError,
  ENTRY_KINDS,
  checkUpdateConsent,
  type ConsentAdmission,
  type RevocationRecord,
  type StudyState,
  type UpdateAcceptedBody,
  ProtocolError,
} from '../../protocol/index.ts'

/**
 * The consent claim of an accepted update's signed envelope, held to
 * `checkUpdateConsent` as the coordinator should have: present when the
 * study requires consent, decided at the round's opening time, and proving
 * absent every pseudonym its site revoked (logged, including the
 * `consent-revoked` entries just before it, or reported by the envelope).
 * Requires the record applied and its envelope checked (`checkUpdateEnvelope`).
 * Throws AUDIT_CONSENT_MISSING, _MALFORMED, _PROOF_MISSING, _PROOF_INVALID or
 * _COUNT_MISMATCH.
 */
export function checkUpdateConsentClaim(seq: number, state: StudyState, body: UpdateAcceptedBody, envelope: UpdateEnvelope, consentRequired: boolean): ConsentAdmission {
  const at = entryLabel(seq, ENTRY_KINDS.UPDATE_ACCEPTED)
  try {
    return checkUpdateConsent(state, envelope, consentRequired)
  } catch (err) {
    const options = { cause: err }
    if (err instanceof ConsentMissingError) throw new AuditConsentMissingError(`${at}: ${err.message}`, seq, options)
    if (err instanceof ConsentClaimInvalidError) throw new AuditConsentMalformedError(`${at}: ${err.message}`, seq, options)
    if (err instanceof ConsentProofMissingError) throw new AuditConsentProofMissingError(`${at}: ${err.message}`, seq, err.pseudonym, options)
    if (err instanceof ConsentProofInvalidError) {
      const cause = err.cause as { expected?: unknown; calculated?: unknown } | undefined
      if (err.reason === 'PROTOCOL_CONSENT_COUNT_MISMATCH' && typeof cause?.expected === 'number' && typeof cause.calculated === 'number') {
        throw new AuditConsentCountMismatchError(`${at}: ${err.message}`, seq, cause.expected, cause.calculated, options)
      }
      throw new AuditConsentProofInvalidError(`${at}: site "${body.site}": ${err.message}`, seq, err.pseudonym, err.reason, options)
    }
    throw err
  }
}

/**
 * The `consent-revoked` entries logged just before an update (`pending`, in
 * log order, already applied to `state`) are exactly the revocations its
 * signed claim reports that the log did not hold before them, with the same
 * times. Checked before the claim's proofs, so that a revocation the
 * coordinator invented is blamed on it rather than on the site's missing
 * proof. Requires the update's record applied. Throws
 * AuditConsentRevocationMismatchError, or AuditConsentMalformedError when the
 * claim does not read.
 */
export function checkRevocationsReported(seq: number, state: StudyState, body: UpdateAcceptedBody, envelope: UpdateEnvelope, pending: readonly RevocationRecord[]): void {
  const at = entryLabel(seq, ENTRY_KINDS.UPDATE_ACCEPTED)
  let claim: ConsentClaim | undefined
  try {
    claim = consentClaimOf(envelope.ext)
  } catch (err) {
    if (!(err instanceof LedgerError || err instanceof ProtocolError)) throw err
    throw new AuditConsentMalformedError(`${at}: the envelope of site "${body.site}": ext.consent: ${err.message}`, seq, { cause: err })
  }
  const stranger = pending.find((r) => r.site !== body.site || r.round !== body.round)
  if (stranger !== undefined) {
    throw new AuditConsentRevocationMismatchError(
      `${at}: entry ${stranger.seq} (consent-revoked) is for site "${stranger.site}" in round ${stranger.round}, but the update it precedes is from "${body.site}" in round ${body.round}`,
      seq,
      describe([stranger]),
      describe([]),
    )
  }
  const justLogged = new Set(pending.map((r) => toHex(r.pseudonym)))
  const earlier = state.revocations.get(body.site)
  const reported = (claim?.revoked ?? []).filter((r) => {
    const key = toHex(r.pseudonym)
    return justLogged.has(key) || earlier?.has(key) !== true
  })
  const logged = describe(pending)
  const signed = describe(reported)
  if (logged !== signed) {
    throw new AuditConsentRevocationMismatchError(
      `${at}: the log holds the new revocations ${logged || 'none'} with this update, but the envelope site "${body.site}" signed reports ${signed || 'none'} as new`,
      seq,
      logged,
      signed,
    )
  }
}

/**
 * Revocations logged (`pending`) must be followed by the update that reports
 * them; called when any other entry, or the end of the log, comes first.
 * Throws AuditConsentRevocationMismatchError naming the first of them.
 */
export function checkNoRevocationPending(seq: number, kind: string | undefined, pending: readonly RevocationRecord[]): void {
  const first = pending[0]
  if (first === undefined) return
  const next = kind === undefined ? 'the end of the log' : entryLabel(seq, kind)
  throw new AuditConsentRevocationMismatchError(
    `entry ${first.seq} (consent-revoked): revocation at site "${first.site}" in round ${first.round} is followed by ${next}, not by the update of that site that reports it`,
    first.seq,
    describe(pending),
    describe([]),
  )
}

/** `pseudonym@time, …` sorted by pseudonym: comparable lists of revocations. */
function describe(revocations: readonly { readonly pseudonym: Uint8Array; readonly time: number }[]): string {
  return revocations
    .map((r) => `${toHex(r.pseudonym)}@${r.time}`)
    .sort()
    .join(', ')
}
