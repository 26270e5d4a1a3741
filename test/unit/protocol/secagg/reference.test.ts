/**
 * Known answers from test/reference/secagg.py, which re-derives PROTOCOL.md's
 * secure-aggregation text in Python (cryptography's X25519, HKDF and AES; the
 * CBOR of the infos and GF(2^8) by hand) with no code of this repository.
 * Reproduce every value below with `python3 test/reference/secagg.py`.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../../ledger/core/index.ts'
import { SiteSecAggSession, combineShares, encInfo, expandMask, maskInfo, pairSecret, publicKeyOf, quantizeDelta, secAggGraph } from '../../../../protocol/index.ts'

const STUDY = 'heart-demo'
const ROUND = 3
const ALICE_SK = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
const BOB_SK = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')

describe('secagg against the Python reference', () => {
  it('derives the HKDF infos and pair secrets', () => {
    const mask = maskInfo(STUDY, ROUND, 'site-b', 'site-a')
    const enc = encInfo(STUDY, ROUND, 'site-a', 'site-b')
    expect(toHex(mask)).toBe('8578196665646c696e656167652f7365636167672f76312f6d61736b6a68656172742d64656d6f0366736974652d6166736974652d62')
    expect(toHex(enc)).toBe('8578186665646c696e656167652f7365636167672f76312f656e636a68656172742d64656d6f0366736974652d6166736974652d62')
    expect(toHex(pairSecret(ALICE_SK, publicKeyOf(BOB_SK), mask))).toBe('de7253ab5eec2b2d57feb7327142891bb3b82dd93dea8b782df896f0158b78ad')
    expect(toHex(pairSecret(ALICE_SK, publicKeyOf(BOB_SK), enc))).toBe('9b50b3bb881957e43efab63184edd7fe632c2cc592420440053ac8fddcf700d1')
  })

  it('expands a mask seed', () => {
    const words = expandMask(fromHex('de7253ab5eec2b2d57feb7327142891bb3b82dd93dea8b782df896f0158b78ad'), 1000)
    expect([...words.subarray(0, 4)]).toEqual([0x97db9d47, 0x85fe1f58, 0x8253cd28, 0xafe96e67])
    expect(createHash('sha256').update(words).digest('hex')).toBe('0e4b28636b478fd1b3a323da03b934126325272bceb9b18d24609bcdb0b3aa8e')
  })

  it('quantizes (Flower defaults, w = 0.37)', () => {
    const q = quantizeDelta(Float32Array.from([1.0, -1.0, 0.3, -7.9999, 100.0, 1e-7, -2.5e-6]), 0.37, { maxWeight: 1000, clippingRange: 8, quantizationRange: 2 ** 22 })
    expect([...q]).toEqual([96993, 4294870303, 29098, 4294191360, 2097151, 0, 0])
  })

  it('builds the graph from the seed', () => {
    const sites = (n: number) => Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, '0')}`)
    expect(Object.fromEntries(secAggGraph(sites(10), 3, 12345))).toEqual({
      s06: ['s04', 's07', 's09'],
      s04: ['s05', 's06', 's08'],
      s08: ['s00', 's03', 's04'],
      s00: ['s01', 's02', 's08'],
      s01: ['s00', 's07', 's09'],
      s07: ['s01', 's05', 's06'],
      s05: ['s03', 's04', 's07'],
      s03: ['s02', 's05', 's08'],
      s02: ['s00', 's03', 's09'],
      s09: ['s01', 's02', 's06'],
    })
    expect(Object.fromEntries(secAggGraph(sites(9), 4, 99))).toEqual({
      s01: ['s02', 's05', 's06', 's08'],
      s08: ['s01', 's02', 's05', 's07'],
      s05: ['s00', 's01', 's07', 's08'],
      s07: ['s00', 's04', 's05', 's08'],
      s00: ['s03', 's04', 's05', 's07'],
      s04: ['s00', 's03', 's06', 's07'],
      s03: ['s00', 's02', 's04', 's06'],
      s06: ['s01', 's02', 's03', 's04'],
      s02: ['s01', 's03', 's06', 's08'],
    })
  })

  it("masks one site's input: x + PRG(b) + PRG(s_ab) + PRG(s_ac)", async () => {
    // Prepare: each site's randomBytes yields cSk, sSk, b (fixed bytes), then box nonces.
    const secrets: Record<string, [number, number, number]> = { 'site-a': [0x11, 0x22, 0x33], 'site-b': [0x66, 0x44, 0x77], 'site-c': [0x88, 0x55, 0x99] }
    const sessions = new Map(
      Object.entries(secrets).map(([site, fills]) => {
        const queue = fills.map((f) => new Uint8Array(32).fill(f))
        const randomBytes = (n: number) => queue.shift() ?? new Uint8Array(n).fill(1)
        return [site, new SiteSecAggSession({ study: STUDY, round: ROUND, site, seed: 0, params: { k: 2, t: 2 }, randomBytes })]
      }),
    )
    const keys = new Map([...sessions].map(([site, s]) => [site, s.advertise()]))
    const sent = new Map<string, Awaited<ReturnType<SiteSecAggSession['shareKeys']>>>()
    for (const [site, s] of sessions) sent.set(site, await s.shareKeys(keys))
    sessions.get('site-a')!.receiveShares(new Map(['site-b', 'site-c'].map((from) => [from, sent.get(from)!.shares.find((b) => b.to === 'site-a')!.box])))

    // Execute
    const y = sessions.get('site-a')!.maskInput(Uint32Array.from([5, 0xffffffff, 123456789, 0, 2 ** 31]))

    // Assert
    expect([...y]).toEqual([1536355206, 577137044, 913940515, 2145444181, 1757042379])
  })

  it('interpolates GF(2^8) shares at 0', () => {
    const shares = [fromHex('010203040507'), fromHex('a0b0c0d0e0c8'), fromHex('ffee00dd1121')]
    expect(toHex(combineShares(shares))).toBe('550c889f13')
  })
})
