/**
 * The one canonical byte encoding of `Weights`, and its SHA-256 hash. Weights
 * travel (gRPC `bytes`), are stored and are hashed into the lineage log in
 * exactly this form, so the auditor can recompute every hash bit for bit.
 *
 * Layout (all integers little-endian, no padding anywhere):
 *
 *     "FLW1"                     4 bytes ASCII magic (0x46 0x4c 0x57 0x31)
 *     count                      u32   number of tensors, <= MAX_TENSORS
 *     count x tensor header:
 *       nameLength               u16   1..MAX_NAME_BYTES
 *       name                     nameLength bytes of well-formed UTF-8
 *       rank                     u8    0..MAX_RANK
 *       dims                     rank x u32, each 0..MAX_DIM
 *     values                     every tensor's values, tensor after tensor in
 *                                header order, row-major, IEEE-754 float32 LE
 *
 * Nothing follows the values. The total length is therefore a function of
 * the names and shapes alone (`encodedSize`), which is also the upload limit.
 *
 * Why it is canonical: every field has exactly one representation (fixed
 * widths, no optional fields, no padding, names compared as bytes after a
 * strict UTF-8 check that also keeps a leading BOM), and the decoder refuses
 * anything the encoder would not produce: a bad magic, out-of-range counts,
 * ranks or dims, malformed UTF-8, duplicate or empty names, a short buffer or
 * trailing bytes. So `encodeWeights(decodeWeights(b))` equals `b` for every
 * accepted `b`, and equal weights have one hash.
 *
 * Values are copied bit for bit: -0 and +0 differ, and a NaN keeps its payload.
 * Finiteness is a separate check (`assertFinite`) because it is a policy of
 * the caller, not of the format.
 */
import { kernelFloat32Array } from './kernel-memory.ts'
import { createHash } from 'node:crypto'
import { ModelEncodingError } from '../errors.ts'
import { MAX_DIM, MAX_NAME_BYTES, MAX_RANK, MAX_TENSORS, WEIGHTS_MAGIC } from './constants.ts'
import { checkLayout, checkValueCounts } from './layout.ts'
import type { Tensor, TensorShape, Weights } from './weights.ts'
import { sizeOfShape } from './weights.ts'

/** Fixed part before the tensor headers: magic + u32 count. */
const PREAMBLE_BYTES = 8
/** Smallest tensor header: u16 name length, a 1-byte name, u8 rank 0. */
const MIN_HEADER_BYTES = 4

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
const utf8Encoder = new TextEncoder()
// fatal: malformed UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM stays part of the name.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

interface HeaderLayout {
  readonly names: readonly Uint8Array[]
  readonly headerBytes: number
  readonly valueCount: number
}

/** Validates names and shapes against the format limits and measures the header. */
function layoutOf(shapes: readonly TensorShape[]): HeaderLayout {
  if (shapes.length > MAX_TENSORS) {
    throw new ModelEncodingError(`${shapes.length} tensors, at most ${MAX_TENSORS} are encodable`)
  }
  const seen = new Set<string>()
  const names: Uint8Array[] = []
  let headerBytes = PREAMBLE_BYTES
  let valueCount = 0
  for (const t of shapes) {
    const name = utf8Encoder.encode(t.name)
    if (name.length === 0 || name.length > MAX_NAME_BYTES) {
      throw new ModelEncodingError(`tensor "${t.name}": name is ${name.length} bytes, want 1..${MAX_NAME_BYTES}`)
    }
    // TextEncoder turns lone surrogates into U+FFFD, so two names could share bytes; refuse them.
    if (utf8Decoder.decode(name) !== t.name) {
      throw new ModelEncodingError(`tensor "${t.name}": name is not well-formed Unicode`)
    }
    if (seen.has(t.name)) throw new ModelEncodingError(`tensor "${t.name}": duplicate name`)
    seen.add(t.name)
    if (t.shape.length > MAX_RANK) {
      throw new ModelEncodingError(`tensor "${t.name}": rank ${t.shape.length}, at most ${MAX_RANK}`)
    }
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) {
        throw new ModelEncodingError(`tensor "${t.name}": dimension ${d}, want an integer in 0..${MAX_DIM}`)
      }
    }
    names.push(name)
    headerBytes += 2 + name.length + 1 + 4 * t.shape.length
    valueCount += sizeOfShape(t.shape)
  }
  return { names, headerBytes, valueCount }
}

