/**
 * Reads FLamby's published results from the shared data folder (skipped when
 * it is absent) and checks the numbers the benchmark compares against.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readFlambyReference } from '../../../bench/flamby/reference.ts'

const DATA_DIR = fileURLToPath(new URL('../../../../shared/data/heart-disease/', import.meta.url))

describe.skipIf(!existsSync(DATA_DIR))('readFlambyReference', () => {
  it('reads FedAvg100 and derives the sample std and the example-weighted client mean from the per-seed files', async () => {
    // Execute
    const ref = await readFlambyReference(DATA_DIR, 'FedAvg100')

    // Assert: the summary row, as published.
    expect(ref.clientTestMeans).toEqual([0.7308, 0.7191, 0.65, 0.64])
    expect(ref.pooledTestMean).toBe(0.748)
    expect(ref.pooledTestStd).toBe(0.024)
    expect(ref.seeds).toBe(5)
    // Derived from heart_seed4{2..6}.csv: ddof-1 std, and Σ acc·rows / 254 per seed (180, 183, 178, 176, 179 correct).
    expect(ref.pooledTestStdSample).toBeCloseTo(0.026846814364145388, 12)
    expect(ref.exampleWeightedClientTestMean).toBeCloseTo((180 + 183 + 178 + 176 + 179) / 5 / 254, 9)
  })

  it('refuses a method the summary does not list', async () => {
    await expect(readFlambyReference(DATA_DIR, 'FedNope')).rejects.toMatchObject({ code: 'BENCH_FLAMBY_DATA_MISMATCH' })
  })
})
