/**
 * The RDP accountant against published values: Google's dp_accounting test
 * suite (python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py
 * in google/differential-privacy: `test_compute_rdp_poisson_sampled_gaussian`,
 * `test_compute_epsilon_delta_pure_dp`, `test_compute_epsilon_delta_gaussian`),
 * and against test/reference/rdp-accountant.py (scipy, written from the papers).
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_RDP_ORDERS, InvalidModelInputError, computeRdp, epsilonOf, epsilonOfRuns, logErfc, noiseMultiplierFor, privacySpent, rdpOfStep } from '../../../models/core/index.ts'

const close = (got: number, want: number, rtol: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rtol * Math.abs(want))

describe('logErfc', () => {
  // python3 -c "import math; from scipy import special; print(math.log(2) + special.log_ndtr(-x * 2**0.5))"
  it.each([
    [0.5, -0.7350111298370848],
    [1.9, -4.93234586278027],
    [2.9, -10.099554065545236],
    [3.0, -10.720363041981116],
    [3.5, -14.112437402148178],
    [10, -102.87988902484493],
    [30, -903.9741171106442],
    [-1, 0.6112323176780705],
    [-3.5, 0.6931468090106901],
  ])('log erfc(%f)', (x, want) => {
    close(logErfc(x), want, 1e-12)
  })
})

describe('RDP of the Poisson-subsampled Gaussian', () => {
  it("matches dp_accounting's published values (q 0.01, σ 2.5, 50 steps)", () => {
    // Prepare: test_compute_rdp_poisson_sampled_gaussian, rtol 1e-4 as there.
    const orders = [2.5, 5, 50, 100, Number.POSITIVE_INFINITY]
    const want = [1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2]
    // Execute
    const rdp = computeRdp(0.01, 2.5, 50, orders)
    // Assert
    want.forEach((w, i) => close(rdp[i]!, w, 1e-4))
    expect(rdp[4]).toBe(Number.POSITIVE_INFINITY)
  })

  it('at a fractional order below 2 gives the exact value (Opacus), not dp_accounting’s upper bound', () => {
    // dp_accounting (2023 on) sums the magnitudes of the fractional series and publishes 6.70579741e-4 at order 1.5;
    // Opacus keeps the signs. The integral itself, by scipy.integrate.quad over [-60, 60], is 6.500708972e-4.
    const rdp = computeRdp(0.01, 2.5, 50, [1.5])[0]!
    close(rdp, 6.500708972122852e-4, 1e-8)
    expect(rdp).toBeLessThan(6.70579741e-4)
  })

  it('is α/(2σ²) without sampling, 0 without a sample, ∞ without noise', () => {
    expect(rdpOfStep(1, 2.5, 3.25)).toBeCloseTo(3.25 / (2 * 2.5 ** 2), 14)
    expect(rdpOfStep(0, 1, 7)).toBe(0)
    expect(rdpOfStep(0.1, 0, 7)).toBe(Number.POSITIVE_INFINITY)
  })

  it.each([
    [0.01, 2.5, 1.5, 1.3001417948937439e-5],
    [0.2, 0.8, 3.7, 0.8130704542762264],
    [0.05, 1.3, 17, 1.8481952798039638],
  ])('q %f σ %f order %f matches the scipy reference', (q, sigma, order, want) => {
    close(rdpOfStep(q, sigma, order), want, 1e-9)
  })

  it('refuses an order <= 1 and a rate outside [0, 1], by code', () => {
    expect(() => rdpOfStep(0.1, 1, 0.5)).toThrow(InvalidModelInputError)
    expect(() => rdpOfStep(0.1, 1, 1)).toThrow(InvalidModelInputError)
    expect(() => rdpOfStep(1.5, 1, 2)).toThrow(expect.objectContaining({ code: 'MODEL_INVALID_INPUT' }))
  })
})

describe('RDP → (ε, δ)', () => {
  it("gives dp_accounting's hand-computed ε for constant RDP 1.1 (pure DP) at δ 1e-5", () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2)
    const spent = privacySpent(
      orders,
      orders.map(() => 1.1),
      1e-5,
    )
    close(spent.epsilon, 1.32783806176, 1e-10)
    expect(spent.order).toBe(32)
  })

  it('gives ε = 1 for the Gaussian mechanism with σ 4.530877117 at δ 1e-6 (dp_accounting)', () => {
    const orders = Array.from({ length: 99_000 }, (_, i) => 0.001 * (i + 1000))
    expect(privacySpent(orders, computeRdp(1, 4.530877117, 1, orders), 1e-6).epsilon).toBeCloseTo(1, 7)
  })

  it.each([
    // Abadi et al. 2016's MNIST setting: N 60000, batch 256, σ 1.1, 60 epochs (14062 steps), δ 1e-5.
    [256 / 60000, 1.1, 14062, 1e-5, 2.596555868960748, 8.1],
    [0.01, 1.0, 1000, 1e-5, 2.1013652716430564, 7.8],
    [0.1, 2.0, 100, 1e-6, 2.9141734583973755, 8.2],
    [0.5, 5.0, 50, 1e-5, 3.308732285154119, 6.8],
  ])('q %f σ %f %i steps δ %f: ε matches the scipy reference', (q, sigma, steps, delta, want, order) => {
    const spent = epsilonOf(q, sigma, steps, delta)
    close(spent.epsilon, want, 1e-9)
    expect(spent.order).toBeCloseTo(order, 12)
  })

  it('uses Opacus’ default orders', () => {
    expect(DEFAULT_RDP_ORDERS.length).toBe(151)
    expect(DEFAULT_RDP_ORDERS[0]).toBeCloseTo(1.1, 15)
    expect(DEFAULT_RDP_ORDERS.at(-1)).toBe(63)
  })
})

describe('noiseMultiplierFor', () => {
  it('inverts the MNIST case back to σ 1.1', () => {
    const sigma = noiseMultiplierFor(2.596555868960748, 256 / 60000, 14062, 1e-5)
    close(sigma, 1.1, 1e-5)
    expect(epsilonOf(256 / 60000, sigma, 14062, 1e-5).epsilon).toBeLessThanOrEqual(2.596555868960748)
  })

  it('gives a smaller σ for a larger ε, and refuses a target no σ reaches', () => {
    expect(noiseMultiplierFor(8, 0.5, 20, 1e-5)).toBeLessThan(noiseMultiplierFor(1, 0.5, 20, 1e-5))
    expect(() => noiseMultiplierFor(1e-9, 1, 1_000_000, 1e-12)).toThrow(InvalidModelInputError)
  })
})

describe('epsilonOfRuns', () => {
  it('composes runs: two runs at one rate and σ give what their summed steps give, and a run at another rate adds to it', () => {
    // Execute
    const split = epsilonOfRuns(
      [
        { q: 0.04, sigma: 1.1, steps: 60 },
        { q: 0.04, sigma: 1.1, steps: 40 },
      ],
      1e-5,
    )
    const mixed = epsilonOfRuns(
      [
        { q: 0.04, sigma: 1.1, steps: 100 },
        { q: 0.1, sigma: 1.1, steps: 100 },
      ],
      1e-5,
    )
    // Assert
    expect(split.epsilon).toBeCloseTo(epsilonOf(0.04, 1.1, 100, 1e-5).epsilon, 12)
    expect(mixed.epsilon).toBeGreaterThan(epsilonOf(0.1, 1.1, 100, 1e-5).epsilon)
    expect(mixed.epsilon).toBeLessThan(epsilonOf(0.1, 1.1, 200, 1e-5).epsilon)
    expect(epsilonOfRuns([], 1e-5).epsilon).toBe(0)
  })
})
