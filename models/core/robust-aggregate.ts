/**
 * Byzantine-robust aggregation of site deltas: coordinate-wise median,
 * trimmed mean, Krum and Multi-Krum scores, and Bulyan. The arithmetic of
 * Flower's `aggregate_median`, `aggregate_trimmed_avg`, `aggregate_krum` and
 * `aggregate_bulyan` (flwr/server/strategy/aggregate.py), made deterministic
 * so the audit re-derives every bit:
 *
 * - Every function works on deltas (`local − global`) and returns
 *   `global + aggregate(delta)`, computed in float64 and rounded to float32
 *   once (the Float32Array store). Flower aggregates whole weights; Krum's
 *   distances are the same either way, and a median or mean of deltas added to
 *   the global model is the same number up to that single rounding.
 * - Updates are taken in site-id order (code-unit `<`, `sortBySiteId`).
 *   Every tie (two Krum scores, two values equally close to Bulyan's median)
 *   goes to the lowest site id in that order.
 * - Median, trimmed mean and Bulyan ignore example counts, as Flower's do;
 *   Multi-Krum averages the kept deltas weighted by example count (Flower's
 *   `aggregate`), through `fedAvg`.
 *
 * Pure: no I/O, arguments untouched (Flower's Bulyan pops from its caller's
 * list; here the selection is an index set).
 */
import { DuplicateSiteError, EmptyAggregationError, StrategyPreconditionError } from '../errors.ts'
import { fedAvg, sortBySiteId, type WeightedUpdate } from './aggregate.ts'
import { assertFinite, assertShapes } from './delta.ts'
import type { Tensor, Weights } from './weights.ts'

/** The updates in site-id order, checked against `global`'s layout and for distinct site ids. */
function prepare(global: Weights, updates: readonly WeightedUpdate[]): WeightedUpdate[] {
  if (updates.length === 0) throw new EmptyAggregationError('no updates to aggregate')
  assertShapes(global, global.tensors, 'global')
  const sorted = sortBySiteId(updates)
  sorted.forEach((u, i) => {
    if (i > 0 && sorted[i - 1]!.siteId === u.siteId) throw new DuplicateSiteError(`site "${u.siteId}": more than one update`, u.siteId)
    assertShapes(u.delta, global.tensors, `site "${u.siteId}" delta`)
  })
  return sorted
}

/**
 * `global[j] + reduce(values of coordinate j)` for every coordinate, with the
 * values of coordinate j given in site order in a reused Float64Array, and
 * one rounding to float32.
 */
export function coordinateWise(global: Weights, sorted: readonly WeightedUpdate[], reduce: (values: Float64Array) => number): Weights {
  const column = new Float64Array(sorted.length)
  const tensors = global.tensors.map((g, t): Tensor => {
    const gv = g.values
    const deltas = sorted.map((u) => u.delta.tensors[t]!.values)
    const out = new Float32Array(gv.length)
    for (let j = 0; j < gv.length; j++) {
      for (let i = 0; i < deltas.length; i++) column[i] = deltas[i]![j]!
      out[j] = gv[j]! + reduce(column)
    }
    return { name: g.name, shape: g.shape, values: out }
  })
  const result: Weights = { tensors }
  assertFinite(result, 'aggregate')
  return result
}

/** The median of `values` (sorted in place): the middle value, or the float64 mean of the two middle ones (numpy's `median`). */
function medianInPlace(values: Float64Array): number {
  values.sort()
  const n = values.length
  const h = n >> 1
  return n % 2 === 1 ? values[h]! : (values[h - 1]! + values[h]!) / 2
}

/**
 * FedMedian (Yin et al. 2018): `global + median_i Δ_i[j]` per coordinate,
 * unweighted. An even count takes the float64 mean of the two middle values.
 * Requires at least one update, distinct site ids, deltas of `global`'s layout.
 */
export function coordinateMedian(global: Weights, updates: readonly WeightedUpdate[]): Weights {
  return coordinateWise(global, prepare(global, updates), medianInPlace)
}

/** How many values a trimmed mean of `n` values with fraction `beta` cuts from each side: floor(beta · n), as Flower (and scipy's `trim_mean`). */
export function trimCount(n: number, beta: number): number {
  return Math.floor(beta * n)
}

