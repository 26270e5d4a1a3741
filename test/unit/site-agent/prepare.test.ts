import { describe, expect, it } from 'vitest'
import { type DataSchema, DataSchemaSchema, type StudySpecInput, inputNames } from '../../../models/core/index.ts'
import type { Dataset } from '../../../models/core/index.ts'
import { SiteColumnMissingError, SiteConfigError, SiteDataEmptyError, SiteDataError } from '../../../site-agent/index.ts'
import { type RawTable, type SplitSpec, cellMatches, parseNumber, prepareSplits } from '../../../site-agent/index.ts'

/** A RawTable from inline CSV text: first line the header, no quoting. */
function table(text: string, sourcePath = 'site.csv'): RawTable {
  const [header, ...rows] = text
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((c) => c.trim()))
  return { columns: header ?? [], rows, sourcePath }
}

function schemaOf(input: Partial<StudySpecInput['data']> & Pick<StudySpecInput['data'], 'features'>): DataSchema {
  return DataSchemaSchema.parse({ label: { column: 'y', positive: ['1'] }, standardize: 'none', ...input })
}

/** All-train split: the tables split with an empty validation table. */
function trainOnly(columns: readonly string[]): SplitSpec {
  return { kind: 'tables', validation: { columns, rows: [], sourcePath: 'empty.csv' } }
}

function column(ds: Dataset, c: number): number[] {
  return Array.from({ length: ds.count }, (_, r) => ds.features[r * ds.width + c] as number)
}

function rows(ds: Dataset): number[][] {
  return Array.from({ length: ds.count }, (_, r) => Array.from(ds.features.subarray(r * ds.width, (r + 1) * ds.width)))
}

describe('cells', () => {
  it.each([
    ['63.0', 63],
    ['.7', 0.7],
    ['-1e3', -1000],
    ['+2.', 2],
    ['0', 0],
    ['1E-2', 0.01],
  ])('parses %s as %d', (cell, want) => {
    expect(parseNumber(cell)).toBe(want)
  })

  it.each(['abc', '1,5', '0x10', 'Infinity', '1e999', '', '.', '-', '1.2.3'])('rejects %j', (cell) => {
    expect(parseNumber(cell)).toBeUndefined()
  })

  it('compares numerically when both sides are numbers, else as text', () => {
    expect(cellMatches('1.0', '1')).toBe(true)
    expect(cellMatches('.50', '0.5')).toBe(true)
    expect(cellMatches('yes', 'yes')).toBe(true)
    expect(cellMatches('Yes', 'yes')).toBe(false)
    expect(cellMatches('1.0', '1.0a')).toBe(false)
  })
})

describe('prepareSplits: encoding', () => {
  it('one-hot encodes categories in inputNames order, keeping the first indicator without dropFirst', () => {
    // Prepare
    const schema = schemaOf({
      features: [
        { name: 'x', type: 'numeric' },
        { name: 'cp', type: 'categorical', categories: ['a', 'b', 'c'] },
      ],
    })
    const t = table('x,cp,y\n1,a,0\n2,b,1\n3,c,0')
    // Execute
    const { train } = prepareSplits(t, schema, trainOnly(t.columns))
    // Assert
    expect(inputNames(schema)).toEqual(['x', 'cp=a', 'cp=b', 'cp=c'])
    expect(train.width).toBe(4)
    expect(rows(train)).toEqual([
      [1, 1, 0, 0],
      [2, 0, 1, 0],
      [3, 0, 0, 1],
    ])
  })

  it('drops the first indicator with dropFirst', () => {
    const schema = schemaOf({
      features: [
        { name: 'cp', type: 'categorical', categories: ['a', 'b', 'c'], dropFirst: true },
        { name: 'x', type: 'numeric' },
      ],
    })
    const t = table('x,cp,y\n1,a,0\n2,b,1\n3,c,0')

    const { train } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(inputNames(schema)).toEqual(['cp=b', 'cp=c', 'x'])
    expect(rows(train)).toEqual([
      [0, 0, 1],
      [1, 0, 2],
      [0, 1, 3],
    ])
  })

  it('matches numeric categories and labels numerically (1.0 == 1) and reads 63.0, .7, -1e3', () => {
    const schema = schemaOf({
      features: [
        { name: 'x', type: 'numeric' },
        { name: 'cp', type: 'categorical', categories: ['1', '2'], dropFirst: true },
      ],
      label: { column: 'num', positive: ['1', '2'] },
    })
    const t = table('x,cp,num\n63.0,1.0,0.0\n.7,2.0,1.0\n-1e3,2,2\n5,1,3')

    const { train, report } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(Array.from(train.labels)).toEqual([0, 1, 1, 0])
    expect(column(train, 0)).toEqual([63, Math.fround(0.7), -1000, 5])
    expect(column(train, 1)).toEqual([0, 1, 1, 0])
    expect(report.positives).toEqual({ train: 2, validation: 0 })
  })

  it('reads columns by name, whatever their order in the file, and ignores unused columns', () => {
    const schema = schemaOf({
      features: [
        { name: 'age', type: 'numeric', column: 'AGE' },
        { name: 'bp', type: 'numeric' },
      ],
    })
    const t = table('id,bp,y,AGE\n7,120,1,50\n8,130,0,60')

    const { train } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(rows(train)).toEqual([
      [50, 120],
      [60, 130],
    ])
  })

  it('does not mutate the input table', () => {
    const schema = schemaOf({ features: [{ name: 'x', type: 'numeric' }], missing: 'impute-mean', standardize: 'all' })
    const t = table('x,y\n1,0\n,1\n3,1')
    const frozen: RawTable = Object.freeze({ ...t, columns: Object.freeze([...t.columns]), rows: Object.freeze(t.rows.map((r) => Object.freeze([...r]))) })

    const prepared = prepareSplits(frozen, schema, { kind: 'fraction', validationFraction: 0, seed: 1 })

    expect(prepared.train.count).toBe(3)
    expect(frozen.rows).toEqual(t.rows)
  })
})

