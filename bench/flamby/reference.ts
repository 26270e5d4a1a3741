/**
 * FLamby's published Fed-Heart-Disease results (`flamby-reference-results/`
 * in the data folder, see its README), read rather than hard-coded.
 *
 * `summary_mean_over_5_seeds.csv` gives, per method, the per-client test
 * means and the pooled-test mean and std over seeds 42-46. Its std is the
 * **population** std (ddof 0): recomputed from the five per-seed files,
 * FedAvg100's pooled accuracies give 0.0240 with ddof 0 and 0.0268 with
 * ddof 1. We report our own spread with ddof 1, so the sample std of
 * FLamby's per-seed pooled accuracies is computed here too and both are kept.
 *
 * FLamby's "Pooled Test" is not the example-weighted mean of its client
 * tests: it evaluates the model on all test rows standardised with the
 * pooled train statistics (see check.ts). The example-weighted mean of the
 * per-seed client accuracies, our `pooledTest`, is computed here as well.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { FlambyDataMismatchError, HEART_CENTERS } from './heart-disease.ts'
import { mean, std, weightedMean } from '../support/stats.ts'

export const REFERENCE_DIR = 'flamby-reference-results'
export const SUMMARY_FILE = 'summary_mean_over_5_seeds.csv'
export const REFERENCE_SEEDS = [42, 43, 44, 45, 46] as const

export interface FlambyReference {
  /** The summary row's method name, e.g. `FedAvg100`. */
  readonly method: string
  readonly clientTestMeans: readonly number[]
  readonly pooledTestMean: number
  /** As published in the summary: population std (ddof 0) over the seeds. */
  readonly pooledTestStd: number
  /** Sample std (ddof 1) of the per-seed pooled accuracies, comparable with ours. */
  readonly pooledTestStdSample: number
  /** Mean over seeds of Σ client accuracy · test rows / Σ test rows: our `pooledTest` definition. */
  readonly exampleWeightedClientTestMean: number
  /** Its sample std (ddof 1) over seeds. */
  readonly exampleWeightedClientTestStd: number
  readonly seeds: number
}

/**
 * Reads `method`'s row of the summary and its per-seed client and pooled accuracies.
 * Throws FlambyDataMismatchError when the row is missing or the per-seed
 * files do not reproduce the summary's means and std (to its 4 decimals).
 */
export async function readFlambyReference(dataDir: string, method: string): Promise<FlambyReference> {
  const dir = join(dataDir, REFERENCE_DIR)
  const rows = parse(await readFile(join(dir, SUMMARY_FILE)), { columns: true, trim: true, skip_empty_lines: true }) as Record<string, string>[]
  const row = rows.find((r) => r['method'] === method)
  if (!row) throw new FlambyDataMismatchError(`${SUMMARY_FILE}: no row with method ${JSON.stringify(method)}`, method, rows.map((r) => r['method']).join(','))
  const num = (column: string): number => {
    const value = Number(row[column])
    if (row[column] === undefined || !Number.isFinite(value))
      throw new FlambyDataMismatchError(`${SUMMARY_FILE} ${method}: column ${JSON.stringify(column)} is ${JSON.stringify(row[column])}, want a number`, 'number', String(row[column]))
    return value
  }

  const pooledBySeed: number[] = []
  const weightedBySeed: number[] = []
  const clientsBySeed: number[][] = []
  for (const seed of REFERENCE_SEEDS) {
    const file = `heart_seed${seed}.csv`
    // Column order differs between the files; the header names them.
    const records = parse(await readFile(join(dir, file)), { columns: true, trim: true, skip_empty_lines: true }) as Record<string, string>[]
    const pooled = records.filter((r) => r['Method'] === method && r['Test'] === 'Pooled Test')
    if (pooled.length !== 1) throw new FlambyDataMismatchError(`${file}: ${pooled.length} "Pooled Test" rows for ${method}, want 1`, 1, pooled.length)
    pooledBySeed.push(Number(pooled[0]!['Metric']))
    const clients = HEART_CENTERS.map((c) => {
      const hit = records.filter((r) => r['Method'] === method && r['Test'] === `client_test_${c.centerId}`)
      if (hit.length !== 1) throw new FlambyDataMismatchError(`${file}: ${hit.length} "client_test_${c.centerId}" rows for ${method}, want 1`, 1, hit.length)
      return { value: Number(hit[0]!['Metric']), weight: c.testRows }
    })
    weightedBySeed.push(weightedMean(clients))
    clientsBySeed.push(clients.map((c) => c.value))
  }

  const reference: FlambyReference = {
    method,
    clientTestMeans: [0, 1, 2, 3].map((c) => num(`client_test_${c}_mean`)),
    pooledTestMean: num('Pooled Test_mean'),
    pooledTestStd: num('pooled_test_std'),
    pooledTestStdSample: std(pooledBySeed, 1),
    exampleWeightedClientTestMean: mean(weightedBySeed),
    exampleWeightedClientTestStd: std(weightedBySeed, 1),
    seeds: num('n_seeds'),
  }
  const close = (a: number, b: number) => Math.abs(a - b) <= 6e-5 // the summary is rounded to 4 decimals
  reference.clientTestMeans.forEach((published, c) => {
    const computed = mean(clientsBySeed.map((seed) => seed[c]!))
    if (!close(computed, published))
      throw new FlambyDataMismatchError(`${method}: per-seed client_test_${c} accuracies average ${computed.toFixed(4)}, ${SUMMARY_FILE} says ${published}`, published, computed)
  })
  if (!close(mean(pooledBySeed), reference.pooledTestMean) || !close(std(pooledBySeed, 0), reference.pooledTestStd)) {
    throw new FlambyDataMismatchError(
      `${method}: per-seed pooled accuracies give mean ${mean(pooledBySeed).toFixed(4)} ± ${std(pooledBySeed, 0).toFixed(4)} (ddof 0), ${SUMMARY_FILE} says ${reference.pooledTestMean} ± ${reference.pooledTestStd}`,
      `${reference.pooledTestMean} ± ${reference.pooledTestStd}`,
      `${mean(pooledBySeed)} ± ${std(pooledBySeed, 0)}`,
    )
  }
  return reference
}
