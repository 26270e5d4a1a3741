/**
 * Imports FHIR R4 `Consent` resources (https://hl7.org/fhir/R4/consent.html)
 * from a Bundle (JSON) or from NDJSON (one resource per line, as FHIR Bulk
 * Data exports them) into signed consent receipts and revocations. Pure: text
 * in, signed records and a report out.
 *
 * How a resource is read, by `status`:
 *
 * | status | provision.type | result | time |
 * |---|---|---|---|
 * | `active` | `permit` | receipt | validFrom = provision.period.start, else dateTime; validUntil = provision.period.end (exclusive bound of its precision), else open-ended |
 * | `active` | `deny` | revocation | provision.period.start, else dateTime |
 * | `inactive` | any | revocation | the earlier of provision.period.end (exclusive bound) and meta.lastUpdated; else dateTime |
 * | `rejected` | any | revocation | dateTime, else meta.lastUpdated |
 * | `draft`, `proposed`, `entered-in-error` | — | ignored | — |
 *
 * A revocation at T withdraws the patient from the study for every round at
 * or after T, and revokes every receipt of theirs for the study whose
 * validFrom <= T (protocol/consent.ts). So an `inactive` or `rejected`
 * resource imported after the `active` one it replaces ends that consent;
 * imported on its own it simply adds no consent. A later `active` permit
 * starting after T is a new consent and counts again. `entered-in-error` adds
 * nothing and takes nothing away: revocations are per patient and study, not
 * per resource, so withdrawing a receipt wrongly imported earlier means
 * rebuilding the store from a corrected export.
 *
 * Purposes are the `code`s of `provision.purpose` (v3-ActReason, e.g.
 * `HRESCH`); a permit without one is refused rather than read as "any
 * purpose". The patient is `patient.reference`: `Patient/<id>`, an absolute
 * URL ending so, or a `urn:uuid:` fullUrl of a Patient in the same Bundle;
 * `<id>` is the id the site's training records carry. Nested provisions
 * (`provision.provision`, exceptions to the base rule) are refused as
 * unsupported rather than ignored, since ignoring an exception could permit
 * what the patient denied. `provision.actor`, `.data`, `.class` and `.code`
 * are not read: the import is for one study, named by the caller.
 *
 * A malformed resource becomes one issue naming its `id` and the field
 * (missing status, a bad period, no patient reference, an unknown provision
 * type, ...) and the import goes on with the others.
 */
import { ConsentImportBuilder, PURPOSE_CODE, type ConsentDecision, type ConsentImportInit, type ConsentImportResult } from './import-report.ts'
import { ConsentImportError } from './errors.ts'
import { describe, isObject, patientFullUrls, readFhirTime, readPatientReference } from './fhir-support.ts'

export interface FhirConsentImportInit extends ConsentImportInit {
  /** `bundle`: one JSON Bundle; `ndjson`: one resource per line. */
  readonly format: 'bundle' | 'ndjson'
}

const STATUSES = ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'] as const
type Status = (typeof STATUSES)[number]

type Problem = { readonly field: string; readonly problem: string }
const problem = (field: string, text: string): Problem => ({ field, problem: text })

/**
 * Reads every Consent of `text` and signs what it finds with
 * `init.authority`. Throws ConsentImportError only when the input as a whole
 * is unreadable (a Bundle that is not JSON or not a Bundle); SiteConfigError
 * for a short site secret or an empty study.
 */
export function importFhirConsents(text: string, init: FhirConsentImportInit): ConsentImportResult {
  const out = new ConsentImportBuilder(init)
  if (init.format === 'bundle') {
    const entries = bundleEntries(text, out.source)
    const fullUrls = patientFullUrls(entries)
    entries.forEach((entry, i) => {
      const resource = isObject(entry) ? entry.resource : undefined
      if (!isObject(resource)) {
        out.issue(null, `entry[${i}]`, 'resource', `resource is ${describe(resource)}, want a FHIR resource`)
        return
      }
      importResource(out, resource, `entry[${i}]`, fullUrls)
    })
  } else {
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim()
      if (line === '') return
      let resource: unknown
      try {
        resource = JSON.parse(line)
      } catch (err) {
        out.issue(null, `line ${i + 1}`, '(json)', `not JSON: ${(err as Error).message}`)
        return
      }
      if (!isObject(resource)) {
        out.issue(null, `line ${i + 1}`, '(root)', `is ${describe(resource)}, want a FHIR resource`)
        return
      }
      importResource(out, resource, `line ${i + 1}`, new Map())
    })
  }
  return out.finish()
}

function bundleEntries(text: string, source: string): readonly unknown[] {
  let bundle: unknown
  try {
    bundle = JSON.parse(text)
  } catch (err) {
    throw new ConsentImportError(source, `not JSON (${(err as Error).message}); for one resource per line use the ndjson format`, { cause: err })
  }
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') {
    throw new ConsentImportError(source, `resourceType is ${describe(isObject(bundle) ? bundle.resourceType : bundle)}, want "Bundle"`)
  }
  if (bundle.entry === undefined) return []
  if (!Array.isArray(bundle.entry)) throw new ConsentImportError(source, `entry is ${describe(bundle.entry)}, want an array`)
  return bundle.entry
}

function importResource(out: ConsentImportBuilder, resource: Record<string, unknown>, location: string, fullUrls: ReadonlyMap<string, string>): void {
  if (resource.resourceType !== 'Consent') {
    out.skip()
    return
  }
  const id = typeof resource.id === 'string' ? resource.id : null
  out.add(id, location, readConsent(resource, fullUrls))
}

