/**
 * Random-access reads of a blob that need not be in memory: the decider
 * checks and sums deltas slice by slice through it, so a commit holds one
 * slice of each input, not every input whole. Over a file in the coordinator
 * (ledger/blob-files.ts), over bytes in the auditor and in tests.
 */
import { createHash } from 'node:crypto'
import { LedgerInvalidArgumentError } from '../errors.ts'

export interface BlobReader {
  readonly size: number
  /** `length` bytes from `offset` (both within the blob). The result may be a view; do not keep it past the next read. */
  read(offset: number, length: number): Uint8Array
}

/** A reader over bytes already in memory; a read outside them throws, as a file reader's does. */
export function bytesReader(bytes: Uint8Array): BlobReader {
  return {
    size: bytes.length,
    read: (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw new LedgerInvalidArgumentError(`read of ${length} bytes at ${offset} is outside the blob's ${bytes.length} bytes`)
      return bytes.subarray(offset, offset + length)
    },
  }
}

/** All of a blob's bytes (for the small blobs and the paths that need them whole); bytes are returned as they are. */
export function readAll(source: Uint8Array | BlobReader): Uint8Array {
  return source instanceof Uint8Array ? source : source.read(0, source.size)
}

/** Bytes per read when a reader is walked end to end: large enough to amortise a read, small beside any model. */
export const READ_SLICE_BYTES = 4 << 20

/** SHA-256 of a reader's bytes, read a slice at a time. */
export function sha256Reader(reader: BlobReader, sliceBytes = READ_SLICE_BYTES): Uint8Array {
  const h = createHash('sha256')
  for (let offset = 0; offset < reader.size; offset += sliceBytes) h.update(reader.read(offset, Math.min(sliceBytes, reader.size - offset)))
  return new Uint8Array(h.digest())
}
