/**
 * Where the site keeps its DP-SGD account (dp-sgd-budget.ts), so that a
 * restart forgets nothing it spent: `<stateDir>/<siteId>-dp-sgd-account.cbor`,
 * one file per site, for every study (the budget is the site's, not a
 * study's). Canonical CBOR `{ runs: [{ study, round, q, noiseMultiplier, steps }] }`,
 * written to a temporary file and renamed into place, so a crash leaves the
 * old account or the new one, never half. Never delete it: a site with no
 * account starts again from ε = 0.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../ledger/index.ts'
import type { DpSgdRun } from './dp-sgd-budget.ts'
import { SiteDpAccountError } from './errors.ts'

const AccountSchema = z.strictObject({
  runs: z.array(
    z.strictObject({
      study: z.string().min(1),
      round: z.number().int().positive(),
      q: z.number().gt(0).max(1),
      noiseMultiplier: z.number().gt(0),
      steps: z.number().int().positive(),
    }),
  ),
})

/** The account file of site `siteId` in `stateDir`. */
export function dpSgdAccountFile(stateDir: string, siteId: string): string {
  return path.join(stateDir, `${siteId}-dp-sgd-account.cbor`)
}

/** The runs on record, [] when the site has no account yet. Throws `SiteDpAccountError` for a file it cannot read as one. */
export async function readDpSgdAccount(file: string): Promise<DpSgdRun[]> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new SiteDpAccountError(`${file}: cannot read the site's DP-SGD account (${(err as Error).message}); nothing is trained until it can be`, { cause: err })
  }
  try {
    return AccountSchema.parse(decodeCanonical(bytes)).runs
  } catch (err) {
    throw new SiteDpAccountError(`${file}: not a DP-SGD account (${(err as Error).message}); restore it from a backup: without it the site cannot tell what its records have spent`, { cause: err })
  }
}

/** Stores the runs, replacing the file in one rename. Throws `SiteDpAccountError` when the folder is not writable. */
export async function writeDpSgdAccount(file: string, runs: readonly DpSgdRun[]): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    const value = { runs: runs.map((r) => ({ study: r.study, round: r.round, q: r.q, noiseMultiplier: r.noiseMultiplier, steps: r.steps })) }
    await writeFile(temporary, encodeCanonical(value), { mode: 0o600 })
    await rename(temporary, file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new SiteDpAccountError(`${file}: cannot store the site's DP-SGD account (${code}); set "stateDir" in the site config to a writable folder`, { cause: err })
  }
}
