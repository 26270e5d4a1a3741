import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { mulberry32, portableExp, portableLog, portableSigmoid, portableTanh } from '../../../models/core/index.ts'

/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(16))
  view.setFloat64(0, a)
  view.setFloat64(8, b)
  return Number(view.getBigInt64(0) - view.getBigInt64(8)) * (a < 0 ? -1 : 1)
}

/** Inputs spanning the ranges a forward pass and a log loss meet, from a fixed seed. */
function sweep(count: number, seed: number): Float64Array {
  const random = mulberry32(seed)
  const out = new Float64Array(count)
  for (let i = 0; i < count; i++) out[i] = (2 * random() - 1) * 10 ** (random() * 8 - 5) * (i % 7 === 0 ? 100 : 1)
  return out
}

describe('portableExp / portableLog', () => {
  it('returns the known answers and special values', () => {
    // Prepare: e and e^-1 are Math.E and 1/e correctly rounded (python3 -c 'import math; print(repr(math.exp(-1)))' → 0.36787944117144233).
    // The subnormal cases: 2^-1074 = 5e-324, log(2^-1074) = -1074·ln 2 = -744.4400719213812.
    // Execute / Assert
    expect(portableExp(0)).toBe(1)
    expect(portableExp(1)).toBe(Math.E)
    expect(portableExp(-1)).toBe(0.36787944117144233)
    expect(portableExp(Infinity)).toBe(Infinity)
    expect(portableExp(-Infinity)).toBe(0)
    expect(portableExp(NaN)).toBeNaN()
    expect(portableExp(710)).toBe(Infinity)
    expect(portableExp(-746)).toBe(0)
    expect(portableExp(-745.1)).toBe(5e-324)
    expect(portableLog(1)).toBe(0)
    expect(portableLog(Math.E)).toBe(1)
    expect(portableLog(2)).toBe(Math.LN2)
    expect(portableLog(10)).toBe(Math.LN10)
    expect(portableLog(0)).toBe(-Infinity)
    expect(portableLog(-0)).toBe(-Infinity)
    expect(portableLog(-1)).toBeNaN()
    expect(portableLog(Infinity)).toBe(Infinity)
    expect(portableLog(NaN)).toBeNaN()
    expect(portableLog(5e-324)).toBe(-744.4400719213812)
  })

  it('stays within 1 ulp of the engine (bit-identical to V8, whose Math.exp/log are fdlibm)', () => {
    // Prepare
    const xs = sweep(100_000, 11)
    let worstExp = 0
    let worstLog = 0
    // Execute
    for (const x of xs) {
      const big = x * 7 // reaches ±700, the edge of the exp range
      worstExp = Math.max(worstExp, Math.abs(ulps(portableExp(big), Math.exp(big))), Math.abs(ulps(portableExp(x), Math.exp(x))))
      const positive = Math.abs(x) * 10 ** (((x * 1e6) % 300) | 0)
      worstLog = Math.max(worstLog, Math.abs(ulps(portableLog(positive), Math.log(positive))))
    }
    // Assert
    expect(worstExp).toBeLessThanOrEqual(1)
    expect(worstLog).toBeLessThanOrEqual(1)
  })

  it('gives the same bits on every machine (rolling SHA-256 over a sweep)', () => {
    // Prepare: the digest pins the outputs themselves; a change here changes every audited contribution score.
    const xs = sweep(50_000, 12)
    const hash = createHash('sha256')
    const bytes = new Uint8Array(32)
    const view = new DataView(bytes.buffer)
    // Execute: each output as binary64 little-endian, whatever the host byte order.
    for (const x of xs) {
      view.setFloat64(0, portableExp(x * 7), true)
      view.setFloat64(8, portableLog(Math.abs(x)), true)
      view.setFloat64(16, portableTanh(x), true)
      view.setFloat64(24, portableSigmoid(x * 10), true)
      hash.update(bytes)
    }
    // Assert
    expect(hash.digest('hex')).toBe(PORTABLE_MATH_SWEEP_SHA256)
  })
})

describe('portableTanh / portableSigmoid', () => {
  it('matches Math.tanh to a few ulps of 1 and saturates', () => {
    // Prepare
    const xs = sweep(20_000, 13)
    // Execute
    let worst = 0
    for (const x of xs) worst = Math.max(worst, Math.abs(portableTanh(x) - Math.tanh(x)))
    // Assert
    expect(worst).toBeLessThan(4.5e-16)
    expect([portableTanh(0), portableTanh(25), portableTanh(-25), portableTanh(1e-12)]).toEqual([0, 1, -1, 1e-12])
    expect(portableTanh(NaN)).toBeNaN()
  })

  it('is the logistic function on both sides without overflow', () => {
    // Prepare / Execute / Assert: σ(0) = ½, σ(2) = 1/(1+e^-2), σ(−z) = 1 − σ(z), tails finite.
    expect(portableSigmoid(0)).toBe(0.5)
    expect(portableSigmoid(2)).toBeCloseTo(0.8807970779778823, 16)
    expect(portableSigmoid(-2) + portableSigmoid(2)).toBeCloseTo(1, 15)
    expect(portableSigmoid(800)).toBe(1)
    expect(portableSigmoid(-800)).toBe(0)
    expect(portableSigmoid(-40)).toBeCloseTo(4.248354255291589e-18, 30)
    expect(portableSigmoid(NaN)).toBeNaN()
  })
})

// Recorded on Node 20.20 x64. A different value means different bits: every logged contribution score would stop replaying.
const PORTABLE_MATH_SWEEP_SHA256 = '423f450b8d1b0213c7a3e984ec780b013261cb8b9088d9bfad5f4a88db2e7bd9'
