import { describe, expect, it } from 'vitest'
import { asPlainBytes, fromHex, sha256, toHex } from '../../../ledger/core/index.ts'

const utf8 = (s: string) => new TextEncoder().encode(s)

describe('sha256', () => {
  // FIPS 180-2 known answers; reproduce with
  //   printf '' | sha256sum      printf 'abc' | sha256sum
  it.each([
    { desc: 'empty input', input: '', want: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    { desc: '"abc" (FIPS 180-2 B.1)', input: 'abc', want: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  ])('$desc', ({ input, want }) => {
    expect(toHex(sha256(utf8(input)))).toBe(want)
  })

  it('hashes the concatenation of its parts', () => {
    // Prepare
    const parts = [utf8('a'), new Uint8Array(0), utf8('bc')]
    // Execute / Assert
    expect(sha256(...parts)).toEqual(sha256(utf8('abc')))
  })

  it('returns a plain 32-byte Uint8Array, not a Buffer', () => {
    const digest = sha256(utf8('x'))
    expect(digest).toHaveLength(32)
    expect(Buffer.isBuffer(digest)).toBe(false)
  })
})

describe('toHex / fromHex', () => {
  it('round-trips and prints lowercase', () => {
    const bytes = new Uint8Array([0x00, 0xab, 0xff, 0x10])
    expect(toHex(bytes)).toBe('00abff10')
    expect(fromHex('00ABff10')).toEqual(bytes)
  })

  it('respects a view into a larger buffer', () => {
    const view = new Uint8Array([1, 2, 3, 4]).subarray(1, 3)
    expect(toHex(view)).toBe('0203')
  })

  it('accepts the expected length', () => {
    expect(fromHex('00'.repeat(32), 32)).toHaveLength(32)
  })

  it.each([
    { desc: 'odd length', hex: 'abc' },
    { desc: 'a non-hex character', hex: '0g' },
    { desc: 'a 0x prefix', hex: '0x00' },
    { desc: 'whitespace', hex: '00 ' },
    { desc: 'a trailing newline', hex: '00\n' },
  ])('rejects $desc with LEDGER_INVALID_ARGUMENT', ({ hex }) => {
    expect(() => fromHex(hex)).toThrow(expect.objectContaining({ code: 'LEDGER_INVALID_ARGUMENT' }))
  })

  it.each([
    { desc: 'one byte short', hex: '00'.repeat(31) },
    { desc: 'one byte long', hex: '00'.repeat(33) },
  ])('rejects $desc of an expected 32', ({ hex }) => {
    expect(() => fromHex(hex, 32)).toThrow(expect.objectContaining({ code: 'LEDGER_INVALID_ARGUMENT', message: expect.stringContaining('want 32') }))
  })
})

describe('asPlainBytes', () => {
  it('turns a Buffer into a plain view of the same memory', () => {
    const buffer = Buffer.from([1, 2, 3])
    const plain = asPlainBytes(buffer)
    expect(Buffer.isBuffer(plain)).toBe(false)
    expect(plain).toEqual(new Uint8Array([1, 2, 3]))
    expect(plain.buffer).toBe(buffer.buffer)
  })
})
