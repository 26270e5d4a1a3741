/**
 * Turns a site's raw table into the train and validation Datasets the model
 * consumes, exactly as the study's DataSchema says. Pure: no I/O, no clock,
 * no global randomness (the fraction split uses its own seeded generator), and
 * the input table is never mutated.
 *
 * Order of operations, which is part of the contract:
 *  1. Validate every cell of every row. A non-numeric value in a numeric
 *     column is an error naming the row and column, never a silent drop,
 *     because it means the file and the schema disagree.
 *  2. Drop rows: missing label, an unknown category, or a missing value in a
 *     feature whose policy is `drop-row`. A row is counted once, under the
 *     first reason in that order.
 *  3. Split the kept rows into train and validation.
 *  4. Impute missing values (`impute-mean` uses the **train** split's mean).
 *  5. Standardise with the **train** split's mean and sample std (ddof 1, as
 *     pandas and FLamby): (x - mean) / (std + 1e-9). A constant column thus
 *     becomes 0 in train, as in FLamby.
 * Statistics come from the train split only and are applied to both splits,
 * so nothing about validation rows leaks into training. Statistics are summed
 * in Float64 in row order and rounded to Float32 once, at the end.
 *
 * Output columns are in `inputNames(schema)` order: numeric features as one
 * column, categorical features as one indicator per kept category.
 */
// The pure surface models/core/index.ts, so the data pipeline loads no TF.js.
import type { Dataset } from '../../models/core/index.ts'
import type { DataSchema, MissingPolicy } from '../../models/core/index.ts'
import { inputNames, inputWidth } from '../../models/core/index.ts'
import { SiteConfigError, SiteDataEmptyError, SiteDataError } from '../errors.ts'
import { mulberry32, shuffled } from './random.ts'
import { type RawTable, requiredColumns, resolveColumns, rowLocation } from './raw-table.ts'
import { dataWarnings } from './warnings.ts'

/** How the site's rows are divided into train and validation. */
export type SplitSpec =
  /** Stratified by label with a seeded shuffle; `round(n_class * validationFraction)` rows of each class go to validation. */
  | { readonly kind: 'fraction'; readonly validationFraction: number; readonly seed: number }
  /** A column of the table says which split each row belongs to; any other value is an error. */
  | { readonly kind: 'column'; readonly column: string; readonly trainValue: string; readonly validationValue: string }
  /** The main table is the train split and `validation` a separate table (e.g. FLamby's test file). */
  | { readonly kind: 'tables'; readonly validation: RawTable }

export interface DataReport {
  /** Data rows in the input table(s), before any drop. */
  readonly rowsRead: number
  readonly rowsUsed: { readonly train: number; readonly validation: number }
  /** Rows dropped, each counted once under its first reason (label, then category, then feature). */
  readonly dropped: {
    readonly missingLabel: number
    readonly missingFeature: number
    readonly unknownCategory: number
    readonly total: number
  }
  /** Imputed cells per feature name, both splits, for every feature whose policy imputes. */
  readonly imputed: Readonly<Record<string, number>>
  /** Rows with label 1 in each split. */
  readonly positives: { readonly train: number; readonly validation: number }
  /** What looks wrong though it prepared (data/warnings.ts); empty when nothing does. */
  readonly warnings: readonly string[]
  /** The train-split statistics applied to each standardised input column (empty when `standardize` is 'none'). */
  readonly standardization: {
    readonly columns: readonly string[]
    readonly mean: readonly number[]
    readonly std: readonly number[]
  }
}

export interface PreparedData {
  readonly train: Dataset
  readonly validation: Dataset
  readonly report: DataReport
  /** The train split's transform, to score other records exactly as the validation split was (`prepareScoring`). */
  readonly preprocessing: Preprocessing
}

/**
 * What turns a raw record into model input, fixed by a site's train split:
 * the value each missing cell becomes, and the standardisation of each
 * standardised column. Opaque outside this module; only `prepareScoring` reads it.
 */
export interface Preprocessing {
  readonly fill: readonly (readonly number[])[]
  readonly standardized: readonly number[]
  readonly stats: { readonly mean: readonly number[]; readonly std: readonly number[] }
}

/** Records prepared for scoring, with the rows that could not be. */
export interface ScoringData {
  /** The scorable rows as model input; `labels` are 0 for rows without a label (see `labeled`). */
  readonly dataset: Dataset
  /** Data row index (0-based into the table) of each dataset row. */
  readonly rows: readonly number[]
  /** Per dataset row: whether the table gave it a label (its label column exists and the cell is not missing). */
  readonly labeled: readonly boolean[]
  /** Rows that cannot be scored, with why. */
  readonly skipped: readonly { readonly row: number; readonly reason: 'unknown category' | 'missing feature' }[]
}

