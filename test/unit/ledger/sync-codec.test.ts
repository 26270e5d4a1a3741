import { describe, expect, it } from 'vitest'
import {
  MAX_ERROR_MESSAGE_LENGTH,
  decodeBlobFrame,
  decodeBlobRequest,
  decodeCanonical,
  decodeCheckpointFrame,
  decodeCheckpointRequest,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeBlobFrame,
  encodeBlobRequest,
  encodeCanonical,
  encodeCheckpointFrame,
  encodeCheckpointRequest,
  encodeFrame,
  encodeSignedCheckpoint,
  encodeSyncFrame,
  encodeSyncRequest,
  errorFrame,
  frameSize,
  sha256,
  signCheckpoint,
  signerFromSeed,
  splitFrames,
  toHex,
  type BlobFrame,
  type CanonicalValue,
  type CheckpointFrame,
  type SyncFrame,
} from '../../../ledger/core/index.ts'

const coordinator = signerFromSeed(new Uint8Array(32).fill(9))
const checkpoint = signCheckpoint(coordinator, { origin: 'study-1', size: 12, root: sha256(new TextEncoder().encode('root')) })
const hash = sha256(new TextEncoder().encode('blob'))

/** The canonical bytes of `map` with `changes` applied (undefined deletes a field). */
function mutated(bytes: Uint8Array, changes: Record<string, CanonicalValue | undefined>): Uint8Array {
  const map: Record<string, CanonicalValue> = { ...(decodeCanonical(bytes) as Record<string, CanonicalValue>) }
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete map[key]
    else map[key] = value
  }
  return encodeCanonical(map)
}

function withTrailingByte(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...bytes, 0x00])
}

describe('encodeFrame / splitFrames', () => {
  // Known answers from the protobuf varint documentation (protobuf.dev/programming-guides/encoding):
  // 1 is 01, 150 is 96 01, 300 is ac 02. A length of 0 is the single byte 00.
  it.each([
    { length: 0, prefix: '00' },
    { length: 1, prefix: '01' },
    { length: 127, prefix: '7f' },
    { length: 128, prefix: '8001' },
    { length: 150, prefix: '9601' },
    { length: 300, prefix: 'ac02' },
    { length: 16_384, prefix: '808001' },
  ])('prefixes a $length-byte payload with the varint $prefix', ({ length, prefix }) => {
    // Prepare
    const payload = new Uint8Array(length).fill(7)
    // Execute
    const frame = encodeFrame(payload)
    // Assert
    expect(toHex(frame.subarray(0, prefix.length / 2))).toBe(prefix)
    expect(frame.subarray(prefix.length / 2)).toEqual(payload)
  })

  it('cuts a stream into the frames it was made of, wherever the chunks split it', () => {
    // Prepare
    const payloads = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(200).fill(9), Uint8Array.of(4)]
    const wire = Uint8Array.from(payloads.flatMap((p) => [...encodeFrame(p)]))
    for (let cut = 0; cut <= wire.length; cut++) {
      // Execute: the first chunk, then the rest appended to what was left over
      const first = splitFrames(wire.subarray(0, cut), 1024)
      const second = splitFrames(Uint8Array.from([...first.rest, ...wire.subarray(cut)]), 1024)
      // Assert
      expect([...first.frames, ...second.frames].map((f) => toHex(f))).toEqual(payloads.map((p) => toHex(p)))
      expect(second.rest.length).toBe(0)
    }
  })

  it('leaves an unfinished frame in rest and does not touch the buffer', () => {
    // Prepare
    const frame = encodeFrame(new Uint8Array(10).fill(1))
    const partial = frame.subarray(0, 6)
    const copy = Uint8Array.from(partial)
    // Execute
    const { frames, rest } = splitFrames(partial, 1024)
    // Assert
    expect(frames).toEqual([])
    expect(rest).toEqual(copy)
    expect(partial).toEqual(copy)
  })

  it('accepts a payload of exactly maxFrameBytes and refuses one byte more', () => {
    // Prepare
    const atLimit = encodeFrame(new Uint8Array(300))
    const overLimit = encodeFrame(new Uint8Array(301))
    // Execute / Assert
    expect(splitFrames(atLimit, 300).frames).toHaveLength(1)
    expect(() => splitFrames(overLimit, 300)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_TOO_LARGE', expected: 300, calculated: 301 }))
  })

  it('refuses an oversized length as soon as the prefix shows it, before the payload arrives', () => {
    // Prepare: 0xff alone already means >= 127
    const firstByte = Uint8Array.of(0xff)
    // Execute / Assert
    expect(() => splitFrames(firstByte, 100)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_TOO_LARGE', expected: 100, calculated: 127 }))
  })

  it('tells the size of the next frame once its prefix is in, before its payload', () => {
    // Prepare
    const frame = encodeFrame(new Uint8Array(300))
    // Execute / Assert: ac 02 is 300, so the frame is 302 bytes
    expect(frameSize(frame.subarray(0, 1), 1024)).toBeUndefined()
    expect(frameSize(frame.subarray(0, 2), 1024)).toBe(302)
    expect(frameSize(frame, 1024)).toBe(302)
    expect(() => frameSize(frame.subarray(0, 2), 299)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_TOO_LARGE' }))
  })

  it.each([
    { desc: 'a non-minimal prefix (80 00 is 0 in two bytes)', wire: [0x80, 0x00] },
    { desc: 'a non-minimal prefix (81 80 00 is 1 in three bytes)', wire: [0x81, 0x80, 0x00] },
    { desc: 'a prefix longer than 8 bytes', wire: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00] },
  ])('refuses $desc', ({ wire }) => {
    // Execute / Assert
    expect(() => splitFrames(Uint8Array.from(wire), Number.MAX_SAFE_INTEGER)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field: 'prefix' }))
  })
})

