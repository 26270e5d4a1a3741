/**
 * SHA-256 and hex, the two ways the ledger names bytes.
 */
import * as nodeCrypto from 'node:crypto'
import { LedgerInvalidArgumentError } from '../errors.ts'

// node:crypto's one-shot hash() (Node >= 20.12) skips the Hash object: about
// 0.6 µs less per entry hash. Same digest; createHash where it is missing.
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Uint8Array }).hash

/** SHA-256 of the concatenation of `parts` (without copying them together). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && typeof oneShotHash === 'function') return asPlainBytes(oneShotHash('sha256', parts[0]!, 'buffer'))
  const h = nodeCrypto.createHash('sha256')
  for (const part of parts) h.update(part)
  return asPlainBytes(h.digest())
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/

/**
 * Parses hex strictly: an even number of hex digits and nothing else (no
 * `0x`, no whitespace), unlike `Buffer.from(hex, 'hex')`, which stops silently
 * at the first bad character. Requires `bytes.length === expectedBytes` when
 * given. Throws `LedgerInvalidArgumentError`.
 */
export function fromHex(hex: string, expectedBytes?: number): Uint8Array {
  if (typeof hex !== 'string' || !HEX.test(hex)) {
    throw new LedgerInvalidArgumentError(`not hex: ${JSON.stringify(String(hex).slice(0, 80))} (want an even number of 0-9a-f digits)`)
  }
  if (expectedBytes !== undefined && hex.length !== expectedBytes * 2) {
    throw new LedgerInvalidArgumentError(`hex is ${hex.length / 2} bytes, want ${expectedBytes}`)
  }
  return asPlainBytes(Buffer.from(hex, 'hex'))
}

/**
 * A plain `Uint8Array` view of the same memory. Node hands out Buffers, which
 * behave differently in deep equality (vitest, node:assert) and in `slice`
 * (a Buffer's slice is a view, a Uint8Array's a copy).
 */
export function asPlainBytes(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes
}
