/**
 * Seeded helpers for the data pipeline: the stratified split and the
 * synthetic cohorts must come out the same on every machine and Node version,
 * which `Math.random` cannot promise. The generator is models/core's mulberry32
 * (one implementation for the whole project); this file adds what the data
 * pipeline draws with it.
 */
import { mulberry32, type Random } from '../../models/core/index.ts'

export { mulberry32 }

/** Returns uniform numbers in [0, 1). Each call advances the generator's own state. */
export type Uniform = Random

/**
 * 32-bit FNV-1a of a string's UTF-16 code units, used to derive a generator
 * seed from a name (so two sites given the same seed still draw different data).
 */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * A standard normal draw (Box–Muller, cosine branch). It consumes exactly two
 * uniforms per call, so the stream stays aligned whatever the values are.
 */
export function gaussian(rand: Uniform): number {
  const u1 = 1 - rand() // in (0, 1], keeps log finite
  const u2 = rand()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** A shuffled copy of `items` (Fisher–Yates from the end); the input is not touched. */
export function shuffled<T>(items: readonly T[], rand: Uniform): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}
