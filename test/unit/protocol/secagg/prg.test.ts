/**
 * The mask PRG (protocol/secagg/prg.ts): AES-256-CTR keystream with a zero
 * IV, read as little-endian uint32 words.
 */
import { createCipheriv } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { expandMask } from '../../../../protocol/index.ts'

describe('expandMask', () => {
  it('is the AES-256 encryption of the zero block under the zero key, as little-endian words (known answer)', () => {
    // Prepare: AES-256(K = 0^256, 0^128) = dc95c078a2408989ad48a21492842087 (FIPS-197 style known answer);
    // reproduce: head -c 16 /dev/zero | openssl enc -aes-256-ctr -K $(printf '0%.0s' {1..64}) -iv $(printf '0%.0s' {1..32}) | xxd -p
    const seed = new Uint8Array(32)

    // Execute
    const words = expandMask(seed, 4)

    // Assert
    expect([...words].map((w) => w.toString(16).padStart(8, '0'))).toEqual(['78c095dc', '898940a2', '14a248ad', '87208492'])
  })

  it('matches one AES-CTR pass over the whole length across its internal chunks (16,384 words each)', () => {
    // Prepare: a length that ends inside the third chunk.
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1)
    const words = 2 * 16_384 + 77
    const reference = createCipheriv('aes-256-ctr', seed, new Uint8Array(16)).update(new Uint8Array(words * 4))

    // Execute
    const mask = expandMask(seed, words)

    // Assert
    expect(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).equals(reference)).toBe(true)
  })

  it('writes into a longer `out` without touching the words past `words`, and is a prefix of a longer mask', () => {
    // Prepare
    const seed = new Uint8Array(32).fill(9)
    const out = new Uint32Array(10).fill(0xdeadbeef)

    // Execute
    const written = expandMask(seed, 6, out)

    // Assert
    expect(written).toBe(out)
    expect([...out.subarray(0, 6)]).toEqual([...expandMask(seed, 20).subarray(0, 6)])
    expect([...out.subarray(6)]).toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef])
  })

  it('gives unrelated masks for seeds one bit apart', () => {
    const a = new Uint8Array(32)
    const b = new Uint8Array(32)
    b[31] = 1
    const ma = expandMask(a, 1000)
    const mb = expandMask(b, 1000)
    let equal = 0
    for (let i = 0; i < 1000; i++) if (ma[i] === mb[i]) equal++
    expect(equal).toBe(0)
  })

  it.each([
    { desc: 'a 31-byte seed', seed: new Uint8Array(31), words: 4, out: undefined },
    { desc: 'a negative length', seed: new Uint8Array(32), words: -1, out: undefined },
    { desc: 'a fractional length', seed: new Uint8Array(32), words: 1.5, out: undefined },
    { desc: 'an output too short', seed: new Uint8Array(32), words: 8, out: new Uint32Array(7) },
  ])('refuses $desc (PROTOCOL_INVALID_ARGUMENT)', ({ seed, words, out }) => {
    expect(() => expandMask(seed, words, out)).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })
})
