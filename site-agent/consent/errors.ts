/**
 * Errors of the site's consent handling (import, store, filter) and of FHIR
 * records. Each extends the site agent's base class, so the CLI's one handler
 * maps them like any other `SITE_` error.
 *
 * A malformed *resource* or *row* in a consent import is not an error here:
 * it goes into the import report (`ConsentImportIssue`) and the import goes
 * on. These classes are for what stops an operation as a whole.
 */
import { SiteAgentError, SiteDataError, type SiteDataLocation } from '../errors.ts'

/**
 * A consent file that cannot be imported at all: not JSON, not a FHIR
 * Bundle, a CSV without a required column. `source` names the file.
 */
export class ConsentImportError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_IMPORT_INVALID'
  readonly source: string
  constructor(source: string, problem: string, options?: ErrorOptions) {
    super(`${source}: ${problem}`, options)
    this.source = source
  }
}

/**
 * A signed consent record the store refuses: malformed, a signature that
 * does not verify, or a signer not trusted for its pseudonym. The ledger's
 * error is the `cause`; `reason` is its code.
 */
/**
 * The consent store holds records signed by a consent authority the caller
 * does not trust (another `--authority-key`, a key dropped from the site
 * config). The store itself is intact.
 */
export class ConsentAuthorityUntrustedError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_AUTHORITY_UNTRUSTED'
  readonly signer: string
  constructor(message: string, signer: string, options?: ErrorOptions) {
    super(message, options)
    this.signer = signer
  }
}

export class ConsentRejectedError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_REJECTED'
  readonly reason: string
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** The consent store's file exists but is not a valid store (wrong format, a record that no longer verifies). */
export class ConsentStoreCorruptError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_STORE_CORRUPT'
}

/** A FHIR-to-table mapping that is not valid (`field` is its path, e.g. `observations.8480-6.column`). */
export class FhirMappingError extends SiteAgentError {
  static override readonly code = 'SITE_FHIR_MAPPING_INVALID'
  readonly field: string
  constructor(field: string, problem: string) {
    super(`FHIR mapping: ${field}: ${problem}`)
    this.field = field
  }
}

/**
 * A FHIR resource that a training table is built from cannot be read as the
 * mapping says: a mapped Observation without a patient, with a value of
 * another unit, or an unreadable time. Names the resource and the field.
 */
export class FhirRecordError extends SiteDataError {
  static override readonly code = 'SITE_DATA_FHIR_INVALID'
  readonly resourceId: string | null
  readonly field: string
  constructor(source: string, resource: string, resourceId: string | null, field: string, problem: string, location: SiteDataLocation = {}) {
    super(`${source}: ${resource}: ${field} ${problem}`, { file: source, ...location })
    this.resourceId = resourceId
    this.field = field
  }
}

/** The site kept no consent leaves for a round (it sent no update with consent in it, or the folder was moved). */
export class ConsentRoundMissingError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_ROUND_MISSING'
  readonly round: number
  constructor(round: number, dir: string, options?: ErrorOptions) {
    super(`no consent leaves kept for round ${round} in ${dir}; the site sends them with each update of a study with consent (see \`fedlineage status\` for the rounds it took part in)`, options)
    this.round = round
  }
}

/** The site's replica of the log holds no accepted update of the site for the round with the consent root being proved, or no signed checkpoint covering it: no log proof can be made yet. */
export class ConsentNotInLogError extends SiteAgentError {
  static override readonly code = 'SITE_CONSENT_NOT_IN_LOG'
}
