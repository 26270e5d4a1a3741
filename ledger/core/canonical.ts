/**
 * Canonical bytes for everything that is hashed or signed (log entries,
 * signed statements, study specs): deterministic CBOR (RFC 8949 §4.2.1).
 *
 * - Map keys sorted bytewise (RFC 8949 order), integers and lengths in their
 *   shortest form, every non-integer number as a 64-bit float.
 * - `undefined` is refused: an absent field must be absent, not undefined.
 * - Decoding is strict and then re-encodes: bytes that decode but are not the
 *   one canonical form of their value (unsorted keys, a float16, duplicate
 *   keys, trailing bytes) are refused. So one value has exactly one encoding
 *   and one hash, and nobody can make a second valid encoding of an entry.
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

// Key order: cborg's default map sorter (shorter UTF-8 key first, then
// bytewise) is exactly RFC 8949 §4.2.1 order (bytewise over the *encoded*
// keys) when every key is a text string, because a text string's header grows
// with its length. Canonical values only have text keys (objects; decoding
// refuses anything else), and the default sorter keeps cborg on its direct
// encode path, about twice as fast as `rfc8949EncodeOptions`' token path.
// The "map keys follow RFC 8949 order" test pins the equivalence.
const ENCODE_OPTIONS: EncodeOptions = {
  float64: true,
  typeEncoders: {
    ...Object.fromEntries(REFUSED_TYPES.map((t) => [t, refuse(`a ${t}`, 'use a plain object, an array or a Uint8Array')])),
    undefined: refuse('undefined', 'omit the field instead'),
    number: (n: unknown) => {
      if (typeof n === 'number' && !Number.isFinite(n)) throw new CanonicalEncodingError(`non-finite number ${n} is not encodable`)
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
    // cborg throws plain Errors (unsupported type, bigint out of range): give
    // callers the one coded error this module promises.
    if (err instanceof CanonicalEncodingError) throw err
    throw new CanonicalEncodingError(`not encodable: ${(err as Error).message}`, { cause: err })
  }
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