/** Added to the std before dividing, as FLamby does, so a constant column maps to 0 instead of NaN. */
export const STANDARDIZE_EPSILON = 1e-9

/**
 * Prepares `table` for training; see the module comment for the exact steps.
 *
 * Throws SiteColumnMissingError when a table lacks a column the schema or split
 * reads; SiteDataError for a non-numeric numeric cell or a split cell that is
 * neither split value; SiteDataEmptyError when the train split ends up empty,
 * has fewer than 2 rows to standardise, or has no observed value of a feature
 * to impute the mean from; SiteConfigError for an invalid split spec.
 */
export function prepareSplits(table: RawTable, schema: DataSchema, split: SplitSpec): PreparedData {
  checkSplit(split)
  const plans = planFeatures(schema)
  const sources = split.kind === 'tables' ? [table, split.validation] : [table]

  const drops = { missingLabel: 0, missingFeature: 0, unknownCategory: 0 }
  const kept: ParsedRow[] = []
  const negativeLabels = new Map<string, number>()
  const unknownCategories = new Map<string, Map<string, number>>()
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1)
  sources.forEach((source, sourceIndex) => {
    for (const row of parseTable(source, schema, plans, split)) {
      const reason = dropReason(row, plans)
      if (reason === undefined) kept.push(sourceIndex === 1 ? { ...row, split: 'validation' } : row)
      else drops[reason]++
      if (row.label === 0) count(negativeLabels, row.labelText)
      if (reason === 'unknownCategory')
        for (const p of plans) {
          if (p.categories === undefined || row.values[p.index] !== UNKNOWN_CATEGORY) continue
          const seen = unknownCategories.get(p.name) ?? new Map<string, number>()
          unknownCategories.set(p.name, seen)
          count(seen, row.texts[p.index]!)
        }
    }
  })

  const { train, validation } = assignSplits(kept, split)
  if (train.length === 0) {
    throw new SiteDataEmptyError(
      `${table.sourcePath}: no usable rows in the train split after dropping ${drops.missingLabel + drops.missingFeature + drops.unknownCategory} of ${countRows(sources)}`,
      { file: table.sourcePath },
    )
  }

  const fill = imputationValues(train, plans, table.sourcePath)
  const width = inputWidth(schema)
  const trainMatrix = buildMatrix(train, plans, fill, width)
  const validationMatrix = buildMatrix(validation, plans, fill, width)

  const names = inputNames(schema)
  const standardized = standardizedColumns(schema, plans)
  const stats = columnStats(trainMatrix, train.length, width, standardized, table.sourcePath)
  applyStandardization(trainMatrix, width, standardized, stats)
  applyStandardization(validationMatrix, width, standardized, stats)

  const imputed: Record<string, number> = {}
  for (const plan of plans) {
    if (plan.policy === 'drop-row') continue
    imputed[plan.name] = [...train, ...validation].filter((row) => Number.isNaN(row.values[plan.index])).length
  }
  const positivesTrain = train.filter((row) => row.label === 1).length
  const positivesValidation = validation.filter((row) => row.label === 1).length

  return {
    train: toDataset(trainMatrix, train, width),
    validation: toDataset(validationMatrix, validation, width),
    report: {
      rowsRead: countRows(sources),
      rowsUsed: { train: train.length, validation: validation.length },
      dropped: { ...drops, total: drops.missingLabel + drops.missingFeature + drops.unknownCategory },
      imputed,
      positives: { train: positivesTrain, validation: positivesValidation },
      warnings: dataWarnings({ labelColumn: schema.label.column, positive: schema.label.positive, negativeLabels, unknownCategories, train: { rows: train.length, positives: positivesTrain } }),
      standardization: {
        columns: standardized.map((c) => names[c] as string),
        mean: stats.mean,
        std: stats.std,
      },
    },
    preprocessing: { fill, standardized, stats },
  }
}

/**
 * Turns `table` into model input with a site's `preprocessing` (from its
 * train split): the same parsing, imputation and standardisation as that
 * site's validation split, so a model scores these records as the site
 * evaluated it. The label column is optional; rows without a label are scored
 * and marked unlabeled. A row with an unknown category, or a missing value
 * of a `drop-row` feature, cannot be scored and is listed in `skipped`.
 * Throws like `prepareSplits` for cells the schema cannot read.
 */
