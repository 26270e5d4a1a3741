/**
 * Canonical bytes for everything that is hashed or signed (log entries,
 * signed statements, study specs): deterministic CBOR, RFC 8949 §4.2.1, with
 * preferred serialization of floats. PROTOCOL.md (Canonical CBOR) states the
 * profile in full, and docs/cbor-profile.md has the notes on this encoder; in
 * short:
 *
 * - Map keys sorted bytewise over their encoded bytes, integers and lengths
 *   in their shortest form, definite lengths only, no tags.
 * - A number with an integral value in the safe-integer range (|n| <= 2^53 - 1)
 *   is a CBOR integer (major type 0/1), -0 included (it encodes as 0). That is
 *   the one rule other stacks must know: such a value is an integer, never a
 *   float (Python: give `int`, not `float`). Bigints are integers; a bigint in
 *   the safe-integer range decodes as a number, one outside 64 bits is refused.
 * - Every other number is a float in the shortest of float16, float32 and
 *   float64 that holds its value exactly (float16 subnormals included). So
 *   0.5 is f93800, 1e-7 is a float64, and 2^53 as a number is fa5a000000.
 * - NaN and ±Infinity are refused, on encode and on decode.
 * - `undefined` is refused: an absent field must be absent, not undefined.
 * - Decoding is strict and then re-encodes: bytes that decode but are not the
 *   one canonical form of their value (unsorted keys, a float wider than
 *   needed, an integral float, duplicate keys, trailing bytes) are refused. So
 *   one value has exactly one encoding and one hash, and nobody can make a
 *   second valid encoding of an entry.
 *
 * Values are plain: null, boolean, number (safe integer or finite float),
 * bigint, string, Uint8Array, arrays and string-keyed objects of these.
 * Anything else (Map, Date, other typed arrays, strings with lone UTF-16
 * surrogates, bigints outside 64 bits) is refused at encode time, so that
 * whatever encodes also decodes. Two lossy corners are by design: -0 encodes
 * as the integer 0, and a bigint in the safe-integer range decodes as a number
 * (both have one encoding, which is what hashing needs).
 */
import { decode, encode, encodeInto, type EncodeOptions, type DecodeOptions } from 'cborg'
import { CanonicalEncodingError } from '../errors.ts'

export type CanonicalValue = null | boolean | number | bigint | string | Uint8Array | readonly CanonicalValue[] | { readonly [key: string]: CanonicalValue }

// In unicode mode a well-formed surrogate pair is one code point, so this only
// matches lone surrogates, which TextEncoder would silently turn into U+FFFD
// (two different strings, one encoding).
const LONE_SURROGATE = /\p{Cs}/u

function refuse(what: string, instead: string): () => never {
  return () => {
    throw new CanonicalEncodingError(`${what} is not encodable; ${instead}`)
  }
}

// cborg would encode these, but decodeCanonical refuses them (tags, non-string
// keys): refusing them here keeps "encodes" and "decodes" the same set.
const REFUSED_TYPES = [
  'Map',
  'Set',
  'DataView',
  'Date',
  'Tagged',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'BigUint64Array',
  'BigInt64Array',
  'Float32Array',
  'Float64Array',
] as const

// cborg picks the shortest float exactly as RFC 8949 §4.2.1 asks (it tries
// float16, then float32, and keeps one only if it reads back as the same
// value) except for float16 subnormals (|n| < 2^-14): its float16 conversion
// keeps only their leading bit, so 3 * 2^-24 fails the read-back and becomes
// a float32 where the float16 f90003 exists. Such a number makes the fast path
// throw this marker, and encodeSlow writes it itself.
const FLOAT16_SUBNORMAL = Symbol('float16 subnormal')

/** The float16 bits of a number that is exactly a nonzero float16 subnormal, else undefined (integers, NaN and ±Infinity included). */
function float16SubnormalBits(n: number): number | undefined {
  const units = Math.abs(n) * 2 ** 24 // exact: scaling by a power of two
  if (!(units < 1024) || units === 0 || !Number.isInteger(units)) return undefined
  return (n < 0 ? 0x8000 : 0) | units
}

// Key order: cborg's default map sorter (shorter UTF-8 key first, then
// bytewise) is exactly RFC 8949 §4.2.1 order (bytewise over the *encoded*
// keys) when every key is a text string, because a text string's header grows
// with its length. Canonical values only have text keys (objects; decoding
// refuses anything else), and the default sorter keeps cborg on its direct
// encode path, about twice as fast as `rfc8949EncodeOptions`' token path.
// The "map keys follow RFC 8949 order" test pins the equivalence.
const ENCODE_OPTIONS: EncodeOptions = {
  float64: false, // shortest float (cborg's default, stated because it is the profile)
  typeEncoders: {
    ...Object.fromEntries(REFUSED_TYPES.map((t) => [t, refuse(`a ${t}`, 'use a plain object, an array or a Uint8Array')])),
    undefined: refuse('undefined', 'omit the field instead'),
    number: (n: unknown) => {
      if (typeof n === 'number' && !Number.isFinite(n)) throw new CanonicalEncodingError(`non-finite number ${n} is not encodable`)
      if (typeof n === 'number' && float16SubnormalBits(n) !== undefined) throw FLOAT16_SUBNORMAL
      return null // fall through to the default encoder
    },
    string: (s: unknown) => {
      if (typeof s === 'string' && LONE_SURROGATE.test(s)) throw new CanonicalEncodingError(`string ${JSON.stringify(s)} has a lone UTF-16 surrogate and is not encodable`)
      return null
    },
  },
}