/** Writes magic, count and tensor headers at offset 0; returns the end offset. */
function writeHeader(out: Uint8Array, shapes: readonly TensorShape[], names: readonly Uint8Array[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out.set(WEIGHTS_MAGIC, 0)
  view.setUint32(4, shapes.length, true)
  let off = PREAMBLE_BYTES
  shapes.forEach((t, i) => {
    const name = names[i]!
    view.setUint16(off, name.length, true)
    out.set(name, off + 2)
    off += 2 + name.length
    view.setUint8(off, t.shape.length)
    off += 1
    for (const d of t.shape) {
      view.setUint32(off, d, true)
      off += 4
    }
  })
  return off
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
}

/**
 * Exact byte length of the encoding of weights with these names and shapes.
 * Throws `ModelEncodingError` for layouts the format cannot hold.
 */
export function encodedSize(shapes: readonly TensorShape[]): number {
  const { headerBytes, valueCount } = layoutOf(shapes)
  return headerBytes + 4 * valueCount
}

/**
 * The header of the encoding of weights laid out as `shapes`: every encoding
 * of that layout starts with exactly these bytes, and its values follow them,
 * tensor after tensor, 4 little-endian bytes each. What lets a commit read
 * and write models slice by slice instead of whole.
 */
export function encodeHeader(shapes: readonly TensorShape[]): Uint8Array {
  const { names, headerBytes } = layoutOf(shapes)
  const out = new Uint8Array(headerBytes)
  writeHeader(out, shapes, names)
  return out
}

/** One slice of one tensor's values in an encoding: `count` values from index `start`, at byte `offset`. */
export interface ValueSlice {
  readonly tensor: TensorShape
  readonly start: number
  readonly count: number
  readonly offset: number
}

/**
 * The values of an encoding laid out as `shapes`, as slices of at most
 * `sliceValues` values, tensor by tensor in order: how a check or a sum walks
 * a model through a reader without holding it whole.
 */
export function* valueSlices(shapes: readonly TensorShape[], sliceValues: number): Generator<ValueSlice> {
  let offset = layoutOf(shapes).headerBytes
  for (const tensor of shapes) {
    const total = sizeOfShape(tensor.shape)
    for (let start = 0; start < total; start += sliceValues) {
      const count = Math.min(sliceValues, total - start)
      yield { tensor, start, count, offset }
      offset += 4 * count
    }
  }
}

/**
 * `bytes` (4 little-endian bytes per value) as a fresh, aligned Float32Array,
 * from `allocate` (e.g. `kernelFloat32Array`, for arrays the aggregation
 * kernel reads in place); every value is written.
 */
export function valuesFromBytes(bytes: Uint8Array, allocate: (length: number) => Float32Array = (length) => new Float32Array(length)): Float32Array {
  const out = allocate(bytes.length >> 2)
  if (LITTLE_ENDIAN_HOST) bytesOf(out).set(bytes.subarray(0, out.length * 4))
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let j = 0; j < out.length; j++) out[j] = view.getFloat32(4 * j, true)
  }
  return out
}

/** Writes `values` into `out` at `offset` as 4 little-endian bytes each. */
export function valuesIntoBytes(out: Uint8Array, offset: number, values: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) out.set(bytesOf(values), offset)
  else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    for (let j = 0; j < values.length; j++) view.setFloat32(offset + 4 * j, values[j]!, true)
  }
}

/**
 * Encodes weights into their canonical bytes (one allocation). Throws
 * `ModelEncodingError` for layouts the format cannot hold and
 * `ModelShapeMismatchError` when a values array does not fit its shape.
 */
export function encodeWeights(weights: Weights): Uint8Array {
  const { names, headerBytes, valueCount } = layoutOf(weights.tensors)
  checkValueCounts(weights, '')
  const out = new Uint8Array(headerBytes + 4 * valueCount)
  let off = writeHeader(out, weights.tensors, names)
  if (LITTLE_ENDIAN_HOST) {
    // The in-memory float32 bytes already are the wire bytes: copy them wholesale.
    for (const t of weights.tensors) {
      out.set(bytesOf(t.values), off)
      off += t.values.byteLength
    }
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    for (const t of weights.tensors) {
      for (let j = 0; j < t.values.length; j++, off += 4) view.setFloat32(off, t.values[j]!, true)
    }
  }
  return out
}