export function prepareScoring(table: RawTable, schema: DataSchema, preprocessing: Preprocessing): ScoringData {
  const plans = planFeatures(schema)
  const hasLabel = table.columns.includes(schema.label.column)
  const parsed = parseTable(table, schema, plans, { kind: 'tables', validation: table }, hasLabel)
  const kept: ParsedRow[] = []
  const rows: number[] = []
  const skipped: { row: number; reason: 'unknown category' | 'missing feature' }[] = []
  parsed.forEach((row, i) => {
    const reason = dropReason({ ...row, label: 0 }, plans)
    if (reason === undefined) {
      kept.push(row)
      rows.push(i)
    } else skipped.push({ row: i, reason: reason === 'unknownCategory' ? 'unknown category' : 'missing feature' })
  })
  const width = inputWidth(schema)
  const matrix = buildMatrix(kept, plans, preprocessing.fill, width)
  applyStandardization(matrix, width, preprocessing.standardized, preprocessing.stats)
  const labeled = kept.map((row) => row.label !== undefined)
  return {
    dataset: { features: Float32Array.from(matrix), labels: Float32Array.from(kept, (row) => row.label ?? 0), count: kept.length, width },
    rows,
    labeled,
    skipped,
  }
}

// --- cells ---------------------------------------------------------------

/** Decimal numbers as spreadsheets and UCI write them: `63.0`, `.7`, `-1e3`, `+2.`. No hex, no Infinity. */
const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** The finite number a (trimmed) cell spells, or undefined when it is not a plain decimal number. */
export function parseNumber(cell: string): number | undefined {
  if (!NUMBER_PATTERN.test(cell)) return undefined
  const value = Number(cell)
  return Number.isFinite(value) ? value : undefined
}

/** Whether a cell means `value`: numerically when both are numbers (so `1.0` matches `1`), else as exact text. */
export function cellMatches(cell: string, value: string): boolean {
  const a = parseNumber(cell)
  const b = parseNumber(value.trim())
  return a !== undefined && b !== undefined ? a === b : cell === value.trim()
}

// --- features ----------------------------------------------------------------

interface FeaturePlan {
  readonly name: string
  /** Position in ParsedRow.values. */
  readonly index: number
  readonly column: string
  readonly policy: MissingPolicy
  /** First output column of this feature. */
  readonly offset: number
  /** undefined for numeric features. */
  readonly categories: readonly string[] | undefined
  /** Index of the first category that has an indicator (1 with dropFirst). */
  readonly firstKept: number
}

function planFeatures(schema: DataSchema): FeaturePlan[] {
  let offset = 0
  return schema.features.map((f, index) => {
    const plan: FeaturePlan = {
      name: f.name,
      index,
      column: f.column ?? f.name,
      policy: f.missing ?? schema.missing,
      offset,
      categories: f.type === 'categorical' ? f.categories : undefined,
      firstKept: f.type === 'categorical' && f.dropFirst ? 1 : 0,
    }
    offset += plan.categories === undefined ? 1 : plan.categories.length - plan.firstKept
    return plan
  })
}

// --- parsing -------------------------------------------------------------

/** Marks a categorical cell whose value is not among the categories. */
const UNKNOWN_CATEGORY = -1

interface ParsedRow {
  /** 0 or 1; undefined when the label cell is missing. */
  readonly label: 0 | 1 | undefined
  /** The label cell as read (trimmed), for the warnings. */
  readonly labelText: string
  /** Per feature, the cell as read (trimmed), for the warnings. */
  readonly texts: readonly string[]
  /** Per feature: the number (numeric) or category index (categorical); NaN when missing, UNKNOWN_CATEGORY when unknown. */
  readonly values: readonly number[]
  /** Assigned by a split column or by the source table; undefined until the fraction split assigns it. */
  readonly split: 'train' | 'validation' | undefined
}

