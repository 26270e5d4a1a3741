/**
 * The consent rule of an update, checked by the coordinator before it reads
 * a delta byte and again by the auditor on every logged update. A study with
 * `consent` requires every update envelope to carry a consent claim
 * (`ext.consent`, consent-claim.ts); an envelope that carries one
 * in a study without consent is held to the same rule. The claim must:
 *
 * 1. read as a claim (COORD_CONSENT_INVALID, the ledger's code as `reason`);
 * 2. be decided at the round's time, `at` = the time the round opened, and
 *    report only revocations that apply by then (`time <= at`); a site that
 *    trained on records (`examples > 0`) committed to at least one receipt
 *    (COORD_CONSENT_INVALID);
 * 3. prove absent from its tree every pseudonym the site revoked: each one
 *    logged so far (`consent-revoked`) and each one it reports now
 *    (COORD_CONSENT_PROOF_MISSING, COORD_CONSENT_PROOF_INVALID).
 *
 * The revocations it reports that the log does not hold yet are returned:
 * the coordinator logs them (`consent-revoked`, first round = this round) in
 * the batch of the update, just before its `update-accepted`.
 *
 * Pure: no I/O, no clock.
 */
import { LedgerError, toHex } from '../ledger/core/index.ts'
import { checkConsentNonInclusion, consentClaimOf, type ConsentClaim, type RevokedPseudonym } from './consent-claim.ts'
import type { UpdateEnvelope } from './statements.ts'
import { ConsentClaimInvalidError, ConsentMissingError, ConsentProofInvalidError, ConsentProofMissingError, ProtocolError, WrongRoundError } from './errors.ts'
import type { StudyState } from './study-state.ts'

/** What an admitted update says about consent. */
export interface ConsentAdmission {
  /** The envelope's claim; undefined when it carries none (allowed only without `study.consent`). */
  readonly claim: ConsentClaim | undefined
  /** Revocations the envelope reports that the log does not hold yet, sorted by pseudonym. */
  readonly newRevocations: readonly RevokedPseudonym[]
}

/**
 * Checks the consent claim of `env` (see the module comment). Requires
 * `env.round` to be a round of `state` (the envelope checks come first).
 * `consentRequired` is whether the study spec sets `consent`. Throws
 * ConsentMissingError, ConsentClaimInvalidError, ConsentProofMissingError or
 * ConsentProofInvalidError, each naming the site, the round and the values.
 */
export function checkUpdateConsent(state: StudyState, env: UpdateEnvelope, consentRequired: boolean): ConsentAdmission {
  const who = `update from site "${env.site}" for round ${env.round}`
  let claim: ConsentClaim | undefined
  try {
    claim = consentClaimOf(env.ext)
  } catch (err) {
    if (!(err instanceof LedgerError || err instanceof ProtocolError)) throw err
    throw new ConsentClaimInvalidError(`${who}: ext.consent: ${err.message}`, err.code, { cause: err })
  }
  if (claim === undefined) {
    if (consentRequired)
      throw new ConsentMissingError(`${who}: the study requires consent, but the envelope carries no ext.consent; configure the site's consent store (\`fedlineage consent import\`)`)
    return { claim: undefined, newRevocations: [] }
  }
  const round = state.rounds.get(env.round)
  if (round === undefined) throw new WrongRoundError(`${who}: round ${env.round} was never opened`)
  if (claim.at !== round.openedMs) throw new ConsentClaimInvalidError(`${who}: ext.consent.at is ${claim.at}, want ${round.openedMs}, the time round ${env.round} opened`)
  const early = claim.revoked.find((r) => r.time > claim.at)
  if (early !== undefined) {
    throw new ConsentClaimInvalidError(`${who}: ext.consent.revoked: pseudonym ${toHex(early.pseudonym)} revoked at ${early.time}, after the round's time ${claim.at}; it applies from the next round`)
  }
  if (claim.count === 0 && env.examples > 0) throw new ConsentClaimInvalidError(`${who}: trained on ${env.examples} records with an empty consent tree (count 0)`)

  const logged = state.revocations.get(env.site)
  const required = [...(logged?.values() ?? [])].map((r) => r.pseudonym)
  const newRevocations = claim.revoked.filter((r) => !logged?.has(toHex(r.pseudonym)))
  required.push(...newRevocations.map((r) => r.pseudonym))
  for (const pseudonym of required) {
    try {
      checkConsentNonInclusion(claim, [pseudonym])
    } catch (err) {
      if (!(err instanceof LedgerError || err instanceof ProtocolError)) throw err
      if (err.code === 'PROTOCOL_CONSENT_PROOF_MISSING') throw new ConsentProofMissingError(`${who}: ${err.message}`, pseudonym, { cause: err })
      throw new ConsentProofInvalidError(`${who}: revoked pseudonym ${toHex(pseudonym)} is not proven absent from consent root ${toHex(claim.root)}: ${err.message}`, pseudonym, err.code, {
        cause: err,
      })
    }
  }
  return { claim, newRevocations }
}
