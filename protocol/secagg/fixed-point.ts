/**
 * Fixed-point encoding of a site's delta for secure aggregation, and the
 * decoding of the sum. A coordinate x becomes
 *
 *   q = roundHalfEven(clip(x · w, −c, c) · scale),  scale = (Q/2 − 1) / c,
 *
 * w = min(examples, maxWeight) / maxWeight the site's weight ratio (Flower's
 * weighting), c the clipping range, Q the quantization range. So |q| <= Q/2 − 1,
 * and q is stored mod 2^32 (two's complement). All arithmetic is IEEE double
 * (x · w, the clip, the product and the rounding are exact or correctly
 * rounded), so every machine gets the same words. Flower instead maps
 * [−c, c] onto [0, Q − 1] with stochastic rounding; the centred, deterministic
 * form here lets the audit recompute each site's words from its delta and
 * keeps the sum centred, so no per-site offset has to be removed.
 */
import type { SecAggQuantization } from '../../models/core/index.ts'
import { ProtocolInvalidArgumentError } from '../errors.ts'

const TWO_32 = 2 ** 32
const TWO_31 = 2 ** 31

/** The fixed-point scale (Q/2 − 1) / c: quantized units per unit of the weighted delta. */
export function quantizationScale(p: SecAggQuantization): number {
  return (p.quantizationRange / 2 - 1) / p.clippingRange
}

/** A site's weight ratio min(examples, maxWeight) / maxWeight, in (0, 1]. Requires examples > 0. */
export function weightRatio(examples: number, maxWeight: number): number {
  if (!(examples > 0) || !Number.isFinite(examples)) throw new ProtocolInvalidArgumentError(`example count ${examples} is not a positive finite number`)
  return Math.min(examples, maxWeight) / maxWeight
}

/** Round half to even, on doubles (exact: the halves are found with floor). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v)
  const diff = v - f
  if (diff < 0.5) return f
  if (diff > 0.5) return f + 1
  return f % 2 === 0 ? f : f + 1
}

/**
 * The site's quantized, weighted delta as uint32 words (q mod 2^32).
 * Requires 0 < weightRatio <= 1 and finite values (NaN would quantize to an
 * arbitrary word; the site checks its delta is finite before this).
 */
export function quantizeDelta(delta: Float32Array, weightRatio: number, p: SecAggQuantization): Uint32Array {
  if (!(weightRatio > 0 && weightRatio <= 1)) throw new ProtocolInvalidArgumentError(`weight ratio ${weightRatio} is not in (0, 1]`)
  const c = p.clippingRange
  const scale = quantizationScale(p)
  const out = new Uint32Array(delta.length)
  for (let i = 0; i < delta.length; i++) {
    const x = delta[i]!
    if (!Number.isFinite(x)) throw new ProtocolInvalidArgumentError(`delta value ${x} at index ${i} is not finite`)
    const weighted = Math.min(c, Math.max(-c, x * weightRatio))
    out[i] = roundHalfEven(weighted * scale) >>> 0
  }
  return out
}

/**
 * Σ w·x per coordinate, in float64, from the mod-2^32 sum of quantized
 * inputs: words >= 2^31 are negative (centred), then divided by the scale.
 * Correct while the true integer sum stays within signed 32 bits, which
 * `resolveSecAggParams` guarantees (n · Q/2 < 2^31).
 */
export function dequantizeSum(sum: Uint32Array, p: SecAggQuantization): Float64Array {
  const scale = quantizationScale(p)
  const out = new Float64Array(sum.length)
  for (let i = 0; i < sum.length; i++) {
    const s = sum[i]!
    out[i] = (s >= TWO_31 ? s - TWO_32 : s) / scale
  }
  return out
}
