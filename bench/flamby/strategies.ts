/**
 * The strategies FLamby reports for Fed-Heart-Disease, each as our study
 * settings with FLamby's hyperparameters (its per-seed result files record
 * them: `learning_rate`, `mu`, `server_learning_rate`, `beta1`, `beta2`,
 * `tau`, `deterministic_cycle`, `optimizer_class`). Every one trains 100 local
 * SGD steps of batch 4 per round for 15 rounds, as FLamby does.
 *
 * Keys are the results file's keys (lowercase strategy names). A strategy
 * this build does not implement yet is listed with `spec: undefined` and
 * skipped with a notice, so the table says what is missing rather than
 * hiding it.
 */
import { StrategySpecSchema, type StrategySpec, type StudySpecInput } from '../../models/index.ts'

export interface FlambyStrategy {
  /** The results file key and our strategy name. */
  readonly key: string
  /** FLamby's method name in its summary file, e.g. `FedProx100`. */
  readonly flambyMethod: string
  /** The local SGD learning rate FLamby used with it. */
  readonly learningRate: number
  /** Our strategy settings, in the spec's input form. */
  readonly strategy: Record<string, unknown>
  readonly minSites: number
  /** FLamby's settings, as its result files give them, for the table's notes. */
  readonly flambySettings: string
}

export const FLAMBY_STRATEGIES: readonly FlambyStrategy[] = [
  { key: 'fedavg', flambyMethod: 'FedAvg100', learningRate: 0.001, strategy: { name: 'fedavg' }, minSites: 4, flambySettings: 'lr 0.001' },
  { key: 'fedprox', flambyMethod: 'FedProx100', learningRate: 0.001, strategy: { name: 'fedprox', proximalMu: 0.01 }, minSites: 4, flambySettings: 'lr 0.001, mu 0.01' },
  {
    key: 'scaffold',
    flambyMethod: 'Scaffold100',
    learningRate: 0.001,
    strategy: { name: 'scaffold', serverLearningRate: 1, controlVariateWeights: 'examples' },
    minSites: 4,
    flambySettings: 'lr 0.001, server lr 1',
  },
  // The cycle's permutations are seeded from the run seed, as FLamby seeds its rng from the run seed.
  { key: 'cyclic', flambyMethod: 'Cyclic100', learningRate: 0.01, strategy: { name: 'cyclic', deterministicCycle: false }, minSites: 1, flambySettings: 'lr 0.01, deterministic_cycle False' },
  {
    key: 'fedadam',
    flambyMethod: 'FedAdam100',
    learningRate: 0.01,
    // FLamby's FedAdam has no bias correction (flamby/strategies/fed_opt.py); Flower's current one does.
    strategy: { name: 'fedadam', eta: 0.01, beta1: 0.9, beta2: 0.999, tau: 1e-8, biasCorrection: false },
    minSites: 4,
    flambySettings: 'lr 0.01, server lr 0.01, beta1 0.9, beta2 0.999, tau 1e-8',
  },
  {
    key: 'fedyogi',
    flambyMethod: 'FedYogi100',
    learningRate: 0.003162,
    strategy: { name: 'fedyogi', eta: 0.01, beta1: 0.9, beta2: 0.999, tau: 1e-8 },
    minSites: 4,
    flambySettings: 'lr 0.003162, server lr 0.01, beta1 0.9, beta2 0.999, tau 1e-8',
  },
  {
    key: 'fedadagrad',
    flambyMethod: 'FedAdagrad100',
    learningRate: 0.003162,
    strategy: { name: 'fedadagrad', eta: 0.316228, tau: 1e-8 },
    minSites: 4,
    flambySettings: 'lr 0.003162, server lr 0.316228, tau 1e-8',
  },
]

/** The strategy spec this build parses for `s`, seeded where it draws (cyclic), or undefined when it does not implement it. */
export function strategySpec(s: FlambyStrategy, seed: number): StrategySpec | undefined {
  const input = s.strategy['name'] === 'cyclic' ? { ...s.strategy, cycleSeed: seed } : s.strategy
  const parsed = StrategySpecSchema.safeParse(input)
  return parsed.success ? parsed.data : undefined
}

/** The study fields a strategy sets: its local learning rate, its spec and its minimum of sites. */
export function strategyStudyFields(s: FlambyStrategy, seed: number): Pick<StudySpecInput, 'strategy' | 'minSites'> & { learningRate: number } {
  const strategy = strategySpec(s, seed)
  if (strategy === undefined) throw new Error(`strategy ${s.key} is not implemented in this build`)
  return { strategy, minSites: s.minSites, learningRate: s.learningRate }
}