const DECODE_OPTIONS: DecodeOptions = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowIndefinite: false,
  allowBigInt: true,
}

/** Encodes a value into its one canonical byte form. */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  try {
    return encode(value, ENCODE_OPTIONS)
  } catch (err) {
    if (err === FLOAT16_SUBNORMAL) return encodeSlow(value)
    throw asCanonicalError(err)
  }
}

// cborg throws plain Errors (unsupported type, bigint out of range): give
// callers the one coded error this module promises.
function asCanonicalError(err: unknown): CanonicalEncodingError {
  if (err instanceof CanonicalEncodingError) return err
  if (err === FLOAT16_SUBNORMAL) return new CanonicalEncodingError('not encodable: a float16 subnormal inside a value that is neither an array nor an object')
  return new CanonicalEncodingError(`not encodable: ${(err as Error).message}`, { cause: err })
}

/**
 * encodeCanonical for a value holding a float16 subnormal (rare). Arrays and
 * objects are walked here and those numbers written as float16; every other
 * leaf is cborg's bytes. The result is what cborg would write if it got those
 * numbers right: the same heads, and map entries in the same order (bytewise
 * over the encoded keys, which for text keys is cborg's order).
 */
function encodeSlow(value: CanonicalValue): Uint8Array {
  const parts: Uint8Array[] = []
  const ancestors = new Set<object>()
  const walk = (v: CanonicalValue): void => {
    if (typeof v === 'number') {
      const bits = float16SubnormalBits(v)
      if (bits !== undefined) {
        parts.push(Uint8Array.of(0xf9, bits >> 8, bits & 0xff))
        return
      }
    }
    const isArray = Array.isArray(v)
    // What cborg writes as a map: objects whose tag is Object (plain ones, and
    // class instances, as on the fast path). Map, Date, Uint8Array, typed
    // arrays and the rest go to cborg, which writes or refuses them as usual.
    const isMap = !isArray && typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object Object]'
    if (!isArray && !isMap) {
      try {
        parts.push(encode(v, ENCODE_OPTIONS))
      } catch (err) {
        throw asCanonicalError(err)
      }
      return
    }
    if (ancestors.has(v as object)) throw new CanonicalEncodingError('not encodable: the value contains itself')
    ancestors.add(v as object)
    if (isArray) {
      const items = v as readonly CanonicalValue[]
      parts.push(header(4, items.length))
      for (const item of items) walk(item)
    } else {
      const record = v as { readonly [key: string]: CanonicalValue }
      const entries = Object.keys(record).map((key) => ({ key, bytes: encodeCanonical(key) }))
      entries.sort((a, b) => compareBytes(a.bytes, b.bytes))
      parts.push(header(5, entries.length))
      for (const { key, bytes } of entries) {
        parts.push(bytes)
        walk(record[key] as CanonicalValue)
      }
    }
    ancestors.delete(v as object)
  }
  walk(value)
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return bytes
}

/** The shortest head of major type `major` (4 array, 5 map) with argument `count`: cborg's uint head with the major type swapped in. */
function header(major: number, count: number): Uint8Array {
  const head = encode(count)
  head[0] = (major << 5) | (head[0]! & 0x1f)
  return head
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/**
 * encodeCanonical written into `destination` instead of a fresh array (cborg
 * writes the same bytes through the same encoder, with no chunk allocations):
 * the number of bytes written, or undefined when cborg could not write them
 * there (they do not fit, or the value is not encodable: encodeCanonical then
 * says which). Throws `CanonicalEncodingError` for what the encode options
 * refuse. The bytes are only valid until `destination` is written again.
 */
export function encodeCanonicalInto(value: CanonicalValue, destination: Uint8Array): number | undefined {
  try {
    return encodeInto(value, destination, ENCODE_OPTIONS).written
  } catch (err) {
    if (err instanceof CanonicalEncodingError) throw err
    if (err === FLOAT16_SUBNORMAL) {
      const bytes = encodeSlow(value)
      if (bytes.length > destination.length) return undefined
      destination.set(bytes)
      return bytes.length
    }
    return undefined
  }
}

/**
 * Decodes canonical bytes. Throws `CanonicalEncodingError` when the bytes are
 * malformed or are not the canonical encoding of the value they decode to.
 */
export function decodeCanonical(bytes: Uint8Array): CanonicalValue {
  let value: CanonicalValue
  try {
    value = decode(bytes, DECODE_OPTIONS) as CanonicalValue
  } catch (err) {
    throw new CanonicalEncodingError(`malformed CBOR: ${(err as Error).message}`)
  }
  const again = encodeCanonical(value)
  if (!equalBytes(again, bytes)) throw new CanonicalEncodingError(`bytes are not canonical (${bytes.length} bytes, canonical form has ${again.length})`)
  return value
}

/** Constant-time-irrelevant byte equality (hashes and encodings are public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
