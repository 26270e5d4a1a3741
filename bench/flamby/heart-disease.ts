/**
 * FLamby's Fed-Heart-Disease benchmark data, prepared for our site agents.
 *
 * Reads the four UCI `processed.*.data` files and FLamby's recorded
 * train/test assignment (`flamby_heart_split.csv`, see the data README), applies
 * FLamby's preprocessing steps 1-2 and writes one train and one test CSV per
 * center. Steps 4-5 (one-hot with drop_first, standardisation with the
 * center's train mean and ddof-1 std) are not done here: they are what
 * HEART_DISEASE_SCHEMA tells the site agent's own pipeline to do, so the
 * benchmark exercises the same code path as a real hospital.
 *
 * Every count FLamby's paper and code imply is checked, and any mismatch
 * throws: a benchmark on silently different data would be worse than none.
 *
 * Patient data is written only to the `outDir` the caller gives (a temp dir),
 * never into the repository.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'csv-parse/sync'
import type { StudySpecInput } from '../../models/core/index.ts'

export type HeartCenterId = 0 | 1 | 2 | 3

export interface HeartCenter {
  readonly centerId: HeartCenterId
  /** FLamby's center name: cleveland, hungarian, switzerland or va. */
  readonly name: string
  /** Absolute paths of the written CSVs (header row; raw cell text; `num` kept as 0-4). */
  readonly trainCsv: string
  readonly testCsv: string
  readonly trainRows: number
  readonly testRows: number
}

/** Errors of the FLamby preparation; `code` is stable, `name` the class name. */
export class FlambyError extends Error {
  static readonly code: string = 'BENCH_FLAMBY_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof FlambyError).code
  }
}

/** The data on disk is not what FLamby's benchmark uses (checksum, row counts, split indices, labels). */
export class FlambyDataMismatchError extends FlambyError {
  static override readonly code = 'BENCH_FLAMBY_DATA_MISMATCH'
  readonly expected: string | number
  readonly calculated: string | number
  constructor(message: string, expected: string | number, calculated: string | number) {
    super(message)
    this.expected = expected
    this.calculated = calculated
  }
}

/** `outDir` lies inside the repository, where patient data must never be written. */
export class FlambyOutDirError extends FlambyError {
  static override readonly code = 'BENCH_FLAMBY_OUT_DIR_IN_REPO'
}

/** The 14 columns of the UCI processed files, in file order. */
export const HEART_RAW_COLUMNS = ['age', 'sex', 'cp', 'trestbps', 'chol', 'fbs', 'restecg', 'thalach', 'exang', 'oldpeak', 'slope', 'ca', 'thal', 'num'] as const

/** FLamby step 1 drops these (mostly missing outside Cleveland). */
const DROPPED_COLUMNS: ReadonlySet<string> = new Set(['slope', 'ca', 'thal'])

/** Columns of the written CSVs: the raw columns FLamby keeps, in file order. */
export const HEART_CSV_COLUMNS = HEART_RAW_COLUMNS.filter((c) => !DROPPED_COLUMNS.has(c))

/**
 * The four centers with the numbers the data README and FLamby state:
 * file checksum, raw rows, rows after step 1's dropna, and train/test sizes.
 */
export const HEART_CENTERS = [
  { centerId: 0, name: 'cleveland', md5: '2d91a8ff69cfd9616aa47b59d6f843db', rawRows: 303, rows: 303, trainRows: 199, testRows: 104 },
  { centerId: 1, name: 'hungarian', md5: '22e96bee155b5973568101c93b3705f6', rawRows: 294, rows: 261, trainRows: 172, testRows: 89 },
  { centerId: 2, name: 'switzerland', md5: '9a87f7577310b3917730d06ba9349e20', rawRows: 123, rows: 46, trainRows: 30, testRows: 16 },
  { centerId: 3, name: 'va', md5: '4249d03ca7711e84f4444768c9426170', rawRows: 200, rows: 130, trainRows: 85, testRows: 45 },
] as const satisfies readonly { centerId: HeartCenterId; name: string; md5: string; rawRows: number; rows: number; trainRows: number; testRows: number }[]

/**
 * FLamby's Fed-Heart-Disease inputs as a study DataSchema (zod input):
 * 13 features in FLamby's order, the eight numeric columns first and the
 * drop_first one-hot columns of `cp` (2, 3, 4) and `restecg` (1, 2) last;
 * label `num` > 0; all 13 columns standardised with the center's train mean
 * and ddof-1 std, as FLamby does (so a constant column, such as
 * Switzerland's `chol` = 0, becomes 0 through the +1e-9).
 * `?` is the only missing token and rows with one are dropped, which is
 * FLamby's dropna restricted to the columns it keeps.
 */
export const HEART_DISEASE_SCHEMA: StudySpecInput['data'] = {
  missingTokens: ['?'],
  missing: 'drop-row',
  standardize: 'all',
  features: [
    { name: 'age', type: 'numeric' },
    { name: 'sex', type: 'numeric' },
    { name: 'trestbps', type: 'numeric' },
    { name: 'chol', type: 'numeric' },
    { name: 'fbs', type: 'numeric' },
    { name: 'thalach', type: 'numeric' },
    { name: 'exang', type: 'numeric' },
    { name: 'oldpeak', type: 'numeric' },
    { name: 'cp', type: 'categorical', categories: ['1', '2', '3', '4'], dropFirst: true },
    { name: 'restecg', type: 'categorical', categories: ['0', '1', '2'], dropFirst: true },
  ],
  label: { column: 'num', positive: ['1', '2', '3', '4'] },
}

