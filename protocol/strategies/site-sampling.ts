/**
 * Client sampling: which of the eligible sites a round plans, drawn from the
 * round's logged seed so that every replica re-draws the same sites.
 *
 * Rule (PROTOCOL.md, "Client sampling"):
 * 1. The eligible sites are sorted in code-unit order; n is their number.
 * 2. k = max(floor(fraction · n), minSites) for `{ fraction }` (Flower's
 *    `fraction_fit` with `min_fit_clients`), `count` for `{ count }`; then
 *    k = min(k, n).
 * 3. The permutation `shuffleIndices(n, s)` (models/core/random.ts) is drawn
 *    with s = the first 4 bytes, big-endian, of
 *    SHA-256("fedlineage/sampling/<roundSeed>"), a stream of its own so the
 *    draw is independent of the sites' batch order, which uses roundSeed.
 * 4. The sites at its first k positions are planned, in code-unit order.
 */
import { sha256 } from '../../ledger/core/index.ts'
import { InvalidModelInputError, shuffleIndices, sortBySiteId, type StrategyOptions } from '../../models/core/index.ts'

export type Sampling = NonNullable<StrategyOptions['sampling']>

/** The seed of step 3 of the module doc. */
export function samplingSeed(roundSeed: number): number {
  const d = sha256(new TextEncoder().encode(`fedlineage/sampling/${roundSeed}`))
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0
}

/** How many of `n` eligible sites a round plans (step 2). */
export function sampleSize(n: number, sampling: Sampling, minSites: number): number {
  const k = sampling.count ?? Math.max(Math.floor((sampling.fraction ?? 1) * n), minSites)
  return Math.min(k, n)
}

/** The sites a round with seed `roundSeed` plans out of `siteIds` (any order, distinct), in code-unit order. */
export function sampleSites(siteIds: readonly string[], sampling: Sampling, minSites: number, roundSeed: number): string[] {
  if (!Number.isSafeInteger(minSites) || minSites < 1) throw new InvalidModelInputError(`minSites ${minSites}, want a positive integer`)
  const sorted = sortBySiteId(siteIds.map((siteId) => ({ siteId }))).map((s) => s.siteId)
  const k = sampleSize(sorted.length, sampling, minSites)
  const order = shuffleIndices(sorted.length, samplingSeed(roundSeed))
  const drawn = Array.from(order.subarray(0, k), (i) => sorted[i]!)
  return sortBySiteId(drawn.map((siteId) => ({ siteId }))).map((s) => s.siteId)
}
