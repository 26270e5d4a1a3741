/**
 * FHIR R4 Bundles of Patient and Observation resources as a training-record
 * source: one row per patient, one column per feature, cells as strings, the
 * same `RawTable` the CSV reader produces, so `filterTableByConsent` and
 * `prepareSplits` apply unchanged. Pure: a parsed or textual Bundle in, a
 * table out.
 *
 * **The mapping** (the study gives it; JSON, validated with errors that name
 * the field):
 *
 *     {
 *       "patientIdColumn": "patient_id",              // optional, default patient_id
 *       "observations": {                              // LOINC code → column
 *         "8480-6": "systolic_bp",                     //   systolic blood pressure
 *         "2093-3": { "column": "cholesterol", "unit": "mg/dL" },
 *         "39156-5": "bmi"
 *       },
 *       "patient": { "gender": "sex", "birthDate": "birth_date" }   // optional Patient fields
 *     }
 *
 * - A LOINC code is matched against `Observation.code.coding` with system
 *   `http://loinc.org`, and against the codes of `Observation.component`
 *   (a blood-pressure panel carries systolic and diastolic as components).
 *   Several codes may map to one column.
 * - With `unit`, a `valueQuantity` must carry exactly that UCUM code (its
 *   `code`, else its `unit`); values are never converted.
 * - Only Observations with status `final`, `amended` or `corrected` are read.
 *   A patient's cell is their latest such value: the one with the latest
 *   `effectiveDateTime` (else `effectivePeriod.start`, `effectiveInstant`,
 *   `issued`); ties, and values without a time, go to the later one in Bundle
 *   order. An Observation without a value (`dataAbsentReason`) leaves the
 *   cell as it was.
 * - Values: `valueQuantity.value`, `valueInteger`, `valueString`,
 *   `valueBoolean` (`true`/`false`), `valueCodeableConcept` (first coding's
 *   code, else its text). A cell with no value is empty, which the study's
 *   `missingTokens` should list (the default does).
 *
 * Rows are the patients of the Bundle's Patient resources and the subjects
 * of its mapped Observations, sorted by patient id; the first column is the
 * patient id (the Patient's logical id, as in consent imports). A mapped
 * Observation that cannot be read (no subject, a value of another unit, an
 * unreadable time) is an error naming the resource and the field, never a
 * silent drop.
 */
import { z } from 'zod'
import type { RawTable } from '../data/raw-table.ts'
import { FhirMappingError, FhirRecordError } from './errors.ts'
import { describe, isObject, patientFullUrls, readFhirTime, readPatientReference } from './fhir-support.ts'

export const LOINC_SYSTEM = 'http://loinc.org'

const column = z.string().min(1).max(128)
export const FhirRecordMappingSchema = z.strictObject({
  /** The column the Patient's logical id fills (the id consents name). */
  patientIdColumn: column.default('patient_id'),
  /** Per LOINC code, the schema column its Observation's value fills (optionally with the unit it must have); the newest final Observation wins. */
  observations: z
    .record(z.string().regex(/^\d{1,7}-\d$/, 'must be a LOINC code such as 8480-6'), z.union([column, z.strictObject({ column, unit: z.string().min(1).optional() })]))
    .refine((o) => Object.keys(o).length > 0, 'must map at least one LOINC code'),
  /** Columns filled from the Patient resource itself. */
  patient: z
    .strictObject({
      /** The column the Patient's administrative gender fills. */
      gender: column.optional(),
      /** The column the Patient's birth date fills, as the resource writes it (YYYY-MM-DD). */
      birthDate: column.optional(),
    })
    .optional(),
})
export type FhirRecordMapping = z.infer<typeof FhirRecordMappingSchema>
export type FhirRecordMappingInput = z.input<typeof FhirRecordMappingSchema>

export interface FhirRecordsInit {
  /** Names the Bundle in errors and becomes the table's `sourcePath`; default `FHIR bundle`. */
  readonly sourcePath?: string
}

const READ_STATUSES = new Set(['final', 'amended', 'corrected'])

interface Cell {
  readonly value: string
  /** Effective time, -Infinity when the Observation has none. */
  readonly timeMs: number
}

