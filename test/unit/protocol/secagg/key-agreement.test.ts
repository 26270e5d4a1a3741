/**
 * Key agreement (protocol/secagg/key-agreement.ts): X25519 against RFC 7748's
 * known answer, HKDF-SHA256 against RFC 5869's definition written out with
 * HMAC, and the bindings of the info to purpose, study, round and pair.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../../ledger/core/index.ts'
import { assertUsablePublicKey, encInfo, generateSiteKeys, maskInfo, pairSecret } from '../../../../protocol/index.ts'
import { seededRandomBytes } from '../../../helpers/seeded-random-bytes.ts'

// RFC 7748 §6.1.
const ALICE_SK = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
const ALICE_PK = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'
const BOB_SK = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
const BOB_PK = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'
const SHARED = fromHex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')

// RFC 5869 §2 with an empty salt (HashLen zero bytes) and L = 32: T(1) = HMAC(PRK, info ‖ 0x01).
function hkdfByHand(ikm: Uint8Array, info: Uint8Array): string {
  const prk = createHmac('sha256', new Uint8Array(32)).update(ikm).digest()
  return createHmac('sha256', prk)
    .update(info)
    .update(new Uint8Array([1]))
    .digest('hex')
}

describe('generateSiteKeys', () => {
  it('derives X25519 public keys from the injected secrets (RFC 7748 known answer)', () => {
    // Prepare: randomBytes yields Alice's key for c, then Bob's for s, then b.
    const queue = [ALICE_SK, BOB_SK, new Uint8Array(32).fill(7)]

    // Execute
    const { keys, secrets } = generateSiteKeys((n) => queue.shift()!.slice(0, n))

    // Assert
    expect(toHex(keys.cPk)).toBe(ALICE_PK)
    expect(toHex(keys.sPk)).toBe(BOB_PK)
    expect(secrets.b).toEqual(new Uint8Array(32).fill(7))
  })

  it('refuses a randomBytes that returns the wrong length', () => {
    expect(() => generateSiteKeys(() => new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })
})

describe('pairSecret', () => {
  it('is HKDF-SHA256 of the X25519 shared secret, the same from both ends', () => {
    // Prepare
    const info = maskInfo('study-1', 3, 'a', 'b')

    // Execute
    const fromAlice = pairSecret(ALICE_SK, fromHex(BOB_PK), info)
    const fromBob = pairSecret(BOB_SK, fromHex(ALICE_PK), info)

    // Assert
    expect(toHex(fromAlice)).toBe(hkdfByHand(SHARED, info))
    expect(fromBob).toEqual(fromAlice)
  })

  it("binds purpose, study, round and pair, but not the pair's order", () => {
    const secret = (info: Uint8Array) => toHex(pairSecret(ALICE_SK, fromHex(BOB_PK), info))
    const base = secret(maskInfo('study-1', 3, 'a', 'b'))
    expect(secret(maskInfo('study-1', 3, 'b', 'a'))).toBe(base)
    for (const other of [encInfo('study-1', 3, 'a', 'b'), maskInfo('study-2', 3, 'a', 'b'), maskInfo('study-1', 4, 'a', 'b'), maskInfo('study-1', 3, 'a', 'c')]) {
      expect(secret(other)).not.toBe(base)
    }
  })

  it.each([
    { desc: 'the all-zero point', pk: new Uint8Array(32) },
    { desc: 'the point u = 1 (order 1)', pk: fromHex('0100000000000000000000000000000000000000000000000000000000000000') },
    { desc: 'a point of order 8', pk: fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800') },
  ])('refuses $desc: the shared secret would be zero (PROTOCOL_SECAGG_KEY_INVALID, naming the site)', ({ pk }) => {
    const { secrets } = generateSiteKeys(seededRandomBytes('low-order'))
    expect(() => pairSecret(secrets.sSk, pk, maskInfo('s', 1, 'a', 'evil'), 'evil')).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_KEY_INVALID', site: 'evil' }))
  })

  it('refuses a public key that is not 32 bytes', () => {
    expect(() => pairSecret(ALICE_SK, new Uint8Array(31), maskInfo('s', 1, 'a', 'b'), 'b')).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_KEY_INVALID', site: 'b' }))
  })
})

describe('assertUsablePublicKey', () => {
  it('accepts a generated key', () => {
    const { keys } = generateSiteKeys(seededRandomBytes('usable'))
    expect(() => assertUsablePublicKey(keys.sPk, 'a')).not.toThrow()
    expect(() => assertUsablePublicKey(fromHex(ALICE_PK), 'a')).not.toThrow()
  })

  it.each([
    { desc: 'the all-zero point', pk: new Uint8Array(32) },
    { desc: 'the point u = 1', pk: fromHex('0100000000000000000000000000000000000000000000000000000000000000') },
    { desc: 'a point of order 8', pk: fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800') },
    { desc: 'p − 1 (order 2)', pk: fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f') },
    { desc: 'a 33-byte key', pk: new Uint8Array(33).fill(9) },
  ])('refuses $desc, naming the site (PROTOCOL_SECAGG_KEY_INVALID)', ({ pk }) => {
    expect(() => assertUsablePublicKey(pk, 'evil')).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_KEY_INVALID', site: 'evil' }))
  })
})
