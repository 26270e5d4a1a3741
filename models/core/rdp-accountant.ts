/**
 * The Rényi-DP accountant of the Poisson-subsampled Gaussian mechanism
 * (Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled
 * Gaussian Mechanism"), the one Opacus (`opacus/accountants/analysis/rdp.py`)
 * and Google's dp_accounting (`rdp/rdp_privacy_accountant.py`) use, with the
 * improved RDP → (ε, δ) conversion (Balle et al. 2020, Theorem 21; Canonne,
 * Kamath and Steinke 2020): ε(α) = RDP(α) + log(1 − 1/α) − log(δ·α)/(α − 1),
 * minimised over the orders α.
 *
 * A(α) = E_{z∼μ0}[(μ(z)/μ0(z))^α] is computed in log space: by the binomial
 * expansion for an integer α (section 3.3 of the paper), and by the two
 * infinite series of section 3.4 for a fractional α, summed until both terms
 * fall below e^−30, exactly as the two libraries do. RDP(α) = log A(α) / (α − 1)
 * per step, and `steps` steps compose by multiplication.
 *
 * Pure and deterministic: float64 arithmetic only (no platform `Math.erfc`
 * exists, so `logErfc` is written here from its series and continued fraction).
 */
import { InvalidModelInputError } from '../errors.ts'

/** Opacus' default orders (`RDPAccountant.DEFAULT_ALPHAS`): 1.1, 1.2, …, 10.9, then 12, 13, …, 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10), ...Array.from({ length: 52 }, (_, x) => 12 + x)])

/** log(e^a + e^b) without overflow. */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b)
  const lo = Math.min(a, b)
  if (lo === Number.NEGATIVE_INFINITY) return hi
  return Math.log1p(Math.exp(lo - hi)) + hi
}

/** log(e^a − e^b), requires a >= b (a == b gives −∞). */
function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a
  if (a === b) return Number.NEGATIVE_INFINITY
  if (a < b) throw new InvalidModelInputError(`log-space subtraction: ${a} < ${b}, want the minuend larger (the fractional-order series went negative)`)
  return Math.log(-Math.expm1(b - a)) + a
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI)

/**
 * log(erfc(x)) for any finite x, to about 1e-14 relative. |x| < 2: erf from
 * its everywhere-positive series erf(x) = 2/√π · e^{−x²} · Σ (2x²)^n x / (1·3·…·(2n+1));
 * x >= 2: the Laplace continued fraction of erfc, evaluated in log space so
 * that x = 40 (erfc ~ 1e−697) stays finite; x <= −2: erfc(x) = 2 − erfc(−x).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY
  if (x === Number.NEGATIVE_INFINITY) return Math.LN2
  if (x >= 2) return -x * x - LOG_SQRT_PI + Math.log(continuedFraction(x))
  if (x <= -2) return Math.log(2 - Math.exp(-x * x - LOG_SQRT_PI) * continuedFraction(-x))
  // erf(x) by the positive series; erfc = 1 − erf, whose relative error stays below 1e−13 at x < 2 (erfc(2) ≈ 4.7e−3).
  const x2 = x * x
  let term = x
  let sum = x
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1)
    sum += term
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break
  }
  const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum
  return Math.log1p(-erf)
}

/** 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) = √π·e^{x²}·erfc(x), for x >= 2, by the modified Lentz method. */
function continuedFraction(x: number): number {
  const tiny = 1e-300
  let f = x
  let c = x
  let d = 0
  for (let n = 1; n < 500; n++) {
    const a = n / 2
    d = x + a * d
    d = d === 0 ? tiny : d
    c = x + a / c
    c = c === 0 ? tiny : c
    d = 1 / d
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return 1 / f
}

/** log A(α) for an integer α >= 2: the binomial expansion, summed in log space. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = Number.NEGATIVE_INFINITY
  let logBinom = 0
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i)
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma)
    logA = logAdd(logA, s)
  }
  return logA
}

/** log A(α) for a fractional α > 1: the two series of section 3.4, until both terms fall below e^−30. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = Number.NEGATIVE_INFINITY
  let logA1 = Number.NEGATIVE_INFINITY
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  // The generalised binomial coefficient C(α, i), carried as log|C| and its sign.
  let logCoef = 0
  let sign = 1
  for (let i = 0; ; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i
      logCoef += Math.log(Math.abs(factor))
      if (factor < 0) sign = -sign
    }
    const j = alpha - i
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q)
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q)
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma))
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma))
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0)
      logA1 = logAdd(logA1, logS1)
    } else {
      logA0 = logSub(logA0, logS0)
      logA1 = logSub(logA1, logS1)
    }
    if (Math.max(logS0, logS1) < -30) break
    if (i > 100_000) throw new InvalidModelInputError(`RDP series at order ${alpha} (q ${q}, σ ${sigma}) did not converge in 100000 terms`)
  }
  return logAdd(logA0, logA1)
}

function assertRate(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new InvalidModelInputError(`sampling rate ${q}, want 0 <= q <= 1`)
}

function assertSigma(sigma: number): void {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidModelInputError(`noise multiplier ${sigma}, want a finite number >= 0`)
}

/** RDP of one step of the Poisson-subsampled Gaussian mechanism at order `alpha` (> 1, or +∞; 1 only when q is 0 or 1). */
export function rdpOfStep(q: number, sigma: number, alpha: number): number {
  assertRate(q)
  assertSigma(sigma)
  if (!(alpha >= 1)) throw new InvalidModelInputError(`RDP order ${alpha}, want >= 1`)
  if (q === 0) return 0
  if (sigma === 0) return Number.POSITIVE_INFINITY
  if (q === 1) return alpha / (2 * sigma * sigma)
  if (alpha === 1) throw new InvalidModelInputError(`RDP order 1 with sampling rate ${q}, want an order > 1 (the series has no limit form here)`)
  if (alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha)
  return logA / (alpha - 1)
}

/** RDP after `steps` steps at each order (composition multiplies by `steps`). */
export function computeRdp(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  if (!Number.isSafeInteger(steps) || steps < 0) throw new InvalidModelInputError(`steps ${steps}, want a non-negative integer`)
  return orders.map((a) => rdpOfStep(q, sigma, a) * steps)
}

/** An (ε, δ) guarantee and the order that gave it. */
export interface PrivacySpent {
  readonly epsilon: number
  /** The RDP order α at which the conversion is tightest. */
  readonly order: number
}

/**
 * The smallest ε over `orders` for which RDP values `rdp` give (ε, δ)-DP, by
 * the improved conversion (dp_accounting's `compute_epsilon`): ε(α) =
 * r + log1p(−1/α) − log(δ·α)/(α − 1); 0 where δ² + expm1(−r) > 0 (the KL
 * bound δ <= √(1 − e^{−r}) already holds). Requires 0 < δ < 1.
 */
export function privacySpent(orders: readonly number[], rdp: readonly number[], delta: number): PrivacySpent {
  if (!(delta > 0 && delta < 1)) throw new InvalidModelInputError(`δ ${delta}, want 0 < δ < 1`)
  if (orders.length === 0 || orders.length !== rdp.length) throw new InvalidModelInputError(`${orders.length} orders and ${rdp.length} RDP values, want as many of each (at least one)`)
  let best = Number.POSITIVE_INFINITY
  let bestOrder = orders[0]!
  orders.forEach((a, i) => {
    const r = rdp[i]!
    if (!(r >= 0)) throw new InvalidModelInputError(`RDP value ${r} at order ${a}, want >= 0`)
    let eps: number
    if (delta * delta + Math.expm1(-r) > 0) eps = 0
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1)
    else eps = Number.POSITIVE_INFINITY
    if (eps < best) {
      best = eps
      bestOrder = a
    }
  })
  return { epsilon: Math.max(0, best), order: bestOrder }
}

