/**
 * FLamby's Fed-Heart-Disease FedAvg protocol as one of our studies: what the
 * hub declares and each hospital follows. Numbers are FLamby's
 * (`flamby/datasets/fed_heart_disease/common.py` and the benchmark config):
 * logistic regression over 13 inputs, SGD lr 0.001, batch 4, 100 local steps
 * per round, 15 rounds (FLamby's `get_nb_max_rounds(100)`), sample-weighted FedAvg.
 */
import type { StudySpecInput } from '../../models/index.ts'
import { HEART_DISEASE_SCHEMA, type HeartCenter } from './heart-disease.ts'

export const HEART_ROUNDS = 15
export const HEART_SEEDS: readonly number[] = [42, 43, 44, 45, 46]
export const HEART_STUDY_ID = 'fed-heart-disease'

/** Site id of a FLamby center: `center-0` … `center-3`. */
export function siteIdOf(center: Pick<HeartCenter, 'centerId'>): string {
  return `center-${center.centerId}`
}

/** The study for one run; `seed` seeds the initial model, and round seeds (batch order) derive from it. */
export function heartStudy(seed: number, rounds: number = HEART_ROUNDS): StudySpecInput {
  return {
    id: HEART_STUDY_ID,
    title: `FLamby Fed-Heart-Disease, FedAvg, seed ${seed}`,
    model: { kind: 'logreg' },
    data: HEART_DISEASE_SCHEMA,
    training: { optimizer: 'sgd', learningRate: 0.001, batchSize: 4, localSteps: 100 },
    strategy: { name: 'fedavg' },
    rounds,
    minSites: 4,
    // Generous: a round closes as soon as all four updates are in, the deadline only guards a stuck site.
    roundDeadlineMs: 600_000,
    evaluationDeadlineMs: 600_000,
    seed,
  }
}

/** One line for the results file: what was run. */
export function protocolDescription(rounds: number): string {
  return [
    `FLamby Fed-Heart-Disease: 4 centers (Cleveland, Hungarian, Switzerland, VA), FLamby's train/test split (486/254 rows),`,
    `13 inputs standardised per center with its train mean and ddof-1 std; logistic regression (PyTorch nn.Linear init, seeded by the run seed);`,
    `FedAvg weighted by train examples, ${rounds} rounds × 100 local SGD steps (lr 0.001, batch 4, batches cycle through reshuffled epochs);`,
    `all 4 sites every round; run through the real coordinator and 4 site agents over gRPC on 127.0.0.1 with a LevelDB lineage log.`,
    `Metrics: accuracy (p > 0.5) of the final model on each center's test split as the sites report it in the log (re-checked from the logged model);`,
    `pooledTest = FLamby's "Pooled Test" definition (all 254 test rows standardised with the pooled train statistics), comparable with FLamby's published number; pooledTestSiteNorm = example-weighted mean of the 4 client accuracies, each center standardised with its own statistics.`,
    `flamby: FedAvg100 from FLamby's summary_mean_over_5_seeds.csv (its pooledTest is the pooled-norm definition, its std ddof 0), plus the example-weighted client mean from its per-seed files.`,
  ].join(' ')
}