describe('sync request', () => {
  const request = { origin: 'study-1', from: 3, to: 10 }

  it('round-trips as the canonical map { origin, from, to }', () => {
    // Execute
    const bytes = encodeSyncRequest(request)
    // Assert
    expect(decodeCanonical(bytes)).toEqual(request)
    expect(decodeSyncRequest(bytes)).toEqual(request)
  })

  it('allows an empty range (from = to)', () => {
    expect(decodeSyncRequest(encodeSyncRequest({ origin: 'o', from: 5, to: 5 }))).toEqual({ origin: 'o', from: 5, to: 5 })
  })

  it.each([
    { desc: 'from > to', changes: { from: 11 }, field: 'from' },
    { desc: 'negative from', changes: { from: -1 }, field: 'from' },
    { desc: 'fractional to', changes: { to: 2.5 }, field: 'to' },
    { desc: 'to beyond 2^53', changes: { to: 2n ** 60n }, field: 'to' },
    { desc: 'from as a string', changes: { from: '3' }, field: 'from' },
    { desc: 'a missing origin', changes: { origin: undefined }, field: 'origin' },
    { desc: 'an empty origin', changes: { origin: '' }, field: 'origin' },
    { desc: 'an origin of 129 characters', changes: { origin: 'x'.repeat(129) }, field: 'origin' },
    { desc: 'an extra field', changes: { t: 'sync' }, field: '"t"' },
  ])('refuses $desc', ({ changes, field }) => {
    // Prepare
    const bytes = mutated(encodeCanonical(request), changes)
    // Execute / Assert
    expect(() => decodeSyncRequest(bytes)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field }))
  })

  it('refuses trailing garbage, a truncated message and a non-map', () => {
    // Prepare
    const bytes = encodeSyncRequest(request)
    // Execute / Assert
    for (const bad of [withTrailingByte(bytes), bytes.subarray(0, bytes.length - 1), encodeCanonical([1, 2])]) {
      expect(() => decodeSyncRequest(bad)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED' }))
    }
  })

  it('refuses to encode what it would refuse to decode', () => {
    expect(() => encodeSyncRequest({ origin: 'o', from: 4, to: 3 })).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field: 'from' }))
  })
})

describe('sync frames', () => {
  const frames: SyncFrame[] = [
    { type: 'head', checkpoint },
    { type: 'head', checkpoint: undefined },
    { type: 'entry', bytes: Uint8Array.of(0xa1, 0x61, 0x61, 0x01) },
    { type: 'checkpoint', checkpoint },
    { type: 'end', size: 12 },
    { type: 'error', code: 'LEDGER_SYNC_ORIGIN_MISMATCH', message: 'request names origin "b", want "a"' },
  ]

  it.each(frames.map((frame) => ({ frame, desc: `${frame.type}${frame.type === 'head' && frame.checkpoint === undefined ? ' (none)' : ''}` })))('round-trips a $desc frame', ({ frame }) => {
    // Execute
    const decoded = decodeSyncFrame(encodeSyncFrame(frame))
    // Assert
    expect(decoded).toEqual(frame)
  })

  it('carries the checkpoint in its own wire form', () => {
    // Execute
    const map = decodeCanonical(encodeSyncFrame({ type: 'head', checkpoint })) as Record<string, CanonicalValue>
    // Assert
    expect(Object.keys(map).sort()).toEqual(['cp', 't'])
    expect(map.t).toBe('head')
    expect(toHex(map.cp as Uint8Array)).toBe(toHex(encodeSignedCheckpoint(checkpoint)))
  })

  it.each([
    { desc: 'an unknown type', base: { type: 'end', size: 1 } as SyncFrame, changes: { t: 'entries' }, field: 't' },
    { desc: 'a missing type', base: { type: 'end', size: 1 } as SyncFrame, changes: { t: undefined }, field: 't' },
    { desc: 'an entry that is not bytes', base: { type: 'entry', bytes: Uint8Array.of(1) } as SyncFrame, changes: { entry: 'abc' }, field: 'entry' },
    { desc: 'an entry frame with a seq', base: { type: 'entry', bytes: Uint8Array.of(1) } as SyncFrame, changes: { seq: 3 }, field: '"seq"' },
    { desc: 'a checkpoint frame without cp', base: { type: 'checkpoint', checkpoint } as SyncFrame, changes: { cp: undefined }, field: 'cp' },
    { desc: 'a cp that is not a signed checkpoint', base: { type: 'checkpoint', checkpoint } as SyncFrame, changes: { cp: Uint8Array.of(1, 2, 3) }, field: 'cp' },
    {
      desc: 'a cp with a truncated signature',
      base: { type: 'head', checkpoint } as SyncFrame,
      changes: { cp: new TextEncoder().encode(checkpoint.note.replace('\n\n', '\n')) },
      field: 'cp',
    },
    { desc: 'a negative end size', base: { type: 'end', size: 1 } as SyncFrame, changes: { size: -1 }, field: 'size' },
    { desc: 'an error without a code', base: { type: 'error', code: 'X', message: 'm' } as SyncFrame, changes: { code: undefined }, field: 'code' },
    { desc: 'an error message that is too long', base: { type: 'error', code: 'X', message: 'm' } as SyncFrame, changes: { message: 'm'.repeat(MAX_ERROR_MESSAGE_LENGTH + 1) }, field: 'message' },
  ])('refuses $desc', ({ base, changes, field }) => {
    // Prepare
    const bytes = mutated(encodeSyncFrame(base), changes)
    // Execute / Assert
    expect(() => decodeSyncFrame(bytes)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field }))
  })

  it('refuses trailing garbage after a frame', () => {
    expect(() => decodeSyncFrame(withTrailingByte(encodeSyncFrame({ type: 'end', size: 3 })))).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field: 'encoding' }))
  })
})