function truncated(what: string, need: number, offset: number, length: number): ModelEncodingError {
  return new ModelEncodingError(`truncated at ${what}: need ${need} bytes at offset ${offset}, have ${length - offset}`)
}

/** Where the values of an encoding start, and the names and shapes its header declares. */
export interface DecodedLayout {
  readonly shapes: readonly TensorShape[]
  /** Byte offset of the first value (the header's length). */
  readonly valuesOffset: number
  readonly valueCount: number
}

/**
 * Checks an encoding's header and length as `decodeWeights` does (the same
 * errors, the same bounds on hostile input) without reading its values:
 * what `decodeWeights` and `decodeWeightsInPlace` share.
 */
export function decodeLayout(bytes: Uint8Array, expected?: readonly TensorShape[]): DecodedLayout {
  const length = bytes.length
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (length < PREAMBLE_BYTES) throw truncated('preamble', PREAMBLE_BYTES, 0, length)
  for (let i = 0; i < WEIGHTS_MAGIC.length; i++) {
    if (bytes[i] !== WEIGHTS_MAGIC[i]) {
      throw new ModelEncodingError(`bad magic ${toHex(bytes.subarray(0, 4))}, want ${toHex(WEIGHTS_MAGIC)} ("FLW1")`)
    }
  }
  const count = view.getUint32(4, true)
  if (count > MAX_TENSORS) throw new ModelEncodingError(`tensor count ${count}, at most ${MAX_TENSORS}`)
  if (PREAMBLE_BYTES + count * MIN_HEADER_BYTES > length) {
    throw truncated('tensor headers', count * MIN_HEADER_BYTES, PREAMBLE_BYTES, length)
  }
  // No tensor can hold more values than the buffer has room for; this bound keeps the products below small.
  const maxValues = Math.floor(length / 4)
  const shapes: TensorShape[] = []
  const seen = new Set<string>()
  let off = PREAMBLE_BYTES
  let valueCount = 0
  for (let i = 0; i < count; i++) {
    if (off + 2 > length) throw truncated(`tensor ${i} name length`, 2, off, length)
    const nameLength = view.getUint16(off, true)
    off += 2
    if (nameLength === 0 || nameLength > MAX_NAME_BYTES) {
      throw new ModelEncodingError(`tensor ${i}: name is ${nameLength} bytes, want 1..${MAX_NAME_BYTES}`)
    }
    if (off + nameLength > length) throw truncated(`tensor ${i} name`, nameLength, off, length)
    let name: string
    try {
      name = utf8Decoder.decode(bytes.subarray(off, off + nameLength))
    } catch (cause) {
      throw new ModelEncodingError(`tensor ${i}: name is not valid UTF-8`, { cause })
    }
    off += nameLength
    if (seen.has(name)) throw new ModelEncodingError(`tensor ${i}: duplicate name "${name}"`)
    seen.add(name)
    if (off + 1 > length) throw truncated(`tensor "${name}" rank`, 1, off, length)
    const rank = view.getUint8(off)
    off += 1
    if (rank > MAX_RANK) throw new ModelEncodingError(`tensor "${name}": rank ${rank}, at most ${MAX_RANK}`)
    if (off + 4 * rank > length) throw truncated(`tensor "${name}" dims`, 4 * rank, off, length)
    const shape: number[] = []
    let size = 1
    for (let r = 0; r < rank; r++, off += 4) {
      const d = view.getUint32(off, true)
      if (d > MAX_DIM) throw new ModelEncodingError(`tensor "${name}": dimension ${d}, at most ${MAX_DIM}`)
      shape.push(d)
      size *= d
      if (size > maxValues) throw new ModelEncodingError(`tensor "${name}": shape [${shape.join(',')}...] exceeds the ${length}-byte input`)
    }
    valueCount += size
    if (valueCount > maxValues) throw new ModelEncodingError(`tensor "${name}": values exceed the ${length}-byte input`)
    shapes.push({ name, shape })
  }
  if (expected !== undefined) checkLayout(shapes, expected, '')
  const want = off + 4 * valueCount
  if (length < want) throw truncated('values', 4 * valueCount, off, length)
  if (length > want) throw new ModelEncodingError(`${length - want} trailing bytes after offset ${want}`)
  return { shapes, valuesOffset: off, valueCount }
}

