/**
 * The aggregation strategy of a study: one small interface between the round
 * loop (`coordinator/round-runner.ts`, which sends, waits, times out and logs)
 * and the pure arithmetic in `aggregate.ts`. A strategy decides who takes part
 * in a round and how replies become the next global model; it never talks to
 * the network, so the auditor can drive the very same object from log entries.
 *
 * Adding a strategy is a new case in `createStrategy` plus its pure function:
 * - FedProx changes only local training (a proximal term, `mu`), so its
 *   strategy aggregates like FedAvg and exposes `mu` in `parameters`, which
 *   the coordinator forwards to sites.
 * - Robust aggregators (Krum, trimmed mean, coordinate-wise median) and DP
 *   (clip + seeded noise) are pure functions of the sorted replies, like
 *   `fedAvg`; DP noise must come from a seeded PRNG whose seed is logged.
 * - Secure aggregation changes what `replies` carry (masked sums), not this
 *   interface.
 * - Server optimizers (FedAdam, FedYogi, FedAdagrad) carry moment estimates
 *   across rounds. That state must not hide inside the strategy object: the
 *   auditor replays a single round from the log and must reach the same
 *   bits. Such a strategy will take its state in and hand it out explicitly,
 *   e.g. `aggregateRound(round, global, replies, failures, state)` returning
 *   `{ weights, metrics, state }` with `state` as `Weights` (m, v) that the
 *   coordinator logs by hash beside the model, so a replay starts from the
 *   logged state. FedAvg is stateless, so today's signature has no state.
 */
import { DuplicateSiteError, InvalidModelInputError, UnknownStrategyError, fedAvg, sortBySiteId, type WeightedUpdate, l2Norm, type StrategySpec, type Weights } from '../models/core/index.ts'

/** Who takes part in a round. */
export interface RoundPlan {
  readonly round: number
  /** Participating sites, in code-unit order. */
  readonly siteIds: readonly string[]
}

/** A site that was planned for the round and sent no usable update. */
export interface RoundFailure {
  readonly siteId: string
  readonly reason: string
}

/** The next global model and numbers describing how it was made (logged with the round). */
export interface AggregateResult {
  readonly weights: Weights
  readonly metrics: Readonly<Record<string, number>>
}

export interface Strategy {
  /** The spec's strategy name, e.g. `fedavg`. */
  readonly name: string
  /** The resolved hyper-parameters, as logged and as sent to sites. */
  readonly parameters: Readonly<Record<string, number | string | boolean>>
  /**
   * Plans round `round` (a non-negative integer) over the connected sites.
   * Pure: the same inputs give the same plan.
   */
  configureRound(round: number, global: Weights, siteIds: readonly string[]): RoundPlan
  /**
   * Turns the round's accepted replies into the next global model, or
   * returns null when there is nothing to aggregate (no replies), in which
   * case the round closes without a new model. `failures` is for strategies
   * that react to drop-outs and for the metrics.
   */
  aggregateRound(round: number, global: Weights, replies: readonly WeightedUpdate[], failures: readonly RoundFailure[]): AggregateResult | null
}

function assertRound(round: number): void {
  if (!Number.isSafeInteger(round) || round < 0) {
    throw new InvalidModelInputError(`round ${round}, want a non-negative integer`)
  }
}

/**
 * FedAvg with a server learning rate. All connected sites take part in every
 * round (FLamby's protocol; client sampling would be a seeded choice here).
 */
function fedAvgStrategy(serverLearningRate: number): Strategy {
  return {
    name: 'fedavg',
    parameters: { serverLearningRate },
    configureRound(round, _global, siteIds) {
      assertRound(round)
      const sorted = sortBySiteId(siteIds.map((siteId) => ({ siteId }))).map((s) => s.siteId)
      sorted.forEach((id, i) => {
        if (i > 0 && sorted[i - 1] === id) throw new DuplicateSiteError(`site "${id}": listed more than once`, id)
      })
      return { round, siteIds: sorted }
    },
    aggregateRound(round, global, replies, failures) {
      assertRound(round)
      if (replies.length === 0) return null
      const weights = fedAvg(global, replies, serverLearningRate)
      let examples = 0
      let deltaNormSum = 0
      for (const r of sortBySiteId(replies)) {
        examples += r.exampleCount
        deltaNormSum += l2Norm(r.delta)
      }
      return {
        weights,
        metrics: {
          sites: replies.length,
          failures: failures.length,
          examples,
          // Both in float64 in site order, so they are as reproducible as the weights.
          meanDeltaNorm: deltaNormSum / replies.length,
          updateNorm: updateNorm(weights, global),
        },
      }
    },
  }
}

/** ‖new − global‖₂ in float64 (not rounded to float32). */
function updateNorm(next: Weights, global: Weights): number {
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

/**
 * The strategy a study spec names. Throws `UnknownStrategyError` for names
 * this build does not implement (a spec parsed by a newer version).
 */
export function createStrategy(spec: StrategySpec): Strategy {
  switch (spec.name) {
    case 'fedavg':
      return fedAvgStrategy(spec.serverLearningRate)
    default: {
      const name: string = (spec as { name: string }).name
      throw new UnknownStrategyError(`unknown strategy "${name}"`, name)
    }
  }
}
