/**
 * The spec of the Byzantine-robust strategies (protocol/strategies/robust.ts)
 * and of the update validation that can precede any strategy
 * (protocol/update-validation.ts). Names and defaults follow Flower's
 * `FedMedian`, `FedTrimmedAvg`, `Krum` and `Bulyan` (camelCase here).
 * `StrategySpecSchema` (study-spec.ts) lists these beside FedAvg.
 */
import { z } from 'zod'
import { bulyanMinimum, krumMinimum } from './robust-aggregate.ts'
import { STRATEGY_OPTIONS } from './strategy-options.ts'

const maliciousClients = z.number().int().nonnegative().max(1_000).default(0)

export const FedMedianSpecSchema = z.strictObject({
  /** Coordinate-wise median of the sites' deltas, unweighted (Flower's `FedMedian`). */
  name: z.literal('fedmedian'),
  ...STRATEGY_OPTIONS,
})

export const FedTrimmedAvgSpecSchema = z.strictObject({
  /** Coordinate-wise trimmed mean of the deltas, unweighted (Flower's `FedTrimmedAvg`). */
  name: z.literal('fedtrimmedavg'),
  /** Fraction cut from each end of every coordinate's sorted values: floor(beta · n) per side; 0 ≤ beta < 0.5 (Flower's default 0.2). */
  beta: z.number().nonnegative().lt(0.5, 'must be below 0.5: a trim of half from each side keeps nothing').default(0.2),
  ...STRATEGY_OPTIONS,
})

export const KrumSpecSchema = z.strictObject({
  /** Krum, or Multi-Krum with `numClientsToKeep` > 0 (Flower's `Krum`). Needs at least 2f + 3 updates a round. */
  name: z.literal('krum'),
  /** f, the number of malicious sites to tolerate: each score sums the n − f − 2 closest distances (Flower's default 0). */
  numMaliciousClients: maliciousClients,
  /** m: 0 keeps the single best-scored delta (Krum); m > 0 averages the m best, weighted by examples (Multi-Krum). At most n − f. */
  numClientsToKeep: z.number().int().nonnegative().max(100_000).default(0),
  ...STRATEGY_OPTIONS,
})

export const BulyanSpecSchema = z.strictObject({
  /** Bulyan over Krum (Flower's `Bulyan`): n − 2f Krum picks, then a coordinate-wise trimmed mean around their median. Needs 4f + 3 updates. */
  name: z.literal('bulyan'),
  /** f, the number of malicious sites to tolerate (Flower's default 0). */
  numMaliciousClients: maliciousClients,
  ...STRATEGY_OPTIONS,
})

export type RobustStrategySpec = z.infer<typeof FedMedianSpecSchema> | z.infer<typeof FedTrimmedAvgSpecSchema> | z.infer<typeof KrumSpecSchema> | z.infer<typeof BulyanSpecSchema>

/** The fewest updates a round of `spec` can aggregate (1 for strategies without a minimum). */
export function minimumUpdates(spec: { readonly name: string; readonly numMaliciousClients?: number; readonly numClientsToKeep?: number }): number {
  const f = spec.numMaliciousClients ?? 0
  if (spec.name === 'krum') return Math.max(krumMinimum(f), (spec.numClientsToKeep ?? 0) + f)
  if (spec.name === 'bulyan') return bulyanMinimum(f)
  return 1
}

export const UpdateValidationSchema = z.strictObject({
  /**
   * Leave out an update whose delta norm is an outlier: |‖Δ‖ − median| /
   * (1.4826 · MAD) above this robust z-score, median and MAD taken over the
   * round's accepted updates. Absent: no norm check.
   */
  normZ: z.number().positive().max(1_000).optional(),
  /**
   * Leave out an update whose cosine to the previous global update (the
   * newest committed model minus its parent) is below this. Absent: no check.
   */
  minCosine: z.number().min(-1).max(1).optional(),
  /**
   * Leave out updates whose delta bytes equal another's in the same round
   * (every copy), or a delta accepted in an earlier round (a replay).
   */
  rejectDuplicates: z.boolean().default(false),
})
export type UpdateValidationSpec = z.infer<typeof UpdateValidationSchema>
