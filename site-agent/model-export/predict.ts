/**
 * `fedlineage predict`: scores records with an exported model, preparing
 * them exactly as a site prepared its own validation split.
 *
 * Two uses:
 * - `--site-config site.json` alone: re-scores that site's validation split,
 *   as its agent did when it reported on this model, and sets the result
 *   beside the site's signed report from the card: the export reproduces
 *   what the site measured, or the difference is shown.
 * - `--data FILE.csv` (with `--site-config` whenever the study standardises
 *   or imputes means, which need that site's train statistics): P(positive)
 *   for every row, as CSV; metrics on the rows that carry a label.
 */
import { SiteData } from '../site-data.ts'
import type { SiteConfig } from '../config.ts'
import { binaryAccuracy, logLoss, predictProbabilities, rocAuc, type Dataset, type StudySpec } from '../../models/index.ts'
import { prepareScoring, readCsvRecords, type Preprocessing, type ScoringData } from '../data/index.ts'
import { SiteConfigError } from '../errors.ts'
import type { LoadedExport } from './exported-model.ts'
import type { SiteEvaluation } from './model-card.ts'

export interface Metrics {
  readonly examples: number
  readonly loss: number
  readonly accuracy: number
  readonly auc: number
}

export interface SiteReproduction {
  readonly site: string
  readonly measured: Metrics
  /** The site's signed report on this model, from the card; absent when it sent none. */
  readonly reported?: SiteEvaluation
}

export interface ScoredFile {
  readonly scoring: ScoringData
  readonly probabilities: Float32Array
  /** Metrics over the labelled rows; absent when no row has a label. */
  readonly metrics?: Metrics
}

function metricsOf(probs: Float32Array, data: Dataset): Metrics {
  return { examples: data.count, loss: logLoss(probs, data.labels), accuracy: binaryAccuracy(probs, data.labels), auc: rocAuc(probs, data.labels) }
}

/** When the site decided consent for the exported round: the round's opening, as its agent did. */
function preparedAt(model: LoadedExport): number {
  const opened = model.card.lineage.find((r) => r.round === model.card.model.round)?.openedAt
  return opened === undefined ? Date.now() : Date.parse(opened)
}

/** Re-scores `config`'s site's validation split with the exported model. */
export async function reproduceSiteEvaluation(model: LoadedExport, config: SiteConfig): Promise<SiteReproduction> {
  const data = await SiteData.open(config, model.spec)
  const { prepared } = await data.prepare(preparedAt(model))
  if (prepared.validation.count === 0) throw new SiteConfigError(`site "${config.siteId}" has no validation records to score; pass --data FILE.csv to score a file`)
  const probs = await predictProbabilities(model.spec.model, model.weights, prepared.validation)
  const reported = model.card.evaluation.perSite.find((e) => e.site === config.siteId)
  return { site: config.siteId, measured: metricsOf(probs, prepared.validation), ...(reported ? { reported } : {}) }
}

/** The transform for a file: the site's train statistics, or none when the study needs none. */
async function preprocessingFor(model: LoadedExport, config: SiteConfig | undefined): Promise<Preprocessing> {
  const spec: StudySpec = model.spec
  if (config) return (await (await SiteData.open(config, spec)).prepare(preparedAt(model))).prepared.preprocessing
  const needsMeans = spec.data.features.some((f) => (f.missing ?? spec.data.missing) === 'impute-mean')
  if (spec.data.standardize !== 'none' || needsMeans) {
    throw new SiteConfigError(
      `study "${spec.id}" ${spec.data.standardize !== 'none' ? `standardises inputs (${spec.data.standardize})` : 'imputes missing values with means'} with each site's own train statistics, which are not in the export: pass --site-config site.json of the site whose preprocessing to use`,
    )
  }
  return {
    fill: spec.data.features.map((f) => new Array<number>(f.type === 'numeric' ? 1 : f.categories.length).fill(0)),
    standardized: [],
    stats: { mean: [], std: [] },
  }
}

/** Scores every row of `file`. */
export async function scoreFile(model: LoadedExport, file: string, config: SiteConfig | undefined): Promise<ScoredFile> {
  const preprocessing = await preprocessingFor(model, config)
  const table = await readCsvRecords(file, model.spec.data, { labelOptional: true })
  const scoring = prepareScoring(table, model.spec.data, preprocessing)
  const probabilities = scoring.dataset.count === 0 ? new Float32Array() : await predictProbabilities(model.spec.model, model.weights, scoring.dataset)
  const labelled = scoring.labeled.flatMap((l, i) => (l ? [i] : []))
  if (labelled.length === 0) return { scoring, probabilities }
  const w = scoring.dataset.width
  const subset: Dataset = {
    features: Float32Array.from(labelled.flatMap((i) => Array.from(scoring.dataset.features.subarray(i * w, (i + 1) * w)))),
    labels: Float32Array.from(labelled, (i) => scoring.dataset.labels[i]!),
    count: labelled.length,
    width: w,
  }
  return {
    scoring,
    probabilities,
    metrics: metricsOf(
      Float32Array.from(labelled, (i) => probabilities[i]!),
      subset,
    ),
  }
}
