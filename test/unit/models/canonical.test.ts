import { describe, expect, it } from 'vitest'
import {
  MAX_TENSORS,
  ModelEncodingError,
  ModelShapeMismatchError,
  decodeWeights,
  encodeWeights,
  encodedSize,
  fromHex,
  hashBytes,
  hashWeights,
  initialWeights,
  modelShapes,
  toHex,
  type ModelSpec,
  type Weights,
} from '../../../models/core/index.ts'

/**
 * A logistic regression over two inputs: kernel [[1], [-2]], bias [0.5].
 * Its canonical bytes, field by field from the format in canonical.ts:
 *
 *   464c5731                      "FLW1"
 *   02000000                      2 tensors (u32le)
 *   0d00 6f75747075742f6b65726e656c  name length 13, "output/kernel"
 *   02 02000000 01000000          rank 2, dims [2, 1]
 *   0b00 6f75747075742f62696173   name length 11, "output/bias"
 *   01 01000000                   rank 1, dims [1]
 *   0000803f 000000c0             1.0f (0x3f800000), -2.0f (0xc0000000), little-endian
 *   0000003f                      0.5f (0x3f000000)
 */
const TINY_HEX =
  '464c5731' + '02000000' + '0d00' + '6f75747075742f6b65726e656c' + '02' + '02000000' + '01000000' + '0b00' + '6f75747075742f62696173' + '01' + '01000000' + '0000803f' + '000000c0' + '0000003f'
// echo -n "$TINY_HEX" | xxd -r -p | sha256sum
const TINY_SHA256 = '60edec23281f2be79511720fa92b00a943eb057d459febafd4f1429382194d9b'

function tiny(): Weights {
  return {
    tensors: [
      { name: 'output/kernel', shape: [2, 1], values: Float32Array.of(1, -2) },
      { name: 'output/bias', shape: [1], values: Float32Array.of(0.5) },
    ],
  }
}

const TINY_SHAPES = modelShapes({ kind: 'logreg' }, 2)

/** Little-endian u32 hex, for hand-assembling hostile inputs. */
function u32(n: number): string {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return toHex(b)
}

describe('encodeWeights', () => {
  it('produces the hand-derived golden bytes', () => {
    // Prepare
    const weights = tiny()
    // Execute
    const bytes = encodeWeights(weights)
    // Assert
    expect(toHex(bytes)).toBe(TINY_HEX)
    expect(bytes.length).toBe(62)
  })

  it('has exactly the length encodedSize predicts', () => {
    // Prepare
    const shapes = modelShapes({ kind: 'mlp', hidden: [5, 3], activation: 'relu' }, 7)
    const weights = initialWeights({ kind: 'mlp', hidden: [5, 3], activation: 'relu' }, 7, 1)
    // Execute
    const size = encodedSize(shapes)
    const bytes = encodeWeights(weights)
    // Assert
    expect(size).toBe(bytes.length)
    expect(encodedSize(TINY_SHAPES)).toBe(62)
  })

  it('keeps float bits exactly (-0 and +0 differ)', () => {
    // Prepare
    const pos: Weights = { tensors: [{ name: 'b', shape: [1], values: Float32Array.of(0) }] }
    const neg: Weights = { tensors: [{ name: 'b', shape: [1], values: Float32Array.of(-0) }] }
    // Execute
    const a = encodeWeights(pos)
    const b = encodeWeights(neg)
    // Assert
    expect(toHex(a.subarray(-4))).toBe('00000000')
    expect(toHex(b.subarray(-4))).toBe('00000080')
  })

  it('encodes a subarray view from its own offset', () => {
    // Prepare
    const backing = Float32Array.of(9, 9, 1, -2, 0.5, 9)
    const weights: Weights = {
      tensors: [
        { name: 'output/kernel', shape: [2, 1], values: backing.subarray(2, 4) },
        { name: 'output/bias', shape: [1], values: backing.subarray(4, 5) },
      ],
    }
    // Execute
    const bytes = encodeWeights(weights)
    // Assert
    expect(toHex(bytes)).toBe(TINY_HEX)
  })

  it.each([
    ['empty name', [{ name: '', shape: [1], values: new Float32Array(1) }]],
    ['lone surrogate in name', [{ name: 'a\ud800', shape: [1], values: new Float32Array(1) }]],
    ['name over 256 bytes', [{ name: 'x'.repeat(257), shape: [1], values: new Float32Array(1) }]],
    [
      'duplicate name',
      [
        { name: 'a', shape: [1], values: new Float32Array(1) },
        { name: 'a', shape: [1], values: new Float32Array(1) },
      ],
    ],
    ['rank 9', [{ name: 'a', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], values: new Float32Array(1) }]],
    ['fractional dimension', [{ name: 'a', shape: [1.5], values: new Float32Array(1) }]],
  ])('refuses %s', (_desc, tensors) => {
    // Prepare
    const weights: Weights = { tensors }
    // Execute
    const run = (): Uint8Array => encodeWeights(weights)
    // Assert
    expect(run).toThrow(ModelEncodingError)
  })

  it('refuses a values array that does not fit its shape', () => {
    // Prepare
    const weights: Weights = { tensors: [{ name: 'a', shape: [3], values: new Float32Array(2) }] }
    // Execute
    const run = (): Uint8Array => encodeWeights(weights)
    // Assert
    expect(run).toThrow(ModelShapeMismatchError)
  })
})

