/**
 * SCAFFOLD (models/core/scaffold.ts holds its arithmetic). The plan tells
 * every site the study's SGD settings and where the server control variate c
 * is: `serverControlVariate`, the hex hash of the logged state blob that
 * holds it ("" before the first commit: c = 0). A planned site fetches that
 * blob (a SCAFFOLD study's states are readable by its participants:
 * replica-access.ts), trains with the corrected gradient g − c_i + c, and
 * keeps its own c_i. The aggregation derives each site's Δc_i from its delta
 * (option II) and returns the next c as the state, which the decider stores
 * by hash in `round-committed` like any server optimiser's.
 */
import { InvalidModelInputError, scaffoldStep, toHex, type ScaffoldSpec } from '../../models/core/index.ts'
import { trainingInstructions, type AggregateRoundInit, type ConfigureRoundInit, type RoundPlan, type Strategy } from '../strategy.ts'
import { modelMetrics } from './round-metrics.ts'
import { planSites } from './site-plan.ts'

/** The strategy a `scaffold` spec names (its options, `clipNorm` and `sampling`, are applied by createStrategy). */
export function scaffoldStrategy(spec: ScaffoldSpec): Strategy {
  const { serverLearningRate, controlVariateWeights } = spec
  return {
    name: 'scaffold',
    parameters: { serverLearningRate, controlVariateWeights },
    phases: [],
    needsPrivateSeed: false,
    configureRound({ round, siteIds, training, stateHash }: ConfigureRoundInit): RoundPlan {
      return planSites(round, siteIds, { ...trainingInstructions(training), serverControlVariate: stateHash === undefined ? '' : toHex(stateHash) })
    },
    aggregateRound({ round, global, replies, failures, state, training, siteCount }: AggregateRoundInit) {
      if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
      if (training === undefined || siteCount === undefined)
        throw new InvalidModelInputError(`scaffold round ${round}: the aggregation needs the study's training settings and site count (K, η_l and N of the control-variate update)`)
      const next = scaffoldStep(global, replies, state, {
        serverLearningRate,
        localSteps: training.localSteps,
        learningRate: training.learningRate,
        siteCount: Math.max(siteCount, replies.length),
        controlVariateWeights,
      })
      return { kind: 'model', weights: next.weights, state: next.state, exclusions: [], metrics: modelMetrics(global, next.weights, replies, failures) }
    },
  }
}
