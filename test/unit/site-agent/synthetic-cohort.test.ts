import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DataSchemaSchema, inputNames } from '../../../models/core/index.ts'
import type { Dataset } from '../../../models/core/index.ts'
import { SiteConfigError } from '../../../site-agent/index.ts'
import {
  CHEST_PAIN_TYPES,
  COHORT_COLUMNS,
  type CohortRow,
  DEMO_SITES,
  type PreparedData,
  type RawTable,
  SYNTHETIC_SCHEMA,
  cohortToCsv,
  generateCohort,
  prepareSplits,
  readCsvRecords,
  writeSyntheticSite,
} from '../../../site-agent/index.ts'

const schema = DataSchemaSchema.parse(SYNTHETIC_SCHEMA)

/** The RawTable of a cohort's CSV text (no quoting in synthetic CSVs). */
function tableOf(rows: readonly CohortRow[], sourcePath: string): RawTable {
  const [header, ...body] = cohortToCsv(rows)
    .trimEnd()
    .split('\n')
    .map((line) => line.split(','))
  return { columns: header ?? [], rows: body, sourcePath }
}

function prepare(rows: readonly CohortRow[], seed = 1): PreparedData {
  return prepareSplits(tableOf(rows, 'synthetic.csv'), schema, { kind: 'fraction', validationFraction: 0.3, seed })
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length
}

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  let syy = 0
  xs.forEach((x, i) => {
    const dy = (ys[i] as number) - my
    sxy += (x - mx) * dy
    sxx += (x - mx) ** 2
    syy += dy ** 2
  })
  return sxy / Math.sqrt(sxx * syy)
}

/** Plain batch gradient descent on the log loss; returns accuracy at threshold 0.5. */
function logisticRegression(train: readonly Dataset[], steps: number, learningRate: number): (data: Dataset) => number {
  const width = (train[0] as Dataset).width
  const w = new Float64Array(width)
  let b = 0
  const total = train.reduce((n, d) => n + d.count, 0)
  const logit = (d: Dataset, r: number): number => {
    let z = b
    for (let j = 0; j < width; j++) z += (w[j] as number) * (d.features[r * width + j] as number)
    return z
  }
  for (let step = 0; step < steps; step++) {
    const grad = new Float64Array(width)
    let gradB = 0
    for (const d of train) {
      for (let r = 0; r < d.count; r++) {
        const err = 1 / (1 + Math.exp(-logit(d, r))) - (d.labels[r] as number)
        gradB += err
        for (let j = 0; j < width; j++) grad[j] = (grad[j] as number) + err * (d.features[r * width + j] as number)
      }
    }
    b -= (learningRate * gradB) / total
    for (let j = 0; j < width; j++) w[j] = (w[j] as number) - (learningRate * (grad[j] as number)) / total
  }
  return (d) => {
    let correct = 0
    for (let r = 0; r < d.count; r++) if ((logit(d, r) > 0 ? 1 : 0) === d.labels[r]) correct++
    return correct / d.count
  }
}

