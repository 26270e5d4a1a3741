/**
 * Reads a site's local CSV file into a RawTable. This is the only part of the
 * data pipeline that touches the file system; everything after it is pure.
 * The file stays on the site: nothing here sends or copies it anywhere.
 */
import { createReadStream } from 'node:fs'
import { CsvError, parse } from 'csv-parse'
// The pure surface models/core/index.ts, so the data pipeline loads no TF.js.
import type { DataSchema } from '../../models/core/index.ts'
import { SiteDataError } from '../errors.ts'
import { type RawTable, requiredColumns, resolveColumns } from './raw-table.ts'
import { parseNumber } from './prepare.ts'

interface ParsedRecord {
  readonly record: string[]
  readonly info: { readonly lines: number }
}

/**
 * Reads `path` as CSV. The first row is the header unless `schema.columns`
 * names the columns (headerless files such as UCI's). Cells are trimmed, a
 * UTF-8 BOM is ignored and blank lines are skipped.
 *
 * Throws SiteDataError when the file cannot be read or parsed, when the header
 * repeats a name, or when a row has the wrong number of cells (naming the file
 * and line); SiteColumnMissingError when a column the schema reads is absent.
 */
export async function readCsvRecords(path: string, schema: DataSchema, options: { readonly labelOptional?: boolean } = {}): Promise<RawTable> {
  let columns: string[] | undefined = schema.columns === undefined ? undefined : [...schema.columns]
  let headerLine = 0
  const rows: string[][] = []
  const lines: number[] = []

  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true })
  const source = createReadStream(path)
  // pipe() does not forward source errors; without this an unreadable file would hang the loop.
  source.on('error', (err) => parser.destroy(err))
  source.pipe(parser)
  try {
    for await (const chunk of parser) {
      const { record, info } = chunk as ParsedRecord
      // info.lines is where the record ends; a quoted cell may span lines, so count back to its start.
      const line = info.lines - record.reduce((n, cell) => n + countNewlines(cell), 0)
      if (columns === undefined) {
        columns = record
        headerLine = line
        checkHeader(path, line, columns)
        continue
      }
      if (record.length !== columns.length) {
        const source = headerLine > 0 ? `the header on line ${headerLine}` : 'schema.columns'
        throw new SiteDataError(`${path} line ${line}: ${record.length} cells, want ${columns.length} as in ${source}`, { file: path, line, row: rows.length + 1 })
      }
      rows.push(record)
      lines.push(line)
    }
  } catch (err) {
    if (err instanceof SiteDataError) throw err
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? err.lines : undefined
      throw new SiteDataError(`${path}${line === undefined ? '' : ` line ${line}`}: malformed CSV (${err.code})`, { file: path, ...(line === undefined ? {} : { line }) }, { cause: err })
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error'
    throw new SiteDataError(`${path}: cannot read the file (${code})`, { file: path }, { cause: err })
  } finally {
    source.destroy()
    parser.destroy()
  }

  if (columns === undefined) throw new SiteDataError(`${path}: the file is empty, want a header row`, { file: path })
  const table: RawTable = { columns, rows, sourcePath: path, lines }
  // A file to score (`fedlineage predict`) may have no label column; every feature column it must have.
  resolveColumns(
    table,
    requiredColumns(schema).filter((c) => !options.labelOptional || c !== schema.label.column || schema.features.some((f) => (f.column ?? f.name) === c)),
  )
  return table
}

function countNewlines(cell: string): number {
  let n = 0
  for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) n++
  return n
}

function checkHeader(path: string, line: number, columns: readonly string[]): void {
  // A headerless file (UCI's raw files) has data on its first line: say so, rather than "column "2" appears twice".
  if (columns.length > 1 && columns.every((c) => parseNumber(c) !== undefined || c === '?')) {
    throw new SiteDataError(
      `${path} line ${line}: the first line is data (${columns.slice(0, 4).join(',')}${columns.length > 4 ? ',…' : ''}), not a header row; if the file has no header, name its ${columns.length} columns in the study spec's data.columns, in file order`,
      { file: path, line },
    )
  }
  const seen = new Set<string>()
  columns.forEach((column, i) => {
    if (column === '') throw new SiteDataError(`${path} line ${line}: header cell ${i + 1} is empty, want a column name`, { file: path, line })
    if (seen.has(column)) throw new SiteDataError(`${path} line ${line}: column ${JSON.stringify(column)} appears twice in the header`, { file: path, line, column })
    seen.add(column)
  })
}
