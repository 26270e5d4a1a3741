/**
 * What a site's records look like column by column, before anything trains:
 * per feature, how many cells are missing and, for a numeric column, its
 * range and mean; for a categorical column, how often each category occurs
 * and which values are not categories of the schema. Pure; read from the raw
 * table(s) as the schema reads them (same missing tokens, same matching of
 * category values), so the profile describes exactly the cells the pipeline sees.
 */
import type { DataSchema } from '../../models/core/index.ts'
import { cellMatches, parseNumber } from './prepare.ts'
import { type RawTable, resolveColumns } from './raw-table.ts'

export interface NumericProfile {
  readonly feature: string
  readonly column: string
  readonly type: 'numeric'
  readonly missing: number
  readonly rows: number
  /** Of the present cells that parse as numbers; absent when none does. */
  readonly min?: number
  readonly max?: number
  readonly mean?: number
  /** Present cells that are not numbers (the pipeline refuses the file for these). */
  readonly invalid: number
}

export interface CategoricalProfile {
  readonly feature: string
  readonly column: string
  readonly type: 'categorical'
  readonly missing: number
  readonly rows: number
  /** Rows per schema category, in schema order. */
  readonly categories: readonly { readonly value: string; readonly rows: number }[]
  /** Values that are no category of the schema, with their row counts, most frequent first. */
  readonly unknown: readonly { readonly value: string; readonly rows: number }[]
}

export type ColumnProfile = NumericProfile | CategoricalProfile

/** Profiles every feature column of `tables` (their rows taken together). */
export function profileColumns(tables: readonly RawTable[], schema: DataSchema): ColumnProfile[] {
  const missingTokens = new Set(schema.missingTokens)
  return schema.features.map((f): ColumnProfile => {
    const column = f.column ?? f.name
    const cells: string[] = []
    for (const t of tables) {
      const at = resolveColumns(t, [column]).get(column)!
      for (const row of t.rows) cells.push((row[at] ?? '').trim())
    }
    const present = cells.filter((c) => !missingTokens.has(c))
    const missing = cells.length - present.length
    if (f.type === 'numeric') {
      const numbers = present.map(parseNumber).filter((v): v is number => v !== undefined)
      const stats = numbers.length === 0 ? {} : { min: Math.min(...numbers), max: Math.max(...numbers), mean: numbers.reduce((s, v) => s + v, 0) / numbers.length }
      return { feature: f.name, column, type: 'numeric', missing, rows: cells.length, invalid: present.length - numbers.length, ...stats }
    }
    const counts = f.categories.map((value) => ({ value, rows: 0 }))
    const unknown = new Map<string, number>()
    for (const cell of present) {
      const i = f.categories.findIndex((c) => cellMatches(cell, c))
      if (i >= 0) counts[i]!.rows++
      else unknown.set(cell, (unknown.get(cell) ?? 0) + 1)
    }
    return {
      feature: f.name,
      column,
      type: 'categorical',
      missing,
      rows: cells.length,
      categories: counts,
      unknown: [...unknown].map(([value, rows]) => ({ value, rows })).sort((a, b) => b.rows - a.rows || (a.value < b.value ? -1 : 1)),
    }
  })
}
