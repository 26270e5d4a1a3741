/**
 * Adding and removing masks, word by word mod 2^32. A Uint32Array stores
 * ToUint32 of what is assigned, so `acc[i] + m` and `acc[i] - m` (exact in
 * doubles, |·| < 2^33) wrap mod 2^32 with no further arithmetic.
 */
import { expandMask } from './prg.ts'

/** acc ← acc + sign · PRG(seed) mod 2^32, using `scratch` (at least acc.length words) for the keystream. */
export function addMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1, scratch: Uint32Array): void {
  const words = acc.length
  const mask = expandMask(seed, words, scratch)
  if (sign === 1) for (let i = 0; i < words; i++) acc[i] = acc[i]! + mask[i]!
  else for (let i = 0; i < words; i++) acc[i] = acc[i]! - mask[i]!
}

/** acc ← acc + x mod 2^32. Requires equal lengths. */
export function addWords(acc: Uint32Array, x: Uint32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + x[i]!
}
