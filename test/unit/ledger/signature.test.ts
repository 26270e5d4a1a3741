import { describe, expect, it } from 'vitest'
import { fromHex, isCanonicalScalar, signerFromSeed, toHex, verifySignature, verifySignatureAsync } from '../../../ledger/core/index.ts'

/**
 * RFC 8032 §7.1, "Test Vectors for Ed25519", TEST 1 to TEST 3, copied
 * verbatim (https://www.rfc-editor.org/rfc/rfc8032#section-7.1).
 * SECRET KEY is the 32-byte seed.
 */
const RFC8032_VECTORS = [
  {
    desc: 'RFC 8032 TEST 1 (empty message)',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    desc: 'RFC 8032 TEST 2 (one byte)',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    desc: 'RFC 8032 TEST 3 (two bytes)',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
] as const

/** Group order L (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function scalarOf(signature: Uint8Array): bigint {
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number)
  return s
}

function withScalar(signature: Uint8Array, s: bigint): Uint8Array {
  const out = Uint8Array.from(signature)
  for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn)
  return out
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[index] = (out[index] as number) ^ 0x01
  return out
}

describe('Ed25519 against RFC 8032 §7.1', () => {
  it.each(RFC8032_VECTORS)('$desc: public key and signature match', ({ secretKey, publicKey, message, signature }) => {
    // Prepare
    const signer = signerFromSeed(fromHex(secretKey, 32))
    // Execute
    const sig = signer.sign(fromHex(message))
    // Assert
    expect(toHex(signer.publicKey)).toBe(publicKey)
    expect(toHex(sig)).toBe(signature)
  })

  it.each(RFC8032_VECTORS)('$desc: verifies', async ({ publicKey, message, signature }) => {
    expect(verifySignature(fromHex(publicKey), fromHex(message), fromHex(signature))).toBe(true)
    await expect(verifySignatureAsync(fromHex(publicKey), fromHex(message), fromHex(signature))).resolves.toBe(true)
  })

  // Mutated siblings of TEST 3: each must fail, synchronously and on the threadpool alike.
  const base = RFC8032_VECTORS[2]
  const pk = fromHex(base.publicKey)
  const msg = fromHex(base.message)
  const sig = fromHex(base.signature)
  it.each([
    { desc: 'a flipped bit in the message', publicKey: pk, message: flipBit(msg, 0), signature: sig },
    { desc: 'a flipped bit in R', publicKey: pk, message: msg, signature: flipBit(sig, 3) },
    { desc: 'a flipped bit in S', publicKey: pk, message: msg, signature: flipBit(sig, 40) },
    { desc: "another vector's public key", publicKey: fromHex(RFC8032_VECTORS[0].publicKey), message: msg, signature: sig },
    { desc: 'the message with a trailing byte', publicKey: pk, message: Uint8Array.from([...msg, 0]), signature: sig },
    { desc: 'a truncated signature', publicKey: pk, message: msg, signature: sig.subarray(0, 63) },
    { desc: 'a signature with a trailing byte', publicKey: pk, message: msg, signature: Uint8Array.from([...sig, 0]) },
    { desc: 'a 31-byte public key', publicKey: pk.subarray(0, 31), message: msg, signature: sig },
    { desc: 'a 33-byte public key', publicKey: Uint8Array.from([...pk, 0]), message: msg, signature: sig },
    { desc: 'non-canonical S + L (same point, malleated)', publicKey: pk, message: msg, signature: withScalar(sig, scalarOf(sig) + L) },
    { desc: 'S = L', publicKey: pk, message: msg, signature: withScalar(sig, L) },
    { desc: 'all-zero signature', publicKey: pk, message: msg, signature: new Uint8Array(64) },
  ])('rejects $desc', async ({ publicKey, message, signature }) => {
    expect(verifySignature(publicKey, message, signature)).toBe(false)
    await expect(verifySignatureAsync(publicKey, message, signature)).resolves.toBe(false)
  })
})

describe('isCanonicalScalar', () => {
  const sig = fromHex(RFC8032_VECTORS[0].signature)
  it.each([
    { desc: 'S from a real signature', s: scalarOf(sig), want: true },
    { desc: 'S = 0', s: 0n, want: true },
    { desc: 'S = L - 1', s: L - 1n, want: true },
    { desc: 'S = L', s: L, want: false },
    { desc: 'S = L + 1', s: L + 1n, want: false },
    { desc: 'S = S_real + L', s: scalarOf(sig) + L, want: false },
    { desc: 'S = 2^256 - 1', s: 2n ** 256n - 1n, want: false },
  ])('$desc -> $want', ({ s, want }) => {
    expect(isCanonicalScalar(withScalar(sig, s))).toBe(want)
  })
})

describe('signerFromSeed', () => {
  it.each([
    { desc: '31 bytes', seed: new Uint8Array(31) },
    { desc: '33 bytes', seed: new Uint8Array(33) },
    { desc: 'empty', seed: new Uint8Array(0) },
  ])('refuses a seed of $desc with LEDGER_INVALID_ARGUMENT', ({ seed }) => {
    expect(() => signerFromSeed(seed)).toThrow(expect.objectContaining({ code: 'LEDGER_INVALID_ARGUMENT' }))
  })

  it('signs deterministically and returns plain bytes', () => {
    // Prepare
    const signer = signerFromSeed(new Uint8Array(32).fill(9))
    const message = new TextEncoder().encode('fedlineage')
    // Execute
    const a = signer.sign(message)
    const b = signer.sign(message)
    // Assert
    expect(a).toEqual(b)
    expect(Buffer.isBuffer(a)).toBe(false)
    expect(verifySignature(signer.publicKey, message, a)).toBe(true)
  })
})

describe('verifySignature: the cache of valid signatures', () => {
  it('still refuses a changed message, signature or key after the same signature verified', () => {
    // Prepare: one valid signature, verified (and so remembered) first
    const signer = signerFromSeed(new Uint8Array(32).fill(21))
    const other = signerFromSeed(new Uint8Array(32).fill(22))
    const message = new TextEncoder().encode('cached once')
    const sig = signer.sign(message)
    expect(verifySignature(signer.publicKey, message, sig)).toBe(true)
    // Execute: the same bytes changed in place, and other keys and messages
    const changedMessage = Uint8Array.from(message)
    changedMessage[0]! ^= 1
    const changedSig = Uint8Array.from(sig)
    changedSig[3]! ^= 1
    // Assert
    expect(verifySignature(signer.publicKey, changedMessage, sig)).toBe(false)
    expect(verifySignature(signer.publicKey, message, changedSig)).toBe(false)
    expect(verifySignature(other.publicKey, message, sig)).toBe(false)
    message[0]! ^= 1 // the very array that verified, changed after the fact
    expect(verifySignature(signer.publicKey, message, sig)).toBe(false)
    message[0]! ^= 1
    expect(verifySignature(signer.publicKey, message, sig)).toBe(true)
  })

  it('does not remember a refusal: a forged signature is refused every time, the genuine one still verifies', () => {
    // Prepare
    const signer = signerFromSeed(new Uint8Array(32).fill(23))
    const message = new TextEncoder().encode('forged first')
    const forged = new Uint8Array(64).fill(1)
    // Execute / Assert
    expect(verifySignature(signer.publicKey, message, forged)).toBe(false)
    expect(verifySignature(signer.publicKey, message, forged)).toBe(false)
    expect(verifySignature(signer.publicKey, message, signer.sign(message))).toBe(true)
  })
})
