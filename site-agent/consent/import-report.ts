/**
 * The report shape shared by the FHIR and CSV consent imports, and the one
 * place both turn a patient's decision into signed records. An import never
 * stops at a bad resource or row: each becomes an issue naming its id and
 * field, and the others are imported.
 */
import type { Signer } from '../../ledger/core/index.ts'
import { SiteConfigError } from '../errors.ts'
import { ConsentInvalidError, MIN_SITE_SECRET_BYTES, pseudonymOf, signConsent, type SignedConsent } from '../../protocol/index.ts'

/** What every consent import needs. */
export interface ConsentImportInit {
  /** The site's pseudonym key (`pseudonymOf`); at least 16 bytes, one per study recommended. */
  readonly siteSecret: Uint8Array
  /** The study every imported consent is for. One import file holds the consents of one study. */
  readonly study: string
  /** The site's consent authority, which signs every imported receipt and revocation. */
  readonly authority: Signer
  /** Names the input in errors (a file path); default `consent import`. */
  readonly source?: string
}

/** One resource or row that was not imported. */
export interface ConsentImportIssue {
  /** The resource's `id` (FHIR) or the row's `patient_id` (CSV); null when it has none. */
  readonly id: string | null
  /** Where it is: `entry[3]` in a Bundle, `line 7` in NDJSON or CSV. */
  readonly location: string
  /** The offending field: `status`, `provision.period.end`, `patient.reference`, `valid_from`. */
  readonly field: string
  readonly message: string
}

export interface ConsentImportCounts {
  /** Consent resources (FHIR) or data rows (CSV) read. */
  readonly read: number
  /** Receipts signed: active permits. */
  readonly receipts: number
  /** Revocations signed: withdrawals, refusals and denials. */
  readonly revocations: number
  /** Read but neither a consent nor a withdrawal (draft, proposed, entered-in-error). */
  readonly ignored: number
  /** Not imported because malformed; one issue each. */
  readonly invalid: number
  /** Resources of another type in the input (Patient, Observation, …), passed over. */
  readonly skipped: number
}

export interface ConsentImportResult {
  readonly receipts: readonly SignedConsent[]
  readonly revocations: readonly SignedConsent[]
  readonly errors: readonly ConsentImportIssue[]
  readonly counts: ConsentImportCounts
}

/** A patient's decision as read from one resource or row, before it is signed. */
export type ConsentDecision =
  | { readonly kind: 'consent'; readonly patientId: string; readonly purposes: readonly string[]; readonly validFrom: number; readonly validUntil: number | null }
  | { readonly kind: 'revocation'; readonly patientId: string; readonly time: number }
  | { readonly kind: 'ignored' }

/** Purpose codes as the receipt format takes them (protocol/consent.ts). */
export const PURPOSE_CODE = /^[\x21-\x7e]{1,128}$/

/** Collects results and issues; `finish` returns the report. */
export class ConsentImportBuilder {
  readonly #init: ConsentImportInit
  readonly #receipts: SignedConsent[] = []
  readonly #revocations: SignedConsent[] = []
  readonly #errors: ConsentImportIssue[] = []
  #read = 0
  #ignored = 0
  #skipped = 0

  constructor(init: ConsentImportInit) {
    if (!(init.siteSecret instanceof Uint8Array) || init.siteSecret.length < MIN_SITE_SECRET_BYTES) {
      throw new SiteConfigError(`consent import: site secret is ${init.siteSecret?.length ?? 0} bytes, want at least ${MIN_SITE_SECRET_BYTES}`)
    }
    if (typeof init.study !== 'string' || init.study === '') throw new SiteConfigError('consent import: study is empty, want the study id')
    this.#init = init
  }

  get source(): string {
    return this.#init.source ?? 'consent import'
  }

  skip(): void {
    this.#skipped++
  }

  issue(id: string | null, location: string, field: string, message: string): void {
    this.#errors.push({ id, location, field, message })
  }

  /** Records one resource or row: signs its decision, or files the issue it raised. */
  add(id: string | null, location: string, decision: ConsentDecision | { readonly field: string; readonly problem: string }): void {
    this.#read++
    if ('field' in decision) {
      this.issue(id, location, decision.field, `${decision.field} ${decision.problem}`)
      return
    }
    if (decision.kind === 'ignored') {
      this.#ignored++
      return
    }
    const { siteSecret, study, authority } = this.#init
    const pseudonym = pseudonymOf(siteSecret, decision.patientId)
    try {
      if (decision.kind === 'consent') {
        const purposes = [...new Set(decision.purposes)].sort()
        this.#receipts.push(signConsent(authority, { t: 'consent', pseudonym, study, purposes, validFrom: decision.validFrom, validUntil: decision.validUntil, signer: authority.publicKey }))
      } else {
        this.#revocations.push(signConsent(authority, { t: 'consent-revocation', pseudonym, study, time: decision.time, signer: authority.publicKey }))
      }
    } catch (err) {
      // The readers check every field first; this catches what only the receipt format knows (e.g. a study id too long).
      if (!(err instanceof ConsentInvalidError)) throw err
      this.issue(id, location, err.field, err.message)
    }
  }

  finish(): ConsentImportResult {
    return {
      receipts: this.#receipts,
      revocations: this.#revocations,
      errors: this.#errors,
      counts: {
        read: this.#read,
        receipts: this.#receipts.length,
        revocations: this.#revocations.length,
        ignored: this.#ignored,
        invalid: this.#errors.length,
        skipped: this.#skipped,
      },
    }
  }
}
