/**
 * The only randomness of the pure core: a tiny seeded PRNG, so that initial
 * models and batch orders are identical on every machine and can be replayed
 * from the seed in the log. Not for anything security-relevant.
 *
 * Generator: Mulberry32 (Tommy Ettinger, public domain). 32 bits of state, a
 * Weyl sequence step (+0x6D2B79F5) followed by an xorshift-multiply output
 * mix, period 2^32. It needs only 32-bit integer arithmetic (`Math.imul`,
 * `>>>`), which JavaScript defines exactly, so the stream never depends on
 * the host. Ample for shuffling and initialisation of models this size.
 */

/** A stream of uniform numbers in [0, 1), each a multiple of 2^-32. */
export type Random = () => number

/** A Mulberry32 stream. `seed` is reduced to its low 32 bits (`seed >>> 0`). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The next 32-bit unsigned integer of a stream (for deriving sub-seeds). */
export function nextUint32(random: Random): number {
  return random() * 4294967296
}

/**
 * A uniformly shuffled permutation of 0..n-1 (Fisher–Yates, drawing j from
 * [0, i] for i = n-1 down to 1), determined by `seed`. Requires n to be a
 * non-negative integer below 2^32; index picks are floor(u · (i + 1)), whose
 * bias is below n / 2^32.
 */
export function shuffleIndices(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  const random = mulberry32(seed)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = out[i]!
    out[i] = out[j]!
    out[j] = tmp
  }
  return out
}
