/**
 * A round's rewards, as one pure function of what the log holds: the study's
 * reward spec, the round's parent model, its accepted updates, and the hub's
 * validation set (by hash). The coordinator appends its result as the
 * `round-rewarded` entry in the same batch as the commit; the auditor calls
 * this same function and compares the result field by field, so a reward can
 * only differ from its recomputation if someone changed it.
 */
import type { RewardSpec, StrategySpec, Weights, Dataset, ModelSpec, WeightedUpdate } from '../models/core/index.ts'
import { contributionSeed, scoreContributions, type ContributionUpdate, type SummarizedUpdate } from './contribution.ts'
import { ContributionInputError } from './reward-errors.ts'
import { splitRewardPool } from './reward.ts'
import { coalitionModel, createStrategy, type AggregateRoundInit, type ServerState } from './strategy.ts'

export interface RoundRewardsInput {
  readonly rewards: RewardSpec
  readonly model: ModelSpec
  readonly strategy: StrategySpec
  readonly studySeed: number
  readonly round: number
  /** The round's parent model; required unless the method is `examples`. */
  readonly parent?: Weights
  /** The round's accepted updates, each with the log seq it was accepted at (`examples` takes them summarized, by norm and hash). */
  readonly updates: readonly (ContributionUpdate | SummarizedUpdate)[]
  /** The hub's validation set; required unless the method is `examples`. */
  readonly validation: Dataset | undefined
  /** The strategy's server state the round started from (null for stateless strategies). */
  readonly strategyState?: ServerState | null
  /** The round's public seed, as the strategy saw it. */
  readonly roundSeed?: number
  /** What the aggregation was given beside the replies (the study's training settings, the round's site count). */
  readonly context?: Pick<AggregateRoundInit, 'training' | 'siteCount'>
}

export interface RoundRewards {
  readonly round: number
  readonly method: string
  readonly metric: string | null
  readonly pool: bigint
  readonly seed: number
  readonly allocations: readonly { readonly site: string; readonly amount: bigint; readonly raw: number; readonly payable: number; readonly reason?: string }[]
  readonly unallocated: bigint
  readonly utilityCalls: number
}

export function computeRoundRewards(input: RoundRewardsInput): RoundRewards {
  const seed = contributionSeed(input.studySeed, input.round)
  const { method, metric } = input.rewards
  const strategy = createStrategy(input.strategy)
  const parent = input.parent
  if (method !== 'examples' && parent === undefined) throw new ContributionInputError(`method "${method}" scores coalition models and needs the round's parent model`)
  const build = (updates: readonly WeightedUpdate[]) => coalitionModel(strategy, input.round, parent!, updates, input.strategyState ?? null, input.roundSeed ?? 0, input.context)
  const result = scoreContributions({
    method,
    updates: input.updates,
    seed,
    ...(method === 'examples' || !input.validation
      ? {}
      : { utility: { kind: 'validation' as const, model: input.model, parent: parent!, validation: input.validation, metric, coalitionModel: build } }),
  })
  const pool = BigInt(input.rewards.poolPerRound)
  const split = splitRewardPool(
    pool,
    result.scores.map((s) => ({ siteId: s.siteId, payable: s.payable })),
  )
  const amountOf = new Map(split.allocations.map((a) => [a.siteId, a.amount]))
  return {
    round: input.round,
    method: result.method,
    metric: result.metric,
    pool,
    seed,
    allocations: result.scores.map((s) => ({
      site: s.siteId,
      amount: amountOf.get(s.siteId) ?? 0n,
      raw: s.raw,
      payable: s.payable,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
    })),
    unallocated: split.unallocated,
    utilityCalls: result.utilityCalls,
  }
}
