/**
 * Reward pools split into integer credit units: a round's pool across sites
 * in proportion to their contribution scores (`contribution.ts`), and a
 * site's amount across its patients. Balances are `bigint` credit units end
 * to end; no float ever touches an amount, so the auditor's replay of a split
 * is exact, on any machine.
 *
 * Scores are floats, so they cross into integers once, at a fixed scale:
 * `scoreToUnits(s)` = round-half-even(s × 10^9), computed exactly from the
 * binary value of `s` (no float multiplication, so no float rounding can
 * differ). A score below 0.5·10^-9 therefore weighs nothing.
 *
 * The split is the largest-remainder (Hamilton) method (`apportion`, in
 * patient-reward-split.ts, shared with the site agent, which passes
 * its credit on to its patients with the same `splitToPatients`):
 * 1. with weights w_i and W = Σ w_i, site i first gets ⌊pool·w_i / W⌋;
 * 2. the L = pool − Σ⌊…⌋ units left over (L < number of sites) go one each to
 *    the L largest remainders (pool·w_i mod W), equal remainders in site-id
 *    code-unit order (lowest id first).
 * Amounts therefore sum to exactly the pool, each is its exact quota rounded
 * down or up, a larger weight never gets less, and a zero weight gets 0.
 * When every weight is 0 (or there are no sites) nothing is paid: every
 * amount is 0 and the whole pool is returned as `unallocated`, for the caller
 * to carry over or refund; otherwise `unallocated` is 0.
 */
import { apportion } from './patient-reward-split.ts'
import { RewardInputError } from './reward-errors.ts'

/** Score units per score point: scores are fixed-point with 9 decimal digits. */
export const SCORE_UNITS_PER_POINT = 1_000_000_000n

export interface RewardAllocation {
  readonly siteId: string
  /** Credit units. */
  readonly amount: bigint
}

export interface RewardSplit {
  /** One per score, sorted by site id. */
  readonly allocations: readonly RewardAllocation[]
  /** The part of the pool nobody received: the whole pool when every score is 0, else 0. */
  readonly unallocated: bigint
}

/**
 * round-half-even(score × 10^9) as a bigint, exact: the finite binary64
 * `score` is m·2^e exactly, so the result is m·10^9·2^e rounded to an integer
 * with ties to even, in integer arithmetic. Requires a finite score >= 0
 * (`RewardInputError`).
 */
export function scoreToUnits(score: number): bigint {
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0) {
    throw new RewardInputError(`score ${score}, want a finite number >= 0`)
  }
  if (score === 0) return 0n
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, score)
  const high = view.getUint32(0)
  const biasedExponent = (high >>> 20) & 0x7ff
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4))
  // Normal: (2^52 + fraction)·2^(E−1075); subnormal: fraction·2^−1074.
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n)
  const exponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075
  const scaled = mantissa * SCORE_UNITS_PER_POINT
  if (exponent >= 0) return scaled << BigInt(exponent)
  const divisor = 1n << BigInt(-exponent)
  const quotient = scaled / divisor
  const twiceRemainder = 2n * (scaled % divisor)
  if (twiceRemainder > divisor || (twiceRemainder === divisor && (quotient & 1n) === 1n)) return quotient + 1n
  return quotient
}

function checkAmount(name: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n) throw new RewardInputError(`${name} ${String(value)}, want a bigint >= 0`)
}

function sortedByKey<T>(items: readonly T[], key: (t: T) => string, what: string): T[] {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  for (let i = 1; i < sorted.length; i++) {
    if (key(sorted[i]!) === key(sorted[i - 1]!)) throw new RewardInputError(`${what} "${key(sorted[i]!)}" listed more than once`)
  }
  return sorted
}

/**
 * Splits `pool` credit units across sites in proportion to
 * `scoreToUnits(payable)`, by largest remainder (module doc). Requires
 * `pool >= 0n`, distinct site ids and finite `payable >= 0`
 * (`RewardInputError`). Σ amounts + unallocated = pool, always.
 */
export function splitRewardPool(pool: bigint, scores: readonly { readonly siteId: string; readonly payable: number }[]): RewardSplit {
  checkAmount('pool', pool)
  const sorted = sortedByKey(scores, (s) => s.siteId, 'site')
  const shares = sorted.map((s) => {
    if (typeof s.payable !== 'number' || !Number.isFinite(s.payable) || s.payable < 0) {
      throw new RewardInputError(`site "${s.siteId}": payable score ${s.payable}, want a finite number >= 0`)
    }
    return { key: s.siteId, weight: scoreToUnits(s.payable) }
  })
  const { amounts, unallocated } = apportion(pool, shares)
  return { allocations: sorted.map((s, i) => ({ siteId: s.siteId, amount: amounts[i]! })), unallocated }
}
