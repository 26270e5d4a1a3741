/**
 * `/fl/blob/1.0.0`: both ends, each holding one chunk of the blob at a time.
 * The server re-hashes its copy in one pass over the file before sending
 * (`openBlobReader` with `verify`), so a damaged local copy is answered
 * not-found rather than passed on, then reads and sends it a chunk at a
 * time: N peers fetching a 200 MB model cost N chunks, not N models. The
 * client writes chunks as they arrive into a blob writer (hashing them on the
 * way into a temp file), and stores the blob only when it hashes to its name;
 * a refused or interrupted transfer leaves no temp file behind.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { BlobWriter, FinishedBlob } from '../blob-files.ts'
import { equalBytes } from '../core/canonical.ts'
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

/** Answers one blob request: the blob in chunks read from disk, not-found, or an error frame. */
export async function serveBlob(ctx: BlobServerContext, stream: Stream, reader: FrameReader, options: AbortOptions): Promise<void> {
  const send = (frame: BlobFrame): Promise<void> => sendFrame(stream, encodeBlobFrame(frame), options)
  try {
    const payload = await reader.next()
    if (payload === undefined) return
    const { hash } = decodeBlobRequest(payload)
    ctx.authorize?.(hash)
    let blob: Awaited<ReturnType<Ledger['openBlobReader']>>
    try {
      blob = await ctx.ledger.openBlobReader(hash, { verify: true })
    } catch (err) {
      if (err instanceof LedgerBlobMissingError || err instanceof LedgerBlobCorruptError) {
        await send({ type: 'not-found' })
        return
      }
      throw err
    }
    try {
      await send({ type: 'blob', sizeBytes: blob.size })
      for (let offset = 0; offset < blob.size; offset += ctx.chunkBytes) {
        // A read may be a view valid until the next read: encodeBlobFrame copies it into the frame before we read again.
        await send({ type: 'chunk', data: blob.read(offset, Math.min(ctx.chunkBytes, blob.size - offset)) })
      }
    } finally {
      blob.close()
    }
  } catch (err) {
    if (!(err instanceof LedgerError) || stream.writeStatus !== 'writable') throw err
    await send(errorFrame(err.code, err.message))
  }
}

/** Where a fetched blob goes: the ledger's blob writer, then its store. */
export interface BlobSink {
  createBlobWriter(): Promise<BlobWriter>
  /** Stores the finished blob as `hash`; throws when it does not hash to it. */
  putFinishedBlob(hash: Uint8Array, finished: FinishedBlob): Promise<void>
}

/**
 * Asks for blob `hash`, writes its chunks into `sink` as they arrive and
 * stores it there once its bytes hash to `hash`. Resolves true when stored,
 * false when the peer does not hold a good copy. Throws
 * `RemoteBlobTooLargeError` (before receiving it), `RemoteBlobCorruptError`,
 * `SyncRemoteError`, or `SyncProtocolError` for chunks that do not add up;
 * whatever was written of a blob that is not stored is discarded.
 */
export async function requestBlob(stream: Stream, reader: FrameReader, hash: Uint8Array, peer: string, maxBlobBytes: number, sink: BlobSink, options: AbortOptions): Promise<boolean> {
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
  if (header.type === 'not-found') return false
  if (header.type !== 'blob') return fail(`first frame is ${header.type}, want blob or not-found`)
  if (header.sizeBytes > maxBlobBytes) throw new RemoteBlobTooLargeError(peer, hash, maxBlobBytes, header.sizeBytes)
  const writer = await sink.createBlobWriter()
  try {
    while (writer.size < header.sizeBytes) {
      const frame = await next()
      if (frame.type !== 'chunk') return fail(`frame ${frame.type} after ${writer.size} of ${header.sizeBytes} bytes, want chunk`)
      if (frame.data.length > header.sizeBytes - writer.size) fail(`chunk of ${frame.data.length} bytes after ${writer.size} of ${header.sizeBytes}, which is more than announced`)
      await writer.write(frame.data)
    }
    const finished = await writer.finish()
    if (!equalBytes(finished.hash, hash)) throw new RemoteBlobCorruptError(peer, hash, finished.hash)
    await sink.putFinishedBlob(hash, finished)
    return true
  } catch (err) {
    // Refused, cut off or not stored: its temp file goes (after a stored blob's rename there is none left to remove).
    await writer.discard()
    throw err
  }
}
