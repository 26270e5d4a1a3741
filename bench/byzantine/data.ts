/**
 * The bench's data: 10 sites and one pooled test set.
 *
 * Real data, by what the `--data` folder holds:
 *
 * - UCI Heart Disease (`processed.<hospital>.data`, FLamby's Fed-Heart-Disease
 *   files; the default). FLamby's step 1: slope, ca and thal dropped, then
 *   rows with a missing value (740 of 920 remain); label num > 0; chest pain
 *   one-hot (drop first), the other 9 columns numeric. A seeded stratified
 *   80/20 split per hospital makes the training pool and the pooled test set;
 *   inputs are standardised with the training pool's mean and sample std.
 *   Each hospital's training rows are dealt to its own sites (Cleveland 4,
 *   Hungarian 3, Switzerland 1, VA 2): 10 sites, non-IID as the hospitals are.
 * - UCI Breast Cancer Wisconsin (Diagnostic), `wdbc.data` in the
 * `--data` folder (see its README: 569 rows, no header, id, M/B, 30 numeric
 * features, no missing values). A seeded stratified 80/20 split makes the
 * training pool and the test set; inputs are standardised with the training
 * pool's mean and sample std (a preprocessing the study shares); the pool is
 * dealt to 10 sites round-robin after a seeded shuffle (WDBC comes from one
 * institution, so any site split is synthetic; its README says so).
 *
 * Fallback when the folder is missing: the project's synthetic cardiology
 * cohorts (site-agent `generateCohort`), 10 hospitals of different size, case
 * mix and population, through the site agent's own pipeline, and a separate
 * 1,000-row test cohort.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DataSchemaSchema, inputWidth, shuffleIndices, type Dataset } from '../../models/index.ts'
import { COHORT_COLUMNS, SYNTHETIC_SCHEMA, generateCohort, prepareSplits, type CohortInit, type RawTable } from '../../site-agent/index.ts'

export interface BenchData {
  /** Which task: names the results files (`byzantine.json` for heart, `byzantine-wdbc.json`) and picks the default rounds. */
  readonly task: 'heart' | 'wdbc' | 'synthetic'
  /** What the data is, for the table header. */
  readonly source: string
  readonly sites: readonly { readonly siteId: string; readonly data: Dataset }[]
  readonly test: Dataset
  readonly width: number
}

const WDBC_FILE = 'wdbc.data'
const WDBC_ROWS = 569
const WDBC_FEATURES = 30

function dataset(rows: readonly { x: number[]; y: number }[], width: number): Dataset {
  const features = new Float32Array(rows.length * width)
  const labels = new Float32Array(rows.length)
  rows.forEach((r, i) => {
    features.set(r.x, i * width)
    labels[i] = r.y
  })
  return { features, labels, count: rows.length, width }
}

function siteIdOf(i: number): string {
  return `site-${String(i + 1).padStart(2, '0')}`
}

/** WDBC from `dir`, or undefined when the folder has no `wdbc.data`. Throws on a file that is not WDBC's shape. */
export function loadWdbc(dir: string, siteCount: number, seed: number): BenchData | undefined {
  const file = join(dir, WDBC_FILE)
  if (!existsSync(file)) return undefined
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  if (lines.length !== WDBC_ROWS) throw new Error(`${file}: ${lines.length} rows, want ${WDBC_ROWS} (see the folder's README)`)
  const rows = lines.map((line, i) => {
    const cells = line.trim().split(',')
    if (cells.length !== 2 + WDBC_FEATURES || (cells[1] !== 'M' && cells[1] !== 'B')) throw new Error(`${file} line ${i + 1}: want id, M/B and ${WDBC_FEATURES} numbers`)
    return { x: cells.slice(2).map(Number), y: cells[1] === 'M' ? 1 : 0 }
  })
  // Stratified 80/20: each class shuffled with the seed, its first 20 % to the test set.
  const train: typeof rows = []
  const test: typeof rows = []
  for (const label of [0, 1]) {
    const cls = rows.filter((r) => r.y === label)
    const order = shuffleIndices(cls.length, seed + label)
    const cut = Math.round(cls.length * 0.2)
    order.forEach((k, i) => (i < cut ? test : train).push(cls[k]!))
  }
  const mean = Array.from({ length: WDBC_FEATURES }, (_, j) => train.reduce((s, r) => s + r.x[j]!, 0) / train.length)
  const std = mean.map((m, j) => Math.sqrt(train.reduce((s, r) => s + (r.x[j]! - m) ** 2, 0) / (train.length - 1)))
  const scale = (r: (typeof rows)[number]) => ({ x: r.x.map((v, j) => (v - mean[j]!) / (std[j]! + 1e-9)), y: r.y })
  const dealt = shuffleIndices(train.length, seed + 7)
  const sites = Array.from({ length: siteCount }, (_, s) => ({
    siteId: siteIdOf(s),
    data: dataset(
      Array.from(dealt)
        .filter((_, i) => i % siteCount === s)
        .map((k) => scale(train[k]!)),
      WDBC_FEATURES,
    ),
  }))
  return {
    task: 'wdbc',
    source: `UCI Breast Cancer Wisconsin (Diagnostic), ${file}: ${train.length} training rows dealt to ${siteCount} sites, ${test.length} test rows`,
    sites,
    test: dataset(test.map(scale), WDBC_FEATURES),
    width: WDBC_FEATURES,
  }
}

