/**
 * Distributed differential privacy under secure aggregation: each site adds
 * discrete Gaussian noise (discrete-gaussian.ts) to its quantized input, so
 * the coordinator only ever sees a sum that is already noised (Kairouz, Liu
 * & Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated
 * Learning with Secure Aggregation", DDGauss). Everything is in quantized
 * units (one unit = 1/scale of the weighted delta, fixed-point.ts).
 *
 * - Per-site σ: z·S·scale/√t. Any t or more survivors' noise sums to
 *   variance >= (z·S·scale)², the central noise DP-FedAvg would add, however
 *   many sites drop (the round cannot unmask with fewer than t).
 * - Sensitivity: a site's weighted delta is L2-clipped to S' before
 *   quantizing. Rounding moves each coordinate by at most 1/(2·scale), so the
 *   quantized vector's norm is at most S'·scale + √d/2. For the sum's
 *   sensitivity to stay S·scale, clip to S' = S − √d/(2·scale)
 *   (`clipForRounding`). (KLS21 use randomized rounding with a conditional
 *   norm check instead; deterministic rounding keeps the audit's replay exact.)
 * - A sum of n discrete Gaussians is not a discrete Gaussian; KLS21 Theorem 1
 *   bounds the gap with τ = 10·Σ_{k=1}^{n−1} exp(−2π²σ²·k/(k+1)), and the
 *   sum (n sites, per-site variance σ², dimension d, L2 sensitivity Δ) has
 *   Rényi DP of order α at most
 *   min(α·Δ²/(2nσ²) + τ·d, (α/2)·(Δ/(√n·σ) + τ·√d)²)   (KLS21 Prop. 14).
 *   With σ in the hundreds of units τ underflows to 0 and this is the
 *   continuous Gaussian's α·Δ²/(2nσ²).
 */
import { privacySpent, DEFAULT_RDP_ORDERS, type PrivacySpent } from '../../models/core/index.ts'
import { ProtocolInvalidArgumentError } from '../errors.ts'

/**
 * Each site's σ in quantized units: z·S·scale/√t, so that t survivors' noise
 * alone reaches the target z·S·scale. Requires positive finite arguments.
 */
export function siteNoiseSigma(noiseMultiplier: number, clipNorm: number, scale: number, threshold: number): number {
  for (const [name, v] of [
    ['noiseMultiplier', noiseMultiplier],
    ['clipNorm', clipNorm],
    ['scale', scale],
    ['threshold', threshold],
  ] as const) {
    if (!(v > 0 && Number.isFinite(v))) throw new ProtocolInvalidArgumentError(`${name} ${v}, want a positive finite number`)
  }
  return (noiseMultiplier * clipNorm * scale) / Math.sqrt(threshold)
}

/**
 * The L2 clip a site applies before quantizing, S − √d/(2·scale), so that
 * rounding cannot lift the quantized norm above S·scale. Throws when the
 * rounding slack alone exceeds S (raise the quantization range or S).
 */
export function clipForRounding(clipNorm: number, dimension: number, scale: number): number {
  const clip = clipNorm - Math.sqrt(dimension) / (2 * scale)
  if (!(clip > 0))
    throw new ProtocolInvalidArgumentError(
      `rounding ${dimension} coordinates at scale ${scale} can add ${Math.sqrt(dimension) / (2 * scale)} to the norm, above the clip ${clipNorm}; raise quantizationRange`,
    )
  return clip
}

/** KLS21's τ for the sum of `sites` discrete Gaussians of parameter σ each (σ in quantized units). */
export function ddgTau(sigma: number, sites: number): number {
  if (!(sigma > 0) || !Number.isInteger(sites) || sites < 1) throw new ProtocolInvalidArgumentError(`ddgTau(σ ${sigma}, sites ${sites}): want σ > 0 and a positive integer count`)
  let sum = 0
  for (let k = 1; k < sites; k++) sum += Math.exp((-2 * Math.PI * Math.PI * sigma * sigma * k) / (k + 1))
  return 10 * sum
}

/** What the distributed discrete Gaussian of one round is: n sites, each σ (quantized units), dimension d, L2 sensitivity Δ (quantized units). */
export interface DdgRound {
  readonly sigma: number
  readonly sites: number
  readonly dimension: number
  readonly sensitivity: number
}

/** Rényi DP of order α > 1 of one round (KLS21 Prop. 14, as the module doc states). */
export function ddgRdp(alpha: number, r: DdgRound): number {
  const tau = ddgTau(r.sigma, r.sites)
  const variance = r.sites * r.sigma * r.sigma
  const first = (alpha * r.sensitivity * r.sensitivity) / (2 * variance) + tau * r.dimension
  const second = (alpha / 2) * (r.sensitivity / Math.sqrt(variance) + tau * Math.sqrt(r.dimension)) ** 2
  return Math.min(first, second)
}

/**
 * (ε, δ) after `rounds` such rounds, every site in every round (no
 * subsampling amplification), by the RDP conversion of models/core.
 * Use the number of survivors actually summed (>= t) for `sites`.
 */
export function ddgEpsilon(r: DdgRound, rounds: number, delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): PrivacySpent {
  const usable = orders.filter((a) => a > 1)
  return privacySpent(
    usable,
    usable.map((a) => rounds * ddgRdp(a, r)),
    delta,
  )
}

/** quantized + noise mod 2^32, word by word (the noise a site adds before masking). Requires equal lengths. */
export function addNoiseWords(quantized: Uint32Array, noise: Int32Array): Uint32Array {
  if (quantized.length !== noise.length) throw new ProtocolInvalidArgumentError(`${noise.length} noise draws for ${quantized.length} words`)
  const out = quantized.slice()
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + noise[i]!
  return out
}
