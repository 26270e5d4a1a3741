/**
 * The replication wire format: frames, and the messages of the three
 * replication protocols (`replication/constants.ts` names them). Pure: no
 * I/O, clock or randomness, and arguments are never mutated.
 *
 * **Frames.** Every message travels as one frame: an unsigned LEB128 varint
 * (the multiformats unsigned-varint, minimal form only) giving the payload
 * length in bytes, then the payload. `splitFrames` cuts a receive buffer into
 * whole frames and refuses a length above the receiver's limit as soon as
 * the prefix shows it, before the payload arrives.
 *
 * **Messages.** Every payload is one canonical CBOR map (canonical.ts), so
 * there is exactly one encoding of each message. Requests have fixed fields;
 * response frames carry their type in `t`:
 *
 *   ledger sync   request  { origin, from, to }
 *                 response { t: 'head', cp? }           the server's latest signed checkpoint (absent: none)
 *                          { t: 'entry', entry }        entry bytes, seq from, from + 1, ...
 *                          { t: 'checkpoint', cp }      a stored checkpoint of the size the entries so far reach
 *                          { t: 'end', size }           the entries sent end at `size` (exclusive)
 *                          { t: 'error', code, message }
 *   blob          request  { hash }
 *                 response { t: 'blob', size } then { t: 'chunk', data }... adding up to `size`
 *                          { t: 'not-found' } | { t: 'error', code, message }
 *   checkpoint    request  { origin, from }
 *                 response { t: 'checkpoint', cp?, proof } the latest checkpoint and a consistency
 *                          proof from tree size `from` to its size | { t: 'error', code, message }
 *
 * `cp` is a signed checkpoint in its own wire form (`encodeSignedCheckpoint`,
 * checkpoint.ts), carried as a byte string. Decoding checks structure only
 * (types, lengths, ranges); signatures, Merkle roots and the sense of the
 * numbers are the shell's business.
 */
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './canonical.ts'
import { decodeSignedCheckpoint, encodeSignedCheckpoint, type SignedCheckpoint } from './checkpoint.ts'
import { HASH_LENGTH_BYTES } from './constants.ts'
import { SyncFrameMalformedError, SyncFrameTooLargeError } from './sync-errors.ts'

/** Longest origin (study id) a message may name, in UTF-16 code units; as checkpoint.ts allows. */
const MAX_ORIGIN_LENGTH = 128
/** Longest verifier key a checkpoint frame may carry: an origin, a key ID and base64 of 33 bytes. */
const MAX_VERIFIER_KEY_LENGTH = MAX_ORIGIN_LENGTH + 64
/** Longest error code an error frame may carry. */
const MAX_ERROR_CODE_LENGTH = 64
/** Longest error message an error frame may carry; `errorFrame` truncates to it. */
export const MAX_ERROR_MESSAGE_LENGTH = 1024
/** Most hashes a consistency proof can need: 2·log2(2^53) is < 128. */
const MAX_PROOF_HASHES = 128
/** A LEB128 varint of a safe integer needs at most 8 bytes (7 bits each, 2^56 > 2^53). */
const MAX_VARINT_BYTES = 8

// ---------------------------------------------------------------------------
// Frames

/** Whole frames cut from a receive buffer, and the bytes of the frame not yet complete. */
export interface SplitFrames {
  readonly frames: readonly Uint8Array[]
  readonly rest: Uint8Array
}

/** The frame of one payload: its length as a minimal unsigned LEB128 varint, then the payload. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = payload.length
  while (n >= 0x80) {
    prefix.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  prefix.push(n)
  const frame = new Uint8Array(prefix.length + payload.length)
  frame.set(prefix, 0)
  frame.set(payload, prefix.length)
  return frame
}

/**
 * Cuts `buffer` into the whole frames it starts with; `rest` is the
 * unfinished tail (empty when the buffer ends on a frame boundary). The
 * returned frames are views into `buffer`, which is not modified.
 * Throws `SyncFrameTooLargeError` for a payload length above
 * `maxFrameBytes`, and `SyncFrameMalformedError` for a prefix that is longer
 * than 8 bytes or not minimal (a trailing 0x00 byte).
 * Requires `maxFrameBytes` to be a non-negative safe integer.
 */