/**
 * FedTrimmedAvg (Yin et al. 2018): per coordinate, the values sorted
 * ascending, `k = floor(beta · n)` cut from each end, the rest averaged
 * (summed in float64 in ascending order, divided by n − 2k), unweighted.
 * Requires 0 ≤ beta < 1/2 and n − 2k ≥ 1 (`StrategyPreconditionError`).
 */
export function trimmedMean(global: Weights, updates: readonly WeightedUpdate[], beta: number): Weights {
  if (!(beta >= 0 && beta < 0.5)) throw new StrategyPreconditionError(`trimmed mean: beta ${beta}, want 0 ≤ beta < 0.5 (the fraction cut from each side)`)
  const sorted = prepare(global, updates)
  const k = trimCount(sorted.length, beta)
  const kept = sorted.length - 2 * k
  if (kept < 1) throw new StrategyPreconditionError(`trimmed mean of ${sorted.length} updates with beta ${beta} cuts ${k} from each side and keeps none`)
  return coordinateWise(global, sorted, (values) => {
    values.sort()
    let sum = 0
    for (let i = k; i < values.length - k; i++) sum += values[i]!
    return sum / kept
  })
}

/** The fewest updates Krum with `f` malicious sites accepts: 2f + 3. */
export function krumMinimum(f: number): number {
  return 2 * f + 3
}

/** The fewest updates Bulyan with `f` malicious sites accepts: 4f + 3. */
export function bulyanMinimum(f: number): number {
  return 4 * f + 3
}

/** A site's Krum score and its rank among the scored updates (1 = lowest score, ties to the lowest site id). */
export interface KrumScore {
  readonly siteId: string
  readonly score: number
  readonly rank: number
}

/**
 * ‖Δ_a − Δ_b‖² in float64, tensors in layout order, elements in order
 * (Flower's `_compute_distances`).
 */
function squaredDistance(a: Weights, b: Weights): number {
  let sum = 0
  a.tensors.forEach((t, i) => {
    const x = t.values
    const y = b.tensors[i]!.values
    for (let j = 0; j < x.length; j++) {
      const d = x[j]! - y[j]!
      sum += d * d
    }
  })
  return sum
}

/** The pairwise squared distances of `sorted`, a symmetric matrix with a zero diagonal. */
function distanceMatrix(sorted: readonly WeightedUpdate[]): Float64Array[] {
  const n = sorted.length
  const m = Array.from({ length: n }, () => new Float64Array(n))
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = squaredDistance(sorted[i]!.delta, sorted[j]!.delta)
      m[i]![j] = d
      m[j]![i] = d
    }
  return m
}

/**
 * Krum scores over the members `members` (indices into the distance matrix,
 * in site order): each member's score is the sum of its
 * `max(1, |members| − f − 2)` smallest squared distances to the other
 * members, added smallest first (Flower's `num_closest`). Ranks sort by
 * score, then by position in site order.
 */
function scoresAmong(distances: readonly Float64Array[], members: readonly number[], f: number): { index: number; score: number; rank: number }[] {
  const closest = Math.max(1, members.length - f - 2)
  const scored = members.map((i) => {
    const row = Float64Array.from(members.filter((j) => j !== i).map((j) => distances[i]![j]!)).sort()
    let score = 0
    for (let c = 0; c < Math.min(closest, row.length); c++) score += row[c]!
    return { index: i, score }
  })
  const order = [...scored].sort((a, b) => a.score - b.score || a.index - b.index)
  const rank = new Map(order.map((s, r) => [s.index, r + 1]))
  return scored.map((s) => ({ ...s, rank: rank.get(s.index)! }))
}

/** Krum's preconditions, in the order they are checked: f, then n ≥ 2f + 3. */
function checkKrum(n: number, f: number): void {
  if (!Number.isSafeInteger(f) || f < 0) throw new StrategyPreconditionError(`Krum: ${f} malicious sites, want a non-negative integer`)
  if (n < krumMinimum(f)) throw new StrategyPreconditionError(`Krum with ${f} malicious sites needs at least ${krumMinimum(f)} updates (n ≥ 2f + 3), got ${n}`)
}

/**
 * The Krum score of every update (Blanchard et al. 2017), in site order.
 * Requires n ≥ 2f + 3 (`StrategyPreconditionError`), distinct site ids and
 * deltas of one layout (checked against the first).
 */
