import { describe, expect, it } from 'vitest'
import { mulberry32, nextUint32, shuffleIndices } from '../../../models/core/index.ts'

/**
 * Mulberry32 restated with BigInt arithmetic modulo 2^32, independent of
 * JavaScript's int32 coercions (`Math.imul`, `|`, `>>>`) that random.ts uses.
 */
function mulberry32Reference(seed: number): () => number {
  const M = 1n << 32n
  const mul = (x: bigint, y: bigint): bigint => (x * y) % M
  let state = BigInt(seed >>> 0)
  return () => {
    state = (state + 0x6d2b79f5n) % M
    let t = state
    t = mul(t ^ (t >> 15n), t | 1n)
    t = t ^ ((t + mul(t ^ (t >> 7n), t | 61n)) % M)
    return Number(t ^ (t >> 14n)) / 2 ** 32
  }
}

describe('mulberry32', () => {
  it.each([0, 1, 42, 0x7fffffff, 0xffffffff])('matches a BigInt restatement for seed %s', (seed) => {
    // Prepare
    const fast = mulberry32(seed)
    const reference = mulberry32Reference(seed)
    // Execute
    const a = Array.from({ length: 1000 }, fast)
    const b = Array.from({ length: 1000 }, reference)
    // Assert
    expect(a).toEqual(b)
  })

  it('yields multiples of 2^-32 in [0, 1) with a plausible mean', () => {
    // Prepare
    const random = mulberry32(7)
    // Execute
    const values = Array.from({ length: 20000 }, random)
    // Assert
    expect(values.every((v) => v >= 0 && v < 1 && Number.isInteger(v * 2 ** 32))).toBe(true)
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01)
  })

  it('reduces the seed to 32 bits', () => {
    // Prepare
    const a = mulberry32(5)
    const b = mulberry32(5 + 2 ** 32)
    // Execute
    const [x, y] = [nextUint32(a), nextUint32(b)]
    // Assert
    expect(x).toBe(y)
    expect(Number.isInteger(x)).toBe(true)
  })
})

describe('shuffleIndices', () => {
  it('is a permutation, fixed by the seed', () => {
    // Prepare
    const n = 257
    // Execute
    const a = shuffleIndices(n, 3)
    const b = shuffleIndices(n, 3)
    const c = shuffleIndices(n, 4)
    // Assert
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })

  it('follows Fisher–Yates with floor(u · (i + 1)) draws', () => {
    // Prepare
    const random = mulberry32Reference(11)
    const want = [0, 1, 2, 3, 4, 5]
    for (let i = want.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[want[i], want[j]] = [want[j]!, want[i]!]
    }
    // Execute
    const got = shuffleIndices(6, 11)
    // Assert
    expect(Array.from(got)).toEqual(want)
  })

  it('handles 0 and 1 elements', () => {
    // Prepare / Execute
    const empty = shuffleIndices(0, 1)
    const one = shuffleIndices(1, 1)
    // Assert
    expect(Array.from(empty)).toEqual([])
    expect(Array.from(one)).toEqual([0])
  })
})
