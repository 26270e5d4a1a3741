import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FlambyDataMismatchError, FlambyOutDirError, HEART_CSV_COLUMNS, HEART_DISEASE_SCHEMA, type HeartCenter, prepareHeartDiseaseCenters } from '../../../bench/flamby/heart-disease.ts'
import { DataSchemaSchema, inputNames } from '../../../models/core/index.ts'
import type { Dataset } from '../../../models/core/index.ts'
import { type PreparedData, prepareSplits, readCsvRecords } from '../../../site-agent/index.ts'

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** The shared, read-only copy of the UCI files and FLamby's split (see its README); absent on most machines. */
const DATA_DIR = resolve(REPO_ROOT, '../shared/data/heart-disease')

const schema = DataSchemaSchema.parse(HEART_DISEASE_SCHEMA)

function column(ds: Dataset, c: number): number[] {
  return Array.from({ length: ds.count }, (_, r) => ds.features[r * ds.width + c] as number)
}

function meanAndSampleStd(xs: readonly number[]): [number, number] {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length
  return [mean, Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1))]
}

describe('prepareHeartDiseaseCenters: output directory', () => {
  it('refuses to write patient data inside the repository', async () => {
    const inside = join(REPO_ROOT, 'bench', 'results', 'heart')

    await expect(prepareHeartDiseaseCenters(DATA_DIR, inside)).rejects.toThrow(FlambyOutDirError)
    expect(existsSync(inside)).toBe(false)
  })
})

describe('HEART_DISEASE_SCHEMA', () => {
  it("has FLamby's 13 inputs in FLamby's order, one-hot columns last", () => {
    expect(inputNames(schema)).toEqual(['age', 'sex', 'trestbps', 'chol', 'fbs', 'thalach', 'exang', 'oldpeak', 'cp=2', 'cp=3', 'cp=4', 'restecg=1', 'restecg=2'])
    expect(schema.standardize).toBe('all')
  })
})

describe.skipIf(!existsSync(DATA_DIR))('prepareHeartDiseaseCenters on the real FLamby data', () => {
  let outDir = ''
  let centers: HeartCenter[] = []
  let prepared: PreparedData[] = []

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'fedlineage-heart-'))
    centers = await prepareHeartDiseaseCenters(DATA_DIR, outDir)
    prepared = await Promise.all(centers.map(async (c) => prepareSplits(await readCsvRecords(c.trainCsv, schema), schema, { kind: 'tables', validation: await readCsvRecords(c.testCsv, schema) })))
  })
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true })
  })

  it("writes FLamby's train/test sizes per center", async () => {
    expect(centers.map((c) => [c.centerId, c.name, c.trainRows, c.testRows])).toEqual([
      [0, 'cleveland', 199, 104],
      [1, 'hungarian', 172, 89],
      [2, 'switzerland', 30, 16],
      [3, 'va', 85, 45],
    ])
    expect((await readdir(outDir)).sort()).toHaveLength(8)
    const header = (await readFile(centers[0]?.trainCsv ?? '', 'utf8')).split('\n')[0]
    expect(header).toBe(HEART_CSV_COLUMNS.join(','))
  })

  it('prepares 13 columns with nothing dropped and the split file’s positives', () => {
    expect(prepared.map((p) => [p.train.width, p.train.count, p.validation.count, p.report.dropped.total])).toEqual([
      [13, 199, 104, 0],
      [13, 172, 89, 0],
      [13, 30, 16, 0],
      [13, 85, 45, 0],
    ])
    // Positives per center and set, counted from flamby_heart_split.csv's label_binary.
    expect(prepared.map((p) => [p.report.positives.train, p.report.positives.validation])).toEqual([
      [91, 48],
      [65, 33],
      [30, 15],
      [66, 35],
    ])
  })

  it("standardises center 0 with its train mean and ddof-1 std, FLamby's protocol", () => {
    const cleveland = prepared[0] as PreparedData

    // Known answer, independent of our code (run in the data dir):
    // python3 -c "import csv,statistics as s;L=open('processed.cleveland.data').read().split();T=[L[int(r['raw_line_index'])].split(',') for r in csv.DictReader(open('flamby_heart_split.csv')) if r['center_id']=='0' and r['set']=='train'];print([(s.mean(float(t[j]) for t in T),s.stdev([float(t[j]) for t in T])) for j in (0,4)])"
    // -> [(54.175879396984925, 9.144420449603071), (248.56281407035175, 48.651978108389336)]
    const { mean, std } = cleveland.report.standardization
    expect(mean[0]).toBeCloseTo(54.175879396984925, 10)
    expect(std[0]).toBeCloseTo(9.144420449603071, 10)
    expect(mean[3]).toBeCloseTo(248.56281407035175, 10)
    expect(std[3]).toBeCloseTo(48.651978108389336, 10)
    for (let c = 0; c < 13; c++) {
      const [m, s] = meanAndSampleStd(column(cleveland.train, c))
      expect(m).toBeCloseTo(0, 5)
      expect(s).toBeCloseTo(1, 5)
    }
  })

  it("maps Switzerland's all-zero chol to 0 in train and test, as FLamby's +1e-9 does", () => {
    const switzerland = prepared[2] as PreparedData

    expect(switzerland.report.standardization.std[3]).toBe(0)
    expect(column(switzerland.train, 3).every((x) => x === 0)).toBe(true)
    expect(column(switzerland.validation, 3).every((x) => x === 0)).toBe(true)
  })

  it('fails loudly when the split file disagrees with the dropna indices', async () => {
    // Prepare: a temp copy whose split file points one Hungarian row at the wrong raw line.
    const copy = await mkdtemp(join(tmpdir(), 'fedlineage-heart-bad-'))
    try {
      for (const f of ['cleveland', 'hungarian', 'switzerland', 'va']) await copyFile(join(DATA_DIR, `processed.${f}.data`), join(copy, `processed.${f}.data`))
      const split = (await readFile(join(DATA_DIR, 'flamby_heart_split.csv'), 'utf8')).replace(/^1,hungarian,(\d+),5,/m, '1,hungarian,999,5,')
      await writeFile(join(copy, 'flamby_heart_split.csv'), split)

      const run = prepareHeartDiseaseCenters(copy, join(copy, 'out'))

      await expect(run).rejects.toThrow(FlambyDataMismatchError)
      await expect(prepareHeartDiseaseCenters(copy, join(copy, 'out'))).rejects.toThrow(expect.objectContaining({ code: 'BENCH_FLAMBY_DATA_MISMATCH', calculated: '999' }))
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  })
})
