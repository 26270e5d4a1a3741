/**
 * The options every strategy spec may carry (models/core/strategy-options.ts),
 * applied around the strategy it names: the norm bound around its
 * aggregation, client sampling around its plan. Both are logged with the
 * strategy's parameters (`clipNorm`, `samplingFraction` or `samplingCount`).
 */
import type { StrategyOptions } from '../../models/core/index.ts'
import type { Strategy } from '../strategy.ts'
import { withNormBound } from './norm-bound.ts'
import { sampleSites, type Sampling } from './site-sampling.ts'

/** `inner` planning only the sites `sampling` draws each round (site-sampling.ts). */
export function withSampling(inner: Strategy, sampling: Sampling): Strategy {
  const logged: Record<string, number> = sampling.count !== undefined ? { samplingCount: sampling.count } : { samplingFraction: sampling.fraction ?? 1 }
  return {
    ...inner,
    parameters: { ...inner.parameters, ...logged },
    configureRound(init) {
      return inner.configureRound({ ...init, siteIds: sampleSites(init.siteIds, sampling, init.minSites ?? 1, init.seed) })
    },
  }
}

/** `strategy` with the options of its spec applied; itself when there are none. */
export function withStrategyOptions(strategy: Strategy, options: StrategyOptions): Strategy {
  let out = strategy
  if (options.clipNorm !== undefined) out = withNormBound(out, options.clipNorm)
  if (options.sampling !== undefined) out = withSampling(out, options.sampling)
  return out
}
