import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type DataSchema, DataSchemaSchema } from '../../../models/core/index.ts'
import { SiteColumnMissingError, SiteDataError } from '../../../site-agent/index.ts'
import { readCsvRecords } from '../../../site-agent/index.ts'

const schema: DataSchema = DataSchemaSchema.parse({
  features: [
    { name: 'age', type: 'numeric' },
    { name: 'cp', type: 'categorical', categories: ['1', '2'] },
  ],
  label: { column: 'num', positive: ['1'] },
})

let dir = ''
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedlineage-csv-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function file(name: string, text: string | Uint8Array): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

describe('readCsvRecords', () => {
  it('reads the header and trimmed rows, skipping blank lines, and records each row line', async () => {
    // Prepare
    const path = await file('site.csv', 'age, cp ,num,extra\n 63.0 ,1,0,a\n\n.7,2,1, b \n')
    // Execute
    const t = await readCsvRecords(path, schema)
    // Assert
    expect(t).toEqual({
      columns: ['age', 'cp', 'num', 'extra'],
      rows: [
        ['63.0', '1', '0', 'a'],
        ['.7', '2', '1', 'b'],
      ],
      sourcePath: path,
      lines: [2, 4],
    })
  })

  it('says a headerless file has data where its header should be, and how to name its columns', async () => {
    // Prepare: UCI's raw files start with data; two cells repeat, which once read as a duplicate column name.
    const path = await file('processed.cleveland.data', '63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n')
    // Execute
    const read = readCsvRecords(path, schema)
    // Assert
    await expect(read).rejects.toThrow(SiteDataError)
    await expect(read).rejects.toThrow(
      /line 1: the first line is data \(63\.0,1\.0,1\.0,145\.0,…\), not a header row; if the file has no header, name its 14 columns in the study spec's data\.columns/,
    )
  })

  it('reads a file to score without its label column when the label is optional', async () => {
    const path = await file('score.csv', 'age,cp\n63,1\n')
    await expect(readCsvRecords(path, schema)).rejects.toThrow(SiteColumnMissingError)
    expect((await readCsvRecords(path, schema, { labelOptional: true })).rows).toEqual([['63', '1']])
  })

  it('uses schema.columns for a headerless file', async () => {
    const path = await file('uci.data', '63.0,1.0,0\n67.0,4.0,2\n')
    const headerless = DataSchemaSchema.parse({ ...schema, columns: ['age', 'cp', 'num'] })

    const t = await readCsvRecords(path, headerless)

    expect(t.columns).toEqual(['age', 'cp', 'num'])
    expect(t.rows).toEqual([
      ['63.0', '1.0', '0'],
      ['67.0', '4.0', '2'],
    ])
    expect(t.lines).toEqual([1, 2])
  })

  it('ignores a UTF-8 BOM and accepts CRLF line ends', async () => {
    const path = await file('bom.csv', new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('age,cp,num\r\n1,1,0\r\n')]))

    const t = await readCsvRecords(path, schema)

    expect(t.columns).toEqual(['age', 'cp', 'num'])
    expect(t.rows).toEqual([['1', '1', '0']])
  })

  it('names the line where a quoted multi-line record starts', async () => {
    const path = await file('quoted.csv', 'age,cp,num,note\n1,1,0,"two\nlines"\n2,2,1,x\n')

    const t = await readCsvRecords(path, schema)

    expect(t.lines).toEqual([2, 4])
  })

  it('a row with the wrong number of cells is an error naming the file and line', async () => {
    const path = await file('short.csv', 'age,cp,num\n1,1,0\n\n2,2\n')

    const read = readCsvRecords(path, schema)

    await expect(read).rejects.toThrow(SiteDataError)
    await expect(readCsvRecords(path, schema)).rejects.toThrow(expect.objectContaining({ code: 'SITE_DATA_INVALID', file: path, line: 4, row: 2 }))
    await expect(readCsvRecords(path, schema)).rejects.toThrow(`${path} line 4: 2 cells, want 3 as in the header on line 1`)
  })

  it('a missing schema column is an error naming it and listing the available columns', async () => {
    const path = await file('cols.csv', 'AGE,cp,num\n1,1,0\n')

    const read = readCsvRecords(path, schema)

    await expect(read).rejects.toThrow(SiteColumnMissingError)
    await expect(readCsvRecords(path, schema)).rejects.toThrow(expect.objectContaining({ code: 'SITE_DATA_COLUMN_MISSING', column: 'age', available: ['AGE', 'cp', 'num'] }))
  })

  it.each([
    ['an empty file', ''],
    ['a repeated header name', 'age,cp,num,age\n1,1,0,2\n'],
    ['an empty header name', 'age,,cp,num\n1,1,0,2\n'],
    ['an unclosed quote', 'age,cp,num\n1,"1,0\n'],
  ])('rejects %s with SITE_DATA_INVALID', async (_, text) => {
    const path = await file('bad.csv', text)

    await expect(readCsvRecords(path, schema)).rejects.toThrow(expect.objectContaining({ code: 'SITE_DATA_INVALID', file: path }))
  })

  it('a file that cannot be read is a SiteDataError naming it', async () => {
    const path = join(dir, 'absent.csv')

    await expect(readCsvRecords(path, schema)).rejects.toThrow(expect.objectContaining({ name: 'SiteDataError', file: path }))
  })
})
