/**
 * The benchmark's own evaluation of a logged model, independent of what the
 * sites reported: read the model blob from the lineage log by hash, decode it,
 * prepare each center's test split with the site pipeline (train statistics,
 * as a site does) and score it with `evaluateModel`.
 */
import type { Ledger } from '../../ledger/index.ts'
import { decodeWeights, evaluateModel, hashBytes, inputWidth, modelShapes, toHex, type StudySpec } from '../../models/index.ts'
import { prepareSplits, readCsvRecords } from '../../site-agent/index.ts'
import type { HeartCenter } from './heart-disease.ts'

export interface CenterEvaluation {
  readonly examples: number
  readonly accuracy: number
}

/** Test accuracy of the model `modelHash` on each center, in `centers` order. */
export async function evaluateFinalModel(ledger: Ledger, modelHash: Uint8Array, study: StudySpec, centers: readonly HeartCenter[]): Promise<CenterEvaluation[]> {
  const blob = await ledger.getBlob(modelHash)
  if (toHex(hashBytes(blob)) !== toHex(modelHash)) throw new Error(`model blob hashes to ${toHex(hashBytes(blob))}, want ${toHex(modelHash)}`)
  const weights = decodeWeights(blob, modelShapes(study.model, inputWidth(study.data)))
  const out: CenterEvaluation[] = []
  for (const center of centers) {
    const train = await readCsvRecords(center.trainCsv, study.data)
    const test = await readCsvRecords(center.testCsv, study.data)
    const { validation } = prepareSplits(train, study.data, { kind: 'tables', validation: test })
    const result = await evaluateModel(study.model, weights, validation)
    out.push({ examples: result.examples, accuracy: result.accuracy })
  }
  return out
}
