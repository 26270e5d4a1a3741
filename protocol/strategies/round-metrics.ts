/**
 * The metrics a model-making strategy logs in `round-committed`, as FedAvg
 * logs them (strategy.ts): the number of sites and failures, the examples,
 * the mean L2 norm of the deltas aggregated, and ‖new − global‖₂. All in
 * float64 in site-id order, so they are as reproducible as the weights.
 */
import { l2Norm, sortBySiteId, type Weights } from '../../models/core/index.ts'
import type { RoundFailure, SiteReply } from '../strategy.ts'

export function modelMetrics(global: Weights, next: Weights, replies: readonly SiteReply[], failures: readonly RoundFailure[]): Record<string, number> {
  let examples = 0
  for (const r of sortBySiteId(replies)) examples += r.exampleCount
  return { sites: replies.length, failures: failures.length, examples, meanDeltaNorm: meanDeltaNorm(replies), updateNorm: updateNorm(next, global) }
}

/** The mean of the replies' delta L2 norms, summed in float64 in site-id order. */
export function meanDeltaNorm(replies: readonly SiteReply[]): number {
  let sum = 0
  for (const r of sortBySiteId(replies)) sum += l2Norm(r.delta)
  return sum / replies.length
}

/** ‖next − global‖₂ in float64, element by element in layout order (not rounded to float32). */
export function updateNorm(next: Weights, global: Weights): number {
  let sum = 0
  next.tensors.forEach((t, i) => {
    const g = global.tensors[i]!.values
    const v = t.values
    for (let j = 0; j < v.length; j++) {
      const d = v[j]! - g[j]!
      sum += d * d
    }
  })
  return Math.sqrt(sum)
}
