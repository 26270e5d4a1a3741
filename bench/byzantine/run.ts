/**
 * One run of the bench: one strategy, one attack, a number of attackers, one
 * seed, all rounds. In process: every site trains with real TF.js
 * (`trainLocal`, the site agent's own training) and the hub side runs the
 * protocol's own code on the deltas, `validateUpdates` (for rows with
 * validation) then `createStrategy(spec).aggregateRound`, the functions the
 * coordinator's decider calls at commit. Attackers are the last sites
 * (site-10, site-09, site-08).
 */
import { sha256, toHex } from '../../ledger/index.ts'
import { StrategySpecSchema, computeDelta, encodeWeights, evaluateCore, trainLocal, type ModelSpec, type TrainingSpec, type Weights } from '../../models/index.ts'
import { createStrategy, validateUpdates, type SiteReply } from '../../protocol/index.ts'
import { attackDelta, needsTraining, type Attack } from './attacks.ts'
import type { BenchData } from './data.ts'
import type { StrategyRow } from './strategies.ts'

export interface RunInit {
  readonly data: BenchData
  readonly model: ModelSpec
  readonly training: TrainingSpec
  readonly initial: Weights
  readonly rounds: number
  /** The run's seed: it also chose `data`'s split and `initial`; here it seeds each site's training order. */
  readonly seed: number
  readonly row: StrategyRow
  readonly attack: Attack | 'none'
  readonly attackers: number
  /** Called after each round (the progress bar). */
  readonly onRound?: (round: number) => void
}

export interface RunResult {
  readonly strategy: string
  readonly attack: Attack | 'none'
  readonly attackers: number
  readonly seed: number
  readonly accuracy: number
  readonly loss: number
  /** Updates left out over all rounds (validation or the strategy), attackers' and honest sites'. */
  readonly excludedAttackerUpdates: number
  readonly excludedHonestUpdates: number
  /** Rounds that made no model (too few updates left for the strategy). */
  readonly abandonedRounds: number
}

export async function runScenario(init: RunInit): Promise<RunResult> {
  const { data, row, attack, attackers, seed } = init
  const strategy = createStrategy(StrategySpecSchema.parse(row.spec))
  const attackerIds = new Set(data.sites.slice(data.sites.length - attackers).map((s) => s.siteId))
  const firstDeltas = new Map<string, Weights>()
  const earlierDeltas = new Map<string, number>()
  let global = init.initial
  let previous: { model: Weights; parent: Weights } | undefined
  let excludedAttackerUpdates = 0
  let excludedHonestUpdates = 0
  let abandonedRounds = 0
  for (let round = 1; round <= init.rounds; round++) {
    const replies: (SiteReply & { deltaHash: Uint8Array })[] = []
    for (const [i, site] of data.sites.entries()) {
      const isAttacker = attack !== 'none' && attackerIds.has(site.siteId)
      const siteSeed = (seed * 7919 + round * 101 + i) >>> 0
      let delta: Weights
      if (!isAttacker || needsTraining(attack, round)) {
        const trained = await trainLocal({ model: init.model, training: init.training, global, data: site.data, seed: siteSeed })
        delta = computeDelta(trained.weights, global)
      } else delta = computeDelta(global, global)
      if (isAttacker) {
        if (round === 1) firstDeltas.set(site.siteId, delta)
        delta = attackDelta(attack, { honest: delta, first: firstDeltas.get(site.siteId)!, seed: siteSeed })
      }
      replies.push({ siteId: site.siteId, exampleCount: site.data.count, delta, deltaHash: sha256(encodeWeights(delta)) })
    }
    let kept: readonly SiteReply[] = replies
    let excluded: string[] = []
    if (row.validation !== undefined) {
      const checked = validateUpdates({ spec: row.validation, replies, previous, earlierDeltas })
      kept = replies.filter((r) => checked.kept.includes(r.siteId))
      excluded = checked.exclusions.map((e) => e.siteId)
    }
    const outcome = kept.length === 0 ? undefined : strategy.aggregateRound({ round, global, replies: kept, failures: [], state: null, seed: round })
    if (outcome?.kind === 'model') {
      excluded = [...excluded, ...outcome.exclusions.map((e) => e.siteId)]
      previous = { model: outcome.weights, parent: global }
      global = outcome.weights
    } else abandonedRounds++
    for (const id of excluded) attackerIds.has(id) && attack !== 'none' ? excludedAttackerUpdates++ : excludedHonestUpdates++
    for (const r of replies) if (!earlierDeltas.has(toHex(r.deltaHash))) earlierDeltas.set(toHex(r.deltaHash), round)
    init.onRound?.(round)
  }
  const evaluation = evaluateCore(init.model, global, data.test)
  return { strategy: row.label, attack, attackers, seed, accuracy: evaluation.accuracy, loss: evaluation.loss, excludedAttackerUpdates, excludedHonestUpdates, abandonedRounds }
}
