/**
 * `/fl/blob/1.0.0`: both ends. The server re-hashes the blob before sending
 * (the ledger's `getBlob` does), so a damaged local copy is answered
 * not-found rather than passed on; the client re-hashes what arrives.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import { equalBytes } from '../core/canonical.ts'
import { sha256 } from '../core/hash.ts'
import { decodeBlobFrame, decodeBlobRequest, encodeBlobFrame, encodeBlobRequest, errorFrame, type BlobFrame } from '../core/sync-codec.ts'
import { LedgerBlobCorruptError, LedgerBlobMissingError, LedgerError } from '../errors.ts'
import type { Ledger } from '../ledger.ts'
import { BLOB_PROTOCOL } from './constants.ts'
import { RemoteBlobCorruptError, RemoteBlobTooLargeError, SyncProtocolError, SyncRemoteError } from './errors.ts'
import { sendFrame, type FrameReader } from './frames.ts'

/** What the server side needs. */
export interface BlobServerContext {
  readonly ledger: Ledger
  /** Blob bytes per chunk frame. */
  readonly chunkBytes: number
  /** Throws ReplicationAccessDeniedError when the requesting peer may not fetch blob `hash`. */
  readonly authorize?: (hash: Uint8Array) => void
}

/** Answers one blob request: the blob in chunks, not-found, or an error frame. */
export async function serveBlob(ctx: BlobServerContext, stream: Stream, reader: FrameReader, options: AbortOptions): Promise<void> {
  const send = (frame: BlobFrame): Promise<void> => sendFrame(stream, encodeBlobFrame(frame), options)
  try {
    const payload = await reader.next()
    if (payload === undefined) return
    const { hash } = decodeBlobRequest(payload)
    ctx.authorize?.(hash)
    let bytes: Uint8Array
    try {
      bytes = await ctx.ledger.getBlob(hash)
    } catch (err) {
      if (err instanceof LedgerBlobMissingError || err instanceof LedgerBlobCorruptError) {
        await send({ type: 'not-found' })
        return
      }
      throw err
    }
    await send({ type: 'blob', sizeBytes: bytes.length })
    for (let offset = 0; offset < bytes.length; offset += ctx.chunkBytes) {
      await send({ type: 'chunk', data: bytes.subarray(offset, offset + ctx.chunkBytes) })
    }
  } catch (err) {
    if (!(err instanceof LedgerError) || stream.writeStatus !== 'writable') throw err
    await send(errorFrame(err.code, err.message))
  }
}

/**
 * Asks for blob `hash` and resolves with its bytes, checked against the hash,
 * or undefined when the peer does not hold a good copy. Throws
 * `RemoteBlobTooLargeError` (before receiving it), `RemoteBlobCorruptError`,
 * `SyncRemoteError`, or `SyncProtocolError` for chunks that do not add up.
 */
export async function requestBlob(stream: Stream, reader: FrameReader, hash: Uint8Array, peer: string, maxBlobBytes: number, options: AbortOptions): Promise<Uint8Array | undefined> {
  const fail = (problem: string): never => {
    throw new SyncProtocolError(peer, BLOB_PROTOCOL, problem)
  }
  const next = async (): Promise<BlobFrame> => {
    const payload = await reader.next()
    if (payload === undefined) return fail('stream ended before the blob did')
    const frame = decodeBlobFrame(payload)
    if (frame.type === 'error') throw new SyncRemoteError(peer, BLOB_PROTOCOL, frame.code, frame.message)
    return frame
  }
  await sendFrame(stream, encodeBlobRequest({ hash }), options)
  const header = await next()
  if (header.type === 'not-found') return undefined
  if (header.type !== 'blob') return fail(`first frame is ${header.type}, want blob or not-found`)
  if (header.sizeBytes > maxBlobBytes) throw new RemoteBlobTooLargeError(peer, hash, maxBlobBytes, header.sizeBytes)
  const bytes = new Uint8Array(header.sizeBytes)
  let received = 0
  while (received < bytes.length) {
    const frame = await next()
    if (frame.type !== 'chunk') return fail(`frame ${frame.type} after ${received} of ${bytes.length} bytes, want chunk`)
    if (frame.data.length > bytes.length - received) fail(`chunk of ${frame.data.length} bytes after ${received} of ${bytes.length}, which is more than announced`)
    bytes.set(frame.data, received)
    received += frame.data.length
  }
  const calculated = sha256(bytes)
  if (!equalBytes(calculated, hash)) throw new RemoteBlobCorruptError(peer, hash, calculated)
  return bytes
}
