/**
 * The benchmark's own evaluation of a logged model, independent of what the
 * sites reported: read the model blob from the lineage log by hash, decode it,
 * prepare test rows with the site pipeline (`readCsvRecords`, `prepareSplits`)
 * and score them with `evaluateModel`.
 *
 * Two ways to standardise the test rows:
 * - per center, with that center's train statistics: what each site does, and
 *   what the sites' reported accuracies must equal;
 * - pooled, all 254 test rows with the statistics of all 486 train rows:
 *   FLamby's "Pooled Test" (its `FedHeartDisease(pooled=True, train=False)`),
 *   the number behind FLamby's published 0.748. No site ever sees data
 *   standardised this way, so it is reported beside, not instead of, ours.
 */
import { sha256, toHex, type Ledger } from '../../ledger/index.ts'
import { decodeWeights, evaluateModel, inputWidth, modelShapes, type StudySpec, type Weights } from '../../models/index.ts'
import { prepareSplits, readCsvRecords, type RawTable } from '../../site-agent/index.ts'
import type { HeartCenter } from './heart-disease.ts'

export interface TestEvaluation {
  readonly examples: number
  readonly accuracy: number
}

/** The model `hash` from the log's blobs, after checking the blob hashes to it. */
export async function loggedModel(ledger: Ledger, hash: Uint8Array, study: StudySpec): Promise<Weights> {
  const blob = await ledger.getBlob(hash)
  if (toHex(sha256(blob)) !== toHex(hash)) throw new Error(`model blob hashes to ${toHex(sha256(blob))}, want ${toHex(hash)}`)
  return decodeWeights(blob, modelShapes(study.model, inputWidth(study.data)))
}

/** Test accuracy on each center, standardised with that center's train statistics, in `centers` order. */
export async function evaluatePerCenter(weights: Weights, study: StudySpec, centers: readonly HeartCenter[]): Promise<TestEvaluation[]> {
  const out: TestEvaluation[] = []
  for (const center of centers) {
    const { train, test } = await readCenter(center, study)
    const { validation } = prepareSplits(train, study.data, { kind: 'tables', validation: test })
    const result = await evaluateModel(study.model, weights, validation)
    out.push({ examples: result.examples, accuracy: result.accuracy })
  }
  return out
}

/** Test accuracy on all centers' test rows together, standardised with the pooled train statistics (FLamby's "Pooled Test"). */
export async function evaluatePooledNormalisation(weights: Weights, study: StudySpec, centers: readonly HeartCenter[]): Promise<TestEvaluation> {
  const tables = await Promise.all(centers.map((c) => readCenter(c, study)))
  const { validation } = prepareSplits(
    concatTables(
      tables.map((t) => t.train),
      'pooled train',
    ),
    study.data,
    {
      kind: 'tables',
      validation: concatTables(
        tables.map((t) => t.test),
        'pooled test',
      ),
    },
  )
  const result = await evaluateModel(study.model, weights, validation)
  return { examples: result.examples, accuracy: result.accuracy }
}

/** A center's train and test tables as the site pipeline reads them. */
export async function readCenter(center: HeartCenter, study: StudySpec): Promise<{ train: RawTable; test: RawTable }> {
  return { train: await readCsvRecords(center.trainCsv, study.data), test: await readCsvRecords(center.testCsv, study.data) }
}

/** Rows of same-header tables, in order (the centers' CSVs all have HEART_CSV_COLUMNS). */
export function concatTables(tables: readonly RawTable[], sourcePath: string): RawTable {
  const columns = tables[0]!.columns
  for (const t of tables) if (t.columns.join(',') !== columns.join(',')) throw new Error(`${t.sourcePath}: columns ${t.columns.join(',')}, want ${columns.join(',')}`)
  return { columns, rows: tables.flatMap((t) => t.rows), sourcePath }
}
