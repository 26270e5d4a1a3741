/**
 * Cooperative-game arithmetic behind contribution scores, over an abstract
 * game: players are 0..n−1 and `value` gives v(S) for a coalition listed in
 * ascending player order, with v(∅) = 0. `contribution.ts` builds the game
 * from a round's updates (players = sites in site-id order, v = validation
 * gain of the coalition's FedAvg model) and caches it.
 *
 * Determinism: every sum below runs in a fixed order written next to it, in
 * float64, and the only randomness (GTG-Shapley's permutations) comes from a
 * Mulberry32 stream seeded by the caller. Same game, same seed, same bits.
 */
import { mulberry32, nextUint32, shuffleIndices } from '../models/core/index.ts'
import { ShapleyTooManySitesError } from './reward-errors.ts'

/** A transferable-utility game. `value` must be pure; the algorithms may ask for a coalition more than once, so callers cache it (`contribution.ts` does). */
export interface CoalitionGame {
  readonly players: number
  /** v(S) for `coalition` in ascending order, never empty. */
  value(coalition: readonly number[]): number
}

/** Exact Shapley values enumerate 2^n coalitions; above this many players use GTG-Shapley. */
export const MAX_EXACT_SHAPLEY_SITES = 12

function members(mask: number, n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) if (mask & (1 << i)) out.push(i)
  return out
}

function popcount(mask: number): number {
  let c = 0
  for (let m = mask; m !== 0; m &= m - 1) c++
  return c
}

/** v(S) for every mask 0..2^n−1 (bit i = player i), evaluated in ascending mask order. */
function valueTable(game: CoalitionGame): Float64Array {
  const n = game.players
  const table = new Float64Array(1 << n)
  for (let mask = 1; mask < table.length; mask++) table[mask] = game.value(members(mask, n))
  return table
}

/**
 * Exact Shapley values φ_i = Σ_{S ⊆ N∖{i}} |S|!(n−|S|−1)!/n! · (v(S∪{i}) − v(S)).
 *
 * Evaluation order (part of the contract): all 2^n values in ascending mask
 * order; then for each i, D_s = Σ of the marginals v(S∪{i}) − v(S) over
 * masks S ∌ i of size s in ascending mask order; then
 * φ_i = (Σ_{s ascending} s!·(n−s−1)!·D_s) / n!, one division at the end.
 * The factorials are exact integers for n <= 12, so integer-valued games get
 * exact values. Throws `ShapleyTooManySitesError` for n > 12.
 */
export function exactShapley(game: CoalitionGame): Float64Array {
  const n = game.players
  if (n > MAX_EXACT_SHAPLEY_SITES) {
    throw new ShapleyTooManySitesError(`exact Shapley over ${n} sites needs 2^${n} coalition utilities, the limit is ${MAX_EXACT_SHAPLEY_SITES} sites; use gtg-shapley`, n, MAX_EXACT_SHAPLEY_SITES)
  }
  const table = valueTable(game)
  const factorial = [1]
  for (let k = 1; k <= n; k++) factorial.push(factorial[k - 1]! * k)
  const phi = new Float64Array(n)
  const bySize = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    bySize.fill(0)
    const bit = 1 << i
    for (let mask = 0; mask < table.length; mask++) {
      if (mask & bit) continue
      const s = popcount(mask)
      bySize[s] = bySize[s]! + (table[mask | bit]! - table[mask]!)
    }
    let weighted = 0
    for (let s = 0; s < n; s++) weighted += factorial[s]! * factorial[n - s - 1]! * bySize[s]!
    phi[i] = weighted / factorial[n]!
  }
  return phi
}

/** Leave-one-out values φ_i = v(N) − v(N∖{i}) (v(∅) = 0 when n = 1). Evaluates N first, then N∖{i} for ascending i. */
export function leaveOneOut(game: CoalitionGame): Float64Array {
  const n = game.players
  const phi = new Float64Array(n)
  if (n === 0) return phi
  const all = Array.from({ length: n }, (_, i) => i)
  const grand = game.value(all)
  for (let i = 0; i < n; i++) {
    const rest = all.filter((p) => p !== i)
    phi[i] = grand - (rest.length === 0 ? 0 : game.value(rest))
  }
  return phi
}

/**
 * GTG-Shapley parameters (Liu, Chen, Yu, Liu, Cui 2022, "GTG-Shapley:
 * Efficient and Accurate Participant Contribution Evaluation in Federated
 * Learning", ACM TIST 13(4)). Defaults follow the authors' code.
 */
export interface GtgShapleyParams {
  /**
   * Between-round truncation: when |v(N)| (the round's validation gain over
   * the parent) is at most this, the round is not worth splitting and every
   * value is 0 without sampling. Default 0.001.
   */
  readonly roundTruncation: number
  /**
   * Within-round truncation: walking a permutation, once the prefix's value is
   * within this of v(N) (|v(N) − v(prefix)| < tolerance), the remaining
   * players' marginals are taken as 0 without evaluating their coalitions.
   * Default 0.001.
   */
  readonly withinRoundTolerance: number
  /**
   * Convergence: stop after a cycle when, for each of the last
   * `convergenceWindow` running estimates φ^(t), Σ_i |φ^(t)_i − φ_i| / Σ_i |φ_i|
   * is at most this (φ = the latest estimate). Default 0.05.
   */
  readonly convergenceTolerance: number
  /** How many of the latest running estimates the convergence test compares. Default 10. */
  readonly convergenceWindow: number
  /** No convergence test before this many permutations. Default max(30, n). */
  readonly minPermutations: number
  /**
   * Cap: no new cycle starts once this many permutations ran. Runs whole
   * cycles of n permutations, so the count is the cap rounded up to a
   * multiple of n (at least one cycle). Default max(minPermutations, 10·n).
   */
  readonly maxPermutations: number
}

