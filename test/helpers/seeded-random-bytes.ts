/**
 * A deterministic stand-in for `nacl.randomBytes` in tests: SHA-256 of
 * (label, counter) blocks, so a test that injects it gets the same keys,
 * nonces and noise on every run. Never for production secrets.
 */
import { createHash } from 'node:crypto'

export function seededRandomBytes(label: string): (n: number) => Uint8Array {
  let counter = 0
  let pool = new Uint8Array(0)
  return (n: number) => {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      if (pool.length === 0) pool = new Uint8Array(createHash('sha256').update(`${label}/${counter++}`).digest())
      const take = Math.min(pool.length, n - filled)
      out.set(pool.subarray(0, take), filled)
      pool = pool.subarray(take)
      filled += take
    }
    return out
  }
}
