/**
 * Who shares with whom: the round's graph of sites (SecAgg+, Bell et al.
 * 2020). Every site, the coordinator and the audit build it from the same
 * inputs (the participants, k, the round's logged seed), so it is never sent.
 *
 * Rule: sort the participants in code-unit order, permute them with
 * `shuffleIndices(n, seed)` (models/core, Mulberry32 Fisher–Yates) and place
 * them on a cycle in that order. With d = secAggDegree(n, k):
 * - d = n − 1: the complete graph (Bonawitz et al.'s SecAgg);
 * - d even: each site is joined to the d/2 sites before and after it on the
 *   cycle (the Harary graph H(d, n), Flower's construction);
 * - d odd (then n is even): the same with (d − 1)/2 each way, plus the site
 *   opposite on the cycle (position + n/2).
 * The graph is d-regular; neighbour lists are sorted in code-unit order.
 * A random placement keeps a coordinator from choosing who guards whom.
 */
import { SecAggSpecError, secAggDegree, shuffleIndices } from '../../models/core/index.ts'
import { ProtocolInvalidArgumentError } from '../errors.ts'
import { compareSiteIds } from '../study-state.ts'

/**
 * Each participant's neighbours. Requires distinct participants (n >= 2) and
 * k >= 1; `seed` is reduced to 32 bits. Deterministic in (set of
 * participants, k, seed): the order of `participants` does not matter.
 */
export function secAggGraph(participants: readonly string[], k: number, seed: number): ReadonlyMap<string, readonly string[]> {
  const sorted = [...participants].sort(compareSiteIds)
  const n = sorted.length
  for (let i = 1; i < n; i++) if (sorted[i] === sorted[i - 1]) throw new ProtocolInvalidArgumentError(`participant "${sorted[i]}" is listed twice`)
  if (n < 2) throw new ProtocolInvalidArgumentError(`a secure-aggregation graph needs at least 2 participants, got ${n}`)
  if (!Number.isInteger(k) || k < 1) throw new SecAggSpecError(`numShares resolved to ${k}, want an integer >= 1`, 'numShares')
  const d = secAggDegree(n, k)
  const graph = new Map<string, readonly string[]>()
  if (d === n - 1) {
    for (const site of sorted)
      graph.set(
        site,
        sorted.filter((v) => v !== site),
      )
    return graph
  }
  const cycle = Array.from(shuffleIndices(n, seed), (i) => sorted[i]!)
  const half = d >> 1
  for (let pos = 0; pos < n; pos++) {
    const around: string[] = []
    for (let off = 1; off <= half; off++) around.push(cycle[(pos + off) % n]!, cycle[(pos - off + n) % n]!)
    if (d % 2 === 1) around.push(cycle[(pos + n / 2) % n]!)
    graph.set(cycle[pos]!, around.sort(compareSiteIds))
  }
  return graph
}