describe('errorFrame', () => {
  it('cuts long messages to MAX_ERROR_MESSAGE_LENGTH, so they always encode', () => {
    // Execute
    const frame = errorFrame('LEDGER_X', 'y'.repeat(5000))
    // Assert
    expect(frame.message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH)
    expect(decodeSyncFrame(encodeSyncFrame(frame))).toEqual(frame)
  })
})

describe('blob request and frames', () => {
  it('round-trips a request for a 32-byte hash', () => {
    expect(decodeBlobRequest(encodeBlobRequest({ hash }))).toEqual({ hash })
  })

  it.each([
    { desc: 'a 31-byte hash', changes: { hash: hash.subarray(0, 31) } },
    { desc: 'a 33-byte hash', changes: { hash: Uint8Array.from([...hash, 0]) } },
    { desc: 'a hex string', changes: { hash: toHex(hash) } },
  ])('refuses a request with $desc', ({ changes }) => {
    expect(() => decodeBlobRequest(mutated(encodeCanonical({ hash }), changes))).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field: 'hash' }))
  })

  it.each<BlobFrame>([
    { type: 'blob', sizeBytes: 1_000_000 },
    { type: 'chunk', data: Uint8Array.of(1, 2, 3) },
    { type: 'not-found' },
    { type: 'error', code: 'LEDGER_X', message: '' },
  ])('round-trips a $type frame', (frame) => {
    expect(decodeBlobFrame(encodeBlobFrame(frame))).toEqual(frame)
  })

  it('refuses an empty chunk and a fractional size', () => {
    expect(() => decodeBlobFrame(encodeCanonical({ t: 'chunk', data: new Uint8Array(0) }))).toThrow(expect.objectContaining({ field: 'data' }))
    expect(() => decodeBlobFrame(encodeCanonical({ t: 'blob', size: 1.5 }))).toThrow(expect.objectContaining({ field: 'size' }))
  })

  it('refuses sync frame types on the blob protocol', () => {
    expect(() => decodeBlobFrame(encodeSyncFrame({ type: 'end', size: 0 }))).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field: 't' }))
  })
})

describe('checkpoint request and frames', () => {
  const proof = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2))]

  it('round-trips a request', () => {
    expect(decodeCheckpointRequest(encodeCheckpointRequest({ origin: 'study-1', from: 4 }))).toEqual({ origin: 'study-1', from: 4 })
  })

  it.each<CheckpointFrame>([
    { type: 'checkpoint', checkpoint, proof },
    { type: 'checkpoint', checkpoint, proof: [] },
    { type: 'checkpoint', checkpoint: undefined, proof: [] },
    { type: 'error', code: 'LEDGER_X', message: 'no' },
  ])('round-trips a $type frame', (frame) => {
    expect(decodeCheckpointFrame(encodeCheckpointFrame(frame))).toEqual(frame)
  })

  it.each([
    { desc: 'a proof hash of 31 bytes', changes: { proof: [proof[0]!, proof[1]!.subarray(0, 31)] }, field: 'proof[1]' },
    { desc: 'a proof that is not an array', changes: { proof: proof[0]! }, field: 'proof' },
    { desc: 'a proof of 129 hashes', changes: { proof: Array.from({ length: 129 }, () => proof[0]!) }, field: 'proof' },
    { desc: 'a proof without a checkpoint', changes: { cp: undefined }, field: 'proof' },
  ])('refuses $desc', ({ changes, field }) => {
    // Prepare
    const bytes = mutated(encodeCheckpointFrame({ type: 'checkpoint', checkpoint, proof }), changes)
    // Execute / Assert
    expect(() => decodeCheckpointFrame(bytes)).toThrow(expect.objectContaining({ code: 'LEDGER_SYNC_FRAME_MALFORMED', field }))
  })
})
