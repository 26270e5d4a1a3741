/**
 * Gaussian noise from a secret 32-byte seed, the same bits on every machine,
 * so that an auditor given the seed re-derives a DP model bit for bit.
 *
 * Stream: the ChaCha20 keystream (RFC 8439, node:crypto's `chacha20` with a
 * 16-byte IV of zeros: block counter 0, nonce 0) under the seed as key. A
 * cryptographic stream, so that the noise of one round says nothing about
 * another's, and a replica holder who lacks the seed cannot predict (and so
 * cannot subtract) it.
 *
 * Uniforms: each 8 bytes of keystream, read as two big-endian uint32 a and b,
 * give u = ((a >>> 5)·2^26 + (b >>> 6)) / 2^53 in [0, 1), 53 random bits.
 *
 * Normals: Marsaglia's polar method (exact in distribution): v1 = 2u1 − 1,
 * v2 = 2u2 − 1, s = v1² + v2²; a pair with s = 0 or s >= 1 is rejected and
 * the next 16 bytes are read; otherwise f = √(−2·ln(s)/s) and the pair gives
 * v1·f, then v2·f. ln is `portableLog` (fdlibm, the same bits everywhere; the
 * polar method needs no sin or cos, whose platform versions may differ), √ is
 * IEEE-exact. The n-th value returned is the n-th normal of the stream.
 *
 * Floating-point noise has known weaknesses against an adversary who sees the
 * low bits (Mironov 2012); a discrete Gaussian is the remedy, left for later.
 */
import { createCipheriv } from 'node:crypto'
import { InvalidModelInputError } from '../errors.ts'
import { portableLog } from './portable-math.ts'

/** Bytes of keystream drawn at a time. */
const CHUNK_BYTES = 64 * 1024

/** The keystream of ChaCha20 under `seed` (32 bytes), as a reader of 8-byte uniforms. */
function uniforms(seed: Uint8Array): () => number {
  if (seed.length !== 32) throw new InvalidModelInputError(`noise seed is ${seed.length} bytes, want 32`)
  const cipher = createCipheriv('chacha20', seed, new Uint8Array(16))
  const zeros = new Uint8Array(CHUNK_BYTES)
  let view = new DataView(new ArrayBuffer(0))
  let at = 0
  return () => {
    if (at + 8 > view.byteLength) {
      const block = cipher.update(zeros)
      view = new DataView(block.buffer, block.byteOffset, block.byteLength)
      at = 0
    }
    const a = view.getUint32(at, false)
    const b = view.getUint32(at + 4, false)
    at += 8
    return ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992
  }
}

/** `count` standard normal values from `seed` (see the module doc), in float64. */
export function standardNormals(seed: Uint8Array, count: number): Float64Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new InvalidModelInputError(`noise count ${count}, want a non-negative integer`)
  return normalStream(seed)(count)
}

/**
 * The same normals as `standardNormals(seed, …)`, taken `count` at a time:
 * call k returns the next `count` values of the one sequence (the second
 * value of a pair cut by a call's end is the next call's first), so a model
 * noised a slice at a time gets the values a whole-model draw gives it.
 */
export function normalStream(seed: Uint8Array): (count: number) => Float64Array {
  const next = uniforms(seed)
  let pending: number | undefined
  return (count) => {
    if (!Number.isSafeInteger(count) || count < 0) throw new InvalidModelInputError(`noise count ${count}, want a non-negative integer`)
    const out = new Float64Array(count)
    let i = 0
    if (pending !== undefined && count > 0) {
      out[i++] = pending
      pending = undefined
    }
    while (i < count) {
      const v1 = 2 * next() - 1
      const v2 = 2 * next() - 1
      const s = v1 * v1 + v2 * v2
      if (s >= 1 || s === 0) continue
      const f = Math.sqrt((-2 * portableLog(s)) / s)
      out[i++] = v1 * f
      if (i < count) out[i++] = v2 * f
      else pending = v2 * f
    }
    return out
  }
}
