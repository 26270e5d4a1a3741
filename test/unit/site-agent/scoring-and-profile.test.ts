/**
 * The parts of the data pipeline that serve `site check` and `predict`:
 * a label outside an explicit negative list is an error naming its row; a
 * site's train-split transform scores other records exactly as it prepared
 * its validation split; and the column profile counts what the schema sees.
 */
import { describe, expect, it } from 'vitest'
import { DataSchemaSchema, type DataSchema } from '../../../models/core/index.ts'
import { SiteDataError, prepareScoring, prepareSplits, profileColumns, type RawTable } from '../../../site-agent/index.ts'

function table(text: string, sourcePath = 'site.csv'): RawTable {
  const [header, ...rows] = text
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((c) => c.trim()))
  return { columns: header ?? [], rows, sourcePath }
}

const schema: DataSchema = DataSchemaSchema.parse({
  features: [
    { name: 'age', type: 'numeric', missing: 'impute-mean' },
    { name: 'cp', type: 'categorical', categories: ['a', 'b'] },
  ],
  label: { column: 'y', positive: ['yes'] },
  standardize: 'numeric',
})

const TRAIN = 'age,cp,y\n40,a,yes\n50,b,no\n60,a,no\n?,b,yes\n70,b,no\n'
const VALIDATION = 'age,cp,y\n45,a,yes\n?,b,no\n65,b,yes\n'

describe('label.negative', () => {
  it('makes a label value in neither list an error naming the row and value', () => {
    const strict = DataSchemaSchema.parse({ ...schema, label: { column: 'y', positive: ['yes'], negative: ['no'] } })
    const t = table('age,cp,y\n40,a,yes\n50,b,No\n', 'site.csv')
    expect(() => prepareSplits(t, strict, { kind: 'tables', validation: table('age,cp,y') })).toThrow(SiteDataError)
    expect(() => prepareSplits(t, strict, { kind: 'tables', validation: table('age,cp,y') })).toThrow(/site\.csv data row 2, column "y": label "No" is neither positive \(yes\) nor negative \(no\)/)
  })

  it('without it, other values still count as negative (with the warning)', () => {
    const t = table('age,cp,y\n40,a,yes\n50,b,No\n60,a,no\n')
    const prepared = prepareSplits(t, schema, { kind: 'tables', validation: table('age,cp,y') })
    expect(prepared.report.positives.train).toBe(1)
    expect(prepared.report.warnings.join('\n')).toMatch(/2 different values/)
  })
})

describe('prepareScoring', () => {
  it("scores records exactly as the site's validation split was prepared, with or without labels", () => {
    // Prepare: the site's splits, then its validation records as a file to score.
    const prepared = prepareSplits(table(TRAIN), schema, { kind: 'tables', validation: table(VALIDATION) })
    const unlabeled = table('cp,age\na,45\nb,?\nb,65\nc,50\n')

    // Execute
    const labelled = prepareScoring(table(VALIDATION), schema, prepared.preprocessing)
    const bare = prepareScoring(unlabeled, schema, prepared.preprocessing)

    // Assert: identical inputs (imputed with the train mean, standardised with train stats); labels where given.
    expect(Array.from(labelled.dataset.features)).toEqual(Array.from(prepared.validation.features))
    expect(Array.from(labelled.dataset.labels)).toEqual(Array.from(prepared.validation.labels))
    expect(labelled.labeled).toEqual([true, true, true])
    expect(Array.from(bare.dataset.features)).toEqual(Array.from(prepared.validation.features))
    expect(bare.labeled).toEqual([false, false, false])
    expect(bare.rows).toEqual([0, 1, 2])
    expect(bare.skipped).toEqual([{ row: 3, reason: 'unknown category' }])
  })
})

describe('profileColumns', () => {
  it('counts missing cells, numeric ranges, categories and unknown values over every table', () => {
    const profile = profileColumns([table(TRAIN), table('age,cp,y\n30,z,no\n35,z,no\n20,?,no\n')], schema)
    expect(profile).toEqual([
      { feature: 'age', column: 'age', type: 'numeric', missing: 1, rows: 8, invalid: 0, min: 20, max: 70, mean: (40 + 50 + 60 + 70 + 30 + 35 + 20) / 7 },
      {
        feature: 'cp',
        column: 'cp',
        type: 'categorical',
        missing: 1,
        rows: 8,
        categories: [
          { value: 'a', rows: 2 },
          { value: 'b', rows: 3 },
        ],
        unknown: [{ value: 'z', rows: 2 }],
      },
    ])
  })
})
