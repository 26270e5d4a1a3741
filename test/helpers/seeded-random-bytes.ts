/**
 * A deterministic stand-in for `nacl.randomBytes` in tests: the AES-256-CTR
 * keystream under SHA-256(label), so a test that injects it gets the same
 * keys, nonces and noise on every run, fast enough for millions of draws.
 * Never for production secrets.
 */
import { createCipheriv, createHash } from 'node:crypto'

export function seededRandomBytes(label: string): (n: number) => Uint8Array {
  const stream = createCipheriv('aes-256-ctr', createHash('sha256').update(label).digest(), new Uint8Array(16))
  return (n: number) => new Uint8Array(stream.update(new Uint8Array(n)))
}