describe('decodeWeights', () => {
  it('decodes the golden bytes', () => {
    // Prepare
    const bytes = fromHex(TINY_HEX)
    // Execute
    const weights = decodeWeights(bytes, TINY_SHAPES)
    // Assert
    expect(weights.tensors.map((t) => [t.name, t.shape, Array.from(t.values)])).toEqual([
      ['output/kernel', [2, 1], [1, -2]],
      ['output/bias', [1], [0.5]],
    ])
  })

  it('round-trips: decode(encode(w)) equals w and encode(decode(b)) equals b', () => {
    // Prepare
    const spec: ModelSpec = { kind: 'mlp', hidden: [4], activation: 'tanh' }
    const weights = initialWeights(spec, 3, 42)
    // Execute
    const bytes = encodeWeights(weights)
    const decoded = decodeWeights(bytes, modelShapes(spec, 3))
    // Assert
    expect(decoded).toEqual(weights)
    expect(encodeWeights(decoded)).toEqual(bytes)
  })

  it('returns aligned values that do not alias the input, even from an odd offset', () => {
    // Prepare
    const golden = fromHex(TINY_HEX)
    const backing = new Uint8Array(golden.length + 1)
    backing.set(golden, 1)
    const bytes = backing.subarray(1)
    // Execute
    const weights = decodeWeights(bytes)
    backing.fill(0)
    // Assert
    for (const t of weights.tensors) expect(t.values.byteOffset % 4).toBe(0)
    expect(Array.from(weights.tensors[0]!.values)).toEqual([1, -2])
  })

  it('rejects a bad magic', () => {
    // Prepare
    const bytes = fromHex(TINY_HEX)
    bytes[3] = 0x32 // "FLW2"
    // Execute
    const run = (): Weights => decodeWeights(bytes)
    // Assert
    expect(run).toThrow(ModelEncodingError)
  })

  it('rejects every truncation of valid bytes', () => {
    // Prepare
    const bytes = fromHex(TINY_HEX)
    // Execute
    const codes = Array.from({ length: bytes.length }, (_, n) => {
      try {
        decodeWeights(bytes.subarray(0, n))
        return 'accepted'
      } catch (error) {
        return (error as ModelEncodingError).code
      }
    })
    // Assert
    expect(new Set(codes)).toEqual(new Set([ModelEncodingError.code]))
  })

  it('rejects a trailing byte', () => {
    // Prepare
    const bytes = fromHex(TINY_HEX + '00')
    // Execute
    const run = (): Weights => decodeWeights(bytes)
    // Assert
    expect(run).toThrow(ModelEncodingError)
  })

  it.each([
    ['count 2^32-1', '464c5731' + u32(0xffffffff)],
    ['count just over the cap', '464c5731' + u32(MAX_TENSORS + 1)],
    ['count the bytes cannot hold', '464c5731' + u32(100) + '0100' + '61' + '00'],
    ['dims whose product overflows', '464c5731' + u32(1) + '0100' + '61' + '02' + u32(0x7fffffff) + u32(0x7fffffff)],
    ['dimension over 2^31-1', '464c5731' + u32(1) + '0100' + '61' + '01' + u32(0x80000000)],
    ['rank 9', '464c5731' + u32(1) + '0100' + '61' + '09' + u32(1).repeat(9) + '00000000'],
    ['empty name', '464c5731' + u32(1) + '0000' + '00' + '00000000'],
    ['name longer than 256 bytes', '464c5731' + u32(1) + '0101' + '61'.repeat(257) + '00' + '00000000'],
    ['invalid UTF-8 name', '464c5731' + u32(1) + '0100' + 'ff' + '00' + '00000000'],
    ['duplicate names', '464c5731' + u32(2) + ('0100' + '61' + '00').repeat(2) + '00000000'.repeat(2)],
  ])('rejects %s', (_desc, hex) => {
    // Prepare
    const bytes = fromHex(hex)
    // Execute
    const run = (): Weights => decodeWeights(bytes)
    // Assert
    expect(run).toThrow(ModelEncodingError)
  })

  it('accepts a hand-assembled scalar tensor (rank 0)', () => {
    // Prepare: one tensor "a" of rank 0 holding 2.0f (0x40000000).
    const bytes = fromHex('464c5731' + u32(1) + '0100' + '61' + '00' + '00000040')
    // Execute
    const weights = decodeWeights(bytes)
    // Assert
    expect(weights.tensors).toEqual([{ name: 'a', shape: [], values: Float32Array.of(2) }])
  })

  it('keeps a leading byte-order mark as part of the name', () => {
    // Prepare
    const weights: Weights = { tensors: [{ name: '\ufeffa', shape: [], values: Float32Array.of(1) }] }
    // Execute
    const decoded = decodeWeights(encodeWeights(weights))
    // Assert
    expect(decoded.tensors[0]!.name).toBe('\ufeffa')
  })

  it.each([
    ['a different shape', modelShapes({ kind: 'logreg' }, 3), 'output/kernel'],
    [
      'a different name',
      [
        { name: 'output/weight', shape: [2, 1] },
        { name: 'output/bias', shape: [1] },
      ],
      'output/weight',
    ],
    ['a missing tensor', [...TINY_SHAPES, { name: 'extra', shape: [1] }], 'extra'],
    ['an extra tensor', TINY_SHAPES.slice(0, 1), 'output/bias'],
  ])('rejects %s than expected with ModelShapeMismatchError', (_desc, expected, tensor) => {
    // Prepare
    const bytes = fromHex(TINY_HEX)
    // Execute
    let caught: unknown
    try {
      decodeWeights(bytes, expected)
    } catch (error) {
      caught = error
    }
    // Assert
    expect(caught).toBeInstanceOf(ModelShapeMismatchError)
    expect((caught as ModelShapeMismatchError).code).toBe('MODEL_SHAPE_MISMATCH')
    expect((caught as ModelShapeMismatchError).tensor).toBe(tensor)
  })

  it('reports the expected and actual shapes of a mismatch', () => {
    // Prepare
    const bytes = encodeWeights(initialWeights({ kind: 'logreg' }, 13, 0))
    // Execute
    let caught: ModelShapeMismatchError | undefined
    try {
      decodeWeights(bytes, modelShapes({ kind: 'logreg' }, 12))
    } catch (error) {
      caught = error as ModelShapeMismatchError
    }
    // Assert
    expect(caught?.tensor).toBe('output/kernel')
    expect(caught?.expected).toEqual({ name: 'output/kernel', shape: [12, 1] })
    expect(caught?.actual).toEqual({ name: 'output/kernel', shape: [13, 1] })
  })
})