export function krumScores(updates: readonly WeightedUpdate[], f: number): KrumScore[] {
  checkKrum(updates.length, f)
  const sorted = prepare(updates[0]!.delta, updates)
  return krumScoresFrom(
    sorted.map((u) => u.siteId),
    distanceMatrix(sorted),
    f,
  )
}

/** Krum scores of the deltas of `sortedIds` (site order) from their pairwise squared distances. */
function krumScoresFrom(sortedIds: readonly string[], distances: readonly Float64Array[], f: number): KrumScore[] {
  const scores = scoresAmong(
    distances,
    sortedIds.map((_, i) => i),
    f,
  )
  return scores.map((s) => ({ siteId: sortedIds[s.index]!, score: s.score, rank: s.rank }))
}

/**
 * Adds one slice of each delta to a matrix of pairwise squared distances
 * (`deltas` in site order, the slices in layout order): each pair's sum goes
 * on from where the last slice left it, so over all slices it is the sum
 * `squaredDistance` makes over whole deltas, bit for bit.
 */
export function addSquaredDistances(distances: Float64Array[], deltas: readonly Float32Array[]): void {
  const n = deltas.length
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const x = deltas[i]!
      const y = deltas[j]!
      let sum = distances[i]![j]!
      for (let k = 0; k < x.length; k++) {
        const d = x[k]! - y[k]!
        sum += d * d
      }
      distances[i]![j] = sum
      distances[j]![i] = sum
    }
}

/** An n × n matrix of zeros, for `addSquaredDistances`. */
export function emptyDistances(n: number): Float64Array[] {
  return Array.from({ length: n }, () => new Float64Array(n))
}

/** The result of a Krum-family aggregation: the model, and the kept and left-out sites with their scores. */
export interface RobustSelection {
  readonly weights: Weights
  /** The sites whose deltas were aggregated, in site order. */
  readonly kept: readonly string[]
  /** The sites left out, in site order, with the score and rank that decided it. */
  readonly excluded: readonly KrumScore[]
}

/**
 * Krum (keep = 0: `global + Δ` of the best-scored site, one rounding) or
 * Multi-Krum (keep = m > 0: the example-weighted FedAvg of the m best-scored
 * sites). Requires n ≥ 2f + 3 and 0 ≤ m ≤ n − f (`StrategyPreconditionError`).
 */
export function krum(global: Weights, updates: readonly WeightedUpdate[], f: number, keep: number): RobustSelection {
  const sorted = prepare(global, updates)
  checkKrumKeep(sorted.length, f, keep)
  checkKrum(sorted.length, f)
  const choice = krumChoice(
    sorted.map((u) => u.siteId),
    distanceMatrix(sorted),
    f,
    keep,
  )
  const kept = choice.kept.map((i) => sorted[i]!)
  const weights = keep === 0 ? addDelta(global, kept[0]!.delta) : fedAvg(global, kept)
  return { weights, kept: kept.map((u) => u.siteId), excluded: choice.excluded }
}

/** Multi-Krum's `keep` against n and f (checked before Krum's own preconditions). */
export function checkKrumKeep(n: number, f: number, keep: number): void {
  if (!Number.isSafeInteger(keep) || keep < 0 || keep > n - f)
    throw new StrategyPreconditionError(`Multi-Krum keeps ${keep} of ${n} updates with ${f} malicious sites, want 0 ≤ keep ≤ n − f = ${n - f}`)
}

/**
 * Whom Krum (keep = 0: the best-scored one) or Multi-Krum (the `keep` best)
 * keeps, from the pairwise squared distances of the deltas of `sortedIds`:
 * the kept indices in site order, and the others with their scores. Checks
 * `keep` and Krum's preconditions as `krum` does.
 */
export function krumChoice(sortedIds: readonly string[], distances: readonly Float64Array[], f: number, keep: number): { readonly kept: readonly number[]; readonly excluded: readonly KrumScore[] } {
  checkKrumKeep(sortedIds.length, f, keep)
  checkKrum(sortedIds.length, f)
  const scores = krumScoresFrom(sortedIds, distances, f)
  const m = keep === 0 ? 1 : keep
  const keptIds = new Set(scores.filter((s) => s.rank <= m).map((s) => s.siteId))
  return { kept: sortedIds.flatMap((id, i) => (keptIds.has(id) ? [i] : [])), excluded: scores.filter((s) => !keptIds.has(s.siteId)) }
}