export function splitFrames(buffer: Uint8Array, maxFrameBytes: number): SplitFrames {
  const frames: Uint8Array[] = []
  let offset = 0
  for (;;) {
    const prefix = readLengthPrefix(buffer, offset, maxFrameBytes)
    if (prefix === undefined) break
    const start = offset + prefix.prefixBytes
    const end = start + prefix.length
    if (end > buffer.length) break
    frames.push(buffer.subarray(start, end))
    offset = end
  }
  return { frames, rest: buffer.subarray(offset) }
}

/**
 * The size of the frame `buffer` starts with, prefix included, once its
 * length prefix has arrived (the payload need not have); undefined before.
 * A receiver waits for that many bytes before cutting. Throws as splitFrames
 * does for a bad prefix.
 */
export function frameSize(buffer: Uint8Array, maxFrameBytes: number): number | undefined {
  const prefix = readLengthPrefix(buffer, 0, maxFrameBytes)
  return prefix === undefined ? undefined : prefix.prefixBytes + prefix.length
}

/** The payload length at `offset`, or undefined when the prefix has not fully arrived. */
function readLengthPrefix(buffer: Uint8Array, offset: number, maxFrameBytes: number): { length: number; prefixBytes: number } | undefined {
  let length = 0
  let scale = 1
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = buffer[offset + i]
    if (byte === undefined) return undefined
    length += (byte & 0x7f) * scale
    // Each further byte only adds, so a partial value above the limit already is too large.
    if (length > maxFrameBytes) throw new SyncFrameTooLargeError(maxFrameBytes, length)
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new SyncFrameMalformedError('frame', 'prefix', `is not minimal (byte ${i + 1} of ${i + 1} is 0x00)`)
      return { length, prefixBytes: i + 1 }
    }
    scale *= 0x80
  }
  throw new SyncFrameMalformedError('frame', 'prefix', `is longer than ${MAX_VARINT_BYTES} bytes`)
}

// ---------------------------------------------------------------------------
// Messages

/** The error frame every protocol may answer with instead of a result. */
export interface ErrorFrame {
  readonly type: 'error'
  /** The server's error code (`LEDGER_…`), as the server's error class has it. */
  readonly code: string
  readonly message: string
}

/** `{ origin, from, to }`: entries `[from, to)` of the log `origin`. Requires `0 <= from <= to`. */
export interface SyncRequest {
  readonly origin: string
  readonly from: number
  readonly to: number
}

/** A frame of a ledger-sync response (see the module doc for their order). */
export type SyncFrame =
  | { readonly type: 'head'; readonly checkpoint: SignedCheckpoint | undefined }
  | { readonly type: 'entry'; readonly bytes: Uint8Array }
  | { readonly type: 'checkpoint'; readonly checkpoint: SignedCheckpoint }
  | { readonly type: 'end'; readonly size: number }
  | ErrorFrame

/** `{ hash }`: the blob stored under this SHA-256. */
export interface BlobRequest {
  readonly hash: Uint8Array
}

/** A frame of a blob response. */
export type BlobFrame = { readonly type: 'blob'; readonly sizeBytes: number } | { readonly type: 'chunk'; readonly data: Uint8Array } | { readonly type: 'not-found' } | ErrorFrame

/** `{ origin, from }`: the latest checkpoint of `origin` and a consistency proof from tree size `from`. */
export interface CheckpointRequest {
  readonly origin: string
  readonly from: number
}

/**
 * The checkpoint response. `proof` proves the tree of size `from` a prefix
 * of the checkpoint's tree; it is empty when `checkpoint` is absent or when
 * `from` is 0 or not below the checkpoint's size.
 */
export type CheckpointFrame =
  | {
      readonly type: 'checkpoint'
      readonly checkpoint: SignedCheckpoint | undefined
      readonly proof: readonly Uint8Array[]
      /**
       * The verifier key (signed-note) of the key the server holds the log's
       * checkpoints to: a note names its signer only by key ID, so a client
       * discovering an unknown log learns the key here (and trusts it on
       * first use, or holds it to a pinned one). Absent with no checkpoint.
       */
      readonly verifierKey?: string | undefined
    }
  | ErrorFrame

type WireMap = { readonly [key: string]: CanonicalValue }

/** An error frame for `code` and `message`, the message cut to MAX_ERROR_MESSAGE_LENGTH. */
export function errorFrame(code: string, message: string): ErrorFrame {
  return { type: 'error', code: code.slice(0, MAX_ERROR_CODE_LENGTH), message: message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : message }
}

