/**
 * FLamby's two centralised baselines for Fed-Heart-Disease, trained in this
 * process (they involve no federation, so no coordinator): **Pooled
 * Training**, all 486 train rows standardised with the pooled train
 * statistics, and **Local i**, center i's train rows standardised with its
 * own. FLamby's settings (`fed_heart_disease/common.py`): Adam, lr 0.001,
 * batch 4, `NUM_EPOCHS_POOLED` = 50 epochs, the same logistic regression and
 * initialisation seed as the federated runs. Each model is scored like the
 * strategies' final models: per center (its own statistics) and on FLamby's
 * "Pooled Test" (pooled statistics).
 */
import { StudySpecSchema, initialWeights, inputWidth, trainLocal, type Dataset, type TrainingSpec } from '../../models/index.ts'
import { prepareSplits } from '../../site-agent/index.ts'
import { weightedMean } from '../support/stats.ts'
import { concatTables, evaluatePerCenter, evaluatePooledNormalisation, readCenter } from './check.ts'
import type { HeartCenter } from './heart-disease.ts'
import { heartStudy } from './protocol.ts'
import type { SeedResult } from './run-seed.ts'

export const BASELINE_EPOCHS = 50
const BASELINE_BATCH = 4
const BASELINE_LEARNING_RATE = 0.001

export interface Baseline {
  /** The results file key: `pooled`, or `local-0` … `local-3`. */
  readonly key: string
  /** FLamby's method name: `Pooled Training`, `Local 0` … */
  readonly flambyMethod: string
  /** The center trained on; undefined: all of them. */
  readonly centerId?: number
}

export function baselines(centers: readonly HeartCenter[]): Baseline[] {
  return [{ key: 'pooled', flambyMethod: 'Pooled Training' }, ...centers.map((c) => ({ key: `local-${c.centerId}`, flambyMethod: `Local ${c.centerId}`, centerId: c.centerId }))]
}

/** Trains one baseline for one seed and scores it as run-seed scores a federated model. */
export async function runBaseline(baseline: Baseline, centers: readonly HeartCenter[], seed: number): Promise<SeedResult> {
  return trainAndScore(centers, seed, baseline, (examples) => ({
    optimizer: 'adam',
    learningRate: BASELINE_LEARNING_RATE,
    batchSize: BASELINE_BATCH,
    localSteps: BASELINE_EPOCHS * Math.ceil(examples / BASELINE_BATCH),
  }))
}

/**
 * Trains the study's initial model (seeded by `seed`) on `rows` (one center's
 * train rows with its statistics, or all of them with the pooled ones) with
 * the settings `training` gives for that many examples, in this process,
 * and scores it per center and on FLamby's pooled test.
 */
export async function trainAndScore(centers: readonly HeartCenter[], seed: number, rows: Baseline, training: (examples: number) => TrainingSpec): Promise<SeedResult> {
  const study = StudySpecSchema.parse(heartStudy(seed))
  const started = performance.now()
  const train = await trainingRows(rows, centers, study)
  const result = await trainLocal({
    model: study.model,
    training: training(train.count),
    global: initialWeights(study.model, inputWidth(study.data), study.seed),
    data: train,
    seed,
  })
  const perCenter = await evaluatePerCenter(result.weights, study, centers)
  return {
    seed,
    pooledTest: (await evaluatePooledNormalisation(result.weights, study, centers)).accuracy,
    pooledTestSiteNorm: weightedMean(perCenter.map((e) => ({ value: e.accuracy, weight: e.examples }))),
    clientTests: perCenter.map((e) => e.accuracy),
    seconds: Math.round(performance.now() - started) / 1000,
    finalModelHash: '',
    logEntries: 0,
  }
}

/** The baseline's train rows: one center's with its statistics, or every center's with the pooled ones. */
async function trainingRows(baseline: Baseline, centers: readonly HeartCenter[], study: ReturnType<typeof StudySpecSchema.parse>): Promise<Dataset> {
  const tables = await Promise.all(centers.filter((c) => baseline.centerId === undefined || c.centerId === baseline.centerId).map((c) => readCenter(c, study)))
  const train = concatTables(
    tables.map((t) => t.train),
    baseline.key,
  )
  const test = concatTables(
    tables.map((t) => t.test),
    `${baseline.key} test`,
  )
  return prepareSplits(train, study.data, { kind: 'tables', validation: test }).train
}
