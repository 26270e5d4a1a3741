/**
 * The masks' pseudo-random generator: AES-256-CTR keyed by a 32-byte seed,
 * zero IV (counter block 0), its keystream read as little-endian uint32
 * words. Each seed is used for one mask only (a self-mask seed b, or a
 * pairwise seed bound to its study, round and pair by HKDF), so the fixed IV
 * never repeats a keystream across purposes. AES in node:crypto runs on the
 * CPU's AES instructions: 1M words (4 MB) take a few milliseconds.
 */
import { createCipheriv } from 'node:crypto'
import { ProtocolInvalidArgumentError } from '../errors.ts'
import { SECAGG_KEY_BYTES } from './constants.ts'

const ZERO_IV = new Uint8Array(16)
// Encrypting zeros yields the keystream; one reused chunk bounds the garbage per call.
const CHUNK_BYTES = 1 << 16
const ZEROS = new Uint8Array(CHUNK_BYTES)
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * The first `words` uint32 words of AES-256-CTR(seed, IV 0), little-endian,
 * written into `out` (which must hold at least `words`) or a new array.
 * Requires a 32-byte seed and 0 <= words < 2^30.
 */
export function expandMask(seed: Uint8Array, words: number, out?: Uint32Array): Uint32Array {
  if (seed.length !== SECAGG_KEY_BYTES) throw new ProtocolInvalidArgumentError(`mask seed is ${seed.length} bytes, want ${SECAGG_KEY_BYTES}`)
  if (!Number.isInteger(words) || words < 0 || words >= 2 ** 30) throw new ProtocolInvalidArgumentError(`mask length ${words} words is not an integer in [0, 2^30)`)
  const target = out ?? new Uint32Array(words)
  if (target.length < words) throw new ProtocolInvalidArgumentError(`output holds ${target.length} words, want at least ${words}`)
  const bytes = new Uint8Array(target.buffer, target.byteOffset, words * 4)
  const cipher = createCipheriv('aes-256-ctr', seed, ZERO_IV)
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    const n = Math.min(CHUNK_BYTES, bytes.length - at)
    bytes.set(cipher.update(n === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, n)), at)
  }
  if (!LITTLE_ENDIAN) swapWords(target, words)
  return target
}

// A big-endian host reads the keystream's bytes as big-endian words: swap them to the defined little-endian order.
function swapWords(words: Uint32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const w = words[i]!
    words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)
  }
}