/** Canonical bytes of a sync request. Requires a valid request (`SyncFrameMalformedError`). */
export function encodeSyncRequest(request: SyncRequest): Uint8Array {
  return encodeChecked('sync request', { origin: request.origin, from: request.from, to: request.to }, readSyncRequest)
}

/** Decodes and checks a sync request. Throws `SyncFrameMalformedError`. */
export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  return readSyncRequest(decodeMap('sync request', bytes))
}

function readSyncRequest(map: WireMap): SyncRequest {
  const subject = 'sync request'
  onlyFields(subject, map, ['origin', 'from', 'to'])
  const origin = readOrigin(subject, map)
  const from = readCount(subject, map, 'from')
  const to = readCount(subject, map, 'to')
  if (from > to) throw new SyncFrameMalformedError(subject, 'from', `is ${from}, want <= to (${to})`)
  return { origin, from, to }
}

/** Canonical bytes of a sync response frame. Requires a valid frame. */
export function encodeSyncFrame(frame: SyncFrame): Uint8Array {
  const subject = `sync ${frame.type} frame`
  switch (frame.type) {
    case 'head':
      return encodeChecked(subject, frame.checkpoint === undefined ? { t: 'head' } : { t: 'head', cp: encodeSignedCheckpoint(frame.checkpoint) }, readSyncFrame)
    case 'entry':
      return encodeChecked(subject, { t: 'entry', entry: frame.bytes }, readSyncFrame)
    case 'checkpoint':
      return encodeChecked(subject, { t: 'checkpoint', cp: encodeSignedCheckpoint(frame.checkpoint) }, readSyncFrame)
    case 'end':
      return encodeChecked(subject, { t: 'end', size: frame.size }, readSyncFrame)
    case 'error':
      return encodeChecked(subject, errorMap(frame), readSyncFrame)
  }
}

/** Decodes and checks a sync response frame. Throws `SyncFrameMalformedError`. */
export function decodeSyncFrame(bytes: Uint8Array): SyncFrame {
  return readSyncFrame(decodeMap('sync frame', bytes))
}

function readSyncFrame(map: WireMap): SyncFrame {
  const type = readType('sync frame', map, ['head', 'entry', 'checkpoint', 'end', 'error'])
  const subject = `sync ${type} frame`
  switch (type) {
    case 'head':
      onlyFields(subject, map, ['t', 'cp'])
      return { type, checkpoint: map.cp === undefined ? undefined : readCheckpointField(subject, map) }
    case 'entry':
      onlyFields(subject, map, ['t', 'entry'])
      return { type, bytes: readBytes(subject, map, 'entry') }
    case 'checkpoint':
      onlyFields(subject, map, ['t', 'cp'])
      return { type, checkpoint: readCheckpointField(subject, map) }
    case 'end':
      onlyFields(subject, map, ['t', 'size'])
      return { type, size: readCount(subject, map, 'size') }
    default:
      return readError(subject, map)
  }
}

/** Canonical bytes of a blob request. Requires a 32-byte hash. */
export function encodeBlobRequest(request: BlobRequest): Uint8Array {
  return encodeChecked('blob request', { hash: request.hash }, readBlobRequest)
}

/** Decodes and checks a blob request. Throws `SyncFrameMalformedError`. */
export function decodeBlobRequest(bytes: Uint8Array): BlobRequest {
  return readBlobRequest(decodeMap('blob request', bytes))
}

function readBlobRequest(map: WireMap): BlobRequest {
  const subject = 'blob request'
  onlyFields(subject, map, ['hash'])
  return { hash: readBytes(subject, map, 'hash', HASH_LENGTH_BYTES) }
}

/** Canonical bytes of a blob response frame. Requires a valid frame. */
export function encodeBlobFrame(frame: BlobFrame): Uint8Array {
  const subject = `blob ${frame.type} frame`
  switch (frame.type) {
    case 'blob':
      return encodeChecked(subject, { t: 'blob', size: frame.sizeBytes }, readBlobFrame)
    case 'chunk':
      return encodeChecked(subject, { t: 'chunk', data: frame.data }, readBlobFrame)
    case 'not-found':
      return encodeChecked(subject, { t: 'not-found' }, readBlobFrame)
    case 'error':
      return encodeChecked(subject, errorMap(frame), readBlobFrame)
  }
}

