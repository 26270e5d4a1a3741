/**
 * Fixed point (protocol/secagg/fixed-point.ts): weight, clip, round half to
 * even at scale (Q/2 − 1)/c, two's complement mod 2^32; and the centred
 * decoding of a sum.
 */
import { describe, expect, it } from 'vitest'
import { dequantizeSum, quantizationScale, quantizeDelta, weightRatio } from '../../../../protocol/index.ts'

const FLOWER = { maxWeight: 1000, clippingRange: 8, quantizationRange: 2 ** 22 }
// Scale (6/2 − 1)/1 = 2: halves of a unit land exactly on .5 and show the rounding rule.
const TINY = { maxWeight: 10, clippingRange: 1, quantizationRange: 6 }

describe('quantizeDelta', () => {
  it("scales by (Q/2 − 1)/c and stores negatives in two's complement", () => {
    // Prepare: scale = (2^21 − 1)/8 = 262143.875.
    const delta = Float32Array.from([1, -1, 0, 0.5])

    // Execute
    const q = quantizeDelta(delta, 1, FLOWER)

    // Assert
    expect(quantizationScale(FLOWER)).toBe(262143.875)
    expect([...q]).toEqual([262144, 2 ** 32 - 262144, 0, 131072])
  })

  it('clips each weighted coordinate to [−c, c], so |q| <= Q/2 − 1', () => {
    const q = quantizeDelta(Float32Array.from([100, -100, 8, -8]), 1, FLOWER)
    expect([...q]).toEqual([2 ** 21 - 1, 2 ** 32 - (2 ** 21 - 1), 2 ** 21 - 1, 2 ** 32 - (2 ** 21 - 1)])
  })

  it('rounds halves to even', () => {
    // x·2 = 0.5, 1.5, 2.5 (clipped at 2), −0.5, −1.5
    const q = quantizeDelta(Float32Array.from([0.25, 0.75, 1.25, -0.25, -0.75]), 1, TINY)
    expect([...q]).toEqual([0, 2, 2, 0, 2 ** 32 - 2])
  })

  it('weights before clipping: w·x, with w = min(examples, maxWeight)/maxWeight', () => {
    // Prepare: 5 of 10 examples → w = 0.5; 50 examples saturate at 1.
    const half = weightRatio(5, TINY.maxWeight)
    const full = weightRatio(50, TINY.maxWeight)

    // Execute: 1.5·0.5 = 0.75 → 1.5 → 2; 1.5·1 clips to 1 → 2.
    const q = quantizeDelta(Float32Array.from([1.5]), half, TINY)

    // Assert
    expect([half, full]).toEqual([0.5, 1])
    expect([...q]).toEqual([2])
  })

  it.each([
    { desc: 'a weight ratio of 0', delta: [1], w: 0 },
    { desc: 'a weight ratio above 1', delta: [1], w: 1.5 },
    { desc: 'a NaN coordinate', delta: [Number.NaN], w: 1 },
    { desc: 'an infinite coordinate', delta: [Number.POSITIVE_INFINITY], w: 1 },
  ])('refuses $desc (PROTOCOL_INVALID_ARGUMENT)', ({ delta, w }) => {
    expect(() => quantizeDelta(Float32Array.from(delta), w, FLOWER)).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })

  it('refuses a non-positive example count in weightRatio', () => {
    expect(() => weightRatio(0, 1000)).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })
})

describe('dequantizeSum', () => {
  it('recovers Σ w·x within n/(2·scale) per coordinate from the mod-2^32 sum, negatives included', () => {
    // Prepare: three sites with mixed signs and weights.
    const sites = [
      { w: 1, delta: Float32Array.from([0.1, -3.2, 7.9, -0.000001]) },
      { w: 0.25, delta: Float32Array.from([-0.7, -5, 2, 1e-3]) },
      { w: 0.5, delta: Float32Array.from([0.3, -8, -7.5, 0]) },
    ]
    const sum = new Uint32Array(4)
    for (const s of sites) {
      const q = quantizeDelta(s.delta, s.w, FLOWER)
      for (let i = 0; i < 4; i++) sum[i] = sum[i]! + q[i]!
    }

    // Execute
    const out = dequantizeSum(sum, FLOWER)

    // Assert
    const tolerance = sites.length / (2 * quantizationScale(FLOWER))
    for (let i = 0; i < 4; i++) {
      const want = sites.reduce((acc, s) => acc + s.w * s.delta[i]!, 0)
      expect(Math.abs(out[i]! - want)).toBeLessThanOrEqual(tolerance)
    }
    expect(out[1]).toBeLessThan(0)
  })

  it('reads words >= 2^31 as negative', () => {
    expect([...dequantizeSum(Uint32Array.from([2 ** 31, 2 ** 31 - 1, 2 ** 32 - 2]), TINY)]).toEqual([-(2 ** 30), (2 ** 31 - 1) / 2, -1])
  })
})
