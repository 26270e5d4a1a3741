/**
 * The Byzantine-robust strategies: FedMedian, FedTrimmedAvg, Krum (and
 * Multi-Krum) and Bulyan, with Flower's names and defaults. Stateless, and
 * planned like FedAvg (every enrolled site, the study's training settings).
 * The arithmetic is models/core's (robust-aggregate.ts): site-id order,
 * float64, one rounding, every tie to the lowest site id.
 *
 * A round with too few updates for the strategy's parameters (Krum
 * n < 2f + 3, Bulyan n < 4f + 3, Multi-Krum m > n − f) makes no model: the
 * outcome is `none` with the reason, which closes the round as abandoned.
 * The study spec already refuses a `minSites` below that minimum, so this
 * happens only when sites fail or validation leaves updates out.
 *
 * Krum and Bulyan report every site they leave out, with the numbers that
 * decided it (`krum-score`: score, rank, f, kept; `bulyan-not-selected`:
 * score and rank in the last selection round, f, selected), and the
 * round-committed entry logs them. The coordinate-wise rules (median,
 * trimmed mean) leave no site out as a whole and report none.
 */
import { READ_SLICE_BYTES } from '../../ledger/core/index.ts'
import {
  NonFiniteValueError,
  StrategyPreconditionError,
  addSquaredDistances,
  bulyan,
  bulyanChoice,
  bulyanReduce,
  coordinateMedian,
  coordinateWise,
  emptyDistances,
  encodedSize,
  encodeHeader,
  fedAvg,
  krum,
  krumChoice,
  sortBySiteId,
  trimmedMean,
  valueSlices,
  valuesFromBytes,
  valuesIntoBytes,
  type KrumScore,
  type RobustStrategySpec,
  type WeightedUpdate,
  type Weights,
} from '../../models/core/index.ts'
import { planSites } from './site-plan.ts'
import { meanDeltaNorm, updateNorm } from './round-metrics.ts'
import { StreamedMetrics } from './streamed-metrics.ts'
import { trainingInstructions, type AggregateOutcome, type AggregateRoundInit, type Exclusion, type Strategy, type StreamedAggregateInit, type StreamedOutcome } from '../strategy.ts'

/** What one robust rule makes of a round's replies: the model, how many deltas it used, whom it left out. */
interface RuleResult {
  readonly weights: Weights
  readonly kept: number
  readonly exclusions: readonly Exclusion[]
}

type StreamedReply = StreamedAggregateInit['replies'][number]

/**
 * `combine` on each slice of the global model and of `chosen`'s deltas (site
 * order), written into the new model's canonical bytes; each slice's update
 * (and, with `countDeltas`, its deltas) added to `metrics`. Undefined when a
 * value is not finite: the whole path then decides, and names it.
 */
function combineSlices(
  init: StreamedAggregateInit,
  chosen: readonly StreamedReply[],
  combine: (global: Weights, chosen: readonly WeightedUpdate[]) => Weights,
  metrics: StreamedMetrics,
  countDeltas: boolean,
): Uint8Array | undefined {
  const { shapes, global } = init
  const modelBytes = new Uint8Array(encodedSize(shapes))
  modelBytes.set(encodeHeader(shapes))
  for (const { tensor, count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    const one = (values: Float32Array): Weights => ({ tensors: [{ name: tensor.name, shape: [n], values }] })
    const g = valuesFromBytes(global.read(offset, 4 * n))
    const deltas = chosen.map((r) => valuesFromBytes(r.delta.read(offset, 4 * n)))
    let next: Float32Array
    try {
      next = combine(
        one(g),
        chosen.map((r, i) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: one(deltas[i]!) })),
      ).tensors[0]!.values
    } catch (err) {
      if (err instanceof NonFiniteValueError) return undefined
      throw err
    }
    valuesIntoBytes(modelBytes, offset, next)
    if (countDeltas) metrics.addDeltas(deltas)
    metrics.addUpdate(g, next)
  }
  return modelBytes
}

/** The metrics a robust rule logs (as `aggregateRound` does): no example count, the deltas it kept. */
function robustMetrics(metrics: StreamedMetrics, failures: StreamedAggregateInit['failures'], kept: number): { metrics: Record<string, number>; deltaNorms: Map<string, number> } {
  const { metrics: m, deltaNorms } = metrics.result(failures)
  return { metrics: { sites: m['sites']!, failures: m['failures']!, kept, meanDeltaNorm: m['meanDeltaNorm']!, updateNorm: m['updateNorm']! }, deltaNorms }
}

/**
 * A coordinate-wise rule's round slice by slice: each slice of the model
 * and of every delta through the same rule (every coordinate is decided on
 * its own values), the metrics summed as over whole models.
 */
function coordinateWiseStreamed(name: string, rule: (global: Weights, replies: readonly WeightedUpdate[]) => Weights) {
  return (init: StreamedAggregateInit): StreamedOutcome | undefined => {
    const { replies, failures } = init
    if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
    const sorted = sortBySiteId(replies)
    const metrics = new StreamedMetrics(sorted)
    let modelBytes: Uint8Array | undefined
    try {
      modelBytes = combineSlices(init, sorted, rule, metrics, true)
    } catch (err) {
      if (err instanceof StrategyPreconditionError) return { kind: 'none', reason: `${name}: ${err.message}` }
      throw err
    }
    return modelBytes === undefined ? undefined : { kind: 'model', modelBytes, ...robustMetrics(metrics, failures, sorted.length) }
  }
}

/** Whom a Krum-family rule keeps, from the pairwise squared distances of the deltas of `sortedIds` (site order). */
type Choice = (sortedIds: readonly string[], distances: readonly Float64Array[]) => { readonly kept: readonly number[]; readonly excluded: readonly KrumScore[] }