const HEART_HOSPITALS = [
  { name: 'cleveland', sites: 4 },
  { name: 'hungarian', sites: 3 },
  { name: 'switzerland', sites: 1 },
  { name: 'va', sites: 2 },
] as const
/** Kept columns of the 14 (slope, ca, thal dropped as FLamby's step 1), and the label. */
const HEART_KEPT = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
const HEART_CP = 2
const HEART_LABEL = 13
const HEART_ROWS = 740

/** Heart Disease from `dir`, or undefined when the folder has no `processed.cleveland.data`. Throws when the kept rows are not FLamby's 740. */
export function loadHeart(dir: string, seed: number): BenchData | undefined {
  if (!existsSync(join(dir, 'processed.cleveland.data'))) return undefined
  const encode = (cells: readonly number[]) => HEART_KEPT.flatMap((c) => (c === HEART_CP ? [2, 3, 4].map((k) => (cells[c] === k ? 1 : 0)) : [cells[c]!]))
  const width = HEART_KEPT.length + 2
  const train: { x: number[]; y: number; site: string }[] = []
  const test: { x: number[]; y: number }[] = []
  let siteIndex = 0
  for (const h of HEART_HOSPITALS) {
    const rows = readFileSync(join(dir, `processed.${h.name}.data`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.trim().split(','))
      .filter((cells) => [...HEART_KEPT, HEART_LABEL].every((c) => cells[c] !== '?'))
      .map((cells) => {
        const v = cells.map(Number)
        return { x: encode(v), y: v[HEART_LABEL]! > 0 ? 1 : 0 }
      })
    const siteIds = Array.from({ length: h.sites }, (_, k) => siteIdOf(siteIndex + k))
    siteIndex += h.sites
    for (const label of [0, 1]) {
      const cls = rows.filter((r) => r.y === label)
      const order = shuffleIndices(cls.length, seed + label + 17 * siteIndex)
      const cut = Math.round(cls.length * 0.2)
      order.forEach((k, i) => (i < cut ? test.push(cls[k]!) : train.push({ ...cls[k]!, site: siteIds[i % h.sites]! })))
    }
  }
  if (train.length + test.length !== HEART_ROWS)
    throw new Error(`${dir}: ${train.length + test.length} rows after dropping slope, ca, thal and missing values, want FLamby's ${HEART_ROWS} (see the folder's README)`)
  const mean = Array.from({ length: width }, (_, j) => train.reduce((s, r) => s + r.x[j]!, 0) / train.length)
  const std = mean.map((m, j) => Math.sqrt(train.reduce((s, r) => s + (r.x[j]! - m) ** 2, 0) / (train.length - 1)))
  const scale = (r: { x: number[]; y: number }) => ({ x: r.x.map((v, j) => (v - mean[j]!) / (std[j]! + 1e-9)), y: r.y })
  const sites = Array.from({ length: siteIndex }, (_, s) => ({ siteId: siteIdOf(s), data: dataset(train.filter((r) => r.site === siteIdOf(s)).map(scale), width) }))
  return {
    task: 'heart',
    source: `UCI Heart Disease (FLamby's 4 hospitals), ${dir}: ${train.length} training rows dealt to ${siteIndex} sites within their hospital, ${test.length} pooled test rows`,
    sites,
    test: dataset(test.map(scale), width),
    width,
  }
}

function cohortTable(init: CohortInit): RawTable {
  const rows = generateCohort(init).map((row) => COHORT_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c]))))
  return { columns: [...COHORT_COLUMNS], rows, sourcePath: `${init.siteId} (in memory)` }
}

/** The synthetic fallback: 10 generated hospital cohorts and a separate test cohort. */
export function syntheticData(siteCount: number, seed: number): BenchData {
  const schema = DataSchemaSchema.parse(SYNTHETIC_SCHEMA)
  const sites = Array.from({ length: siteCount }, (_, i) => {
    const init: CohortInit = { siteId: siteIdOf(i), seed: seed * 1000 + 131 * i, size: 80 + ((i * 37) % 22) * 10, prevalence: 0.3 + ((i * 3) % 6) * 0.05, shift: -1 + ((i * 7) % 11) * 0.2 }
    return { siteId: init.siteId, data: prepareSplits(cohortTable(init), schema, { kind: 'fraction', validationFraction: 0.2, seed: i }).train }
  })
  const test = prepareSplits(cohortTable({ siteId: 'test', seed: seed * 1000 + 999, size: 1250 }), schema, { kind: 'fraction', validationFraction: 0.8, seed: 1 }).validation
  return { task: 'synthetic', source: `synthetic cardiology cohorts (generateCohort), ${siteCount} sites, ${test.count} test rows`, sites, test, width: inputWidth(schema) }
}
