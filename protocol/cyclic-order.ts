/**
 * Which site trains in a round of a `cyclic` study (FLamby's `Cyclic`): the
 * sites take turns in cycles. Round r (1-based) is position (r − 1) mod n of
 * cycle ⌊(r − 1) / n⌋, over the n sites the round may plan. A cycle visits
 * the sites in code-unit order of their ids when `deterministicCycle`, else
 * in the permutation `shuffleIndices(n, s_c)` of that order, where s_c is the
 * c-th output (0-based) of `nextUint32` on `mulberry32(cycleSeed)`. Pure, so
 * the auditor replays the same choice from the spec and the round number.
 *
 * The cycle is over the sites the round may plan when it opens: a site
 * enrolled or removed mid-cycle changes n, and so the order from then on.
 */
import { compareSiteIds } from './study-state.ts'
import { mulberry32, nextUint32, shuffleIndices } from '../models/core/index.ts'

export interface CyclicOrder {
  readonly deterministicCycle: boolean
  readonly cycleSeed: number
}

/** The one site of round `round` among `siteIds` (any order), or undefined when there is none. */
export function cyclicSite(order: CyclicOrder, round: number, siteIds: readonly string[]): string | undefined {
  const sites = [...new Set(siteIds)].sort(compareSiteIds)
  if (sites.length === 0) return undefined
  const turn = Math.max(round - 1, 0)
  const cycle = Math.floor(turn / sites.length)
  const position = turn % sites.length
  if (order.deterministicCycle) return sites[position]
  const seeds = mulberry32(order.cycleSeed)
  let cycleSeed = nextUint32(seeds)
  for (let c = 0; c < cycle; c++) cycleSeed = nextUint32(seeds)
  return sites[shuffleIndices(sites.length, cycleSeed)[position]!]
}