describe('prepareSplits: missing values and drops', () => {
  const features: StudySpecInput['data']['features'] = [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
  ]
  const csv = 'a,b,y\n1,10,1\n,20,0\n3,?,1\n5,40,NA\n7,50,0'

  it('drops a row with a missing label whatever the feature policy, and counts it', () => {
    const { report, train } = prepareSplits(table(csv), schemaOf({ features, missing: 'impute-zero' }), trainOnly(['a', 'b', 'y']))

    expect(report.rowsRead).toBe(5)
    expect(report.dropped).toEqual({ missingLabel: 1, missingFeature: 0, unknownCategory: 0, total: 1 })
    expect(train.count).toBe(4)
  })

  it('drop-row drops rows with a missing feature', () => {
    const { report, train } = prepareSplits(table(csv), schemaOf({ features, missing: 'drop-row' }), trainOnly(['a', 'b', 'y']))

    expect(report.dropped).toEqual({ missingLabel: 1, missingFeature: 2, unknownCategory: 0, total: 3 })
    expect(report.imputed).toEqual({})
    expect(rows(train)).toEqual([
      [1, 10],
      [7, 50],
    ])
  })

  it('impute-zero fills 0 and counts the cells', () => {
    const { report, train } = prepareSplits(table(csv), schemaOf({ features, missing: 'impute-zero' }), trainOnly(['a', 'b', 'y']))

    expect(report.imputed).toEqual({ a: 1, b: 1 })
    expect(rows(train)).toEqual([
      [1, 10],
      [0, 20],
      [3, 0],
      [7, 50],
    ])
  })

  it('impute-mean fills the train mean of the observed values', () => {
    const { report, train } = prepareSplits(table(csv), schemaOf({ features, missing: 'impute-mean' }), trainOnly(['a', 'b', 'y']))

    // a: mean(1, 3, 7) = 11/3; b: mean(10, 20, 50) = 80/3 (row 4 is dropped for its label, so its 40 is not used).
    expect(report.imputed).toEqual({ a: 1, b: 1 })
    expect(rows(train)).toEqual([
      [1, 10],
      [Math.fround(11 / 3), 20],
      [3, Math.fround(80 / 3)],
      [7, 50],
    ])
  })

  it('a per-feature policy overrides the schema-wide one', () => {
    const schema = schemaOf({
      features: [
        { name: 'a', type: 'numeric', missing: 'impute-zero' },
        { name: 'b', type: 'numeric' },
      ],
      missing: 'drop-row',
    })

    const { report, train } = prepareSplits(table(csv), schema, trainOnly(['a', 'b', 'y']))

    expect(report.imputed).toEqual({ a: 1 })
    expect(report.dropped.missingFeature).toBe(1)
    expect(rows(train)).toEqual([
      [1, 10],
      [0, 20],
      [7, 50],
    ])
  })

  it('impute-mean takes its mean from the train split only and applies it to validation', () => {
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }], missing: 'impute-mean' })
    const train = table('a,y\n2,0\n4,1\n,1')
    const validation = table('a,y\n100,0\n,1', 'validation.csv')

    const prepared = prepareSplits(train, schema, { kind: 'tables', validation })

    expect(column(prepared.train, 0)).toEqual([2, 4, 3])
    expect(column(prepared.validation, 0)).toEqual([100, 3])
    expect(prepared.report.imputed).toEqual({ a: 2 })
  })

  it('impute-mean of a categorical feature fills the train frequency of each category; impute-zero fills no category', () => {
    const mean = schemaOf({ features: [{ name: 'c', type: 'categorical', categories: ['a', 'b', 'c'] }], missing: 'impute-mean' })
    const zero = schemaOf({ features: [{ name: 'c', type: 'categorical', categories: ['a', 'b', 'c'] }], missing: 'impute-zero' })
    const t = table('c,y\na,0\nb,1\nb,0\nc,1\n?,1')

    const byMean = prepareSplits(t, mean, trainOnly(t.columns))
    const byZero = prepareSplits(t, zero, trainOnly(t.columns))

    expect(rows(byMean.train)[4]).toEqual([0.25, 0.5, 0.25])
    expect(rows(byZero.train)[4]).toEqual([0, 0, 0])
  })

  it('drops a row with an unknown category and counts it', () => {
    const schema = schemaOf({ features: [{ name: 'c', type: 'categorical', categories: ['1', '2'] }] })
    const t = table('c,y\n1,0\n2.0,1\n3,1\nx,0\n1,?')

    const { report, train } = prepareSplits(t, schema, trainOnly(t.columns))

    // The last row is missing its label, which counts first.
    expect(report.dropped).toEqual({ missingLabel: 1, missingFeature: 0, unknownCategory: 2, total: 3 })
    expect(rows(train)).toEqual([
      [1, 0],
      [0, 1],
    ])
  })

  it('throws SiteDataEmptyError when no train row is left', () => {
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }] })
    const t = table('a,y\n?,1\n2,?')

    expect(() => prepareSplits(t, schema, trainOnly(t.columns))).toThrow(SiteDataEmptyError)
  })

  it('throws SiteDataEmptyError when impute-mean has no observed train value', () => {
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }], missing: 'impute-mean' })
    const t = table('a,y\n?,1\n?,0')

    const run = (): unknown => prepareSplits(t, schema, trainOnly(t.columns))

    expect(run).toThrow(SiteDataEmptyError)
    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_EMPTY', column: 'a' }))
  })
})

