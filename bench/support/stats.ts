/**
 * Summary statistics for benchmark tables. Pure.
 */

/** Arithmetic mean; NaN for an empty list. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length
}

/**
 * Standard deviation with `ddof` delta degrees of freedom: 1 (the default) is
 * the sample std (numpy `std(ddof=1)`, pandas `std()`), 0 the population std
 * (numpy's default). NaN when there are no more values than `ddof`.
 */
export function std(values: readonly number[], ddof: 0 | 1 = 1): number {
  if (values.length <= ddof) return Number.NaN
  const m = mean(values)
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - ddof))
}

/** Σ value·weight / Σ weight, e.g. a pooled accuracy from per-site accuracies and example counts. */
export function weightedMean(pairs: readonly { readonly value: number; readonly weight: number }[]): number {
  const total = pairs.reduce((a, p) => a + p.weight, 0)
  return pairs.reduce((a, p) => a + p.value * p.weight, 0) / total
}