describe('hashing', () => {
  it('hashBytes is SHA-256 (known answers)', () => {
    // Prepare
    // printf '' | sha256sum
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    // Execute
    const emptyHash = toHex(hashBytes(new Uint8Array(0)))
    const tinyHash = toHex(hashBytes(fromHex(TINY_HEX)))
    // Assert
    expect(emptyHash).toBe(empty)
    expect(tinyHash).toBe(TINY_SHA256)
  })

  it('hashWeights equals the hash of the encoding', () => {
    // Prepare
    const weights = initialWeights({ kind: 'mlp', hidden: [8, 4], activation: 'relu' }, 5, 3)
    // Execute
    const streamed = hashWeights(weights)
    const encoded = hashBytes(encodeWeights(weights))
    // Assert
    expect(toHex(streamed)).toBe(toHex(encoded))
    expect(toHex(hashWeights(tiny()))).toBe(TINY_SHA256)
  })

  it('gives equal weights built separately the same hash, and a one-bit change a different one', () => {
    // Prepare
    const a = tiny()
    const b = tiny()
    const c = tiny()
    new Uint32Array(c.tensors[1]!.values.buffer)[0]! ^= 1
    // Execute
    const [ha, hb, hc] = [a, b, c].map((w) => toHex(hashWeights(w)))
    // Assert
    expect(ha).toBe(hb)
    expect(hc).not.toBe(ha)
  })
})

describe('hex', () => {
  it('round-trips and accepts both cases', () => {
    // Prepare
    const bytes = Uint8Array.of(0x00, 0x0f, 0xa5, 0xff)
    // Execute
    const hex = toHex(bytes)
    // Assert
    expect(hex).toBe('000fa5ff')
    expect(fromHex(hex)).toEqual(bytes)
    expect(fromHex('000FA5FF')).toEqual(bytes)
    expect(fromHex('')).toEqual(new Uint8Array(0))
  })

  it.each(['abc', 'zz', '0x00', ' 00', '00 ', 'g0'])('rejects %j', (hex) => {
    // Prepare
    const input = hex
    // Execute
    const run = (): Uint8Array => fromHex(input)
    // Assert
    expect(run).toThrow(ModelEncodingError)
  })
})