describe('prepareSplits: errors name the cell', () => {
  const schema = schemaOf({ features: [{ name: 'age', type: 'numeric' }] })

  it('a non-numeric numeric cell is an error naming the row and column, not a drop', () => {
    const t = table('age,y\n50,1\n6O,0')

    const run = (): unknown => prepareSplits(t, schema, trainOnly(t.columns))

    expect(run).toThrow(SiteDataError)
    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_INVALID', file: 'site.csv', row: 2, column: 'age' }))
    expect(run).toThrow(/data row 2, column "age": "6O" is not a number/)
  })

  it('names the file line when the table knows it', () => {
    const t: RawTable = { ...table('age,y\n50,1\nabc,0'), lines: [2, 4] }

    expect(() => prepareSplits(t, schema, trainOnly(t.columns))).toThrow(expect.objectContaining({ line: 4, row: 2, column: 'age' }))
  })

  it('a missing schema column is an error naming it and listing the available ones', () => {
    const t = table('AGE,y\n50,1')

    const run = (): unknown => prepareSplits(t, schema, trainOnly(t.columns))

    expect(run).toThrow(SiteColumnMissingError)
    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_COLUMN_MISSING', column: 'age', available: ['AGE', 'y'] }))
  })

  it('the validation table is checked for columns too', () => {
    const t = table('age,y\n50,1\n60,0')

    const run = (): unknown => prepareSplits(t, schema, { kind: 'tables', validation: table('age,label\n1,1', 'val.csv') })

    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_COLUMN_MISSING', file: 'val.csv', column: 'y' }))
  })
})