/**
 * The table of `bundle` (a parsed Bundle, or its JSON text) under `mapping`.
 * Throws FhirMappingError for an invalid mapping (naming the field),
 * FhirRecordError for a Bundle or a mapped resource that cannot be read.
 */
export function recordsFromFhirBundle(bundle: unknown, mapping: FhirRecordMappingInput, init: FhirRecordsInit = {}): RawTable {
  const source = init.sourcePath ?? 'FHIR bundle'
  const spec = parseMapping(mapping)
  const entries = bundleEntries(bundle, source)
  const fullUrls = patientFullUrls(entries)

  const codeColumn = new Map<string, { column: string; unit?: string }>()
  for (const [code, target] of Object.entries(spec.observations)) codeColumn.set(code, typeof target === 'string' ? { column: target } : target)
  const featureColumns = [...new Set([...codeColumn.values()].map((t) => t.column))]
  const patientColumns = [spec.patient?.gender, spec.patient?.birthDate].filter((c): c is string => c !== undefined)
  const columns = [spec.patientIdColumn, ...featureColumns, ...patientColumns]
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i)
  if (duplicate !== undefined) throw new FhirMappingError('(root)', `column ${JSON.stringify(duplicate)} is the target of both a feature and the patient id or a Patient field`)

  const cells = new Map<string, Map<string, Cell>>()
  const patientOf = (id: string) => cells.get(id) ?? cells.set(id, new Map()).get(id)!

  entries.forEach((entry, i) => {
    const resource = isObject(entry) ? entry.resource : undefined
    if (!isObject(resource)) return
    const id = typeof resource.id === 'string' ? resource.id : null
    const where = `entry[${i}] ${String(resource.resourceType)}${id === null ? '' : ` ${JSON.stringify(id)}`}`
    const fail = (field: string, problem: string) => new FhirRecordError(source, where, id, field, problem)

    if (resource.resourceType === 'Patient') {
      if (id === null) throw fail('id', `is ${describe(resource.id)}, want the Patient's logical id`)
      const row = patientOf(id)
      if (spec.patient?.gender !== undefined && typeof resource.gender === 'string') row.set(spec.patient.gender, { value: resource.gender, timeMs: Infinity })
      if (spec.patient?.birthDate !== undefined && typeof resource.birthDate === 'string') row.set(spec.patient.birthDate, { value: resource.birthDate, timeMs: Infinity })
      return
    }
    if (resource.resourceType !== 'Observation') return
    // Every mapped code this Observation carries: the Observation itself, then each component.
    const parts: { field: string; node: Record<string, unknown>; target: { column: string; unit?: string } }[] = []
    const own = mappedCode(resource.code, codeColumn)
    if (own !== undefined) parts.push({ field: '', node: resource, target: own })
    if (Array.isArray(resource.component)) {
      resource.component.forEach((component: unknown, k) => {
        if (!isObject(component)) return
        const target = mappedCode(component.code, codeColumn)
        if (target !== undefined) parts.push({ field: `component[${k}].`, node: component, target })
      })
    }
    if (parts.length === 0 || typeof resource.status !== 'string' || !READ_STATUSES.has(resource.status)) return

    const subject = readPatientReference(resource.subject, fullUrls)
    if (!subject.ok) throw fail('subject.reference', subject.problem)
    const timeMs = effectiveTime(resource, fail)
    const row = patientOf(subject.value)
    for (const { field, node, target } of parts) {
      const value = readValue(node, target.unit, (f, p) => fail(`${field}${f}`, p))
      if (value === undefined) continue
      const previous = row.get(target.column)
      if (previous === undefined || timeMs >= previous.timeMs) row.set(target.column, { value, timeMs })
    }
  })

  const ids = [...cells.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const rows = ids.map((id) => {
    const row = cells.get(id)!
    return [id, ...featureColumns.map((c) => row.get(c)?.value ?? ''), ...patientColumns.map((c) => row.get(c)?.value ?? '')]
  })
  return { columns, rows, sourcePath: source }
}

function parseMapping(mapping: FhirRecordMappingInput): FhirRecordMapping {
  const parsed = FhirRecordMappingSchema.safeParse(mapping)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new FhirMappingError(issue && issue.path.length > 0 ? issue.path.join('.') : '(root)', issue?.message ?? 'invalid')
  }
  return parsed.data
}

