import type { StrategySpec } from '../../models/core/index.ts'

/** The server learning rate of a FedAvg study, for benches that re-derive its models with `fedAvg` directly. */
export function fedAvgRate(strategy: StrategySpec): number {
  if (strategy.name !== 'fedavg') throw new Error(`this bench re-derives FedAvg models, the study's strategy is "${strategy.name}"`)
  return strategy.serverLearningRate
}
