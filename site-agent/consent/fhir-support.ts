/**
 * Small readers of FHIR R4 primitives shared by the consent import and the
 * FHIR record source: date/dateTime/instant values and Patient references.
 * Pure. Each reader returns a value or a problem sentence (`is ...`, `want
 * ...`), so the caller can name the resource and the field around it.
 */

/** A value, or the reason there is none (completes `<field> ...`). */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string }

const ok = <T>(value: T): Read<T> => ({ ok: true, value })
const fail = (problem: string): Read<never> => ({ ok: false, problem })

// FHIR R4 dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime): YYYY, YYYY-MM, YYYY-MM-DD, or a full
// time with seconds and a zone (a time without a zone is not valid FHIR). `instant` is the last form only.
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?)?)?$/

/**
 * Reads a FHIR date, dateTime or instant as milliseconds since the epoch.
 *
 * A value names an interval at its precision: `2024` is the whole year,
 * `2024-03-01` the whole day, `2024-03-01T10:00:00Z` the whole second, and a
 * fraction the interval of its last digit. `bound: 'start'` gives the
 * interval's first millisecond; `bound: 'end'` the first millisecond *after*
 * it, because a FHIR Period's end "includes any matching date/time": an end
 * of `2024-12-31` covers all of that day, so the consent's exclusive
 * `validUntil` is 2025-01-01T00:00:00Z. Dates without a time are read in UTC
 * (a site-wide convention: a bare date carries no zone). Values before 1970
 * and leap seconds are refused.
 */
export function readFhirTime(value: unknown, bound: 'start' | 'end'): Read<number> {
  if (typeof value !== 'string') return fail(`is ${describe(value)}, want a FHIR dateTime string such as "2024-03-01" or "2024-03-01T10:00:00Z"`)
  const m = DATE_TIME.exec(value)
  if (m === null) return fail(`is ${JSON.stringify(value)}, want a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff]±hh:mm|Z)`)
  const [, y, mo, d, h, mi, s, fraction, zone] = m
  const year = Number(y)
  // Checked before any Date arithmetic, which would read years 0-99 as 1900-1999.
  if (year < 1970) return fail(`is ${JSON.stringify(value)}, which is before 1970-01-01T00:00:00Z`)
  const month = mo === undefined ? 1 : Number(mo)
  const day = d === undefined ? 1 : Number(d)
  if (month < 1 || month > 12) return fail(`is ${JSON.stringify(value)}: month ${mo} is not 01-12`)
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (day < 1 || day > daysInMonth) return fail(`is ${JSON.stringify(value)}: day ${d} is not in ${y}-${String(month).padStart(2, '0')}`)

  let start: number
  let end: number
  if (h === undefined) {
    start = Date.UTC(year, month - 1, day)
    end = d !== undefined ? Date.UTC(year, month - 1, day + 1) : mo !== undefined ? Date.UTC(year, month, 1) : Date.UTC(year + 1, 0, 1)
  } else {
    const [hour, minute, second] = [Number(h), Number(mi), Number(s)]
    if (hour > 23 || minute > 59) return fail(`is ${JSON.stringify(value)}: time ${h}:${mi} is not a time of day`)
    if (second > 59) return fail(`is ${JSON.stringify(value)}: second ${s} is not 00-59 (leap seconds are not supported)`)
    const offsetMs = zoneOffsetMs(zone as string)
    if (offsetMs === null) return fail(`is ${JSON.stringify(value)}: zone ${zone} is not -14:00 to +14:00`)
    const digits = fraction ?? ''
    const ms = digits === '' ? 0 : Number(digits.slice(0, 3).padEnd(3, '0'))
    start = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMs
    // The interval of the last digit given: 1 s without a fraction, 100 ms for one digit, ... at least 1 ms.
    end = start + (digits.length >= 3 ? 1 : 10 ** (3 - digits.length))
  }
  if (start < 0) return fail(`is ${JSON.stringify(value)}, which is before 1970-01-01T00:00:00Z`)
  return ok(bound === 'start' ? start : end)
}

function zoneOffsetMs(zone: string): number | null {
  if (zone === 'Z') return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const [hh, mm] = zone.slice(1).split(':').map(Number) as [number, number]
  if (mm > 59 || hh * 60 + mm > 14 * 60) return null
  return sign * (hh * 60 + mm) * 60_000
}

// FHIR logical id: https://hl7.org/fhir/R4/datatypes.html#id
const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}'
const PATIENT_REFERENCE = new RegExp(`(?:^|/)Patient/(${FHIR_ID})(?:/_history/${FHIR_ID})?$`)

/**
 * The Patient's logical id from a Reference: `{ reference: "Patient/123" }`,
 * an absolute `https://…/Patient/123` (a version suffix `/_history/n` is
 * dropped), or a `urn:uuid:…` that the Bundle resolves to a Patient entry
 * (`fullUrls` maps an entry's fullUrl to its Patient id).
 */
export function readPatientReference(reference: unknown, fullUrls: ReadonlyMap<string, string> = new Map()): Read<string> {
  if (typeof reference !== 'object' || reference === null) return fail(`is ${describe(reference)}, want a Reference such as { "reference": "Patient/123" }`)
  const text = (reference as { reference?: unknown }).reference
  if (typeof text !== 'string' || text === '') return fail(`is ${describe(text)}, want "Patient/<id>"`)
  const resolved = fullUrls.get(text)
  if (resolved !== undefined) return ok(resolved)
  const m = PATIENT_REFERENCE.exec(text)
  if (m === null) return fail(`is ${JSON.stringify(text)}, want "Patient/<id>" (or a fullUrl of a Patient in the same Bundle)`)
  return ok(m[1] as string)
}

/** fullUrl → Patient id for every Patient entry of a Bundle, so `urn:uuid:` references resolve. */
export function patientFullUrls(entries: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const entry of entries) {
    if (!isObject(entry) || typeof entry.fullUrl !== 'string') continue
    const resource = entry.resource
    if (isObject(resource) && resource.resourceType === 'Patient' && typeof resource.id === 'string') out.set(entry.fullUrl, resource.id)
  }
  return out
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A short description of a value for messages: `missing`, `a number`, `"text"`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing'
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value === 'object' ? 'JSON object' : typeof value}`
}
