/**
 * The study spec's `secagg` section: secure aggregation (Bonawitz et al.
 * 2017, "Practical Secure Aggregation for Privacy-Preserving Machine
 * Learning"), over a k-regular graph of sites as in SecAgg+ (Bell et al.
 * 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead").
 * The coordinator learns only the sum of the surviving sites' quantized
 * deltas, and the audit replays that sum from the log.
 *
 * Names and defaults are Flower's (`SecAggPlusWorkflow`: `num_shares`,
 * `reconstruction_threshold`, `max_weight`, `clipping_range`,
 * `quantization_range`, `timeout`), in camelCase, with three differences,
 * each written at its field: `numShares` counts a site's neighbours (Flower
 * counts the share a site keeps too), a fractional threshold resolves to a
 * strict majority, and both have defaults (Flower requires them).
 *
 * The modulus is fixed at 2^32 (Flower's default `modulus_range`): masked
 * values are uint32 words and every sum wraps mod 2^32, which is what makes
 * the masks cancel. `resolveSecAggParams` turns the spec and a round's
 * participant count into the numbers the protocol runs with, and refuses
 * (SecAggSpecError, MODEL_SECAGG_SPEC_INVALID) a spec that cannot run.
 */
import { z } from 'zod'
import { SecAggSpecError } from '../errors.ts'

/** log2 of the modulus: masked inputs and their sums are taken mod 2^32. */
export const SECAGG_MODULUS_BITS = 32
/** Shamir shares live in GF(2^8), whose 255 non-zero points cap a site's neighbours. */
export const SECAGG_MAX_SHARES = 255

const sharesOrFraction = (v: number) => (Number.isInteger(v) && v >= 2 && v <= SECAGG_MAX_SHARES) || (v > 0 && v <= 1)

export const SecAggSpecSchema = z.strictObject({
  /**
   * k, the number of neighbours each site shares its secrets with and masks
   * against: an integer 2..255, or a fraction in (0, 1] of the other
   * participants of the round, k = max(2, ⌈fraction · (n − 1)⌉). 1 (the
   * default) is every other participant: the complete graph, which is the
   * original SecAgg of Bonawitz et al.; fewer neighbours is SecAgg+ (a random
   * k-regular graph per round, protocol/secagg/neighbors.ts), cheaper at
   * many sites. When k and n are both odd and k < n − 1 no k-regular graph
   * exists, and k + 1 is used. Unlike Flower's `num_shares`, k does not count
   * a share the site keeps for itself (it keeps none).
   */
  numShares: z
    .number()
    .refine(sharesOrFraction, { message: `must be a whole number of neighbours 2..${SECAGG_MAX_SHARES}, or a fraction in (0, 1] of the other participants` })
    .default(1),
  /**
   * t, how many of a site's k neighbours must reveal their shares to rebuild
   * one of its secrets: an integer 2..k, or a fraction in [0.5, 1] of k,
   * t = min(k, ⌊fraction · k⌋ + 1). t must be a strict majority of k (t > k/2):
   * each neighbour reveals at most one share per site, so a coordinator that
   * told half of them "u survived" and the other half "u dropped" could
   * otherwise rebuild both of u's secrets and unmask u's input alone. So a
   * fraction resolves to the least integer above fraction · k (Flower rounds
   * it), and 0.5 (the default; Flower has none) is the smallest majority.
   * Each site tolerates k − t dropped neighbours.
   */
  reconstructionThreshold: z
    .number()
    .refine((v) => (Number.isInteger(v) && v >= 2 && v <= SECAGG_MAX_SHARES) || (v >= 0.5 && v <= 1), {
      message: `must be a whole number of shares 2..${SECAGG_MAX_SHARES}, or a fraction in [0.5, 1] of numShares (a strict majority)`,
    })
    .default(0.5),
  /**
   * The example count at which a site's weight saturates: a site's delta is
   * scaled by min(examples, maxWeight) / maxWeight <= 1 before it is
   * quantized (Flower's `max_weight`), so that no site's term can leave the
   * clipping range. Too large a value costs precision for small sites.
   */
  maxWeight: z.number().gt(0, 'must be > 0').max(1e12, 'must be <= 1e12').default(1000),
  /**
   * c: every weighted coordinate is clipped to [−c, c] before it is quantized
   * (Flower's `clipping_range`).
   */
  clippingRange: z.number().gt(0, 'must be > 0').max(1e6, 'must be <= 1e6').default(8),
  /**
   * Q: a quantized coordinate is an integer in [−(Q/2 − 1), Q/2 − 1], the
   * clipping range scaled by (Q/2 − 1)/c (Flower's `quantization_range`,
   * default 2^22). The sum over n sites must fit signed 32 bits, so
   * n · Q/2 < 2^31 (n < 1024 at the default); `resolveSecAggParams` checks it.
   */
  quantizationRange: z
    .number()
    .int('must be a whole number')
    .min(4, 'must be >= 4')
    .max(2 ** 31, 'must be <= 2^31 (the sum must fit 32 bits)')
    .default(2 ** 22),
  /**
   * How long the coordinator waits for each of the key, share, masked-input
   * and unmask phases before it goes on with the sites that answered
   * (Flower's `timeout`, in milliseconds here).
   */
  phaseDeadlineMs: z.number().int('must be a whole number of milliseconds').min(100, 'must be >= 100').max(86_400_000, 'must be <= 24 h').default(60_000),
})
export type SecAggSpec = z.infer<typeof SecAggSpecSchema>
export type SecAggSpecInput = z.input<typeof SecAggSpecSchema>

