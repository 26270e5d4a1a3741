/**
 * Ed25519 (RFC 8032) over node:crypto, with raw 32-byte keys and 64-byte
 * signatures as plain bytes.
 *
 * Verification is strict: wrong lengths are refused, and so is a signature
 * whose scalar S is not reduced (S ≥ L, RFC 8032 §5.1.7 step 1). That check
 * is done here rather than trusted to the OpenSSL build underneath, because a
 * log that accepted both S and S + L would give one entry two valid encodings
 * and so two hashes.
 *
 * Purity: deterministic, no I/O. The state is two bounded caches, of parsed
 * public keys and of signatures already found valid, which change speed,
 * never results. Key generation needs
 * randomness and therefore lives in the shell (`generateSeed` in identity.ts).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { PUBLIC_KEY_LENGTH_BYTES, SEED_LENGTH_BYTES, SIGNATURE_LENGTH_BYTES } from './constants.ts'
import { asPlainBytes, fromHex, toHex } from './hash.ts'

/** Something that signs with one Ed25519 key. The seed never leaves it. */
export interface Signer {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** 64-byte Ed25519 signature over `message` (deterministic, RFC 8032). */
  sign(message: Uint8Array): Uint8Array
  /**
   * The private key itself, for the transports that prove this identity
   * (its TLS key, its libp2p peer key); absent for a signer that cannot
   * hand it out (a key held in hardware).
   */
  readonly privateKey?: KeyObject
}

// DER framing of a raw Ed25519 key (RFC 8410): PKCS#8 PrivateKeyInfo for the
// 32-byte seed, SubjectPublicKeyInfo for the 32-byte public key.
const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420')
const SPKI_ED25519_PREFIX = fromHex('302a300506032b6570032100')

/** Group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n
const GROUP_ORDER_LE = littleEndian32(GROUP_ORDER)

function littleEndian32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

/**
 * Whether the 32-byte little-endian scalar at `sig[32..64)` is < L.
 * Requires `sig.length === 64`.
 */
export function isCanonicalScalar(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i] as number
    const l = GROUP_ORDER_LE[i] as number
    if (s !== l) return s < l
  }
  return false // S === L
}

/** The Ed25519 private key with this 32-byte seed. Throws `LedgerInvalidArgumentError` on a wrong seed length. */
function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH_BYTES) {
    throw new LedgerInvalidArgumentError(`Ed25519 seed is ${seed instanceof Uint8Array ? seed.length : typeof seed} bytes, want ${SEED_LENGTH_BYTES}`)
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

/**
 * Signer for the Ed25519 key with this 32-byte seed (the RFC 8032 private
 * key). Throws `LedgerInvalidArgumentError` on a wrong seed length.
 */
export function signerFromSeed(seed: Uint8Array): Signer {
  const privateKey = ed25519PrivateKey(seed)
  const publicKey = rawPublicKey(createPublicKey(privateKey))!
  return {
    publicKey,
    sign: (message) => asPlainBytes(sign(null, message, privateKey)),
    privateKey,
  }
}

// Parsing a public key into a KeyObject costs about as much as a verification;
// a log has few authors, so keep the last few hundred.
const KEY_CACHE_LIMIT = 256
const keyCache = new Map<string, KeyObject | null>()

/** The KeyObject for a raw key, or null when OpenSSL refuses the encoding. */
function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey)
  const cached = keyCache.get(id)
  if (cached !== undefined) return cached
  let key: KeyObject | null
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' })
  } catch {
    key = null // not a valid point encoding: every signature under it is invalid
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value
    if (oldest !== undefined) keyCache.delete(oldest)
  }
  keyCache.set(id, key)
  return key
}

/**
 * The raw 32-byte key of an Ed25519 public KeyObject (its SubjectPublicKeyInfo
 * without the RFC 8410 prefix), or undefined for any other key type.
 */
export function rawPublicKey(key: KeyObject): Uint8Array | undefined {
  if (key.asymmetricKeyType !== 'ed25519') return undefined
  return Uint8Array.from(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length))
}

/** The public KeyObject of a raw 32-byte Ed25519 key. Throws `LedgerInvalidArgumentError` for a wrong length or an encoding OpenSSL refuses. */
export function publicKeyFromRaw(publicKey: Uint8Array): KeyObject {
  const key = publicKey instanceof Uint8Array && publicKey.length === PUBLIC_KEY_LENGTH_BYTES ? publicKeyObject(publicKey) : null
  if (key === null) throw new LedgerInvalidArgumentError(`not an Ed25519 public key: ${publicKey instanceof Uint8Array ? `${publicKey.length} bytes` : typeof publicKey}`)
  return key
}

/** Length and scalar checks shared by both verifiers; the KeyObject if they pass. */
function precheck(publicKey: Uint8Array, signature: Uint8Array): KeyObject | null {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH_BYTES) return null
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH_BYTES) return null
  if (!isCanonicalScalar(signature)) return null
  return publicKeyObject(publicKey)
}

/**
 * Whether `signature` is a valid strict RFC 8032 Ed25519 signature of
 * `message` under the raw `publicKey`. Never throws: any malformed input
 * is simply not a valid signature.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = precheck(publicKey, signature)
  if (key === null) return false
  const id = verifiedId(publicKey, message, signature)
  if (verified.has(id)) return true
  const ok = verify(null, message, key, signature)
  if (ok) rememberVerified(id)
  return ok
}

// A statement is checked where it enters (the gRPC handler), again by the
// decider that admits it, and once more to decide whether its refusal is
// logged: three curve verifications of the same bytes, a third of an upload's
// CPU. Valid signatures are remembered by one SHA-256 over the key, the
// signature and the message (about 1/80 of a verification), so the later
// checks are that hash. Only successes are kept: a forged signature is
// checked in full every time, and a hit needs a SHA-256 collision to be wrong.
const VERIFIED_CACHE_LIMIT = 4096
const verified = new Set<string>()

function verifiedId(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return createHash('sha256').update(publicKey).update(signature).update(message).digest('base64')
}

function rememberVerified(id: string): void {
  if (verified.size >= VERIFIED_CACHE_LIMIT) {
    const oldest = verified.values().next().value
    if (oldest !== undefined) verified.delete(oldest)
  }
  verified.add(id)
}

/**
 * `verifySignature`, with the curve arithmetic on libuv's threadpool, so a
 * caller checking many signatures (a whole log) keeps every core busy while
 * it decodes the next entries. Same checks, same answers.
 */
export function verifySignatureAsync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = precheck(publicKey, signature)
  if (key === null) return Promise.resolve(false)
  return new Promise((resolve, reject) => {
    verify(null, message, key, signature, (err, ok) => (err ? reject(err) : resolve(ok)))
  })
}