/** Decodes and checks a blob response frame. Throws `SyncFrameMalformedError`. */
export function decodeBlobFrame(bytes: Uint8Array): BlobFrame {
  return readBlobFrame(decodeMap('blob frame', bytes))
}

function readBlobFrame(map: WireMap): BlobFrame {
  const type = readType('blob frame', map, ['blob', 'chunk', 'not-found', 'error'])
  const subject = `blob ${type} frame`
  switch (type) {
    case 'blob':
      onlyFields(subject, map, ['t', 'size'])
      return { type, sizeBytes: readCount(subject, map, 'size') }
    case 'chunk': {
      onlyFields(subject, map, ['t', 'data'])
      const data = readBytes(subject, map, 'data')
      if (data.length === 0) throw new SyncFrameMalformedError(subject, 'data', 'is empty, want at least 1 byte')
      return { type, data }
    }
    case 'not-found':
      onlyFields(subject, map, ['t'])
      return { type }
    default:
      return readError(subject, map)
  }
}

/** Canonical bytes of a checkpoint request. Requires a valid request. */
export function encodeCheckpointRequest(request: CheckpointRequest): Uint8Array {
  return encodeChecked('checkpoint request', { origin: request.origin, from: request.from }, readCheckpointRequest)
}

/** Decodes and checks a checkpoint request. Throws `SyncFrameMalformedError`. */
export function decodeCheckpointRequest(bytes: Uint8Array): CheckpointRequest {
  return readCheckpointRequest(decodeMap('checkpoint request', bytes))
}

function readCheckpointRequest(map: WireMap): CheckpointRequest {
  const subject = 'checkpoint request'
  onlyFields(subject, map, ['origin', 'from'])
  return { origin: readOrigin(subject, map), from: readCount(subject, map, 'from') }
}

/** Canonical bytes of a checkpoint response frame. Requires a valid frame. */
export function encodeCheckpointFrame(frame: CheckpointFrame): Uint8Array {
  const subject = `checkpoint ${frame.type} frame`
  if (frame.type === 'error') return encodeChecked(subject, errorMap(frame), readCheckpointFrame)
  const map: Record<string, CanonicalValue> = { t: 'checkpoint', proof: [...frame.proof] }
  if (frame.checkpoint !== undefined) map.cp = encodeSignedCheckpoint(frame.checkpoint)
  if (frame.verifierKey !== undefined) map.vk = frame.verifierKey
  return encodeChecked(subject, map, readCheckpointFrame)
}

/** Decodes and checks a checkpoint response frame. Throws `SyncFrameMalformedError`. */
export function decodeCheckpointFrame(bytes: Uint8Array): CheckpointFrame {
  return readCheckpointFrame(decodeMap('checkpoint frame', bytes))
}

function readCheckpointFrame(map: WireMap): CheckpointFrame {
  const type = readType('checkpoint frame', map, ['checkpoint', 'error'])
  const subject = `checkpoint ${type} frame`
  if (type === 'error') return readError(subject, map)
  onlyFields(subject, map, ['t', 'cp', 'proof', 'vk'])
  const checkpoint = map.cp === undefined ? undefined : readCheckpointField(subject, map)
  const vk = map.vk
  if (vk !== undefined && (typeof vk !== 'string' || vk.length === 0 || vk.length > MAX_VERIFIER_KEY_LENGTH))
    throw new SyncFrameMalformedError(subject, 'vk', `is ${describe(vk)}, want a verifier key string of 1 to ${MAX_VERIFIER_KEY_LENGTH} characters`)
  if (vk !== undefined && checkpoint === undefined) throw new SyncFrameMalformedError(subject, 'vk', 'is given but there is no checkpoint, want none')
  const proof = map.proof
  if (!Array.isArray(proof)) throw new SyncFrameMalformedError(subject, 'proof', `is ${describe(proof)}, want an array of ${HASH_LENGTH_BYTES}-byte hashes`)
  if (proof.length > MAX_PROOF_HASHES) throw new SyncFrameMalformedError(subject, 'proof', `has ${proof.length} hashes, want <= ${MAX_PROOF_HASHES}`)
  const hashes = proof.map((hash: CanonicalValue, i: number) => {
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH_BYTES) throw new SyncFrameMalformedError(subject, `proof[${i}]`, `is ${describe(hash)}, want ${HASH_LENGTH_BYTES} bytes`)
    return hash
  })
  if (checkpoint === undefined && hashes.length > 0) throw new SyncFrameMalformedError(subject, 'proof', `has ${hashes.length} hashes but there is no checkpoint, want none`)
  return vk === undefined ? { type, checkpoint, proof: hashes } : { type, checkpoint, proof: hashes, verifierKey: vk }
}