/**
 * Decodes canonical weights bytes. Safe on hostile input: every read is
 * bounds-checked, counts, ranks and dims are capped before anything is
 * allocated, and the total length must match the headers exactly.
 *
 * With `expected`, names and shapes must equal it in order, else
 * `ModelShapeMismatchError` (checked before the values are copied). Other
 * defects throw `ModelEncodingError`.
 *
 * The returned tensors are views into one freshly allocated, aligned
 * Float32Array; they never alias `bytes`. With `allocate`, each tensor's
 * values are instead their own array from `allocate` (see
 * `decodeWeightsShared`).
 */
export function decodeWeights(bytes: Uint8Array, expected?: readonly TensorShape[], allocate?: (length: number) => Float32Array): Weights {
  const { shapes, valuesOffset, valueCount } = decodeLayout(bytes, expected)
  let off = valuesOffset
  const want = valuesOffset + 4 * valueCount
  if (allocate !== undefined) {
    return {
      tensors: shapes.map((s) => {
        const n = sizeOfShape(s.shape)
        const values = valuesFromBytes(bytes.subarray(off, off + 4 * n), allocate)
        off += 4 * n
        return { name: s.name, shape: s.shape, values }
      }),
    }
  }
  const all = new Float32Array(valueCount)
  if (LITTLE_ENDIAN_HOST) {
    bytesOf(all).set(bytes.subarray(off, want))
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let j = 0; j < valueCount; j++, off += 4) all[j] = view.getFloat32(off, true)
  }
  const tensors: Tensor[] = []
  let start = 0
  for (const s of shapes) {
    const n = sizeOfShape(s.shape)
    tensors.push({ name: s.name, shape: s.shape, values: all.subarray(start, start + n) })
    start += n
  }
  return { tensors }
}

/**
 * `decodeWeights`, with each tensor's values allocated in the aggregation
 * kernel's shared memory (kernel-memory.ts), where `fedAvg` reads them in
 * place and can split the work over two threads; ordinary arrays where that
 * memory is unavailable. Same values, same errors. Hand the tensors' arrays
 * around as they are: a view made on one (`subarray`) must not outlive it.
 */
export function decodeWeightsShared(bytes: Uint8Array, expected?: readonly TensorShape[]): Weights {
  return decodeWeights(bytes, expected, kernelFloat32Array)
}

/** SHA-256 of bytes, as a plain Uint8Array of 32 bytes. */
export function hashBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/**
 * SHA-256 of `encodeWeights(weights)`. On little-endian hosts the values are
 * streamed into the hash from the tensors themselves, without building the
 * encoding; the digest is the same by construction.
 */
export function hashWeights(weights: Weights): Uint8Array {
  if (!LITTLE_ENDIAN_HOST) return hashBytes(encodeWeights(weights))
  const { names, headerBytes } = layoutOf(weights.tensors)
  checkValueCounts(weights, '')
  const header = new Uint8Array(headerBytes)
  writeHeader(header, weights.tensors, names)
  const hash = createHash('sha256').update(header)
  for (const t of weights.tensors) hash.update(bytesOf(t.values))
  return new Uint8Array(hash.digest())
}

const HEX_DIGITS = '0123456789abcdef'

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!
  return s
}

/**
 * Bytes of a hex string. Strict, unlike `Buffer.from(s, 'hex')` which stops
 * silently at the first bad digit: the string must have even length and only
 * hex digits (either case), no prefix or whitespace; otherwise
 * `ModelEncodingError`.
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new ModelEncodingError(`hex string has odd length ${hex.length}`)
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(hex.charCodeAt(2 * i))
    const lo = hexValue(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0) {
      throw new ModelEncodingError(`hex string has a non-hex character at offset ${hi < 0 ? 2 * i : 2 * i + 1}`)
    }
    out[i] = (hi << 4) | lo
  }
  return out
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