/** One Consent resource as a decision, or the first problem found in it. */
export function readConsent(resource: Record<string, unknown>, fullUrls: ReadonlyMap<string, string> = new Map()): ConsentDecision | Problem {
  const status = resource.status
  if (status === undefined) return problem('status', `is missing, want one of ${STATUSES.join(', ')}`)
  if (!(STATUSES as readonly unknown[]).includes(status)) return problem('status', `is ${describe(status)}, want one of ${STATUSES.join(', ')}`)
  if (status === 'draft' || status === 'proposed' || status === 'entered-in-error') return { kind: 'ignored' }

  const patient = readPatientReference(resource.patient, fullUrls)
  if (!patient.ok) return problem('patient.reference', resource.patient === undefined ? 'is missing, want "Patient/<id>"' : patient.problem)

  const times = readTimes(resource)
  if ('field' in times) return times
  const provision = resource.provision
  if (provision !== undefined && !isObject(provision)) return problem('provision', `is ${describe(provision)}, want an object`)
  if (isObject(provision) && provision.provision !== undefined) {
    return problem('provision.provision', 'is present: nested provisions (exceptions to the base rule) are not supported; flatten the consent into one permit or deny')
  }
  const type = isObject(provision) ? provision.type : undefined

  switch (status as Status) {
    case 'active': {
      if (!isObject(provision)) return problem('provision', 'is missing, want { type: "permit", purpose, period } for an active consent')
      if (type === undefined) return problem('provision.type', 'is missing, want "permit" or "deny"')
      if (type !== 'permit' && type !== 'deny') return problem('provision.type', `is ${describe(type)}, want "permit" or "deny"`)
      const from = times.periodStart ?? times.dateTime
      if (from === undefined) return problem('provision.period.start', 'is missing and so is dateTime: want the time the consent starts')
      if (type === 'deny') return { kind: 'revocation', patientId: patient.value, time: from }
      const purposes = readPurposes(provision.purpose)
      if ('field' in purposes) return purposes
      return { kind: 'consent', patientId: patient.value, purposes, validFrom: from, validUntil: times.periodEnd ?? null }
    }
    case 'inactive': {
      if (type !== undefined && type !== 'permit' && type !== 'deny') return problem('provision.type', `is ${describe(type)}, want "permit" or "deny"`)
      const ends = [times.periodEnd, times.lastUpdated].filter((t): t is number => t !== undefined)
      const time = ends.length > 0 ? Math.min(...ends) : times.dateTime
      if (time === undefined) return problem('provision.period.end', 'is missing, and so are meta.lastUpdated and dateTime: want the time the consent ended')
      return { kind: 'revocation', patientId: patient.value, time }
    }
    case 'rejected': {
      if (type !== undefined && type !== 'permit' && type !== 'deny') return problem('provision.type', `is ${describe(type)}, want "permit" or "deny"`)
      const time = times.dateTime ?? times.lastUpdated
      if (time === undefined) return problem('dateTime', 'is missing and so is meta.lastUpdated: want the time the consent was rejected')
      return { kind: 'revocation', patientId: patient.value, time }
    }
    default:
      return { kind: 'ignored' }
  }
}

interface Times {
  readonly periodStart?: number
  /** Exclusive bound: the first ms after provision.period.end at its precision. */
  readonly periodEnd?: number
  readonly dateTime?: number
  readonly lastUpdated?: number
}

function readTimes(resource: Record<string, unknown>): Times | Problem {
  const provision = isObject(resource.provision) ? resource.provision : {}
  const out: { periodStart?: number; periodEnd?: number; dateTime?: number; lastUpdated?: number } = {}
  if (provision.period !== undefined) {
    if (!isObject(provision.period)) return problem('provision.period', `is ${describe(provision.period)}, want { start, end }`)
    const { start, end } = provision.period
    if (start !== undefined) {
      const t = readFhirTime(start, 'start')
      if (!t.ok) return problem('provision.period.start', t.problem)
      out.periodStart = t.value
    }
    if (end !== undefined) {
      const t = readFhirTime(end, 'end')
      if (!t.ok) return problem('provision.period.end', t.problem)
      out.periodEnd = t.value
    }
    if (out.periodStart !== undefined && out.periodEnd !== undefined && out.periodEnd <= out.periodStart) {
      return problem('provision.period.end', `is ${JSON.stringify(end)}, which is before start ${JSON.stringify(start)}`)
    }
  }
  if (resource.dateTime !== undefined) {
    const t = readFhirTime(resource.dateTime, 'start')
    if (!t.ok) return problem('dateTime', t.problem)
    out.dateTime = t.value
  }
  const lastUpdated = isObject(resource.meta) ? resource.meta.lastUpdated : undefined
  if (lastUpdated !== undefined) {
    const t = readFhirTime(lastUpdated, 'start')
    if (!t.ok) return problem('meta.lastUpdated', t.problem)
    out.lastUpdated = t.value
  }
  return out
}

function readPurposes(purpose: unknown): string[] | Problem {
  if (purpose === undefined) return problem('provision.purpose', 'is missing, want at least one purpose code (e.g. v3-ActReason HRESCH)')
  if (!Array.isArray(purpose) || purpose.length === 0) return problem('provision.purpose', `is ${describe(purpose)}, want a non-empty array of Codings`)
  const codes: string[] = []
  for (let i = 0; i < purpose.length; i++) {
    const coding = purpose[i] as unknown
    const c = isObject(coding) ? coding.code : undefined
    if (typeof c !== 'string' || !PURPOSE_CODE.test(c)) {
      return problem(`provision.purpose[${i}].code`, `is ${describe(c)}, want a code of 1-128 printable ASCII characters without spaces`)
    }
    codes.push(c)
  }
  return codes
}