export interface GtgShapleyResult {
  readonly values: Float64Array
  /** Permutations sampled (0 when the round was truncated). */
  readonly permutations: number
  /** True when between-round truncation applied (every value 0). */
  readonly roundTruncated: boolean
  /** True when the convergence test stopped the run, false when the cap did. */
  readonly converged: boolean
}

/** The defaults of `GtgShapleyParams` for `players` players, overridden by `overrides`. */
export function resolveGtgParams(players: number, overrides: Partial<GtgShapleyParams> = {}): GtgShapleyParams {
  const minPermutations = overrides.minPermutations ?? Math.max(30, players)
  return {
    roundTruncation: overrides.roundTruncation ?? 0.001,
    withinRoundTolerance: overrides.withinRoundTolerance ?? 0.001,
    convergenceTolerance: overrides.convergenceTolerance ?? 0.05,
    convergenceWindow: overrides.convergenceWindow ?? 10,
    minPermutations,
    maxPermutations: overrides.maxPermutations ?? Math.max(minPermutations, 10 * players),
  }
}

/**
 * Monte Carlo Shapley values with GTG-Shapley's guided truncation.
 *
 * 1. v(N) is evaluated; if |v(N)| <= roundTruncation every value is 0.
 * 2. Sampling runs in cycles. Cycle c holds n permutations; the k-th one
 *    starts with player k ("guided": every player leads once per cycle, so
 *    each gets its solo marginal v({k}) early) followed by the other players,
 *    ascending, shuffled by `shuffleIndices(n − 1, s)` where s is the next
 *    `nextUint32` of one `mulberry32(seed)` stream, drawn per permutation in
 *    order. A shuffle is drawn even for n = 1, so the stream position is a
 *    function of the permutation count alone.
 * 3. Along a permutation the prefix value starts at v(∅) = 0; for position
 *    j, if |v(N) − prefix| >= withinRoundTolerance the next prefix value is
 *    v(prefix ∪ {π_j}) (v(N) itself for the full set), else it is carried
 *    over (within-round truncation). sum[π_j] += next − prefix, in
 *    permutation order.
 * 4. After each cycle: stop if the permutation count reached
 *    `maxPermutations`, or if it reached `minPermutations` and the last
 *    `convergenceWindow` running estimates sum/count pass the convergence
 *    test. φ_i = sum_i / permutations.
 *
 * Truncation makes the estimate slightly biased (a truncated tail's
 * marginals, each below the tolerance in total, count as 0), so Σφ equals
 * v(N) only to within withinRoundTolerance. Requires valid `params`.
 */
export function gtgShapley(game: CoalitionGame, params: GtgShapleyParams, seed: number): GtgShapleyResult {
  const n = game.players
  const values = new Float64Array(n)
  if (n === 0) return { values, permutations: 0, roundTruncated: false, converged: true }
  const everyone = Array.from({ length: n }, (_, i) => i)
  const grand = game.value(everyone)
  if (Math.abs(grand) <= params.roundTruncation) return { values, permutations: 0, roundTruncated: true, converged: true }

  const random = mulberry32(seed)
  const sums = new Float64Array(n)
  const window = params.convergenceWindow
  // Ring of the latest `window` running estimates.
  const history = Array.from({ length: window }, () => new Float64Array(n))
  const inPrefix = new Uint8Array(n)
  const order = new Array<number>(n)
  let permutations = 0
  let converged = false
  for (;;) {
    for (let lead = 0; lead < n; lead++) {
      // The permutation: lead, then the others (ascending) in shuffled order.
      const shuffle = shuffleIndices(n - 1, nextUint32(random))
      order[0] = lead
      for (let j = 0; j < n - 1; j++) {
        const other = shuffle[j]!
        order[j + 1] = other < lead ? other : other + 1
      }
      inPrefix.fill(0)
      let prefixValue = 0
      for (let j = 0; j < n; j++) {
        const player = order[j]!
        inPrefix[player] = 1
        let next = prefixValue
        if (Math.abs(grand - prefixValue) >= params.withinRoundTolerance) {
          if (j === n - 1) next = grand
          else {
            const coalition: number[] = []
            for (let p = 0; p < n; p++) if (inPrefix[p]) coalition.push(p)
            next = game.value(coalition)
          }
        }
        sums[player] = sums[player]! + (next - prefixValue)
        prefixValue = next
      }
      permutations++
      const estimate = history[permutations % window]!
      for (let i = 0; i < n; i++) estimate[i] = sums[i]! / permutations
    }
    if (permutations >= params.maxPermutations) break
    if (permutations >= params.minPermutations && permutations >= window && hasConverged(history, permutations % window, params.convergenceTolerance)) {
      converged = true
      break
    }
  }
  for (let i = 0; i < n; i++) values[i] = sums[i]! / permutations
  return { values, permutations, roundTruncated: false, converged }
}

/**
 * Σ_i |φ^(t)_i − φ_i| / Σ_i |φ_i| <= tolerance for every estimate in the ring
 * (φ = `history[latest]`). This normalises by the total rather than per
 * player, as the authors' code does: there, one player with φ ≈ 0 keeps the
 * relative change above any tolerance and the run always hits the cap.
 */
function hasConverged(history: readonly Float64Array[], latest: number, tolerance: number): boolean {
  const last = history[latest]!
  let scale = 0
  for (let i = 0; i < last.length; i++) scale += Math.abs(last[i]!)
  if (scale === 0) return true
  for (const estimate of history) {
    let change = 0
    for (let i = 0; i < last.length; i++) change += Math.abs(estimate[i]! - last[i]!)
    if (change / scale > tolerance) return false
  }
  return true
}