describe('prepareSplits: standardisation', () => {
  it('uses the sample std (ddof 1), checked by hand', () => {
    // Prepare: train a = 1, 2, 3, 4: mean 2.5, sum of squares 5, sample var 5/3, std 1.2909944487358056.
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }], standardize: 'numeric' })
    const t = table('a,y\n1,0\n2,1\n3,0\n4,1')
    const std = Math.sqrt(5 / 3)

    const { train, report } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(report.standardization).toEqual({ columns: ['a'], mean: [2.5], std: [std] })
    expect(std).toBeCloseTo(1.2909944487358056, 15)
    expect(column(train, 0)).toEqual([-1.5, -0.5, 0.5, 1.5].map((d) => Math.fround(d / (std + 1e-9))))
  })

  it('takes statistics from the train split only, so validation is not centred', () => {
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }], standardize: 'numeric' })
    const t = table('a,y,set\n1,0,tr\n3,1,tr\n10,0,va\n12,1,va')

    const { train, validation, report } = prepareSplits(t, schema, { kind: 'column', column: 'set', trainValue: 'tr', validationValue: 'va' })

    // train mean 2, std sqrt(2): validation (10 - 2)/sqrt(2), (12 - 2)/sqrt(2).
    expect(report.standardization.mean).toEqual([2])
    expect(column(train, 0).reduce((s, v) => s + v, 0)).toBeCloseTo(0, 6)
    expect(column(validation, 0)).toEqual([8, 10].map((d) => Math.fround(d / (Math.SQRT2 + 1e-9))))
    expect(column(validation, 0).reduce((s, v) => s + v, 0) / 2).toBeGreaterThan(5)
  })

  it("'numeric' leaves indicators alone, 'all' standardises them too, 'none' nothing", () => {
    const features: StudySpecInput['data']['features'] = [
      { name: 'a', type: 'numeric' },
      { name: 'c', type: 'categorical', categories: ['p', 'q'], dropFirst: true },
    ]
    const t = table('a,c,y\n1,p,0\n2,q,1\n3,q,0')

    const numeric = prepareSplits(t, schemaOf({ features, standardize: 'numeric' }), trainOnly(t.columns))
    const all = prepareSplits(t, schemaOf({ features, standardize: 'all' }), trainOnly(t.columns))
    const none = prepareSplits(t, schemaOf({ features, standardize: 'none' }), trainOnly(t.columns))

    expect(numeric.report.standardization.columns).toEqual(['a'])
    expect(column(numeric.train, 1)).toEqual([0, 1, 1])
    expect(all.report.standardization.columns).toEqual(['a', 'c=q'])
    // c=q is 0, 1, 1: mean 2/3, sample std sqrt(1/3).
    expect(column(all.train, 1)).toEqual([-2 / 3, 1 / 3, 1 / 3].map((d) => Math.fround(d / (Math.sqrt(1 / 3) + 1e-9))))
    expect(none.report.standardization).toEqual({ columns: [], mean: [], std: [] })
    expect(column(none.train, 0)).toEqual([1, 2, 3])
  })

  it('maps a constant train column to 0, as FLamby does with its +1e-9', () => {
    const schema = schemaOf({ features: [{ name: 'chol', type: 'numeric' }], standardize: 'all' })
    const t = table('chol,y\n0,1\n0,1\n0,0')

    const { train, report } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(report.standardization.std).toEqual([0])
    expect(column(train, 0)).toEqual([0, 0, 0])
  })

  it('standardises after imputation, so the imputed mean maps to 0', () => {
    const schema = schemaOf({ features: [{ name: 'a', type: 'numeric' }], missing: 'impute-mean', standardize: 'numeric' })
    const t = table('a,y\n1,0\n3,1\n?,1')

    const { train } = prepareSplits(t, schema, trainOnly(t.columns))

    expect(column(train, 0)[2]).toBe(0)
  })
})