function parseTable(table: RawTable, schema: DataSchema, plans: readonly FeaturePlan[], split: SplitSpec, withLabel = true): ParsedRow[] {
  const wanted = requiredColumns(schema).filter((c) => withLabel || c !== schema.label.column || plans.some((p) => p.column === c))
  if (split.kind === 'column' && !wanted.includes(split.column)) wanted.push(split.column)
  const index = resolveColumns(table, wanted)
  const at = (column: string): number => index.get(column) as number
  const missing = new Set(schema.missingTokens)
  const labelAt = withLabel ? at(schema.label.column) : -1
  const splitAt = split.kind === 'column' ? at(split.column) : -1

  return table.rows.map((cells, r): ParsedRow => {
    const cell = (i: number): string => (cells[i] ?? '').trim()
    const texts = plans.map((plan) => cell(at(plan.column)))
    const values = plans.map((plan) => {
      const text = cell(at(plan.column))
      if (missing.has(text)) return Number.NaN
      if (plan.categories === undefined) {
        const value = parseNumber(text)
        if (value === undefined) {
          const { location, where } = rowLocation(table, r, plan.column)
          throw new SiteDataError(`${where}, column ${JSON.stringify(plan.column)}: ${JSON.stringify(text)} is not a number (feature ${JSON.stringify(plan.name)} is numeric)`, location)
        }
        return value
      }
      const category = plan.categories.findIndex((c) => cellMatches(text, c))
      return category < 0 ? UNKNOWN_CATEGORY : category
    })

    const labelText = labelAt < 0 ? '' : cell(labelAt)
    const label = labelAt < 0 || missing.has(labelText) ? undefined : schema.label.positive.some((p) => cellMatches(labelText, p)) ? 1 : 0
    const negatives = schema.label.negative
    if (label === 0 && negatives !== undefined && !negatives.some((n) => cellMatches(labelText, n))) {
      const { location, where } = rowLocation(table, r, schema.label.column)
      throw new SiteDataError(
        `${where}, column ${JSON.stringify(schema.label.column)}: label ${JSON.stringify(labelText)} is neither positive (${schema.label.positive.join(', ')}) nor negative (${negatives.join(', ')}); fix the record, or ask the hub to add the value to the study's label.positive or label.negative`,
        location,
      )
    }

    let assigned: ParsedRow['split']
    if (split.kind === 'column') {
      const text = cell(splitAt)
      if (cellMatches(text, split.trainValue)) assigned = 'train'
      else if (cellMatches(text, split.validationValue)) assigned = 'validation'
      else {
        const { location, where } = rowLocation(table, r, split.column)
        throw new SiteDataError(
          `${where}, column ${JSON.stringify(split.column)}: split value ${JSON.stringify(text)}, want ${JSON.stringify(split.trainValue)} or ${JSON.stringify(split.validationValue)}`,
          location,
        )
      }
    } else if (split.kind === 'tables') {
      assigned = 'train' // the caller re-tags rows of the validation table
    }
    return { label, labelText, texts, values, split: assigned }
  })
}

function dropReason(row: ParsedRow, plans: readonly FeaturePlan[]): 'missingLabel' | 'unknownCategory' | 'missingFeature' | undefined {
  if (row.label === undefined) return 'missingLabel'
  if (plans.some((p) => p.categories !== undefined && row.values[p.index] === UNKNOWN_CATEGORY)) return 'unknownCategory'
  if (plans.some((p) => p.policy === 'drop-row' && Number.isNaN(row.values[p.index]))) return 'missingFeature'
  return undefined
}

function countRows(sources: readonly RawTable[]): number {
  return sources.reduce((n, t) => n + t.rows.length, 0)
}

// --- split ---------------------------------------------------------------

function checkSplit(split: SplitSpec): void {
  if (split.kind === 'fraction') {
    const f = split.validationFraction
    if (!(Number.isFinite(f) && f >= 0 && f < 1)) throw new SiteConfigError(`split.validationFraction is ${f}, want 0 <= fraction < 1`)
    if (!Number.isSafeInteger(split.seed)) throw new SiteConfigError(`split.seed is ${split.seed}, want an integer`)
  } else if (split.kind === 'column' && cellMatches(split.trainValue.trim(), split.validationValue)) {
    throw new SiteConfigError(`split.trainValue ${JSON.stringify(split.trainValue)} equals split.validationValue ${JSON.stringify(split.validationValue)}`)
  }
}

/**
 * Train and validation rows, each in table order. The fraction split shuffles
 * each class's rows (class 0 first, then class 1, from one mulberry32 stream
 * seeded with `seed`) and sends the first `round(n_class * fraction)` to
 * validation, so class ratios are kept and the same seed gives the same split.
 */
