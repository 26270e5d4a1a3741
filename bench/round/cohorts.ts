/**
 * The bench's hospitals: 16 distinct synthetic cohorts (fixed seeds, sizes,
 * case mix and populations) written as CSVs, each with a fixed Ed25519
 * identity. A scale of n sites uses the first n.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { signerFromSeed, type Signer } from '../../ledger/index.ts'
import { cohortToCsv, generateCohort, type CohortInit } from '../../site-agent/index.ts'

export const MAX_SITES = 16

export interface BenchSite {
  readonly cohort: CohortInit
  /** The identity's seed, so the TLS runs can write its key file. */
  readonly seed: Uint8Array
  readonly signer: Signer
}

/** Site i: 150 to 585 patients, prevalence 0.30 to 0.58, covariate shift -1.2 to 1.5. */
export const BENCH_SITES: readonly BenchSite[] = Array.from({ length: MAX_SITES }, (_, i) => benchSite(i))

function benchSite(i: number): BenchSite {
  // Seed byte 1 is the hub's; sites take 10, 11, ….
  const seed = new Uint8Array(32).fill(10 + i)
  return {
    cohort: {
      siteId: `hospital-${String(i + 1).padStart(2, '0')}`,
      seed: 7001 + 97 * i,
      size: 150 + ((i * 73) % 16) * 29,
      prevalence: 0.3 + ((i * 5) % 8) * 0.04,
      shift: -1.2 + ((i * 7) % 10) * 0.3,
    },
    seed,
    signer: signerFromSeed(seed),
  }
}

/** Writes the first `count` cohorts to `<dir>/<siteId>.csv`; returns the paths in site order. */
export async function writeCohorts(dir: string, count: number): Promise<string[]> {
  return Promise.all(
    BENCH_SITES.slice(0, count).map(async ({ cohort }) => {
      const file = path.join(dir, `${cohort.siteId}.csv`)
      await writeFile(file, cohortToCsv(generateCohort(cohort)), 'utf8')
      return file
    }),
  )
}