describe('prepareSplits: splits', () => {
  /** 100 rows, 30 positive, x = row number. */
  const big = table(['x,y', ...Array.from({ length: 100 }, (_, i) => `${i},${i % 10 < 3 ? 1 : 0}`)].join('\n'))
  const schema = schemaOf({ features: [{ name: 'x', type: 'numeric' }] })

  it('the fraction split is stratified by label', () => {
    const { report } = prepareSplits(big, schema, { kind: 'fraction', validationFraction: 0.2, seed: 42 })

    expect(report.rowsUsed).toEqual({ train: 80, validation: 20 })
    expect(report.positives).toEqual({ train: 24, validation: 6 })
  })

  it('the fraction split is deterministic per seed and changes with the seed', () => {
    const a = prepareSplits(big, schema, { kind: 'fraction', validationFraction: 0.2, seed: 42 })
    const b = prepareSplits(big, schema, { kind: 'fraction', validationFraction: 0.2, seed: 42 })
    const c = prepareSplits(big, schema, { kind: 'fraction', validationFraction: 0.2, seed: 43 })

    expect(column(a.validation, 0)).toEqual(column(b.validation, 0))
    expect(column(a.validation, 0)).not.toEqual(column(c.validation, 0))
    // Rows keep table order inside each split, and together they are the whole table.
    const all = [...column(a.train, 0), ...column(a.validation, 0)].sort((p, q) => p - q)
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(column(a.validation, 0)).toEqual([...column(a.validation, 0)].sort((p, q) => p - q))
  })

  it('the column split sends rows by value and rejects any other value', () => {
    const t = table('x,y,part\n1,0,train\n2,1,val\n3,1,train\n4,0,holdout')
    const spec: SplitSpec = { kind: 'column', column: 'part', trainValue: 'train', validationValue: 'val' }

    const ok = prepareSplits({ ...t, rows: t.rows.slice(0, 3) }, schema, spec)
    const run = (): unknown => prepareSplits(t, schema, spec)

    expect(column(ok.train, 0)).toEqual([1, 3])
    expect(column(ok.validation, 0)).toEqual([2])
    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_INVALID', row: 4, column: 'part' }))
  })

  it('the column split needs its column', () => {
    const run = (): unknown => prepareSplits(big, schema, { kind: 'column', column: 'fold', trainValue: '0', validationValue: '1' })

    expect(run).toThrow(expect.objectContaining({ code: 'SITE_DATA_COLUMN_MISSING', column: 'fold' }))
  })

  it.each([
    [{ kind: 'fraction', validationFraction: 1, seed: 1 }],
    [{ kind: 'fraction', validationFraction: -0.1, seed: 1 }],
    [{ kind: 'fraction', validationFraction: Number.NaN, seed: 1 }],
    [{ kind: 'fraction', validationFraction: 0.2, seed: 1.5 }],
    [{ kind: 'column', column: 'y', trainValue: '1', validationValue: '1.0' }],
  ] satisfies [SplitSpec][])('rejects the split spec %j', (spec) => {
    expect(() => prepareSplits(big, schema, spec)).toThrow(SiteConfigError)
  })
})

describe('prepareSplits: warnings for data that prepares but is probably wrong', () => {
  const schema = schemaOf({
    features: [
      { name: 'x', type: 'numeric' },
      { name: 'c', type: 'categorical', categories: ['a', 'b'] },
    ],
  })
  /** 40 rows, x = row number, c alternating a/b, y alternating 0/1; `edit` rewrites some rows. */
  const rowsOf = (edit: (i: number, row: string[]) => string[] = (_i, r) => r) =>
    table(['x,c,y', ...Array.from({ length: 40 }, (_, i) => edit(i, [String(i), i % 2 ? 'a' : 'b', String(i % 2)]).join(','))].join('\n'))

  it('gives none for clean data', () => {
    expect(prepareSplits(rowsOf(), schema, trainOnly(['x', 'c', 'y'])).report.warnings).toEqual([])
  })

  it('names the label values outside label.positive that train as negative', () => {
    const t = rowsOf((i, r) => (i < 3 ? [r[0]!, r[1]!, 'yes'] : r))
    const [w] = prepareSplits(t, schema, trainOnly(['x', 'c', 'y'])).report.warnings
    expect(w).toMatch(/^label column "y": 2\d rows count as negative with 2 different values, "0" \(\d+\), "yes" \(3\); only "1" count as positive/)
  })

  it('names the unknown categories that dropped rows, with their counts', () => {
    const t = rowsOf((i, r) => (i < 4 ? [r[0]!, i < 3 ? 'z' : 'B?', r[2]!] : r))
    const warnings = prepareSplits(t, schema, trainOnly(['x', 'c', 'y'])).report.warnings
    expect(warnings).toContain('feature "c": 4 rows dropped for values that are not among its categories: "z" (3), "B?" (1); fix the file or add the categories to the study\'s schema')
  })

  it('warns of a site with a handful of rows, and of a train split of one class', () => {
    const t = table(['x,c,y', '1,a,0', '2,b,0', '3,a,0'].join('\n'))
    const warnings = prepareSplits(t, schema, trainOnly(['x', 'c', 'y'])).report.warnings
    expect(warnings).toEqual([
      'only 3 training rows after preparation: too few for the model to learn from reliably; check the file and the drops above',
      'every training row is negative (3 rows): the model cannot learn the other class from this site; check the label column and label.positive',
    ])
  })
})
