/**
 * How much each site's update contributed to a round: the scores that
 * `reward.ts` turns into payments. Pure and deterministic, so the auditor
 * recomputes the very same numbers from the log (parent model, accepted
 * deltas, the hub's validation set, method, parameters, seed).
 *
 * The game. Players are the round's admitted updates (see "Excluded updates"),
 * in site-id order. A coalition S is valued by
 *
 *     v(S) = U(S) − U(∅)
 *
 * where, for the validation utility, U(S) is the validation metric (negative
 * log loss by default, or accuracy) of `fedAvg(parent, updates in S,
 * serverLearningRate)` on the hub's validation Dataset, computed with
 * `models/core` `predictProbabilitiesCore` (plain float64 JavaScript, not
 * TF.js), and U(∅) is the metric of the parent itself. A caller may instead
 * inject U as a function of the coalition's site ids (tests, other
 * utilities). U is evaluated at most once per coalition: results are cached
 * under the coalition's site ids in code-unit order, and `utilityCalls`
 * counts the evaluations, U(∅) included.
 *
 * Methods:
 * - `examples` (the default): score = example count; no utility.
 * - `leave-one-out`: v(N) − v(N∖{i}); n + 2 utility calls.
 * - `shapley`: exact Shapley values over all 2^n coalitions (`shapley.ts`),
 *   n <= 12 admitted sites, else `ShapleyTooManySitesError`.
 * - `gtg-shapley`: GTG-Shapley (Liu et al. 2022) Monte Carlo estimate with
 *   between-round truncation, within-round truncation, guided permutations and
 *   a convergence test (`shapley.ts` `GtgShapleyParams`). Its permutations
 *   come from `mulberry32(seed)`; derive the seed from the round with
 *   `contributionSeed` and log it.
 *
 * Excluded updates earn nothing. Before any scoring, an update is excluded
 * when its delta's L2 norm is below `zeroDeltaNorm` (reason `zero-delta`: it
 * did no training), or when its delta is byte-identical (same SHA-256 of the
 * canonical encoding) to another site's (reason `stale-copy`, `duplicateOf`
 * naming the other site). Among identical deltas the one with the lowest
 * `acceptedSeq` is the original and keeps its place; when no member of the
 * group carries `acceptedSeq`, the original cannot be told apart and every
 * member is excluded. Excluded updates are not players: they are in no
 * coalition, so they neither earn nor dilute the others' marginal gains, and
 * their score is `raw = payable = 0` with the reason.
 *
 * Payment. `payable = max(raw, 0)`: a negative value (the update made the
 * model worse) pays nothing and is marked `negative-value`; the raw value
 * stays in the result. Under GTG between-round truncation every raw value is
 * 0 with reason `round-truncated`. Scores are returned for every input site,
 * sorted by site id, whatever order the updates came in.
 */
import {
  DuplicateSiteError,
  binaryAccuracy,
  fedAvg,
  hashWeights,
  l2Norm,
  portableLogLoss,
  predictProbabilitiesCore,
  sortBySiteId,
  toHex,
  type Dataset,
  type ModelSpec,
  type WeightedUpdate,
  type Weights,
} from '../models/core/index.ts'
import { sha256 } from '../ledger/core/index.ts'
import { ContributionInputError, ContributionUtilityError, ShapleyTooManySitesError } from './reward-errors.ts'
import { MAX_EXACT_SHAPLEY_SITES, exactShapley, gtgShapley, leaveOneOut, resolveGtgParams, type CoalitionGame, type GtgShapleyParams } from './shapley.ts'

export const CONTRIBUTION_METHODS = ['examples', 'leave-one-out', 'shapley', 'gtg-shapley'] as const
export type ContributionMethod = (typeof CONTRIBUTION_METHODS)[number]

/** Validation metric of the utility: `neg-log-loss` (= −mean log loss, higher is better) or `accuracy`. */
export type UtilityMetric = 'neg-log-loss' | 'accuracy'

/** Why a score is 0 or not paid in full. */
export type ContributionReason = 'zero-delta' | 'stale-copy' | 'negative-value' | 'round-truncated'

/** Deltas with an L2 norm below this are `zero-delta` unless `params.zeroDeltaNorm` says otherwise. */
export const DEFAULT_ZERO_DELTA_NORM = 1e-6

/** A round's accepted update, plus where it stands in the acceptance order. */
export interface ContributionUpdate extends WeightedUpdate {
  /**
   * Position in the round's acceptance order, e.g. the log seq of the
   * `update-accepted` entry (a non-negative safe integer). Only used to tell
   * the original of byte-identical deltas from its copies.
   */
  readonly acceptedSeq?: number
}

