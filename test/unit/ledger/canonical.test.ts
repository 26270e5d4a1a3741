import { describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical, encodeCanonicalInto, equalBytes, fromHex, toHex, type CanonicalValue } from '../../../ledger/core/index.ts'

// Known answers from the CBOR spec, not from our code: RFC 8949 Appendix A
// examples, and hand-assembled bytes for the refusals.
describe('encodeCanonical', () => {
  it.each([
    { desc: 'small uint (RFC 8949 App. A: 10 -> 0a)', value: 10, want: '0a' },
    { desc: 'uint needing one more byte (24 -> 1818)', value: 24, want: '1818' },
    { desc: 'negative int (-100 -> 3863)', value: -100, want: '3863' },
    { desc: 'non-integer in the shortest float that holds it (1.5 -> f93e00)', value: 1.5, want: 'f93e00' },
    { desc: 'float32 when float16 would round (3.4028234663852886e38 -> fa7f7fffff)', value: 3.4028234663852886e38, want: 'fa7f7fffff' },
    { desc: 'float64 when float32 would round (1.1 -> fb3ff199999999999a)', value: 1.1, want: 'fb3ff199999999999a' },
    { desc: 'float16 subnormal (2^-24 -> f90001)', value: 2 ** -24, want: 'f90001' },
    { desc: 'text string ("IETF" -> 6449455446)', value: 'IETF', want: '6449455446' },
    { desc: 'byte string', value: new Uint8Array([1, 2, 3, 4]), want: '4401020304' },
    { desc: 'array', value: [1, [2, 3]], want: '8201820203' },
    { desc: 'null, true, false', value: [null, true, false], want: '83f6f5f4' },
    { desc: 'bigint beyond 2^53', value: 2n ** 60n, want: '1b1000000000000000' },
  ])('$desc', ({ value, want }) => {
    // Prepare / Execute
    const bytes = encodeCanonical(value)
    // Assert
    expect(toHex(bytes)).toBe(want)
  })

  it('sorts map keys in RFC 8949 order: bytewise over the encoded keys (so shorter UTF-8 first)', () => {
    // Prepare: "é" is one JS character but two UTF-8 bytes, so it sorts with
    // two-byte keys, after "ab" (0x61 < 0xc3); "z" sorts first (one byte).
    const value = { é: 1, ab: 2, z: 3, aaa: 4, b: 5 }
    // Execute
    const bytes = encodeCanonical(value)
    // Assert: a5 | 61 62 05 ("b") | 61 7a 03 ("z") | 62 61 62 02 ("ab") | 62 c3 a9 01 ("é") | 63 61 61 61 04 ("aaa")
    expect(toHex(bytes)).toBe('a5' + '616205' + '617a03' + '62616202' + '62c3a901' + '6361616104')
  })

  it.each([
    { desc: 'undefined', value: undefined },
    { desc: 'undefined inside an object', value: { a: undefined } },
    { desc: 'NaN', value: Number.NaN },
    { desc: 'Infinity', value: Number.POSITIVE_INFINITY },
    { desc: 'a Map', value: new Map([[1, 2]]) },
    { desc: 'a Date', value: new Date(0) },
    { desc: 'a Float32Array', value: new Float32Array([1]) },
    { desc: 'a lone UTF-16 surrogate', value: 'a\ud800b' },
    { desc: 'a lone surrogate in a key', value: { '\udc00': 1 } },
    { desc: 'a bigint beyond 64 bits', value: 2n ** 70n },
  ])('refuses $desc with LEDGER_NON_CANONICAL', ({ value }) => {
    expect(() => encodeCanonical(value as CanonicalValue)).toThrow(expect.objectContaining({ code: 'LEDGER_NON_CANONICAL' }))
  })

  it('writes every float16 subnormal as float16, nested too (cborg alone would write 3 * 2^-24 as float32)', () => {
    // Prepare: keys chosen so that UTF-8 order differs from JS string order ("é" after "ab").
    const value: CanonicalValue = { é: [3 * 2 ** -24], ab: { z: -(1023 * 2 ** -24), y: 0.5 }, b: 1 }
    // Execute
    const bytes = encodeCanonical(value)
    // Assert: a3 | 61 62 01 ("b") | 62 61 62 a2 61 79 f93800 61 7a f983ff ("ab") | 62 c3 a9 81 f90003 ("é")
    expect(toHex(bytes)).toBe('a3' + '616201' + '626162a26179f93800617af983ff' + '62c3a981f90003')
    expect(decodeCanonical(bytes)).toEqual(value)
    const destination = new Uint8Array(64)
    expect(toHex(destination.subarray(0, encodeCanonicalInto(value, destination)))).toBe(toHex(bytes))
    expect(encodeCanonicalInto(value, new Uint8Array(10))).toBeUndefined()
  })

  it.each([
    {
      desc: 'a cycle through an array holding a float16 subnormal',
      value: (() => {
        const a: unknown[] = [2 ** -23 + 2 ** -24]
        a.push(a)
        return a
      })(),
    },
    { desc: 'undefined next to a float16 subnormal', value: [3 * 2 ** -24, undefined] },
    { desc: 'a Map holding a float16 subnormal', value: [new Map([['x', 3 * 2 ** -24]])] },
  ])('refuses $desc with LEDGER_NON_CANONICAL', ({ value }) => {
    expect(() => encodeCanonical(value as CanonicalValue)).toThrow(expect.objectContaining({ code: 'LEDGER_NON_CANONICAL' }))
  })

  it('accepts a well-formed surrogate pair', () => {
    expect(decodeCanonical(encodeCanonical('😀'))).toBe('😀')
  })
})

