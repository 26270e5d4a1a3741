/**
 * Poisson sampling of a batch, the sampling the RDP accountant's q assumes
 * (rdp-accountant.ts: the Poisson-subsampled Gaussian): each of `rows` rows
 * joins the batch on its own with probability `q`, so the batch size varies
 * from step to step (it may be 0) and its expectation is q·rows. A fixed-size
 * shuffled batch, as plain training draws, is a different mechanism whose
 * accounting the Poisson accountant only approximates.
 *
 * Pure: the draws come from the caller's seeded stream (random.ts), so a
 * round's batches follow from its seed, as plain training's order does.
 */
import { InvalidModelInputError } from '../errors.ts'
import type { Random } from './random.ts'

/**
 * The rows (ascending indices) of one Poisson-sampled batch: row i is in it
 * when the i-th draw of `random` is below `q`. Draws exactly `rows` values.
 * Requires 0 <= q <= 1 and `rows` a non-negative safe integer.
 */
export function poissonBatch(rows: number, q: number, random: Random): Uint32Array {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new InvalidModelInputError(`rows ${rows}, want a non-negative integer`)
  if (!(q >= 0 && q <= 1)) throw new InvalidModelInputError(`sampling rate ${q}, want 0 <= q <= 1`)
  const picked = new Uint32Array(rows)
  let size = 0
  for (let i = 0; i < rows; i++) if (random() < q) picked[size++] = i
  return picked.slice(0, size)
}

/** DP-SGD's sampling rate: batchSize / rows, at most 1 (every row in every batch). Requires rows >= 1. */
export function dpSgdSamplingRate(batchSize: number, rows: number): number {
  if (!(rows >= 1)) throw new InvalidModelInputError(`rows ${rows}, want at least 1 to sample from`)
  return Math.min(1, batchSize / rows)
}
