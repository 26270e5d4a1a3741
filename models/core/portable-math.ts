/**
 * exp, log, tanh and the logistic sigmoid written with IEEE-754 +, −, ×, ÷
 * only, so they return the same bits on every machine and every JavaScript
 * engine.
 *
 * Why not `Math.exp` and `Math.log`? ECMAScript leaves their accuracy to the
 * implementation ("implementation-approximated"). V8 ships a C++ port of
 * fdlibm, but a C++ compiler may fuse `a * b + c` into one FMA on targets
 * that have it (arm64), and engines have changed their libm before (V8's
 * sin/cos in 2023). The audit recomputes contribution scores, which decide
 * payments, on whatever machine the auditor owns, so a last-bit difference
 * must be impossible, not unlikely. JavaScript's basic arithmetic is exactly
 * rounded binary64 with no contraction, so a fixed sequence of it is
 * reproducible everywhere.
 *
 * `portableExp` and `portableLog` are transcriptions of fdlibm 5.3 `e_exp.c`
 * and `e_log.c` (Sun Microsystems, freely redistributable): same argument
 * reduction, same minimax polynomials, same evaluation order, so on an engine
 * whose `Math.exp`/`Math.log` is an unfused fdlibm they agree bit for bit
 * (the unit test checks this on Node), with one exception taken from V8:
 * e^1 returns `Math.E`, the correctly rounded e, where fdlibm is one ulp
 * high. Error below 1 ulp. Word access goes
 * through a private big-endian DataView, so host byte order does not matter;
 * no state survives a call.
 */

const scratch = new DataView(new ArrayBuffer(8))

/** Bits 63..32 of the binary64 encoding, as a signed int32 (fdlibm's `__HI`). */
function highWord(x: number): number {
  scratch.setFloat64(0, x)
  return scratch.getInt32(0)
}

/** Bits 31..0 of the binary64 encoding, unsigned (fdlibm's `__LO`). */
function lowWord(x: number): number {
  scratch.setFloat64(0, x)
  return scratch.getUint32(4)
}

function fromWords(high: number, low: number): number {
  scratch.setUint32(0, high >>> 0)
  scratch.setUint32(4, low >>> 0)
  return scratch.getFloat64(0)
}

/** 2^k exactly, for a normal exponent: requires -1022 <= k <= 1023. */
function powerOfTwo(k: number): number {
  return fromWords((k + 1023) << 20, 0)
}

// e_exp.c constants (hex words as in fdlibm).
const HALF = [0.5, -0.5] as const
const O_THRESHOLD = 7.09782712893383973096e2 // 0x40862E42 FEFA39EF
const U_THRESHOLD = -7.4513321910194110842e2 // 0xC0874910 D52D3051
const LN2_HI = [6.9314718036912381649e-1, -6.9314718036912381649e-1] as const // 0x3FE62E42 FEE00000
const LN2_LO = [1.90821492927058770002e-10, -1.90821492927058770002e-10] as const // 0x3DEA39EF 35793C76
const INV_LN2 = 1.442695040888963387 // 0x3FF71547 652B82FE
const P1 = 1.66666666666666019037e-1 // 0x3FC55555 5555553E
const P2 = -2.77777777770155933842e-3 // 0xBF66C16C 16BEBD93
const P3 = 6.61375632143793436117e-5 // 0x3F11566A AF25DE2C
const P4 = -1.6533902205465251539e-6 // 0xBEBBBD41 C5D26BF1
const P5 = 4.13813679705723846039e-8 // 0x3E663769 72BEA4D0
const TWO_M1000 = 9.3326361850321887899e-302 // 2^-1000
const TWO_1023 = 8.98846567431157953865e307 // 2^1023

/**
 * e^x (fdlibm `__ieee754_exp`). x = k·ln2 + r with |r| <= ln2/2 and ln2 split
 * in a high part (exact in k·LN2_HI) and a low part; e^r from a degree-5
 * Remez polynomial R(r²) as 1 + r + r·c/(2 − c); then scaled by 2^k exactly.
 * NaN → NaN, +∞ → +∞, −∞ → 0, overflow → +∞, underflow → 0.
 */
