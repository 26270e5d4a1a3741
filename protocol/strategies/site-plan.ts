/**
 * The plan of a round in which every given site takes part with the same
 * instructions: the sites in code-unit order, each listed once.
 */
import { DuplicateSiteError, InvalidModelInputError, sortBySiteId } from '../../models/core/index.ts'
import type { RoundPlan, SiteInstructions } from '../strategy.ts'

/** Every site of `siteIds` (any order; a duplicate throws `DuplicateSiteError`) told `instructions`. */
export function planSites(round: number, siteIds: readonly string[], instructions: SiteInstructions): RoundPlan {
  if (!Number.isSafeInteger(round) || round < 0) throw new InvalidModelInputError(`round ${round}, want a non-negative integer`)
  const sorted = sortBySiteId(siteIds.map((siteId) => ({ siteId }))).map((s) => s.siteId)
  sorted.forEach((id, i) => {
    if (i > 0 && sorted[i - 1] === id) throw new DuplicateSiteError(`site "${id}": listed more than once`, id)
  })
  return { round, sites: sorted.map((siteId) => ({ siteId, instructions })) }
}
