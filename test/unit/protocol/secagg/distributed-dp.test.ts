/**
 * Distributed DP (discrete-gaussian.ts, distributed-dp.ts): the sampler's
 * moments and probability mass at fixed seeds of the injected randomness,
 * and the accounting against the continuous Gaussian it must approach.
 */
import { describe, expect, it } from 'vitest'
import { epsilonOf } from '../../../../models/core/index.ts'
import { addNoiseWords, clipForRounding, ddgEpsilon, ddgRdp, ddgTau, sampleDiscreteGaussian, siteNoiseSigma } from '../../../../protocol/index.ts'
import { seededRandomBytes } from '../../../helpers/seeded-random-bytes.ts'

function moments(xs: Int32Array): { mean: number; variance: number } {
  let sum = 0
  for (const x of xs) sum += x
  const mean = sum / xs.length
  let sq = 0
  for (const x of xs) sq += (x - mean) ** 2
  return { mean, variance: sq / (xs.length - 1) }
}

describe('sampleDiscreteGaussian', () => {
  it.each([
    { sigma: 0.8, count: 200_000 },
    { sigma: 3.7, count: 200_000 },
    { sigma: 151_349.4, count: 40_000 },
  ])('has mean 0 and variance σ² within 5 standard errors (σ = $sigma, $count draws, fixed seed)', ({ sigma, count }) => {
    // Prepare: the discrete Gaussian's variance is σ² up to a term below 1e-3 relative for σ >= 0.8 (CKS20 Cor. 9),
    // and for σ = 0.8 the exact variance is computed from the mass function below.
    let exactVariance = sigma * sigma
    if (sigma < 1) {
      let z = 0
      let m2 = 0
      for (let x = -40; x <= 40; x++) {
        const p = Math.exp(-(x * x) / (2 * sigma * sigma))
        z += p
        m2 += x * x * p
      }
      exactVariance = m2 / z
    }

    // Execute
    const { mean, variance } = moments(sampleDiscreteGaussian(sigma, count, seededRandomBytes(`ddg/${sigma}`)))

    // Assert: SE(mean) = σ/√N; SE(variance) ≈ σ²·√(2/N).
    expect(Math.abs(mean)).toBeLessThan((5 * Math.sqrt(exactVariance)) / Math.sqrt(count))
    expect(Math.abs(variance / exactVariance - 1)).toBeLessThan(5 * Math.sqrt(2 / count))
  })

  it('follows the mass function exp(−x²/(2σ²))/Z (chi-square over x in [−6, 6], σ = 1.5, fixed seed)', () => {
    // Prepare
    const sigma = 1.5
    const count = 100_000
    const weights = Array.from({ length: 13 }, (_, i) => Math.exp(-((i - 6) ** 2) / (2 * sigma * sigma)))
    let z = 0
    for (let x = -30; x <= 30; x++) z += Math.exp(-(x * x) / (2 * sigma * sigma))

    // Execute
    const counts = new Array<number>(13).fill(0)
    let outside = 0
    for (const x of sampleDiscreteGaussian(sigma, count, seededRandomBytes('ddg/pmf'))) {
      if (x >= -6 && x <= 6) counts[x + 6]!++
      else outside++
    }

    // Assert: 13 bins + the tail, 13 degrees of freedom; the 0.999 quantile of χ²(13) is 34.53.
    const expectedOutside = count * (1 - weights.reduce((a, b) => a + b, 0) / z)
    let chi2 = (outside - expectedOutside) ** 2 / Math.max(expectedOutside, 1e-9)
    counts.forEach((c, i) => {
      const expected = (count * weights[i]!) / z
      chi2 += (c - expected) ** 2 / expected
    })
    expect(chi2).toBeLessThan(34.53)
  })

  it('is a function of the bytes it is given', () => {
    const a = sampleDiscreteGaussian(10, 1000, seededRandomBytes('same'))
    const b = sampleDiscreteGaussian(10, 1000, seededRandomBytes('same'))
    const c = sampleDiscreteGaussian(10, 1000, seededRandomBytes('other'))
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  })

  it.each([{ sigma: 0 }, { sigma: -1 }, { sigma: Number.NaN }, { sigma: 2 ** 32 }])('refuses σ = $sigma', ({ sigma }) => {
    expect(() => sampleDiscreteGaussian(sigma, 1, seededRandomBytes('x'))).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })
})

describe('distributed DP accounting', () => {
  it('gives each site z·S·scale/√t, so t survivors carry the central noise', () => {
    const sigma = siteNoiseSigma(1.1, 0.5, 262_143.875, 4)
    expect(sigma).toBeCloseTo((1.1 * 0.5 * 262_143.875) / 2, 9)
    expect(4 * sigma * sigma).toBeCloseTo((1.1 * 0.5 * 262_143.875) ** 2, 3)
  })

  it('reduces the clip by √d/(2·scale) and refuses when rounding alone exceeds it', () => {
    expect(clipForRounding(1, 10_000, 1000)).toBeCloseTo(1 - 100 / 2000, 12)
    expect(() => clipForRounding(0.01, 10_000, 1000)).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })

  it('computes τ = 10·Σ_{k=1}^{n−1} exp(−2π²σ²·k/(k+1)) (KLS21 Theorem 1)', () => {
    // n = 2, σ = 0.5: 10·exp(−2π²·0.25·½) = 10·exp(−π²/4).
    expect(ddgTau(0.5, 2)).toBeCloseTo(10 * Math.exp(-(Math.PI ** 2) / 4), 12)
    expect(ddgTau(0.5, 1)).toBe(0)
    expect(ddgTau(50, 1000)).toBe(0)
  })

  it('charges more than the continuous Gaussian at small σ, and the same at large σ', () => {
    // Prepare: n sites at σ_site = z·Δ/√n give the sum the continuous Gaussian's noise multiplier z.
    const z = 1.2
    const sensitivity = 262_143.875
    const n = 10
    const round = { sigma: (z * sensitivity) / Math.sqrt(n), sites: n, dimension: 1_000_000, sensitivity }

    // Execute / Assert: at σ ~ 1e5 units τ is 0 and ε equals the Gaussian's at q = 1.
    expect(ddgRdp(2, round)).toBeCloseTo(2 / (2 * z * z), 12)
    expect(ddgEpsilon(round, 50, 1e-5).epsilon).toBeCloseTo(epsilonOf(1, z, 50, 1e-5).epsilon, 9)
    // At σ = 0.3 units τ is not negligible and the bound is strictly worse.
    const tiny = { sigma: 0.3, sites: 5, dimension: 100, sensitivity: 0.3 * z * Math.sqrt(5) }
    expect(ddgRdp(2, tiny)).toBeGreaterThan(2 / (2 * z * z))
  })

  it('adds noise words mod 2^32', () => {
    expect([...addNoiseWords(Uint32Array.from([0, 5, 2 ** 32 - 1]), Int32Array.from([-1, -10, 1]))]).toEqual([2 ** 32 - 1, 2 ** 32 - 5, 0])
  })
})