export function portableExp(x: number): number {
  const signedHigh = highWord(x)
  const xsb = (signedHigh >>> 31) & 1
  const hx = signedHigh & 0x7fffffff
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (x !== x) return x + x
      return xsb === 0 ? x : 0
    }
    if (x > O_THRESHOLD) return Infinity
    if (x < U_THRESHOLD) return 0
  }
  let hi = 0
  let lo = 0
  let k = 0
  if (hx > 0x3fd62e42) {
    // |x| > ln2/2
    if (hx < 0x3ff0a2b2) {
      // and |x| < 3·ln2/2: k = ±1. The reduction below lands e^1 one ulp high; return e correctly rounded (as V8 does).
      if (x === 1) return Math.E
      hi = x - LN2_HI[xsb]!
      lo = LN2_LO[xsb]!
      k = 1 - xsb - xsb
    } else {
      k = Math.trunc(INV_LN2 * x + HALF[xsb]!)
      hi = x - k * LN2_HI[0] // exact: k has at most 11 bits and LN2_HI ends in 32 zero bits
      lo = k * LN2_LO[0]
    }
    x = hi - lo
  } else if (hx < 0x3e300000) {
    // |x| < 2^-28
    return 1 + x
  }
  const t = x * x
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
  if (k === 0) return 1 - ((x * c) / (c - 2) - x)
  const y = 1 - (lo - (x * c) / (2 - c) - hi)
  if (k >= -1021) {
    // y is in [0.7, 1.5], so y·2^k is a normal number and the product is exact (fdlibm adds k to the exponent).
    if (k === 1024) return y * 2 * TWO_1023
    return y * powerOfTwo(k)
  }
  // Subnormal result: exact scaling first, then the one rounding.
  return y * powerOfTwo(k + 1000) * TWO_M1000
}

// e_log.c constants.
const TWO54 = 1.8014398509481984e16 // 2^54
const LG1 = 6.66666666666673513e-1 // 0x3FE55555 55555593
const LG2 = 3.999999999940941908e-1 // 0x3FD99999 9997FA04
const LG3 = 2.857142874366239149e-1 // 0x3FD24924 94229359
const LG4 = 2.222219843214978396e-1 // 0x3FCC71C5 1D8E78AF
const LG5 = 1.818357216161805012e-1 // 0x3FC74664 96CB03DE
const LG6 = 1.531383769920937332e-1 // 0x3FC39A09 D078C69F
const LG7 = 1.479819860511658591e-1 // 0x3FC2F112 DF3E5244

/**
 * Natural logarithm (fdlibm `__ieee754_log`). x = 2^k·(1 + f) with
 * √2/2 < 1 + f < √2; log(1 + f) = f − f²/2 + s·(f²/2 + R(z)) where s =
 * f/(2 + f), z = s², R a degree-14 minimax polynomial in s; k·ln2 added in
 * two parts. log(±0) = −∞, log(x < 0) = NaN, log(+∞) = +∞, NaN → NaN.
 */
export function portableLog(x: number): number {
  let hx = highWord(x)
  let k = 0
  if (hx < 0x00100000) {
    // x < 2^-1022: zero, negative or subnormal
    if (((hx & 0x7fffffff) | lowWord(x)) === 0) return -Infinity
    if (hx < 0) return NaN
    k -= 54
    x *= TWO54 // subnormal: scale up exactly
    hx = highWord(x)
  }
  if (hx >= 0x7ff00000) return x + x
  k += (hx >> 20) - 1023
  hx &= 0x000fffff
  const i = (hx + 0x95f64) & 0x100000
  x = fromWords(hx | (i ^ 0x3ff00000), lowWord(x)) // normalise x or x/2 into [√2/2, √2)
  k += i >> 20
  const f = x - 1
  if ((0x000fffff & (2 + hx)) < 3) {
    // -2^-20 <= f < 2^-20
    if (f === 0) return k === 0 ? 0 : k * LN2_HI[0] + k * LN2_LO[0]
    const r = f * f * (0.5 - 0.33333333333333333 * f)
    if (k === 0) return f - r
    return k * LN2_HI[0] - (r - k * LN2_LO[0] - f)
  }
  const s = f / (2 + f)
  const z = s * s
  const w = z * z
  const t1 = w * (LG2 + w * (LG4 + w * LG6))
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
  const r = t2 + t1
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const hfsq = 0.5 * f * f
    if (k === 0) return f - (hfsq - s * (hfsq + r))
    return k * LN2_HI[0] - (hfsq - (s * (hfsq + r) + k * LN2_LO[0]) - f)
  }
  if (k === 0) return f - s * (f - r)
  return k * LN2_HI[0] - (s * (f - r) - k * LN2_LO[0] - f)
}

/**
 * tanh(x) = sign(x)·(1 − 2/(e^{2|x|} + 1)) with `portableExp`; x itself for
 * |x| < 2^-28 and ±1 for |x| >= 22 (where tanh rounds to ±1). Absolute error
 * a few ulps of 1, which is what a hidden activation needs; relative error
 * grows for tiny |x| (it is not fdlibm's expm1-based tanh). NaN → NaN.
 */
export function portableTanh(x: number): number {
  if (x !== x) return NaN
  const a = Math.abs(x)
  if (a >= 22) return x > 0 ? 1 : -1
  if (a < 3.725290298461914e-9) return x // 2^-28
  const t = 1 - 2 / (portableExp(2 * a) + 1)
  return x < 0 ? -t : t
}

/**
 * The logistic function 1/(1 + e^−z), evaluated as e^z/(1 + e^z) for z < 0
 * so neither branch overflows. NaN → NaN.
 */
export function portableSigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + portableExp(-z))
  const e = portableExp(z)
  return e / (1 + e)
}