/**
 * An update as the `examples` method needs it when its delta was streamed
 * rather than held (a commit that sums deltas slice by slice): its L2 norm
 * (float64 sum of squares in element order, as `l2Norm`) and the SHA-256 of
 * its canonical bytes (as `hashWeights`, i.e. the delta blob's name). The
 * other methods build coalition models and need the delta itself.
 */
export interface SummarizedUpdate {
  readonly siteId: string
  readonly exampleCount: number
  readonly acceptedSeq?: number
  readonly deltaNorm: number
  readonly deltaHash: Uint8Array
}

type AnyUpdate = ContributionUpdate | SummarizedUpdate

function isSummarized(u: AnyUpdate): u is SummarizedUpdate {
  return 'deltaNorm' in u
}

/** How a coalition is valued. */
export type CoalitionUtility =
  | {
      readonly kind: 'validation'
      readonly model: ModelSpec
      /** The round's base model (U(∅) is its metric). */
      readonly parent: Weights
      /** The hub's validation set. */
      readonly validation: Dataset
      /** Default `neg-log-loss`. */
      readonly metric?: UtilityMetric
      /**
       * Builds a coalition's model from the parent and the coalition's updates, with
       * the study's own strategy, so coalition models are built like the committed
       * one. Default: plain FedAvg.
       */
      readonly coalitionModel?: (updates: readonly WeightedUpdate[]) => Weights
    }
  | {
      readonly kind: 'function'
      /** U(S) for a coalition's site ids in code-unit order (empty = the parent). Must be pure and finite. */
      readonly utility: (coalition: readonly string[]) => number
    }

export interface ContributionParams extends Partial<GtgShapleyParams> {
  /** L2 norm below which a delta is `zero-delta`; 0 disables the check. Default `DEFAULT_ZERO_DELTA_NORM`. */
  readonly zeroDeltaNorm?: number
}

export interface ContributionInit {
  /** Default `examples`. */
  readonly method?: ContributionMethod
  /** Summarized updates are taken by `examples` only. */
  readonly updates: readonly (ContributionUpdate | SummarizedUpdate)[]
  /** Required unless `method` is `examples`. */
  readonly utility?: CoalitionUtility
  /** Seed of GTG-Shapley's permutations (ignored by the other methods), an integer in [0, 2^32). See `contributionSeed`. */
  readonly seed: number
  readonly params?: ContributionParams
}

export interface SiteContribution {
  readonly siteId: string
  /** The method's value: example count, leave-one-out gain or Shapley value (may be negative). 0 when excluded. */
  readonly raw: number
  /** max(raw, 0): what `splitRewardPool` pays in proportion to. */
  readonly payable: number
  readonly reason?: ContributionReason
  /** For `stale-copy`: the site whose delta this one is byte-identical to. */
  readonly duplicateOf?: string
}

export interface ContributionResult {
  readonly method: ContributionMethod
  /** The validation metric, or null for `examples` and injected utilities. */
  readonly metric: UtilityMetric | null
  /** One per input update, sorted by site id. */
  readonly scores: readonly SiteContribution[]
  /** v(N) = U(admitted sites) − U(∅); null for `examples`, 0 when no site is admitted. */
  readonly gain: number | null
  /** Distinct coalitions whose utility was evaluated, U(∅) included. */
  readonly utilityCalls: number
  /** GTG-Shapley permutations sampled; 0 for the other methods. */
  readonly permutations: number
  /** GTG-Shapley: true when the convergence test (or round truncation) ended the run, false when the cap did; null for the other methods. */
  readonly converged: boolean | null
  /** Every parameter the method used, resolved to numbers, to be logged with the scores. */
  readonly params: Readonly<Record<string, number>>
  readonly seed: number
}

/**
 * The seed of round `round`'s contribution permutations: the first 4 bytes
 * (big-endian) of SHA-256("fedlineage/contribution-seed/<studySeed>/<round>").
 * A separate domain from `roundSeed`, so the sites' batch order and the
 * hub's permutations are independent.
 */
export function contributionSeed(studySeed: number, round: number): number {
  const digest = sha256(new TextEncoder().encode(`fedlineage/contribution-seed/${studySeed}/${round}`))
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0
}

interface Exclusion {
  readonly reason: 'zero-delta' | 'stale-copy'
  readonly duplicateOf?: string
}