describe('generateCohort', () => {
  it('is deterministic per (siteId, seed) and changes with either', () => {
    const init = { siteId: 'a', seed: 7, size: 50 }

    const first = generateCohort(init)
    const again = generateCohort(init)
    const otherSeed = generateCohort({ ...init, seed: 8 })
    const otherSite = generateCohort({ ...init, siteId: 'b' })

    expect(again).toEqual(first)
    expect(otherSeed).not.toEqual(first)
    expect(otherSite).not.toEqual(first)
    expect(first).toHaveLength(50)
  })

  it('draws plausible clinical values', () => {
    const rows = generateCohort({ siteId: 'ranges', seed: 1, size: 3000, shift: 2 }).concat(generateCohort({ siteId: 'ranges', seed: 2, size: 3000, shift: -2 }))

    /** The field's smallest value lies in `low`, its largest in `high` (plausible, and not degenerate). */
    const expectRange = (f: (r: CohortRow) => number | null, low: [number, number], high: [number, number]): void => {
      const xs = rows.map(f).filter((x): x is number => x !== null)
      const [min, max] = [Math.min(...xs), Math.max(...xs)]
      expect(min).toBeGreaterThanOrEqual(low[0])
      expect(min).toBeLessThanOrEqual(low[1])
      expect(max).toBeGreaterThanOrEqual(high[0])
      expect(max).toBeLessThanOrEqual(high[1])
    }

    expect(rows.every((r) => Number.isInteger(r.age) && Number.isInteger(r.systolic_bp) && Number.isInteger(r.max_heart_rate))).toBe(true)
    expectRange((r) => r.age, [18, 40], [70, 95])
    expectRange((r) => r.systolic_bp, [80, 110], [160, 230])
    expectRange((r) => r.cholesterol, [100, 160], [300, 450])
    expectRange((r) => r.bmi, [15, 20], [38, 50])
    expectRange((r) => r.max_heart_rate, [70, 110], [180, 210])
    expectRange((r) => r.st_depression, [0, 0], [3, 6.5])
    expect(new Set(rows.map((r) => r.sex))).toEqual(new Set(['female', 'male']))
    expect(new Set(rows.map((r) => r.smoker))).toEqual(new Set([0, 1]))
    expect(new Set(rows.map((r) => r.diabetes))).toEqual(new Set([0, 1]))
    expect(new Set(rows.map((r) => r.chest_pain))).toEqual(new Set(CHEST_PAIN_TYPES))
    expect(new Set(rows.map((r) => r.outcome))).toEqual(new Set(['yes', 'no']))
  })

  it('has the expected correlations: heart rate falls and blood pressure rises with age; outcome follows ST depression', () => {
    const rows = generateCohort({ siteId: 'corr', seed: 3, size: 4000 })
    const ages = rows.map((r) => r.age)

    expect(
      correlation(
        ages,
        rows.map((r) => r.max_heart_rate),
      ),
    ).toBeLessThan(-0.3)
    expect(
      correlation(
        ages,
        rows.map((r) => r.systolic_bp),
      ),
    ).toBeGreaterThan(0.15)
    expect(
      correlation(
        rows.map((r) => r.st_depression),
        rows.map((r) => (r.outcome === 'yes' ? 1 : 0)),
      ),
    ).toBeGreaterThan(0.2)
  })

  it('hits the target prevalence', () => {
    for (const prevalence of [0.2, 0.5, 0.7]) {
      const rows = generateCohort({ siteId: 'prev', seed: 11, size: 4000, prevalence, shift: 1 })

      expect(mean(rows.map((r) => (r.outcome === 'yes' ? 1 : 0)))).toBeCloseTo(prevalence, 1)
    }
  })

  it('leaves about 2% of cholesterol values unrecorded', () => {
    const rows = generateCohort({ siteId: 'missing', seed: 5, size: 5000 })

    const share = rows.filter((r) => r.cholesterol === null).length / rows.length

    expect(share).toBeGreaterThan(0.01)
    expect(share).toBeLessThan(0.03)
  })

  it('shifts covariates with `shift`: older, more men, more smokers', () => {
    const base = generateCohort({ siteId: 's', seed: 1, size: 3000, shift: 0 })
    const shifted = generateCohort({ siteId: 's', seed: 1, size: 3000, shift: 1.5 })
    const share = (rows: CohortRow[], f: (r: CohortRow) => boolean): number => rows.filter(f).length / rows.length

    expect(mean(shifted.map((r) => r.age)) - mean(base.map((r) => r.age))).toBeGreaterThan(7)
    expect(share(shifted, (r) => r.sex === 'male')).toBeGreaterThan(share(base, (r) => r.sex === 'male') + 0.1)
    expect(share(shifted, (r) => r.smoker === 1)).toBeGreaterThan(share(base, (r) => r.smoker === 1) + 0.1)
  })

  it.each([
    [{ siteId: '../x', seed: 1, size: 10 }],
    [{ siteId: 'a', seed: 1.5, size: 10 }],
    [{ siteId: 'a', seed: 1, size: 0 }],
    [{ siteId: 'a', seed: 1, size: 10, prevalence: 1 }],
    [{ siteId: 'a', seed: 1, size: 10, shift: Number.POSITIVE_INFINITY }],
  ])('rejects %j with SiteConfigError', (init) => {
    expect(() => generateCohort(init)).toThrow(SiteConfigError)
  })
})

