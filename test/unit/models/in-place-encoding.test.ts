import { describe, expect, it } from 'vitest'
import {
  ModelEncodingError,
  ModelShapeMismatchError,
  allocateEncoding,
  computeDelta,
  computeDeltaInto,
  createWeightsEncoder,
  decodeWeights,
  decodeWeightsInPlace,
  encodeHeader,
  encodeWeights,
  mulberry32,
  type TensorShape,
  type Weights,
} from '../../../models/core/index.ts'

/**
 * Layouts whose headers end at every offset mod 4 (names of 1 to 4 bytes,
 * ranks 0 to 3), with odd tensor sizes, an empty tensor and a scalar: the
 * in-place buffers must pad their start so the values stay aligned.
 */
const LAYOUTS: readonly (readonly TensorShape[])[] = [
  [{ name: 'a', shape: [3] }],
  [{ name: 'ab', shape: [7, 3] }],
  [
    { name: 'abc', shape: [5] },
    { name: 'd', shape: [] },
  ],
  [
    { name: 'abcd', shape: [1, 1, 13] },
    { name: 'empty', shape: [0, 4] },
    { name: 'é/kernel', shape: [11, 9] },
  ],
  [
    { name: 'dense_0/kernel', shape: [17, 33] },
    { name: 'dense_0/bias', shape: [33] },
    { name: 'output/kernel', shape: [33, 1] },
    { name: 'output/bias', shape: [1] },
  ],
]

/** Random finite float32 values of every magnitude, with a -0 and a NaN payload kept bit for bit. */
function randomWeights(shapes: readonly TensorShape[], seed: number): Weights {
  const random = mulberry32(seed)
  return {
    tensors: shapes.map((s) => {
      const n = s.shape.reduce((a, d) => a * d, 1)
      const values = Float32Array.from({ length: n }, () => (random() - 0.5) * 2 ** Math.floor(random() * 40 - 20))
      if (n > 2) values[1] = -0
      return { name: s.name, shape: [...s.shape], values }
    }),
  }
}

describe('createWeightsEncoder', () => {
  it.each(LAYOUTS.map((shapes, i) => ({ i, shapes })))('layout $i: filled in place, finish() is encodeWeights byte for byte', ({ i, shapes }) => {
    // Prepare
    const weights = randomWeights(shapes, 100 + i)
    const encoder = createWeightsEncoder(shapes)
    // Execute
    encoder.weights.tensors.forEach((t, k) => t.values.set(weights.tensors[k]!.values))
    const bytes = encoder.finish()
    // Assert
    expect(Buffer.from(bytes).equals(Buffer.from(encodeWeights(weights)))).toBe(true)
  })

  it('writes the values into the encoding itself: no second copy of the model', () => {
    // Prepare
    const shapes = LAYOUTS[3]!
    const encoder = createWeightsEncoder(shapes)
    // Execute
    const bytes = encoder.finish()
    encoder.weights.tensors[0]!.values[0] = 1
    // Assert: the view and the bytes share memory (on this little-endian host).
    expect(encoder.weights.tensors[0]!.values.buffer).toBe(bytes.buffer)
    expect(decodeWeights(bytes, shapes).tensors[0]!.values[0]).toBe(1)
  })

  it("refuses a layout the format cannot hold, with the encoder's code", () => {
    expect(() => createWeightsEncoder([{ name: '', shape: [1] }])).toThrow(ModelEncodingError)
  })
})

describe('decodeWeightsInPlace', () => {
  it.each(LAYOUTS.map((shapes, i) => ({ i, shapes })))('layout $i: the values of decodeWeights, as views of the downloaded buffer', ({ i, shapes }) => {
    // Prepare: bytes as a download lands them, in a buffer from allocateEncoding.
    const encoded = encodeWeights(randomWeights(shapes, 200 + i))
    const bytes = allocateEncoding(shapes)
    bytes.set(encoded)
    // Execute
    const inPlace = decodeWeightsInPlace(bytes, shapes)
    // Assert
    const copied = decodeWeights(encoded, shapes)
    expect(inPlace.tensors.map((t) => [t.name, t.shape])).toEqual(copied.tensors.map((t) => [t.name, t.shape]))
    inPlace.tensors.forEach((t, k) => {
      expect(
        Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).equals(
          Buffer.from(copied.tensors[k]!.values.buffer, copied.tensors[k]!.values.byteOffset, copied.tensors[k]!.values.byteLength),
        ),
      ).toBe(true)
      expect(t.values.buffer).toBe(bytes.buffer)
    })
  })

  it('puts the first value of an allocateEncoding buffer on a 4-byte boundary, whatever the header length', () => {
    for (const shapes of LAYOUTS) {
      const bytes = allocateEncoding(shapes)
      expect((bytes.byteOffset + encodeHeader(shapes).length) % 4).toBe(0)
    }
  })

  it('copies when the values are not aligned, with the same values', () => {
    // Prepare: a 21-byte header (8 + 2 + 2 + 1 + 2 × 4) at byte offset 1 puts the values at 22.
    const shapes = LAYOUTS[1]!
    const encoded = encodeWeights(randomWeights(shapes, 7))
    const misaligned = new Uint8Array(encoded.length + 1).subarray(1)
    misaligned.set(encoded)
    // Execute
    const weights = decodeWeightsInPlace(misaligned, shapes)
    // Assert
    expect(weights.tensors[0]!.values.buffer).not.toBe(misaligned.buffer)
    expect(encodeWeights(weights)).toEqual(encoded)
  })

  it('refuses what decodeWeights refuses, with the same errors', () => {
    const shapes = LAYOUTS[2]!
    const encoded = encodeWeights(randomWeights(shapes, 3))
    expect(() => decodeWeightsInPlace(encoded.subarray(0, encoded.length - 1), shapes)).toThrow(ModelEncodingError)
    const trailing = new Uint8Array(encoded.length + 4)
    trailing.set(encoded)
    expect(() => decodeWeightsInPlace(trailing, shapes)).toThrow(ModelEncodingError)
    expect(() => decodeWeightsInPlace(encoded, LAYOUTS[0])).toThrow(ModelShapeMismatchError)
  })
})

describe('computeDeltaInto', () => {
  it.each(LAYOUTS.map((shapes, i) => ({ i, shapes })))('layout $i: the bits of computeDelta, also written over local itself', ({ i, shapes }) => {
    // Prepare
    const global = randomWeights(shapes, 300 + i)
    const local = randomWeights(shapes, 400 + i)
    const want = encodeWeights(computeDelta(local, global))
    const encoder = createWeightsEncoder(shapes)
    encoder.weights.tensors.forEach((t, k) => t.values.set(local.tensors[k]!.values))
    // Execute: out aliases local, as the site does with its trained weights.
    computeDeltaInto(encoder.weights, encoder.weights, global)
    // Assert
    expect(Buffer.from(encoder.finish()).equals(Buffer.from(want))).toBe(true)
  })

  it('refuses an output of another layout', () => {
    const global = randomWeights(LAYOUTS[1]!, 1)
    expect(() => computeDeltaInto(randomWeights(LAYOUTS[0]!, 2), global, global)).toThrow(ModelShapeMismatchError)
  })
})
