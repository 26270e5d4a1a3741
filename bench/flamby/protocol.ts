/**
 * FLamby's Fed-Heart-Disease protocol as one of our studies: what the hub
 * declares and each hospital follows. Numbers are FLamby's
 * (`flamby/datasets/fed_heart_disease/common.py` and the benchmark config):
 * logistic regression over 13 inputs, SGD batch 4, 100 local steps per
 * round, 15 rounds (FLamby's `get_nb_max_rounds(100)`); the strategy and its
 * local learning rate come from strategies.ts (FedAvg: lr 0.001).
 */
import type { StudySpecInput } from '../../models/index.ts'
import { HEART_DISEASE_SCHEMA, type HeartCenter } from './heart-disease.ts'
import { FLAMBY_STRATEGIES, strategyStudyFields, type FlambyStrategy } from './strategies.ts'

export const HEART_ROUNDS = 15
export const HEART_SEEDS: readonly number[] = [42, 43, 44, 45, 46]
export const HEART_STUDY_ID = 'fed-heart-disease'

/** Site id of a FLamby center: `center-0` … `center-3`. */
export function siteIdOf(center: Pick<HeartCenter, 'centerId'>): string {
  return `center-${center.centerId}`
}

/**
 * The study for one run; `seed` seeds the initial model, and round seeds
 * (batch order) derive from it. Default strategy: FedAvg.
 */
export function heartStudy(seed: number, rounds: number = HEART_ROUNDS, strategy: FlambyStrategy = FLAMBY_STRATEGIES[0]!): StudySpecInput {
  const fields = strategyStudyFields(strategy, seed)
  return {
    id: HEART_STUDY_ID,
    title: `FLamby Fed-Heart-Disease, ${strategy.key}, seed ${seed}`,
    model: { kind: 'logreg' },
    data: HEART_DISEASE_SCHEMA,
    training: { optimizer: 'sgd', learningRate: fields.learningRate, batchSize: 4, localSteps: 100 },
    strategy: fields.strategy,
    rounds,
    minSites: fields.minSites,
    // Generous: a round closes as soon as all four updates are in, the deadline only guards a stuck site.
    roundDeadlineMs: 600_000,
    evaluationDeadlineMs: 600_000,
    seed,
  }
}

/** One line for the results file: what was run. */
export function protocolDescription(rounds: number, strategy: FlambyStrategy = FLAMBY_STRATEGIES[0]!): string {
  const who = strategy.key === 'cyclic' ? 'one site per round in seeded turns (each cycle a permutation seeded from the run seed)' : 'all 4 sites every round'
  return [
    `FLamby Fed-Heart-Disease: 4 centers (Cleveland, Hungarian, Switzerland, VA), FLamby's train/test split (486/254 rows),`,
    `13 inputs standardised per center with its train mean and ddof-1 std; logistic regression (PyTorch nn.Linear init, seeded by the run seed);`,
    `strategy ${JSON.stringify(strategy.strategy)} (FLamby ${strategy.flambyMethod}: ${strategy.flambySettings}), ${rounds} rounds × 100 local SGD steps (lr ${strategy.learningRate}, batch 4, batches cycle through reshuffled epochs);`,
    `${who}; run through the real coordinator and 4 site agents over gRPC on 127.0.0.1 with a LevelDB lineage log.`,
    `Metrics: accuracy (p > 0.5) of the final model on each center's test split as the sites report it in the log (re-checked from the logged model);`,
    `pooledTest = FLamby's "Pooled Test" definition (all 254 test rows standardised with the pooled train statistics), comparable with FLamby's published number; pooledTestSiteNorm = example-weighted mean of the 4 client accuracies, each center standardised with its own statistics.`,
    `flamby: ${strategy.flambyMethod} from FLamby's summary_mean_over_5_seeds.csv (its pooledTest is the pooled-norm definition, its std ddof 0), plus the example-weighted client mean from its per-seed files.`,
  ].join(' ')
}
