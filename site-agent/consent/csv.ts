/**
 * Imports consents from a CSV export of a consent register, with the same
 * report as the FHIR import. Pure: text in, signed records and a report out.
 *
 * The header must name `patient_id, status, valid_from, valid_until,
 * purposes` (any order; other columns are ignored). Each row is one decision:
 *
 * | status | result | columns |
 * |---|---|---|
 * | `active` | receipt | `valid_from` required; `valid_until` empty = open-ended; `purposes` required, `;`-separated codes (`HRESCH;RESCH`) |
 * | `revoked` | revocation | at `valid_until` (required): the consent held up to then |
 *
 * Times are FHIR dates or dateTimes (`2024-03-01`, `2024-03-01T10:00:00Z`),
 * read as in FHIR (fhir-support.ts): `valid_from` is the first millisecond of
 * its value, and `valid_until` *includes* its value at its precision, so
 * `valid_until` `2024-12-31` covers all of that day, and the receipt's
 * exclusive validUntil (or the revocation's time) is 2025-01-01T00:00:00Z.
 * A malformed row becomes one issue naming its patient_id, line and column,
 * and the import goes on.
 */
import { CsvError } from 'csv-parse'
import { parse } from 'csv-parse/sync'
import { ConsentImportError } from './errors.ts'
import { ConsentImportBuilder, PURPOSE_CODE, type ConsentDecision, type ConsentImportInit, type ConsentImportResult } from './import-report.ts'
import { readFhirTime } from './fhir-support.ts'

/** The columns a consent CSV must have. */
export const CONSENT_CSV_COLUMNS = ['patient_id', 'status', 'valid_from', 'valid_until', 'purposes'] as const
type Column = (typeof CONSENT_CSV_COLUMNS)[number]

interface ParsedRecord {
  readonly record: string[]
  readonly info: { readonly lines: number }
}

/**
 * Reads every row of `text` and signs what it finds with `init.authority`.
 * Throws ConsentImportError when the text is not CSV or the header lacks a
 * required column; SiteConfigError for a short site secret or an empty study.
 */
export function importCsvConsents(text: string, init: ConsentImportInit): ConsentImportResult {
  const out = new ConsentImportBuilder(init)
  let records: ParsedRecord[]
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as ParsedRecord[]
  } catch (err) {
    if (!(err instanceof CsvError)) throw err
    throw new ConsentImportError(out.source, `malformed CSV (${err.code}): ${err.message}`, { cause: err })
  }
  const [header, ...rows] = records
  if (header === undefined) throw new ConsentImportError(out.source, `the file is empty, want a header row naming ${CONSENT_CSV_COLUMNS.join(', ')}`)
  const index = {} as Record<Column, number>
  for (const column of CONSENT_CSV_COLUMNS) {
    const i = header.record.indexOf(column)
    if (i < 0)
      throw new ConsentImportError(
        out.source,
        `column ${JSON.stringify(column)} is not in the header; want ${CONSENT_CSV_COLUMNS.join(', ')}, have ${header.record.map((c) => JSON.stringify(c)).join(', ')}`,
      )
    index[column] = i
  }

  for (const { record, info } of rows) {
    // info.lines is where the record ends; a quoted cell may span lines, so count back to its start.
    const line = info.lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0)
    const cell = (c: Column) => record[index[c]] ?? ''
    const patientId = cell('patient_id')
    const id = patientId === '' ? null : patientId
    if (record.length !== header.record.length) {
      out.add(id, `line ${line}`, { field: '(row)', problem: `has ${record.length} cells, want ${header.record.length} as in the header` })
      continue
    }
    out.add(id, `line ${line}`, readRow(cell))
  }
  return out.finish()
}

function readRow(cell: (c: Column) => string): ConsentDecision | { field: string; problem: string } {
  const patientId = cell('patient_id')
  if (patientId === '') return { field: 'patient_id', problem: 'is empty, want the patient id the training records carry' }
  const status = cell('status')
  if (status === 'revoked') {
    if (cell('valid_until') === '') return { field: 'valid_until', problem: 'is empty: a revoked row needs the time the consent ended' }
    const time = readFhirTime(cell('valid_until'), 'end')
    if (!time.ok) return { field: 'valid_until', problem: time.problem }
    return { kind: 'revocation', patientId, time: time.value }
  }
  if (status !== 'active') return { field: 'status', problem: `is ${JSON.stringify(status)}, want "active" or "revoked"` }

  if (cell('valid_from') === '') return { field: 'valid_from', problem: 'is empty, want the date the consent starts' }
  const from = readFhirTime(cell('valid_from'), 'start')
  if (!from.ok) return { field: 'valid_from', problem: from.problem }
  let validUntil: number | null = null
  if (cell('valid_until') !== '') {
    const until = readFhirTime(cell('valid_until'), 'end')
    if (!until.ok) return { field: 'valid_until', problem: until.problem }
    if (until.value <= from.value) return { field: 'valid_until', problem: `is ${JSON.stringify(cell('valid_until'))}, which is before valid_from ${JSON.stringify(cell('valid_from'))}` }
    validUntil = until.value
  }
  const purposes = cell('purposes')
    .split(';')
    .map((p) => p.trim())
  if (cell('purposes') === '') return { field: 'purposes', problem: 'is empty, want ";"-separated purpose codes such as HRESCH' }
  const bad = purposes.find((p) => !PURPOSE_CODE.test(p))
  if (bad !== undefined) return { field: 'purposes', problem: `has the code ${JSON.stringify(bad)}, want codes of 1-128 printable ASCII characters without spaces, separated by ";"` }
  return { kind: 'consent', patientId, purposes, validFrom: from.value, validUntil }
}