function assignSplits(rows: readonly ParsedRow[], split: SplitSpec): { train: ParsedRow[]; validation: ParsedRow[] } {
  if (split.kind !== 'fraction') {
    return { train: rows.filter((r) => r.split === 'train'), validation: rows.filter((r) => r.split === 'validation') }
  }
  const rand = mulberry32(split.seed)
  const toValidation = new Set<number>()
  for (const label of [0, 1] as const) {
    const members = rows.flatMap((row, i) => (row.label === label ? [i] : []))
    const count = Math.round(members.length * split.validationFraction)
    shuffled(members, rand)
      .slice(0, count)
      .forEach((i) => toValidation.add(i))
  }
  return {
    train: rows.filter((_, i) => !toValidation.has(i)),
    validation: rows.filter((_, i) => toValidation.has(i)),
  }
}

// --- imputation and matrix -------------------------------------------------

/**
 * Per feature, the values a missing cell becomes: a numeric feature's train
 * mean (or 0), or a categorical feature's per-category indicator values. For
 * `impute-mean` those are the train frequencies of each category (the mean of
 * each indicator column); for `impute-zero` all indicators are 0.
 */
function imputationValues(train: readonly ParsedRow[], plans: readonly FeaturePlan[], file: string): (readonly number[])[] {
  return plans.map((plan) => {
    const slots = plan.categories === undefined ? 1 : plan.categories.length
    if (plan.policy !== 'impute-mean') return new Array<number>(slots).fill(0)
    const observed = train.map((row) => row.values[plan.index] as number).filter((v) => !Number.isNaN(v))
    if (observed.length === 0) {
      throw new SiteDataEmptyError(`${file}: feature ${JSON.stringify(plan.name)} has no observed value in the train split to impute the mean from`, { file, column: plan.column })
    }
    if (plan.categories === undefined) return [observed.reduce((s, v) => s + v, 0) / observed.length]
    const counts = new Array<number>(slots).fill(0)
    for (const v of observed) counts[v] = (counts[v] as number) + 1
    return counts.map((c) => c / observed.length)
  })
}

function buildMatrix(rows: readonly ParsedRow[], plans: readonly FeaturePlan[], fill: readonly (readonly number[])[], width: number): Float64Array {
  const m = new Float64Array(rows.length * width)
  rows.forEach((row, r) => {
    const base = r * width
    for (const plan of plans) {
      const value = row.values[plan.index] as number
      const imputed = fill[plan.index] as readonly number[]
      if (plan.categories === undefined) {
        m[base + plan.offset] = Number.isNaN(value) ? (imputed[0] as number) : value
        continue
      }
      for (let c = plan.firstKept; c < plan.categories.length; c++) {
        m[base + plan.offset + c - plan.firstKept] = Number.isNaN(value) ? (imputed[c] as number) : value === c ? 1 : 0
      }
    }
  })
  return m
}

// --- standardisation ---------------------------------------------------------

function standardizedColumns(schema: DataSchema, plans: readonly FeaturePlan[]): number[] {
  if (schema.standardize === 'none') return []
  if (schema.standardize === 'all') return Array.from({ length: inputWidth(schema) }, (_, c) => c)
  return plans.filter((p) => p.categories === undefined).map((p) => p.offset)
}

interface ColumnStats {
  readonly mean: readonly number[]
  readonly std: readonly number[]
}

/** Train mean and sample std (ddof 1) of each listed column, summed in Float64 in row order. */
function columnStats(m: Float64Array, count: number, width: number, columns: readonly number[], file: string): ColumnStats {
  if (columns.length > 0 && count < 2) {
    throw new SiteDataEmptyError(`${file}: the train split has ${count} row, want at least 2 to compute the sample std for standardisation`, { file })
  }
  const mean: number[] = []
  const std: number[] = []
  for (const c of columns) {
    let sum = 0
    for (let r = 0; r < count; r++) sum += m[r * width + c] as number
    const mu = sum / count
    let squares = 0
    for (let r = 0; r < count; r++) squares += ((m[r * width + c] as number) - mu) ** 2
    mean.push(mu)
    std.push(Math.sqrt(squares / (count - 1)))
  }
  return { mean, std }
}

function applyStandardization(m: Float64Array, width: number, columns: readonly number[], stats: ColumnStats): void {
  const count = m.length / width
  columns.forEach((c, k) => {
    const mu = stats.mean[k] as number
    const scale = (stats.std[k] as number) + STANDARDIZE_EPSILON
    for (let r = 0; r < count; r++) m[r * width + c] = ((m[r * width + c] as number) - mu) / scale
  })
}

function toDataset(m: Float64Array, rows: readonly ParsedRow[], width: number): Dataset {
  return {
    features: Float32Array.from(m),
    labels: Float32Array.from(rows, (row) => row.label as number),
    count: rows.length,
    width,
  }
}
