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
  /** Set when the log appends this file: the append moves it, so there is nothing left to remove. */
  #appended = false

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

  /** Marks the file as handed to the log's append, which moves it into place. */
  markAppended(): void {
    this.#appended = true
  }

  /**
   * Closes the file and removes it unless it was handed to the log (an append
   * that failed leaves it in the store's `tmp/`, which the store clears when it
   * next opens). Skipping the unlink of a moved file keeps a group's
   * acknowledgements from waiting on one failing syscall per accepted upload.
   */
  async release(): Promise<void> {
    this.#reader.close()
    if (!this.#appended && 'file' in this.blob) await unlink(this.blob.file).catch(() => undefined)
  }
}