function bundleEntries(bundle: unknown, source: string): readonly unknown[] {
  let value = bundle
  if (typeof bundle === 'string') {
    try {
      value = JSON.parse(bundle)
    } catch (err) {
      throw new FhirRecordError(source, 'Bundle', null, '(json)', `is not JSON: ${(err as Error).message}`)
    }
  }
  if (!isObject(value) || value.resourceType !== 'Bundle')
    throw new FhirRecordError(source, 'Bundle', null, 'resourceType', `is ${describe(isObject(value) ? value.resourceType : value)}, want "Bundle"`)
  if (value.entry === undefined) return []
  if (!Array.isArray(value.entry)) throw new FhirRecordError(source, 'Bundle', null, 'entry', `is ${describe(value.entry)}, want an array`)
  return value.entry
}

/** The mapping target of the first LOINC coding of a CodeableConcept that the mapping lists. */
function mappedCode(code: unknown, codeColumn: ReadonlyMap<string, { column: string; unit?: string }>): { column: string; unit?: string } | undefined {
  if (!isObject(code) || !Array.isArray(code.coding)) return undefined
  for (const coding of code.coding as unknown[]) {
    if (!isObject(coding) || coding.system !== LOINC_SYSTEM || typeof coding.code !== 'string') continue
    const target = codeColumn.get(coding.code)
    if (target !== undefined) return target
  }
  return undefined
}

function effectiveTime(resource: Record<string, unknown>, fail: (field: string, problem: string) => Error): number {
  const candidates: [string, unknown][] = [
    ['effectiveDateTime', resource.effectiveDateTime],
    ['effectivePeriod.start', isObject(resource.effectivePeriod) ? resource.effectivePeriod.start : undefined],
    ['effectiveInstant', resource.effectiveInstant],
    ['issued', resource.issued],
  ]
  for (const [field, value] of candidates) {
    if (value === undefined) continue
    const t = readFhirTime(value, 'start')
    if (!t.ok) throw fail(field, t.problem)
    return t.value
  }
  return -Infinity
}

function readValue(node: Record<string, unknown>, unit: string | undefined, fail: (field: string, problem: string) => Error): string | undefined {
  if (node.valueQuantity !== undefined) {
    const q = node.valueQuantity
    if (!isObject(q) || typeof q.value !== 'number' || !Number.isFinite(q.value)) throw fail('valueQuantity.value', `is ${describe(isObject(q) ? q.value : q)}, want a finite number`)
    const got = typeof q.code === 'string' ? q.code : q.unit
    if (unit !== undefined && got !== unit) throw fail('valueQuantity.code', `is ${describe(got)}, want ${JSON.stringify(unit)} as the mapping says (values are not converted)`)
    return String(q.value)
  }
  if (unit !== undefined && (node.valueInteger !== undefined || node.valueString !== undefined || node.valueBoolean !== undefined || node.valueCodeableConcept !== undefined)) {
    throw fail('valueQuantity', `is missing, want a quantity in ${JSON.stringify(unit)} as the mapping says`)
  }
  if (node.valueInteger !== undefined) {
    if (!Number.isInteger(node.valueInteger)) throw fail('valueInteger', `is ${describe(node.valueInteger)}, want an integer`)
    return String(node.valueInteger)
  }
  if (node.valueString !== undefined) {
    if (typeof node.valueString !== 'string') throw fail('valueString', `is ${describe(node.valueString)}, want a string`)
    return node.valueString.trim()
  }
  if (node.valueBoolean !== undefined) {
    if (typeof node.valueBoolean !== 'boolean') throw fail('valueBoolean', `is ${describe(node.valueBoolean)}, want true or false`)
    return String(node.valueBoolean)
  }
  if (node.valueCodeableConcept !== undefined) {
    const c = node.valueCodeableConcept
    const coding = isObject(c) && Array.isArray(c.coding) ? (c.coding as unknown[]).find((x) => isObject(x) && typeof x.code === 'string') : undefined
    if (isObject(coding)) return coding.code as string
    if (isObject(c) && typeof c.text === 'string') return c.text.trim()
    throw fail('valueCodeableConcept', 'has neither a coding with a code nor a text')
  }
  return undefined
}