/** ε after `steps` steps at sampling rate `q` and noise multiplier `sigma`, at `delta`. */
export function epsilonOf(q: number, sigma: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): PrivacySpent {
  return privacySpent(orders, computeRdp(q, sigma, steps, orders), delta)
}

/** Bisection steps of `noiseMultiplierFor`: the bracket shrinks 2^60-fold, far below any tolerance asked. */
const BISECTION_STEPS = 60

/**
 * The smallest noise multiplier σ (to within `tolerance`, relative) whose ε
 * after `steps` steps at rate `q` and `delta` is at most `targetEpsilon`
 * (Opacus' `get_noise_multiplier`, by bisection). The answer's ε is <= the
 * target: it errs on the private side. Throws when no σ <= 1e6 reaches it.
 */
export function noiseMultiplierFor(targetEpsilon: number, q: number, steps: number, delta: number, tolerance = 1e-6, orders: readonly number[] = DEFAULT_RDP_ORDERS): number {
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon)) throw new InvalidModelInputError(`target ε ${targetEpsilon}, want a finite number > 0`)
  const eps = (sigma: number) => epsilonOf(q, sigma, steps, delta, orders).epsilon
  let high = 1
  while (eps(high) > targetEpsilon) {
    high *= 2
    if (high > 1e6) throw new InvalidModelInputError(`no noise multiplier up to 1e6 reaches ε ${targetEpsilon} (q ${q}, ${steps} steps, δ ${delta})`)
  }
  let low = 0
  for (let i = 0; i < BISECTION_STEPS && high - low > tolerance * high; i++) {
    const mid = (low + high) / 2
    if (eps(mid) > targetEpsilon) low = mid
    else high = mid
  }
  return high
}

/** One run of the subsampled Gaussian mechanism: `steps` steps at rate `q` and noise multiplier `sigma`. */
export interface GaussianRun {
  readonly q: number
  readonly sigma: number
  readonly steps: number
}

/**
 * ε at `delta` after all of `runs`, each composed on the others (RDP adds up
 * at each order, whatever each run's q and σ): the account of a site that
 * trained with DP-SGD in several rounds, each at its own rate. Runs are
 * summed in the order given; the same runs in the same order give the same ε.
 */
export function epsilonOfRuns(runs: readonly GaussianRun[], delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): PrivacySpent {
  const total = orders.map(() => 0)
  for (const run of runs) computeRdp(run.q, run.sigma, run.steps, orders).forEach((v, i) => (total[i]! += v))
  return privacySpent(orders, total, delta)
}
