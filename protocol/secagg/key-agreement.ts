/**
 * The sites' keys and the secrets two sites agree on. Each site makes two
 * X25519 key pairs per round (Bonawitz et al.: c for encrypting share boxes,
 * s for pairwise masks, so that revealing a dropped site's mask key never
 * opens its boxes) and a self-mask seed b. Two sites u, v derive
 *
 *   pairSecret = HKDF-SHA256(X25519(mySk, theirPk), salt = empty, info, 32 bytes)
 *
 * with info the canonical CBOR of [label, study, round, min(u, v), max(u, v)]
 * (code-unit order), so that the secret is bound to its purpose, study, round
 * and pair, and both sides (and the audit, from a rebuilt key) compute the
 * same bytes.
 */
import { hkdfSync } from 'node:crypto'
import nacl from 'tweetnacl'
import { encodeCanonical } from '../../ledger/core/index.ts'
import { ProtocolInvalidArgumentError, SecAggKeyInvalidError } from '../errors.ts'
import { SECAGG_ENC_INFO, SECAGG_KEY_BYTES, SECAGG_MASK_INFO } from './constants.ts'
import type { RandomBytes, SecAggPublicKeys, SecAggSecrets } from './types.ts'

/** `nacl.randomBytes`: the default source of a site's secrets. */
export const defaultRandomBytes: RandomBytes = (n) => nacl.randomBytes(n)

function freshBytes(randomBytes: RandomBytes, n: number): Uint8Array {
  const bytes = randomBytes(n)
  if (bytes.length !== n) throw new ProtocolInvalidArgumentError(`randomBytes(${n}) returned ${bytes.length} bytes`)
  // A private copy: the caller's buffer may be reused, and nacl wants a plain Uint8Array.
  return Uint8Array.from(bytes)
}

/** A site's round keys: two X25519 key pairs (c: share boxes, s: masks) and a 32-byte self-mask seed b. */
export function generateSiteKeys(randomBytes: RandomBytes = defaultRandomBytes): { keys: SecAggPublicKeys; secrets: SecAggSecrets } {
  const cSk = freshBytes(randomBytes, SECAGG_KEY_BYTES)
  const sSk = freshBytes(randomBytes, SECAGG_KEY_BYTES)
  const b = freshBytes(randomBytes, SECAGG_KEY_BYTES)
  return { keys: { cPk: nacl.scalarMult.base(cSk), sPk: nacl.scalarMult.base(sSk) }, secrets: { cSk, sSk, b } }
}

/** The X25519 public key of a secret key (the audit checks a rebuilt mask key against the advertised one). */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return nacl.scalarMult.base(secretKey)
}

function pairInfo(label: string, study: string, round: number, a: string, b: string): Uint8Array {
  const [lo, hi] = a < b ? [a, b] : [b, a]
  return encodeCanonical([label, study, round, lo, hi])
}

/** HKDF info of the share-box key between sites a and b (order-free). */
export function encInfo(study: string, round: number, a: string, b: string): Uint8Array {
  return pairInfo(SECAGG_ENC_INFO, study, round, a, b)
}

/** HKDF info of the pairwise mask seed between sites a and b (order-free). */
export function maskInfo(study: string, round: number, a: string, b: string): Uint8Array {
  return pairInfo(SECAGG_MASK_INFO, study, round, a, b)
}

// Any clamped scalar is a multiple of 8, so X25519 with it sends exactly the
// points of order dividing 8 (on the curve or its twist) to zero: a fixed,
// public scalar tests a key for low order without anyone's secret.
const PROBE_SCALAR = new Uint8Array(SECAGG_KEY_BYTES).fill(0x5a)

/**
 * Checks an advertised public key before anyone uses it: 32 bytes and not of
 * low order (its X25519 with any secret would be zero, making the pair's box
 * key and mask public). The coordinator calls it on each key as it arrives, so
 * a bad key is refused in the key phase, not found by every neighbour later.
 * Throws SecAggKeyInvalidError naming `site`.
 */
export function assertUsablePublicKey(pk: Uint8Array, site: string): void {
  if (pk.length !== SECAGG_KEY_BYTES) throw new SecAggKeyInvalidError(`site "${site}": public key is ${pk.length} bytes, want ${SECAGG_KEY_BYTES}`, site)
  let or = 0
  for (const byte of nacl.scalarMult(PROBE_SCALAR, Uint8Array.from(pk))) or |= byte
  if (or === 0) throw new SecAggKeyInvalidError(`site "${site}": public key is a low-order point; the site must advertise a fresh key`, site)
}

/**
 * HKDF-SHA256(X25519(mySk, theirPk), empty salt, info) → 32 bytes. Throws
 * SecAggKeyInvalidError naming `theirSite` when their key is not 32 bytes or
 * the shared secret is all zero (a low-order point: the secret would be
 * known to anyone).
 */
export function pairSecret(mySk: Uint8Array, theirPk: Uint8Array, info: Uint8Array, theirSite = 'peer'): Uint8Array {
  if (theirPk.length !== SECAGG_KEY_BYTES) throw new SecAggKeyInvalidError(`site "${theirSite}": public key is ${theirPk.length} bytes, want ${SECAGG_KEY_BYTES}`, theirSite)
  const shared = nacl.scalarMult(mySk, Uint8Array.from(theirPk))
  let or = 0
  for (const byte of shared) or |= byte
  if (or === 0) throw new SecAggKeyInvalidError(`site "${theirSite}": public key is a low-order point (X25519 shared secret is zero); the site must advertise a fresh key`, theirSite)
  return new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, SECAGG_KEY_BYTES))
}