describe('SYNTHETIC_SCHEMA and cohortToCsv', () => {
  it('parses as a DataSchema whose columns are the CSV header', () => {
    const csv = cohortToCsv(generateCohort({ siteId: 'csv', seed: 1, size: 3 }))

    expect(csv.split('\n')[0]).toBe(COHORT_COLUMNS.join(','))
    expect(csv.endsWith('\n')).toBe(true)
    expect(inputNames(schema)).toEqual([
      'age',
      'sex=male',
      'systolic_bp',
      'cholesterol',
      'bmi',
      'smoker',
      'diabetes',
      'chest_pain=atypical',
      'chest_pain=non-anginal',
      'chest_pain=asymptomatic',
      'max_heart_rate',
      'st_depression',
    ])
  })

  it('prepares without drops, imputing the unrecorded cholesterol', () => {
    const rows = generateCohort({ siteId: 'prep', seed: 2, size: 1000 })

    const { report } = prepare(rows)

    expect(report.dropped.total).toBe(0)
    expect(report.imputed.cholesterol).toBe(rows.filter((r) => r.cholesterol === null).length)
    expect(report.rowsUsed.train + report.rowsUsed.validation).toBe(1000)
  })
})

describe('DEMO_SITES', () => {
  it('are four hospitals of different sizes, populations and case mix', () => {
    const cohorts = DEMO_SITES.map((site) => generateCohort(site))

    expect(DEMO_SITES.map((s) => s.size)).toEqual([420, 260, 180, 120])
    expect(new Set(DEMO_SITES.map((s) => s.siteId)).size).toBe(4)
    const ages = cohorts.map((rows) => mean(rows.map((r) => r.age)))
    const prevalences = cohorts.map((rows) => mean(rows.map((r) => (r.outcome === 'yes' ? 1 : 0))))
    expect(Math.max(...ages) - Math.min(...ages)).toBeGreaterThan(10)
    expect(Math.max(...prevalences) - Math.min(...prevalences)).toBeGreaterThan(0.15)
  })

  it('carry signal: a plain logistic regression on their train splits beats 0.7 validation accuracy', () => {
    // Prepare: each site standardises with its own train statistics, as in the federation.
    const prepared = DEMO_SITES.map((site) => prepare(generateCohort(site), site.seed))
    // Execute
    const accuracy = logisticRegression(
      prepared.map((p) => p.train),
      300,
      0.5,
    )
    // Assert
    for (const p of prepared) expect(accuracy(p.validation)).toBeGreaterThan(0.7)
    const pooled = prepared.reduce((n, p) => n + accuracy(p.validation) * p.validation.count, 0) / prepared.reduce((n, p) => n + p.validation.count, 0)
    expect(pooled).toBeGreaterThan(0.75)
    expect(pooled).toBeLessThan(0.9)
  })
})

describe('writeSyntheticSite', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedlineage-synthetic-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes <dir>/<siteId>.csv that the CSV reader loads with the synthetic schema', async () => {
    const site = DEMO_SITES[3] as (typeof DEMO_SITES)[number]

    const { trainCsv } = await writeSyntheticSite(join(dir, 'sites'), site)
    const table = await readCsvRecords(trainCsv, schema)

    expect(trainCsv).toBe(join(dir, 'sites', `${site.siteId}.csv`))
    expect(await readFile(trainCsv, 'utf8')).toBe(cohortToCsv(generateCohort(site)))
    expect(table.rows).toHaveLength(site.size)
  })

  it('refuses a siteId that would leave the directory', async () => {
    await expect(writeSyntheticSite(dir, { siteId: '../escape', seed: 1, size: 5 })).rejects.toThrow(SiteConfigError)
  })
})
