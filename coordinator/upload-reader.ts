/**
 * An upload's delta as the decider reads it: a `BlobReader` over the temp
 * file the upload was streamed into (ledger `BlobWriter`), opened on first
 * read. The round runner appends the file itself (moved into place, never
 * copied) when the decider accepts the update, and removes it otherwise, so
 * an upload costs its bytes on disk and one read slice in memory.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import type { BlobReader, FinishedBlob } from '../ledger/index.ts'
import { UploadProtocolError } from './errors.ts'

export class UploadReader implements BlobReader {
  readonly blob: FinishedBlob
  #fd: number | undefined

  constructor(blob: FinishedBlob) {
    this.blob = blob
  }

  get size(): number {
    return this.blob.size
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.blob.size) throw new UploadProtocolError(`read of ${length} bytes at ${offset} is outside the upload's ${this.blob.size} bytes`)
    if ('bytes' in this.blob) return this.blob.bytes.subarray(offset, offset + length)
    this.#fd ??= openSync(this.blob.file, 'r')
    const out = new Uint8Array(length)
    let got = 0
    while (got < length) {
      const n = readSync(this.#fd, out, got, length - got, offset + got)
      if (n === 0) throw new UploadProtocolError(`the upload's file ended at ${offset + got} of ${this.blob.size} bytes`)
      got += n
    }
    return out
  }

  /** Closes the file and removes it unless the log took it (a moved file is gone from its temp path). */
  async release(): Promise<void> {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
    if ('file' in this.blob) await unlink(this.blob.file).catch(() => undefined)
  }
}