/**
 * A Krum-family round slice by slice: a first pass sums every pair's squared
 * distance (and each delta's norm) a slice at a time, in the order the
 * whole-model rule sums them; the rule chooses from that matrix; a second
 * pass aggregates the chosen deltas slice by slice with `combine`. The same
 * choice, model, exclusions and metrics as the whole path.
 */
function selectionStreamed(name: string, choose: Choice, combine: (global: Weights, chosen: readonly WeightedUpdate[]) => Weights, evidence: (e: KrumScore, kept: number) => Exclusion) {
  return (init: StreamedAggregateInit): StreamedOutcome | undefined => {
    const { shapes, replies, failures } = init
    if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
    const sorted = sortBySiteId(replies)
    const metrics = new StreamedMetrics(sorted)
    const distances = emptyDistances(sorted.length)
    for (const { count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
      const deltas = sorted.map((r) => valuesFromBytes(r.delta.read(offset, 4 * n)))
      addSquaredDistances(distances, deltas)
      metrics.addDeltas(deltas)
    }
    let choice: ReturnType<Choice>
    try {
      choice = choose(
        sorted.map((r) => r.siteId),
        distances,
      )
    } catch (err) {
      if (err instanceof StrategyPreconditionError) return { kind: 'none', reason: `${name}: ${err.message}` }
      throw err
    }
    const chosen = choice.kept.map((i) => sorted[i]!)
    const modelBytes = combineSlices(init, chosen, combine, metrics, false)
    if (modelBytes === undefined) return undefined
    return { kind: 'model', modelBytes, ...robustMetrics(metrics, failures, chosen.length), exclusions: choice.excluded.map((e) => evidence(e, chosen.length)) }
  }
}

function robustStrategy(
  name: string,
  parameters: Strategy['parameters'],
  rule: (init: AggregateRoundInit) => RuleResult,
  streamed?: (init: StreamedAggregateInit) => StreamedOutcome | undefined,
): Strategy {
  return {
    ...(streamed === undefined ? {} : { aggregateStreamed: streamed }),
    name,
    parameters,
    phases: [],
    needsPrivateSeed: false,
    configureRound({ round, siteIds, training }) {
      return planSites(round, siteIds, trainingInstructions(training))
    },
    aggregateRound(init): AggregateOutcome {
      const { replies, failures, global } = init
      if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
      let result: RuleResult
      try {
        result = rule(init)
      } catch (err) {
        // Too few updates for the parameters: the round closes as abandoned, with the reason logged.
        if (err instanceof StrategyPreconditionError) return { kind: 'none', reason: `${name}: ${err.message}` }
        throw err
      }
      return {
        kind: 'model',
        weights: result.weights,
        state: null,
        exclusions: result.exclusions,
        metrics: {
          sites: replies.length,
          failures: failures.length,
          kept: result.kept,
          meanDeltaNorm: meanDeltaNorm(replies),
          updateNorm: updateNorm(result.weights, global),
        },
      }
    },
  }
}

/** The strategy of a robust spec. */
export function createRobustStrategy(spec: RobustStrategySpec): Strategy {
  switch (spec.name) {
    case 'fedmedian':
      return robustStrategy(
        'fedmedian',
        {},
        ({ global, replies }) => ({ weights: coordinateMedian(global, replies), kept: replies.length, exclusions: [] }),
        coordinateWiseStreamed('fedmedian', coordinateMedian),
      )
    case 'fedtrimmedavg':
      return robustStrategy(
        'fedtrimmedavg',
        { beta: spec.beta },
        ({ global, replies }) => ({ weights: trimmedMean(global, replies, spec.beta), kept: replies.length, exclusions: [] }),
        coordinateWiseStreamed('fedtrimmedavg', (g, r) => trimmedMean(g, r, spec.beta)),
      )
    case 'krum': {
      const f = spec.numMaliciousClients
      const m = spec.numClientsToKeep
      const evidence = (e: KrumScore, kept: number): Exclusion => ({ siteId: e.siteId, reason: 'krum-score', evidence: { score: e.score, rank: e.rank, numMaliciousClients: f, kept } })
      return robustStrategy(
        'krum',
        { numMaliciousClients: f, numClientsToKeep: m },
        ({ global, replies }) => {
          const s = krum(global, replies, f, m)
          return { weights: s.weights, kept: s.kept.length, exclusions: s.excluded.map((e) => evidence(e, s.kept.length)) }
        },
        selectionStreamed(
          'krum',
          (ids, distances) => krumChoice(ids, distances, f, m),
          // Krum alone: global + the chosen delta; Multi-Krum: the example-weighted mean of the chosen.
          (g, chosen) => (m === 0 ? coordinateWise(g, chosen, (v) => v[0]!) : fedAvg(g, chosen)),
          evidence,
        ),
      )
    }
    case 'bulyan': {
      const f = spec.numMaliciousClients
      const evidence = (e: KrumScore, selected: number): Exclusion => ({
        siteId: e.siteId,
        reason: 'bulyan-not-selected',
        evidence: { score: e.score, rank: e.rank, numMaliciousClients: f, selected },
      })
      return robustStrategy(
        'bulyan',
        { numMaliciousClients: f },
        ({ global, replies }) => {
          const s = bulyan(global, replies, f)
          return { weights: s.weights, kept: s.kept.length, exclusions: s.excluded.map((e) => evidence(e, s.kept.length)) }
        },
        selectionStreamed(
          'bulyan',
          (ids, distances) => {
            const c = bulyanChoice(ids, distances, f)
            return { kept: c.picked, excluded: c.excluded }
          },
          (g, chosen) => coordinateWise(g, chosen, bulyanReduce(chosen.length, f)),
          evidence,
        ),
      )
    }
  }
}