describe('decodeCanonical', () => {
  it('round-trips a nested value to the same bytes', () => {
    // Prepare
    const value: CanonicalValue = { round: 3, site: 'eu-3', metrics: { loss: 0.125, acc: 0.9 }, delta: new Uint8Array([9, 8, 7]), tags: ['a', 'b'], none: null, big: -(2n ** 63n) }
    const bytes = encodeCanonical(value)
    // Execute
    const decoded = decodeCanonical(bytes)
    // Assert
    expect(decoded).toEqual(value)
    expect(equalBytes(encodeCanonical(decoded), bytes)).toBe(true)
  })

  it.each([
    { desc: 'unsorted keys ({"b":1,"a":2})', hex: 'a2616201616102' },
    { desc: 'longer key before shorter ({"aa":1,"b":2})', hex: 'a262616101616202' },
    { desc: 'trailing bytes after the value', hex: '0100' },
    { desc: 'a float64 where float16 holds the value (1.5 as fb3ff8000000000000)', hex: 'fb3ff8000000000000' },
    { desc: 'a float32 where float16 holds the value (1.5 as fa3fc00000)', hex: 'fa3fc00000' },
    { desc: 'a float64 where float32 holds the value (100000.5 as fb40f86a0800000000)', hex: 'fb40f86a0800000000' },
    { desc: 'an integral float (1.0 as float64)', hex: 'fb3ff0000000000000' },
    { desc: 'duplicate keys ({"a":1,"a":2})', hex: 'a2616101616102' },
    { desc: 'a non-minimal integer (1 as 1801)', hex: '1801' },
    { desc: 'a non-minimal length (bytes of 1 as 580101)', hex: '580101' },
    { desc: 'an indefinite-length array', hex: '9f01ff' },
    { desc: 'a tag (epoch time)', hex: 'c11a514b67b0' },
    { desc: 'an integer map key', hex: 'a10102' },
    { desc: 'undefined', hex: 'f7' },
    { desc: 'NaN', hex: 'f97e00' },
    { desc: 'invalid UTF-8', hex: '62c328' },
    { desc: 'empty input', hex: '' },
    { desc: 'a truncated map', hex: 'a2616101' },
  ])('rejects $desc with LEDGER_NON_CANONICAL', ({ hex }) => {
    expect(() => decodeCanonical(fromHex(hex))).toThrow(expect.objectContaining({ code: 'LEDGER_NON_CANONICAL', name: 'CanonicalEncodingError' }))
  })
})

describe('equalBytes', () => {
  it.each([
    { desc: 'equal', a: '0102', b: '0102', want: true },
    { desc: 'one byte differs', a: '0102', b: '0103', want: false },
    { desc: 'prefix', a: '0102', b: '01', want: false },
    { desc: 'both empty', a: '', b: '', want: true },
  ])('$desc', ({ a, b, want }) => {
    expect(equalBytes(fromHex(a), fromHex(b))).toBe(want)
  })
})

describe('encodeCanonicalInto', () => {
  const values: CanonicalValue[] = [null, 0, -1.5, 'é', new Uint8Array(40), [1, [2, { b: 1, a: 'x' }]], { zz: 1, a: 2n ** 63n, m: { k: new Uint8Array(300) } }]

  it('writes exactly the bytes encodeCanonical returns', () => {
    const destination = new Uint8Array(4096)
    for (const value of values) {
      const written = encodeCanonicalInto(value, destination)
      expect(written).toBeDefined()
      expect(toHex(destination.subarray(0, written))).toBe(toHex(encodeCanonical(value)))
    }
  })

  it('is undefined when the bytes do not fit, or cborg refuses the value; throws CanonicalEncodingError for what the options refuse', () => {
    expect(encodeCanonicalInto(new Uint8Array(100), new Uint8Array(50))).toBeUndefined()
    expect(encodeCanonicalInto({ f: (() => 1) as unknown as CanonicalValue }, new Uint8Array(50))).toBeUndefined()
    expect(() => encodeCanonicalInto({ a: undefined as unknown as CanonicalValue }, new Uint8Array(50))).toThrow(expect.objectContaining({ code: 'LEDGER_NON_CANONICAL' }))
  })
})