/** The quantization half of the resolved parameters: what fixed-point.ts needs. */
export interface SecAggQuantization {
  readonly maxWeight: number
  readonly clippingRange: number
  readonly quantizationRange: number
}

/** The numbers one round's secure aggregation runs with, from `resolveSecAggParams`. */
export interface SecAggParams extends SecAggQuantization {
  /** The round's participant count n the parameters were resolved for. */
  readonly participants: number
  /** Neighbours per site (the graph's degree); n − 1 is the complete graph. */
  readonly k: number
  /** Shares needed to rebuild one secret; k/2 < t <= k. */
  readonly t: number
}

/**
 * 2^31 − n · Q/2: how far the largest possible sum of n quantized values
 * (each in [−(Q/2 − 1), Q/2 − 1]) stays inside signed 32 bits. Positive means
 * the centred sum cannot wrap; `resolveSecAggParams` refuses anything else.
 */
export function secAggHeadroom(participants: number, quantizationRange: number): number {
  return 2 ** 31 - participants * (quantizationRange / 2)
}

/**
 * The graph degree k for n participants: every other site when k >= n − 1,
 * and k + 1 when k and n are both odd (no k-regular graph exists then).
 * Requires n >= 2 and k >= 1. neighbors.ts builds its graph with this degree.
 */
export function secAggDegree(participants: number, k: number): number {
  if (k >= participants - 1) return participants - 1
  return k % 2 === 1 && participants % 2 === 1 ? k + 1 : k
}

/**
 * Resolves a spec for a round of `participants` sites (those that advertised
 * keys): k, t and the quantization. Throws SecAggSpecError, naming the field,
 * when n < 3 (two sites would each learn the other's input from the sum),
 * when an integer numShares exceeds n − 1, when t > k or t <= k/2, or when
 * n · Q/2 >= 2^31.
 */
export function resolveSecAggParams(spec: SecAggSpec, participants: number): SecAggParams {
  const n = participants
  if (!Number.isInteger(n) || n < 3) {
    throw new SecAggSpecError(`secure aggregation needs at least 3 participants, got ${n}: with 2, each site learns the other's input from the sum; plan more sites`, 'participants')
  }
  const { numShares, reconstructionThreshold } = spec
  let requested: number
  if (Number.isInteger(numShares) && numShares >= 2) {
    if (numShares > n - 1) {
      throw new SecAggSpecError(`numShares ${numShares} exceeds the ${n - 1} other participants of the round; lower it or give a fraction (1 = every other site)`, 'numShares')
    }
    requested = numShares
  } else {
    requested = Math.min(n - 1, Math.max(2, Math.ceil(numShares * (n - 1))))
  }
  const k = secAggDegree(n, requested)
  if (k > SECAGG_MAX_SHARES) {
    throw new SecAggSpecError(
      `numShares resolves to ${k} neighbours for ${n} participants, above the ${SECAGG_MAX_SHARES} shares GF(2^8) allows; give an integer numShares <= ${SECAGG_MAX_SHARES}`,
      'numShares',
    )
  }
  const t = Number.isInteger(reconstructionThreshold) && reconstructionThreshold >= 2 ? reconstructionThreshold : Math.min(k, Math.floor(reconstructionThreshold * k) + 1)
  if (t > k) {
    throw new SecAggSpecError(`reconstructionThreshold ${t} exceeds the ${k} neighbours each site shares with; lower it or raise numShares`, 'reconstructionThreshold')
  }
  if (2 * t <= k) {
    throw new SecAggSpecError(
      `reconstructionThreshold ${t} is not a strict majority of the ${k} shares: a coordinator could rebuild both secrets of one site from two halves; use at least ${Math.floor(k / 2) + 1} or a fraction >= 0.5`,
      'reconstructionThreshold',
    )
  }
  if (secAggHeadroom(n, spec.quantizationRange) <= 0) {
    throw new SecAggSpecError(
      `${n} participants · quantizationRange/2 (${spec.quantizationRange / 2}) reaches 2^31: the sum would overflow 32 bits; lower quantizationRange below ${2 ** 32 / n}`,
      'quantizationRange',
    )
  }
  return { participants: n, k, t, maxWeight: spec.maxWeight, clippingRange: spec.clippingRange, quantizationRange: spec.quantizationRange }
}