/** The excluded updates of `sorted` (in site-id order), as the module doc says. */
function findExclusions(sorted: readonly AnyUpdate[], zeroDeltaNorm: number): Map<string, Exclusion> {
  const out = new Map<string, Exclusion>()
  const byContent = new Map<string, AnyUpdate[]>()
  for (const u of sorted) {
    if ((isSummarized(u) ? u.deltaNorm : l2Norm(u.delta)) < zeroDeltaNorm) {
      out.set(u.siteId, { reason: 'zero-delta' })
      continue
    }
    const key = toHex(isSummarized(u) ? u.deltaHash : hashWeights(u.delta))
    const group = byContent.get(key)
    if (group) group.push(u)
    else byContent.set(key, [u])
  }
  for (const group of byContent.values()) {
    if (group.length < 2) continue
    let original: AnyUpdate | undefined
    // The group is in site-id order, so `<` keeps the lowest site id among equal seqs.
    for (const u of group) if (u.acceptedSeq !== undefined && (original === undefined || u.acceptedSeq < original.acceptedSeq!)) original = u
    for (const u of group) {
      if (u === original) continue
      out.set(u.siteId, { reason: 'stale-copy', duplicateOf: (original ?? group.find((o) => o !== u)!).siteId })
    }
  }
  return out
}

function checkNumber(name: string, value: number, integer: boolean, min: number): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
    throw new ContributionInputError(`params.${name}: ${value}, want ${integer ? 'an integer' : 'a finite number'} >= ${min}`)
  }
}

function checkInit(init: ContributionInit & { readonly method: ContributionMethod }, sorted: readonly AnyUpdate[]): void {
  if (!(CONTRIBUTION_METHODS as readonly string[]).includes(init.method)) {
    throw new ContributionInputError(`method "${String(init.method)}", want one of ${CONTRIBUTION_METHODS.join(', ')}`)
  }
  if (!Number.isSafeInteger(init.seed) || init.seed < 0 || init.seed > 0xffff_ffff) {
    throw new ContributionInputError(`seed ${init.seed}, want an integer in [0, 2^32)`)
  }
  for (let i = 0; i < sorted.length; i++) {
    const u = sorted[i]!
    if (i > 0 && sorted[i - 1]!.siteId === u.siteId) throw new DuplicateSiteError(`site "${u.siteId}": more than one update`, u.siteId)
    if (u.acceptedSeq !== undefined && (!Number.isSafeInteger(u.acceptedSeq) || u.acceptedSeq < 0)) {
      throw new ContributionInputError(`site "${u.siteId}": acceptedSeq ${u.acceptedSeq}, want a non-negative integer`)
    }
  }
  const summarized = sorted.find(isSummarized)
  if (init.method !== 'examples' && summarized !== undefined) {
    throw new ContributionInputError(`site "${summarized.siteId}": method "${init.method}" builds coalition models and needs the delta itself, not its norm and hash`)
  }
  if (init.method !== 'examples' && init.utility === undefined) {
    throw new ContributionInputError(`method "${init.method}" needs a utility (validation set or function)`)
  }
}

function checkGtgParams(p: GtgShapleyParams): void {
  checkNumber('roundTruncation', p.roundTruncation, false, 0)
  checkNumber('withinRoundTolerance', p.withinRoundTolerance, false, 0)
  checkNumber('convergenceTolerance', p.convergenceTolerance, false, 0)
  checkNumber('convergenceWindow', p.convergenceWindow, true, 1)
  checkNumber('minPermutations', p.minPermutations, true, 1)
  checkNumber('maxPermutations', p.maxPermutations, true, 1)
}

/** U as a function of site ids, uncached. */
function utilityFunction(source: CoalitionUtility, players: readonly ContributionUpdate[]): (ids: readonly string[]) => number {
  if (source.kind === 'function') return source.utility
  const { model, parent, validation } = source
  const metric = source.metric ?? 'neg-log-loss'
  const build = source.coalitionModel ?? ((updates: readonly WeightedUpdate[]) => fedAvg(parent, updates, 1))
  const byId = new Map(players.map((u) => [u.siteId, u]))
  const score = (weights: Weights): number => {
    const probs = predictProbabilitiesCore(model, weights, validation)
    return metric === 'accuracy' ? binaryAccuracy(probs, validation.labels) : -portableLogLoss(probs, validation.labels)
  }
  return (ids) => (ids.length === 0 ? score(parent) : score(build(ids.map((id) => byId.get(id)!))))
}

