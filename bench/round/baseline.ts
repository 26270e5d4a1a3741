/**
 * The same-run baseline: each round's work without the coordinator's checks
 * and log. On the rounds the federation just ran, and with the coordinator
 * still open so its log can be read:
 *
 * - bare aggregation: `fedAvg` from models/core on the round's parent model
 *   and the very deltas the sites uploaded (read and decoded untimed), one
 *   call per round as the coordinator makes; its hash is checked against the
 *   model the round committed;
 * - bare local training: `trainLocal` for every site, one after another, from
 *   the round's base model on the site's own training split, no RPC around it.
 */
import { toHex } from '../../ledger/index.ts'
import { decodeWeights, fedAvg, hashWeights, trainLocal } from '../../models/index.ts'
import { prepareSplits, readCsvRecords } from '../../site-agent/index.ts'
import { SITE_SPLIT, type ScaleRun } from './federation.ts'

export interface RoundBaseline {
  readonly round: number
  readonly fedAvgMs: number
  /** Per site, in site order, run sequentially. */
  readonly trainMs: readonly number[]
  /** fedAvg on the logged inputs reproduced the committed model's bytes. */
  readonly matchesCommit: boolean
}

export async function measureBaseline(run: ScaleRun, onRound?: (round: number) => void): Promise<RoundBaseline[]> {
  const { study } = run.config
  const { runner, ledger } = run.coordinator
  const datasets = await Promise.all(run.csvFiles.map(async (file) => prepareSplits(await readCsvRecords(file, study.data), study.data, SITE_SPLIT).train))
  const out: RoundBaseline[] = []
  for (const { round } of run.rounds) {
    const record = runner.state.rounds.get(round)
    if (!record?.commit) throw new Error(`bench: round ${round} did not commit`)
    const parent = decodeWeights(await runner.modelBytes(record.base), runner.shapes)
    const updates = await Promise.all(
      [...record.accepted.values()].map(async (a) => ({ siteId: a.site, exampleCount: a.examples, delta: decodeWeights(await ledger.getBlob(a.delta), runner.shapes) })),
    )
    const t0 = performance.now()
    const model = fedAvg(parent, updates, study.strategy.name === 'fedavg' ? study.strategy.serverLearningRate : 1)
    const fedAvgMs = performance.now() - t0
    const trainMs: number[] = []
    for (const [i, data] of datasets.entries()) {
      const result = await trainLocal({ model: study.model, training: study.training, global: parent, data, seed: (record.seed ^ i) >>> 0 })
      trainMs.push(result.durationMs)
    }
    out.push({ round, fedAvgMs, trainMs, matchesCommit: toHex(hashWeights(model)) === toHex(record.commit.body.model) })
    onRound?.(round)
  }
  return out
}
