/**
 * GF(2^8) Shamir (protocol/secagg/shamir.ts): the synchronous combineShares
 * against the shamir-secret-sharing library, both ways: secrets the library
 * split, rebuilt by ours from random subsets; and arbitrary share sets,
 * where ours and the library's combine must agree byte for byte.
 */
import { combine, split } from 'shamir-secret-sharing'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../../../models/core/index.ts'
import { combineShares } from '../../../../protocol/index.ts'

const random = mulberry32(15)
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(0, 255))
function subset<T>(items: readonly T[], size: number): T[] {
  const pool = [...items]
  const out: T[] = []
  while (out.length < size) out.push(pool.splice(int(0, pool.length - 1), 1)[0]!)
  return out
}

describe('combineShares', () => {
  it('rebuilds secrets the library split, from any t or more of the shares (200 random cases)', async () => {
    for (let trial = 0; trial < 200; trial++) {
      // Prepare
      const secret = bytes(int(1, 40))
      const n = int(2, 30)
      const t = int(2, n)
      const shares = await split(secret, n, t)
      const chosen = subset(shares, int(t, n))

      // Execute
      const ours = combineShares(chosen)

      // Assert
      expect(ours).toEqual(secret)
      expect(ours).toEqual(await combine(chosen))
    }
  })

  it('agrees with the library on arbitrary share sets, including ones below threshold (200 random cases)', async () => {
    for (let trial = 0; trial < 200; trial++) {
      // Prepare: random y values at distinct random x-coordinates.
      const length = int(2, 33)
      const xs = subset(
        Array.from({ length: 255 }, (_, i) => i + 1),
        int(2, 20),
      )
      const shares = xs.map((x) => {
        const share = bytes(length)
        share[length - 1] = x
        return share
      })

      // Execute / Assert
      expect(combineShares(shares)).toEqual(await combine(shares))
    }
  })

  it('gives a different secret from fewer than t shares', async () => {
    const secret = new Uint8Array(32).fill(42)
    const shares = await split(secret, 5, 3)
    expect(combineShares(shares.slice(0, 2))).not.toEqual(secret)
  })

  it.each([
    { desc: 'one share', shares: [Uint8Array.from([1, 2])] },
    { desc: 'a repeated x-coordinate', shares: [Uint8Array.from([1, 5]), Uint8Array.from([2, 5])] },
    { desc: 'an x-coordinate of 0', shares: [Uint8Array.from([1, 0]), Uint8Array.from([2, 5])] },
    { desc: 'shares of different lengths', shares: [Uint8Array.from([1, 4]), Uint8Array.from([2, 3, 5])] },
    { desc: 'shares without a secret byte', shares: [Uint8Array.from([4]), Uint8Array.from([5])] },
  ])('refuses $desc (PROTOCOL_INVALID_ARGUMENT)', ({ shares }) => {
    expect(() => combineShares(shares)).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })
})