// ---------------------------------------------------------------------------
// Field readers

/** Encodes `map` after checking it with the decoder's own reader, so encode refuses what decode would. */
function encodeChecked<T>(subject: string, map: WireMap, read: (map: WireMap) => T): Uint8Array {
  read(map)
  try {
    return encodeCanonical(map)
  } catch (err) {
    throw new SyncFrameMalformedError(subject, 'encoding', `is impossible: ${(err as Error).message}`, { cause: err })
  }
}

function decodeMap(subject: string, bytes: Uint8Array): WireMap {
  let value: CanonicalValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    throw new SyncFrameMalformedError(subject, 'encoding', `is not canonical CBOR: ${(err as Error).message}`, { cause: err })
  }
  if (!isMap(value)) throw new SyncFrameMalformedError(subject, 'message', `is ${describe(value)}, want a map`)
  return value
}

function onlyFields(subject: string, map: WireMap, fields: readonly string[]): void {
  for (const key of Object.keys(map)) {
    if (!fields.includes(key)) throw new SyncFrameMalformedError(subject, JSON.stringify(key), `is not a field, want only ${fields.join(', ')}`)
  }
}

function readType<T extends string>(subject: string, map: WireMap, types: readonly T[]): T {
  const t = map.t
  if (typeof t !== 'string' || !(types as readonly string[]).includes(t)) throw new SyncFrameMalformedError(subject, 't', `is ${describe(t)}, want one of ${types.join(', ')}`)
  return t as T
}

function readOrigin(subject: string, map: WireMap): string {
  const origin = map.origin
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > MAX_ORIGIN_LENGTH) {
    throw new SyncFrameMalformedError(subject, 'origin', `is ${describe(origin)}, want a string of 1 to ${MAX_ORIGIN_LENGTH} characters`)
  }
  return origin
}

function readCount(subject: string, map: WireMap, field: string): number {
  const value = map[field]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new SyncFrameMalformedError(subject, field, `is ${describe(value)}, want a non-negative safe integer`)
  return value
}

function readBytes(subject: string, map: WireMap, field: string, lengthBytes?: number): Uint8Array {
  const value = map[field]
  if (!(value instanceof Uint8Array)) throw new SyncFrameMalformedError(subject, field, `is ${describe(value)}, want bytes`)
  if (lengthBytes !== undefined && value.length !== lengthBytes) throw new SyncFrameMalformedError(subject, field, `is ${value.length} bytes, want ${lengthBytes}`)
  return value
}

function readCheckpointField(subject: string, map: WireMap): SignedCheckpoint {
  const bytes = readBytes(subject, map, 'cp')
  try {
    return decodeSignedCheckpoint(bytes)
  } catch (err) {
    throw new SyncFrameMalformedError(subject, 'cp', `is not a signed checkpoint: ${(err as Error).message}`, { cause: err })
  }
}

function errorMap(frame: ErrorFrame): WireMap {
  return { t: 'error', code: frame.code, message: frame.message }
}

function readError(subject: string, map: WireMap): ErrorFrame {
  onlyFields(subject, map, ['t', 'code', 'message'])
  const { code, message } = map
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_ERROR_CODE_LENGTH) {
    throw new SyncFrameMalformedError(subject, 'code', `is ${describe(code)}, want a string of 1 to ${MAX_ERROR_CODE_LENGTH} characters`)
  }
  if (typeof message !== 'string' || message.length > MAX_ERROR_MESSAGE_LENGTH) {
    throw new SyncFrameMalformedError(subject, 'message', `is ${describe(message)}, want a string of at most ${MAX_ERROR_MESSAGE_LENGTH} characters`)
  }
  return { type: 'error', code, message }
}

function isMap(value: CanonicalValue): value is WireMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function describe(value: CanonicalValue | undefined): string {
  if (value === undefined) return 'missing'
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `${value.length} bytes`
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  if (typeof value === 'object') return 'a map'
  return `${String(value)}${typeof value === 'bigint' ? ' (bigint)' : ''}`
}
