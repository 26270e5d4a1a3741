/**
 * The server-optimiser strategies: FedAvgM, FedAdagrad, FedAdam and FedYogi
 * (models/core/server-optimizers.ts holds their arithmetic). Each plans every
 * given site with the study's training settings (the site learning rate
 * `etaL` replacing `learningRate` where the spec sets it), and turns the
 * round's replies and the logged server state into the next model and the
 * next state, which the decider stores as a blob named by hash in
 * `round-committed` (`state`). The state is never kept in the strategy
 * object: the next round reads it back from the log.
 */
import { fedAdagradStep, fedAdamStep, fedAvgMStep, fedYogiStep, type ServerOptimizerSpec, type ServerStep, type WeightedUpdate, type Weights } from '../../models/core/index.ts'
import { trainingInstructions, type AggregateRoundInit, type ConfigureRoundInit, type RoundPlan, type ServerState, type Strategy } from '../strategy.ts'
import { modelMetrics } from './round-metrics.ts'
import { serverStepStreamed } from './server-optimizers-streamed.ts'
import { planSites } from './site-plan.ts'

type StepFn = (global: Weights, updates: readonly WeightedUpdate[], state: ServerState | null, round: number) => ServerStep

/** The state slots each optimiser keeps (models/core/server-optimizers.ts), in their stored order. */
const SLOTS: Record<ServerOptimizerSpec['name'], readonly string[]> = { fedavgm: ['momentum'], fedadagrad: ['v'], fedadam: ['m', 'v'], fedyogi: ['m', 'v'] }

function stepOf(spec: ServerOptimizerSpec): StepFn {
  switch (spec.name) {
    case 'fedavgm':
      return (g, u, s) => fedAvgMStep(g, u, s, spec)
    case 'fedadagrad':
      return (g, u, s) => fedAdagradStep(g, u, s, spec)
    case 'fedadam':
      return (g, u, s, round) => fedAdamStep(g, u, s, { ...spec, round })
    case 'fedyogi':
      return (g, u, s) => fedYogiStep(g, u, s, spec)
  }
}

/** The hyper-parameters as `round-committed` logs them: every resolved field but the name and the shared options. */
function parametersOf(spec: ServerOptimizerSpec): Record<string, number | boolean> {
  const { name: _name, clipNorm: _clip, sampling: _sampling, ...rest } = spec
  return Object.fromEntries(Object.entries(rest).filter((e): e is [string, number | boolean] => typeof e[1] === 'number' || typeof e[1] === 'boolean'))
}

/** The strategy a server-optimiser spec names (its options, `clipNorm` and `sampling`, are applied by createStrategy). */
export function serverOptimizerStrategy(spec: ServerOptimizerSpec): Strategy {
  const step = stepOf(spec)
  const etaL = 'etaL' in spec ? spec.etaL : undefined
  return {
    name: spec.name,
    parameters: parametersOf(spec),
    phases: [],
    needsPrivateSeed: false,
    configureRound({ round, siteIds, training }: ConfigureRoundInit): RoundPlan {
      const instructions = etaL === undefined ? trainingInstructions(training) : { ...trainingInstructions(training), learningRate: etaL }
      return planSites(round, siteIds, instructions)
    },
    aggregateRound({ round, global, replies, failures, state }: AggregateRoundInit) {
      if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
      const next = step(global, replies, state, round)
      return { kind: 'model', weights: next.weights, state: next.state, exclusions: [], metrics: modelMetrics(global, next.weights, replies, failures) }
    },
    aggregateStreamed: (init) => serverStepStreamed(init, SLOTS[spec.name], step),
  }
}
