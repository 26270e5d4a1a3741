/**
 * `fedlineage dataset prepare --schema FILE --csv FILE --out FILE`: prepares a
 * table with a study's data schema (the same pipeline the sites run: one-hot,
 * missing values, standardisation with this table's own statistics) and
 * writes the canonical Dataset bytes. The research hub uses it for its own
 * validation set, which gain-based rewards are measured on.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { sha256, toHex } from '../../ledger/index.ts'
import { DataSchemaSchema, encodeDataset, type DataSchema } from '../../models/index.ts'
import { prepareSplits, readCsvRecords } from '../data/index.ts'
import { SiteConfigError } from '../errors.ts'

/** The data schema of a hub config (`.study.data`), a study spec (`.data`) or a bare schema. */
export async function loadDataSchema(file: string): Promise<DataSchema> {
  let value: { study?: { data?: unknown }; data?: unknown }
  try {
    value = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new SiteConfigError(`--schema ${file}: ${(err as Error).message}`, { cause: err })
  }
  const raw = value.study?.data ?? value.data ?? value
  const parsed = DataSchemaSchema.safeParse(raw)
  if (!parsed.success) throw new SiteConfigError(`--schema ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return parsed.data
}

export async function prepareDatasetFile(schemaFile: string, csv: string, out: string): Promise<{ rows: number; width: number; hash: string }> {
  const schema = await loadDataSchema(schemaFile)
  const prepared = prepareSplits(await readCsvRecords(csv, schema), schema, { kind: 'fraction', validationFraction: 0, seed: 0 })
  const bytes = encodeDataset(prepared.train)
  await writeFile(out, bytes)
  return { rows: prepared.train.count, width: prepared.train.width, hash: toHex(sha256(bytes)) }
}

/** `dataset prepare`: writes the prepared dataset and prints its size and hash. */
export async function datasetPrepare(opts: { readonly schema: string; readonly csv: string; readonly out: string }): Promise<void> {
  const r = await prepareDatasetFile(opts.schema, opts.csv, opts.out)
  process.stdout.write(`prepared ${r.rows} rows x ${r.width} inputs into ${opts.out} (sha256 ${r.hash})\n`)
}
