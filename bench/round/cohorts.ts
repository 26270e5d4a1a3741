/**
 * The bench's hospitals: up to 1,000 distinct synthetic cohorts (fixed
 * seeds, sizes, case mix and populations) written as CSVs, each with a fixed
 * Ed25519 identity. A scale of n sites uses the first n.
 *
 * The first 16 are the cohorts every earlier result was measured on, and
 * never change. Past them, cohorts are smaller (60 to 165 patients), so a
 * thousand of them cost seconds to generate and little memory: a round's
 * training cost is set by its local steps, not the cohort size, and the
 * large scales measure the coordinator, not the sites' data.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { signerFromSeed, type Signer } from '../../ledger/index.ts'
import { cohortToCsv, generateCohort, type CohortInit } from '../../site-agent/index.ts'

export const MAX_SITES = 1000

/** Sites measured before the bench grew past 16: their seeds, sizes and keys stay as they were. */
const ORIGINAL_SITES = 16

export interface BenchSite {
  readonly cohort: CohortInit
  /** The identity's seed, so the TLS runs can write its key file. */
  readonly seed: Uint8Array
  readonly signer: Signer
}

/** The first `count` bench sites (1 ≤ count ≤ MAX_SITES), made on demand. */
export function benchSites(count: number): BenchSite[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SITES) throw new RangeError(`bench sites: count is ${count}, want an integer from 1 to ${MAX_SITES}`)
  return Array.from({ length: count }, (_, i) => benchSite(i))
}

/** Site i: prevalence 0.30 to 0.58, covariate shift -1.2 to 1.5; 150 to 585 patients for the first 16, then 60 to 165. */
function benchSite(i: number): BenchSite {
  const seed = identitySeed(i)
  return {
    cohort: {
      siteId: `hospital-${String(i + 1).padStart(i < ORIGINAL_SITES ? 2 : 4, '0')}`,
      seed: 7001 + 97 * i,
      size: i < ORIGINAL_SITES ? 150 + ((i * 73) % 16) * 29 : 60 + ((i * 37) % 8) * 15,
      prevalence: 0.3 + ((i * 5) % 8) * 0.04,
      shift: -1.2 + ((i * 7) % 10) * 0.3,
    },
    seed,
    signer: signerFromSeed(seed),
  }
}

/**
 * Site i's identity seed. Seed byte 1 (all 32 bytes) is the hub's; the
 * first 16 sites fill all 32 bytes with 10 + i, the rest write a marker and
 * their index, which cannot collide with either.
 */
function identitySeed(i: number): Uint8Array {
  if (i < ORIGINAL_SITES) return new Uint8Array(32).fill(10 + i)
  const seed = new Uint8Array(32)
  seed[0] = 0xb5
  seed[1] = i >> 8
  seed[2] = i & 0xff
  return seed
}

/** Writes the cohorts of `sites` to `<dir>/<siteId>.csv`; returns the paths in site order. */
export async function writeCohorts(dir: string, sites: readonly BenchSite[]): Promise<string[]> {
  const files: string[] = []
  // One at a time: a thousand cohorts at once would hold every CSV string in memory together.
  for (const { cohort } of sites) {
    const file = path.join(dir, `${cohort.siteId}.csv`)
    await writeFile(file, cohortToCsv(generateCohort(cohort)), 'utf8')
    files.push(file)
  }
  return files
}
