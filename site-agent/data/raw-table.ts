/**
 * A site's local table as read from disk, before any schema is applied: every
 * cell still a string. The reader (`csv-source.ts`) produces it; the pure
 * preparation (`prepare.ts`) consumes it. Keeping cells as strings until then
 * lets preparation report the exact text of a bad cell.
 */
// The pure surface models/core/index.ts, so the data pipeline loads no TF.js.
import type { DataSchema } from '../../models/core/index.ts'
import { SiteColumnMissingError, type SiteDataLocation } from '../errors.ts'

export interface RawTable {
  /** Column names in file order (the header row, or `schema.columns` for headerless files). */
  readonly columns: readonly string[]
  /** Data rows; each has exactly `columns.length` cells, already trimmed. */
  readonly rows: readonly (readonly string[])[]
  /** Where the table came from, used to name the file in errors. */
  readonly sourcePath: string
  /**
   * 1-based line in the source file where each row starts, parallel to `rows`.
   * Optional so tables built in memory need not invent lines; when present,
   * errors name the line rather than only the row.
   */
  readonly lines?: readonly number[]
}

/** The source columns a schema reads, in schema order (features, then the label), without duplicates. */
export function requiredColumns(schema: DataSchema): string[] {
  const out: string[] = []
  for (const f of schema.features) {
    const column = f.column ?? f.name
    if (!out.includes(column)) out.push(column)
  }
  if (!out.includes(schema.label.column)) out.push(schema.label.column)
  return out
}

/**
 * Index of each wanted column in `table.columns`.
 * Throws SiteColumnMissingError naming the first absent column and listing the available ones.
 */
export function resolveColumns(table: Pick<RawTable, 'columns' | 'sourcePath'>, wanted: readonly string[]): Map<string, number> {
  const index = new Map<string, number>()
  for (const column of wanted) {
    const i = table.columns.indexOf(column)
    if (i < 0) {
      const available = table.columns.map((c) => JSON.stringify(c)).join(', ')
      throw new SiteColumnMissingError(`${table.sourcePath}: column ${JSON.stringify(column)} is not in the file; available columns: ${available}`, { file: table.sourcePath, column }, [
        ...table.columns,
      ])
    }
    index.set(column, i)
  }
  return index
}

/** Location of data row `rowIndex` (0-based into `rows`) for errors, and the matching message prefix. */
export function rowLocation(table: RawTable, rowIndex: number, column?: string): { location: SiteDataLocation; where: string } {
  const row = rowIndex + 1
  const line = table.lines?.[rowIndex]
  const where = line === undefined ? `${table.sourcePath} data row ${row}` : `${table.sourcePath} line ${line} (data row ${row})`
  const location: SiteDataLocation = { file: table.sourcePath, row, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) }
  return { location, where }
}