const SPLIT_FILE = 'flamby_heart_split.csv'

interface SplitRecord {
  readonly center_id: string
  readonly center: string
  readonly raw_line_index: string
  readonly index_after_dropna: string
  readonly set: string
  readonly label_binary: string
}

/**
 * Prepares the four centers from `dataDir` (the folder holding the `.data`
 * files and `flamby_heart_split.csv`) and writes
 * `<outDir>/heart-<centerId>-<name>-{train,test}.csv`, rows in after-dropna order.
 *
 * Throws FlambyDataMismatchError on any checksum, count, index or label that
 * differs from FLamby's, and FlambyOutDirError when `outDir` is inside the
 * repository.
 */
export async function prepareHeartDiseaseCenters(dataDir: string, outDir: string): Promise<HeartCenter[]> {
  refuseRepoDir(outDir)
  const split = parse(await readFile(join(dataDir, SPLIT_FILE)), { columns: true, trim: true, skip_empty_lines: true }) as SplitRecord[]
  await mkdir(outDir, { recursive: true })

  const centers: HeartCenter[] = []
  for (const center of HEART_CENTERS) {
    const label = `center ${center.centerId} (${center.name})`
    const file = `processed.${center.name}.data`
    const bytes = await readFile(join(dataDir, file))
    const md5 = createHash('md5').update(bytes).digest('hex')
    expectEqual(`${file}: md5`, center.md5, md5)

    const rawRows = parse(bytes, { trim: true, skip_empty_lines: true }) as string[][]
    expectEqual(`${file}: rows`, center.rawRows, rawRows.length)
    rawRows.forEach((cells, i) => expectEqual(`${file} line ${i + 1}: cells`, HEART_RAW_COLUMNS.length, cells.length))

    // Step 1: drop slope, ca, thal, then every row with a '?' in what is left.
    const keptIndex = HEART_RAW_COLUMNS.flatMap((c, i) => (DROPPED_COLUMNS.has(c) ? [] : [i]))
    const kept = rawRows.flatMap((cells, rawIndex) => {
      const row = keptIndex.map((i) => cells[i] as string)
      return row.includes('?') ? [] : [{ rawIndex, row }]
    })
    expectEqual(`${label}: rows after dropna`, center.rows, kept.length)

    // FLamby's assignment, checked row by row against our own dropna.
    const records = split.filter((r) => r.center_id === String(center.centerId))
    expectEqual(`${SPLIT_FILE} ${label}: rows`, center.rows, records.length)
    const byIndex = new Map<number, SplitRecord>()
    for (const r of records) {
      const index = Number(r.index_after_dropna)
      expectEqual(`${SPLIT_FILE} ${label} index_after_dropna ${r.index_after_dropna}: center name`, center.name, r.center)
      if (!Number.isInteger(index) || index < 0 || index >= kept.length || byIndex.has(index)) {
        throw new FlambyDataMismatchError(
          `${SPLIT_FILE} ${label}: index_after_dropna ${r.index_after_dropna} is out of range or repeated, want each of 0..${kept.length - 1} once`,
          `0..${kept.length - 1}`,
          r.index_after_dropna,
        )
      }
      byIndex.set(index, r)
    }

    const train: string[][] = []
    const test: string[][] = []
    kept.forEach(({ rawIndex, row }, index) => {
      const r = byIndex.get(index) as SplitRecord
      expectEqual(`${SPLIT_FILE} ${label} index_after_dropna ${index}: raw_line_index`, String(rawIndex), r.raw_line_index)
      // Step 2: num == 0 is negative, 1-4 positive.
      const num = Number(row[HEART_CSV_COLUMNS.indexOf('num')])
      expectEqual(`${SPLIT_FILE} ${label} index_after_dropna ${index}: label_binary`, num === 0 ? '0' : '1', r.label_binary)
      if (r.set === 'train') train.push(row)
      else if (r.set === 'test') test.push(row)
      else throw new FlambyDataMismatchError(`${SPLIT_FILE} ${label} index_after_dropna ${index}: set ${JSON.stringify(r.set)}, want "train" or "test"`, 'train|test', r.set)
    })
    expectEqual(`${label}: train rows`, center.trainRows, train.length)
    expectEqual(`${label}: test rows`, center.testRows, test.length)

    const stem = join(resolve(outDir), `heart-${center.centerId}-${center.name}`)
    const trainCsv = `${stem}-train.csv`
    const testCsv = `${stem}-test.csv`
    await writeFile(trainCsv, toCsv(train), 'utf8')
    await writeFile(testCsv, toCsv(test), 'utf8')
    centers.push({ centerId: center.centerId, name: center.name, trainCsv, testCsv, trainRows: train.length, testRows: test.length })
  }
  return centers
}

function toCsv(rows: readonly (readonly string[])[]): string {
  return [HEART_CSV_COLUMNS.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n'
}

function expectEqual(what: string, expected: string | number, calculated: string | number): void {
  if (expected !== calculated) throw new FlambyDataMismatchError(`${what} is ${calculated}, want ${expected}`, expected, calculated)
}

/** The repository root, two levels above this file. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function refuseRepoDir(outDir: string): void {
  const rel = relative(REPO_ROOT, resolve(outDir))
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)
  if (!outside) {
    throw new FlambyOutDirError(`outDir ${resolve(outDir)} is inside the repository ${REPO_ROOT}; patient data must not be written there, pass a temp dir (e.g. from fs.mkdtemp(os.tmpdir()))`)
  }
}
