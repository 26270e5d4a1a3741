/**
 * An upload's delta as the decider reads it: a `BlobReader` over the temp
 * file the upload was streamed into (ledger `BlobWriter`), opened on first
 * read. The round runner appends the file itself (moved into place, never
 * copied) when the decider accepts the update, and removes it otherwise, so
 * an upload costs its bytes on disk and one read slice in memory.
 */
import { unlink } from 'node:fs/promises'
import { finishedBlobReader, type BlobReader, type FinishedBlob } from '../ledger/index.ts'

export class UploadReader implements BlobReader {
  readonly blob: FinishedBlob
  readonly #reader: BlobReader & { close(): void }

  constructor(blob: FinishedBlob) {
    this.blob = blob
    this.#reader = finishedBlobReader(blob)
  }

  get size(): number {
    return this.blob.size
  }

  read(offset: number, length: number): Uint8Array {
    return this.#reader.read(offset, length)
  }

  /** Closes the file and removes it unless the log took it (a moved file is gone from its temp path). */
  async release(): Promise<void> {
    this.#reader.close()
    if ('file' in this.blob) await unlink(this.blob.file).catch(() => undefined)
  }
}