/**
 * Scores every update of a round with `init.method`, as the module doc
 * says. Throws `ContributionInputError` for a bad method, seed, parameter,
 * `acceptedSeq` or a missing utility; `DuplicateSiteError` for two updates
 * of one site; `ShapleyTooManySitesError` for exact Shapley over more than
 * 12 admitted sites; `ContributionUtilityError` when a utility is not
 * finite; and the `models/core` errors of `fedAvg` and `predictLogits` for
 * deltas, parent or validation set that do not fit the model.
 */
export function scoreContributions(input: ContributionInit): ContributionResult {
  const init = { ...input, method: input.method ?? 'examples' }
  const sorted = sortBySiteId(init.updates)
  checkInit(init, sorted)
  const zeroDeltaNorm = init.params?.zeroDeltaNorm ?? DEFAULT_ZERO_DELTA_NORM
  checkNumber('zeroDeltaNorm', zeroDeltaNorm, false, 0)
  const exclusions = findExclusions(sorted, zeroDeltaNorm)
  const players = sorted.filter((u) => !exclusions.has(u.siteId))
  const n = players.length
  const gtgParams = init.method === 'gtg-shapley' ? resolveGtgParams(n, init.params) : undefined
  if (gtgParams) checkGtgParams(gtgParams)
  if (init.method === 'shapley' && n > MAX_EXACT_SHAPLEY_SITES) {
    throw new ShapleyTooManySitesError(`exact Shapley over ${n} sites needs 2^${n} coalition utilities, the limit is ${MAX_EXACT_SHAPLEY_SITES} sites; use gtg-shapley`, n, MAX_EXACT_SHAPLEY_SITES)
  }
  const params: Record<string, number> = { zeroDeltaNorm, ...(gtgParams ?? {}) }
  const metric = init.method !== 'examples' && init.utility?.kind === 'validation' ? (init.utility.metric ?? 'neg-log-loss') : null

  const excluded = (u: AnyUpdate): SiteContribution => {
    const e = exclusions.get(u.siteId)!
    return { siteId: u.siteId, raw: 0, payable: 0, reason: e.reason, ...(e.duplicateOf === undefined ? {} : { duplicateOf: e.duplicateOf }) }
  }

  if (init.method === 'examples') {
    const scores = sorted.map((u) => (exclusions.has(u.siteId) ? excluded(u) : { siteId: u.siteId, raw: u.exampleCount, payable: u.exampleCount }))
    return { method: init.method, metric, scores, gain: null, utilityCalls: 0, permutations: 0, converged: null, params, seed: init.seed }
  }

  // The cached utility over site ids, and the game over player indices.
  // checkInit refused summarized updates for every method but `examples`.
  const utility = utilityFunction(init.utility!, players as readonly ContributionUpdate[])
  const cache = new Map<string, number>()
  const evaluate = (ids: readonly string[]): number => {
    const key = JSON.stringify(ids)
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const value = utility(ids)
    if (!Number.isFinite(value)) {
      throw new ContributionUtilityError(`utility of coalition [${ids.join(', ')}] is ${value}, want a finite number`, ids, value)
    }
    cache.set(key, value)
    return value
  }
  let values: Float64Array = new Float64Array(0)
  let gain = 0
  let permutations = 0
  let roundTruncated = false
  let converged: boolean | null = init.method === 'gtg-shapley' ? true : null
  if (n > 0) {
    const base = evaluate([])
    const game: CoalitionGame = { players: n, value: (coalition) => evaluate(coalition.map((i) => players[i]!.siteId)) - base }
    if (init.method === 'leave-one-out') values = leaveOneOut(game)
    else if (init.method === 'shapley') values = exactShapley(game)
    else {
      const run = gtgShapley(game, gtgParams!, init.seed)
      values = run.values
      permutations = run.permutations
      roundTruncated = run.roundTruncated
      converged = run.converged
    }
    gain = game.value(players.map((_, i) => i))
  }

  const valueBySite = new Map(players.map((u, i) => [u.siteId, values[i]!]))
  const scores = sorted.map((u): SiteContribution => {
    if (exclusions.has(u.siteId)) return excluded(u)
    const v = valueBySite.get(u.siteId)!
    const raw = v === 0 ? 0 : v // no -0 in the log
    if (roundTruncated) return { siteId: u.siteId, raw, payable: 0, reason: 'round-truncated' }
    if (raw < 0) return { siteId: u.siteId, raw, payable: 0, reason: 'negative-value' }
    return { siteId: u.siteId, raw, payable: raw }
  })
  return { method: init.method, metric, scores, gain: gain === 0 ? 0 : gain, utilityCalls: cache.size, permutations, converged, params, seed: init.seed }
}
