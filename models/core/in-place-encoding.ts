/**
 * Canonical encodings built and read in place, so that a site holds a model
 * once instead of twice: a download is decoded into views of the bytes it
 * arrived in, and a trained model is read out of TF.js straight into the
 * buffer that becomes its encoded delta. At 50M parameters each copy saved is
 * 191 MiB (bench:site-memory).
 *
 * The bytes are exactly those of `encodeWeights` / `decodeWeights` (same
 * header, same little-endian values); only where the values live changes.
 * A Float32Array view needs its values 4-byte aligned, and an encoding's
 * header has any length, so `allocateEncoding` pads the start of the buffer
 * to put the first value on a 4-byte boundary. On a big-endian host the
 * values cannot be viewed as float32: there both functions fall back to a
 * copy, with the same results.
 */
import { decodeLayout, decodeWeights, encodedSize, encodeHeader, valuesIntoBytes } from './canonical.ts'
import type { Tensor, TensorShape, Weights } from './weights.ts'
import { sizeOfShape } from './weights.ts'

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

/**
 * A zeroed buffer of exactly `encodedSize(shapes)` bytes, placed in its
 * ArrayBuffer so that the values of an encoding of `shapes` start on a
 * 4-byte boundary: what to download a model of that layout into before
 * `decodeWeightsInPlace`. Throws `ModelEncodingError` for layouts the format
 * cannot hold.
 */
export function allocateEncoding(shapes: readonly TensorShape[]): Uint8Array {
  const headerBytes = encodeHeader(shapes).length
  const totalBytes = encodedSize(shapes)
  const pad = (4 - (headerBytes % 4)) % 4
  return new Uint8Array(new ArrayBuffer(pad + totalBytes), pad, totalBytes)
}

/** An encoding being filled: write the tensors' values, then `finish()` returns the canonical bytes. */
export interface WeightsEncoder {
  /** The layout's tensors, values zeroed and writable (on little-endian hosts, views into the encoding itself). */
  readonly weights: Weights
  /** The canonical encoding of `weights` as they now stand (`encodeWeights(weights)`, byte for byte). */
  finish(): Uint8Array
}

/**
 * An encoding of the layout `shapes` to fill in place (header written,
 * values zero). On little-endian hosts `finish()` copies nothing: the
 * tensors already are the encoding's values. Throws `ModelEncodingError`
 * for layouts the format cannot hold.
 */
export function createWeightsEncoder(shapes: readonly TensorShape[]): WeightsEncoder {
  const header = encodeHeader(shapes)
  const bytes = allocateEncoding(shapes)
  bytes.set(header, 0)
  let offset = bytes.byteOffset + header.length
  const tensors = shapes.map((s): Tensor => {
    const n = sizeOfShape(s.shape)
    const values = LITTLE_ENDIAN_HOST ? new Float32Array(bytes.buffer, offset, n) : new Float32Array(n)
    offset += 4 * n
    return { name: s.name, shape: [...s.shape], values }
  })
  const weights: Weights = { tensors }
  return {
    weights,
    finish: () => {
      if (!LITTLE_ENDIAN_HOST) {
        let at = header.length
        for (const t of tensors) {
          valuesIntoBytes(bytes, at, t.values)
          at += t.values.byteLength
        }
      }
      return bytes
    },
  }
}

/**
 * `decodeWeights`, with the same checks and errors, but the tensors are
 * views into `bytes` itself when its values are 4-byte aligned (as in a
 * buffer from `allocateEncoding`) on a little-endian host; otherwise a copy,
 * as `decodeWeights` makes. The caller must leave `bytes` unchanged while
 * the weights are in use.
 */
export function decodeWeightsInPlace(bytes: Uint8Array, expected?: readonly TensorShape[]): Weights {
  const { shapes, valuesOffset } = decodeLayout(bytes, expected)
  const start = bytes.byteOffset + valuesOffset
  if (!LITTLE_ENDIAN_HOST || start % 4 !== 0) return decodeWeights(bytes, expected)
  let offset = start
  return {
    tensors: shapes.map((s): Tensor => {
      const n = sizeOfShape(s.shape)
      const values = new Float32Array(bytes.buffer, offset, n)
      offset += 4 * n
      return { name: s.name, shape: s.shape, values }
    }),
  }
}