/** global + delta in float64, rounded once. */
function addDelta(global: Weights, delta: Weights): Weights {
  const result: Weights = {
    tensors: global.tensors.map((g, t) => {
      const d = delta.tensors[t]!.values
      const out = new Float32Array(g.values.length)
      for (let j = 0; j < out.length; j++) out[j] = g.values[j]! + d[j]!
      return { name: g.name, shape: g.shape, values: out }
    }),
  }
  assertFinite(result, 'aggregate')
  return result
}

/**
 * Bulyan (El Mhamdi et al. 2018) over Krum, as Flower's `aggregate_bulyan`:
 *
 * 1. θ = n − 2f times, pick the best Krum score among the updates not yet
 *    picked (scored among those alone, ties to the lowest site id).
 * 2. Per coordinate, the median of the θ picked values, then the mean of the
 *    β = θ − 2f picked values closest to it (ties to the lowest site id),
 *    added closest first in float64; `global +` that, rounded once.
 *
 * The 2f updates never picked are `excluded`, each with its score and rank in
 * the last selection round (among the 2f + 1 updates left then).
 * Requires n ≥ 4f + 3 (`StrategyPreconditionError`).
 */
export function bulyan(global: Weights, updates: readonly WeightedUpdate[], f: number): RobustSelection {
  checkBulyan(updates.length, f)
  const sorted = prepare(global, updates)
  const choice = bulyanChoice(
    sorted.map((u) => u.siteId),
    distanceMatrix(sorted),
    f,
  )
  const chosen = choice.picked.map((i) => sorted[i]!)
  const weights = coordinateWise(global, chosen, bulyanReduce(choice.picked.length, f))
  return { weights, kept: chosen.map((u) => u.siteId), excluded: choice.excluded }
}

/** Bulyan's preconditions, in the order they are checked: f, then n ≥ 4f + 3. */
function checkBulyan(n: number, f: number): void {
  if (!Number.isSafeInteger(f) || f < 0) throw new StrategyPreconditionError(`Bulyan: ${f} malicious sites, want a non-negative integer`)
  if (n < bulyanMinimum(f)) throw new StrategyPreconditionError(`Bulyan with ${f} malicious sites needs at least ${bulyanMinimum(f)} updates (n ≥ 4f + 3), got ${n}`)
}

/**
 * Bulyan's step 1 from the pairwise squared distances of the deltas of
 * `sortedIds`: the θ = n − 2f picked indices in site order, and the 2f never
 * picked with their score and rank in the last selection round. Checks
 * Bulyan's preconditions as `bulyan` does.
 */
export function bulyanChoice(sortedIds: readonly string[], distances: readonly Float64Array[], f: number): { readonly picked: readonly number[]; readonly excluded: readonly KrumScore[] } {
  checkBulyan(sortedIds.length, f)
  const theta = sortedIds.length - 2 * f
  let remaining = sortedIds.map((_, i) => i)
  const picked: number[] = []
  let last: { index: number; score: number; rank: number }[] = []
  for (let t = 0; t < theta; t++) {
    last = scoresAmong(distances, remaining, f)
    const best = last.find((s) => s.rank === 1)!.index
    picked.push(best)
    remaining = remaining.filter((i) => i !== best)
  }
  picked.sort((a, b) => a - b)
  const excluded = last
    .filter((s) => !picked.includes(s.index))
    .map((s) => ({ siteId: sortedIds[s.index]!, score: s.score, rank: s.rank }))
    .sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0))
  return { picked, excluded }
}

/**
 * Bulyan's step 2 for one coordinate of the θ picked deltas (in site order):
 * the mean of the β = θ − 2f values closest to their median, added closest
 * first in float64 (equal distances to the lowest site id).
 */
export function bulyanReduce(theta: number, f: number): (values: Float64Array) => number {
  const beta = theta - 2 * f
  const order = new Int32Array(theta)
  return (values) => {
    const copy = Float64Array.from(values)
    const med = medianInPlace(copy)
    for (let i = 0; i < theta; i++) order[i] = i
    // Closest to the median first; equal distances to the lowest site id (values are in site order).
    const byDistance = Array.from(order).sort((a, b) => Math.abs(values[a]! - med) - Math.abs(values[b]! - med) || a - b)
    let sum = 0
    for (let c = 0; c < beta; c++) sum += values[byDistance[c]!]!
    return sum / beta
  }
}
