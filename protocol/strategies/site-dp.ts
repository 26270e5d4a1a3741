/**
 * Site-level DP-FedAvg at the coordinator (McMahan et al. 2018), around an
 * averaging strategy (models/core/dp-spec.ts names which):
 *
 * 1. each accepted delta is clipped to L2 norm S (`boundNorms`, as the norm
 *    bound does; the clipped ones are logged with their norms);
 * 2. the clipped deltas are summed in float64 in site-id order, each with
 *    weight 1 (equal weights: a site's example count must not scale its
 *    influence beyond S);
 * 3. noise z·S·N(0, 1) per coordinate is added, the normals drawn from the
 *    round's private seed (models/core/gaussian-noise.ts), in the model's
 *    tensor order, element order;
 * 4. the noised sum is divided by the number of planned sites (the fixed
 *    denominator: who failed to answer does not change the noise's scale
 *    relative to one site's contribution) and rounded once to float32;
 * 5. the inner strategy takes that average as its one reply (weight 1), so
 *    server learning rates and optimisers act on the private average only
 *    (post-processing costs no privacy).
 *
 * Pure: the seed comes in as `privateSeed`; without it the strategy refuses,
 * unless told the seed is withheld (`noiseWithheld`, the audit without the
 * seeds), when it aggregates without noise: see protocol/dp-audit.ts.
 */
import { StrategyPreconditionError, l2Norm, sortBySiteId, standardNormals, type DpSpec, type Weights } from '../../models/core/index.ts'
import type { Strategy } from '../strategy.ts'
import { boundNorms } from './norm-bound.ts'

/** The site id under which the private average reaches the inner strategy. */
const DP_AVERAGE = '~dp-average'

/** `inner` made site-level differentially private with `dp` (see the module doc). */
export function withSiteDp(inner: Strategy, dp: DpSpec): Strategy {
  const { aggregateStreamed: _streamed, ...rest } = inner
  const S = dp.clipNorm
  const z = dp.noiseMultiplier
  return {
    ...rest,
    parameters: { ...inner.parameters, dpClipNorm: S, dpNoiseMultiplier: z, dpDelta: dp.delta },
    needsPrivateSeed: true,
    aggregateRound(init) {
      if (init.privateSeed === undefined && init.noiseWithheld !== true) throw new StrategyPreconditionError(`round ${init.round}: DP-FedAvg needs the round's private noise seed, and none was given`)
      if (init.replies.length === 0) return inner.aggregateRound(init)
      const planned = Math.max(init.plannedSites ?? init.replies.length + init.failures.length, init.replies.length)
      const { replies, clipped } = boundNorms(init.replies, S)
      const sorted = sortBySiteId(replies)
      const template = init.global.tensors
      const total = template.reduce((n, t) => n + t.values.length, 0)
      // Withheld (an audit without the seeds): no noise, so everything but the model and what depends on it can be compared.
      const normals = init.privateSeed === undefined ? new Float64Array(total) : standardNormals(init.privateSeed, total)
      let at = 0
      const average: Weights = {
        tensors: template.map((t, k) => {
          const out = new Float32Array(t.values.length)
          for (let j = 0; j < out.length; j++) {
            let sum = 0
            for (const r of sorted) sum += r.delta.tensors[k]!.values[j]!
            out[j] = (sum + z * S * normals[at++]!) / planned
          }
          return { name: t.name, shape: t.shape, values: out }
        }),
      }
      const outcome = inner.aggregateRound({ ...init, replies: [{ siteId: DP_AVERAGE, exampleCount: 1, delta: average }] })
      if (outcome.kind === 'none') return outcome
      let clippedNormSum = 0
      for (const r of sorted) clippedNormSum += l2Norm(r.delta)
      return {
        ...outcome,
        clipped,
        metrics: {
          ...outcome.metrics,
          sites: init.replies.length,
          failures: init.failures.length,
          meanDeltaNorm: clippedNormSum / sorted.length,
          clippedSites: clipped.length,
          dpPlannedSites: planned,
          dpNoiseStddev: (z * S) / planned,
        },
      }
    },
  }
}
