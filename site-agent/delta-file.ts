/**
 * A site's encoded delta written to a file of its state folder as it is
 * computed, tensor by tensor, and hashed on the way: the upload then reads
 * it back in chunks. Held in memory whole, it would be one more model-sized
 * copy at the moment TF.js's heap is at its largest (191 MiB at 50M
 * parameters, bench:site-memory). The bytes are exactly `encodeWeights` of
 * the delta: the canonical header, then each tensor's values, little-endian,
 * in order.
 */
import { createHash, type Hash } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { encodedSize, encodeHeader, valuesIntoBytes, type TensorShape } from '../models/index.ts'
import { SiteModelIntegrityError } from './errors.ts'

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
/** Bytes read from the file per chunk of an upload (gRPC's own chunk size). */
const READ_CHUNK_BYTES = 1 << 20

/** A finished delta file: its size (as `length`, like the bytes it stands for) and SHA-256. */
export class DeltaFile {
  constructor(
    readonly path: string,
    readonly length: number,
    readonly hash: Uint8Array,
  ) {}

  /** The file's bytes in order, one chunk of at most 1 MiB at a time (each chunk its own buffer: gRPC holds it until sent). */
  async *chunks(): AsyncGenerator<Uint8Array> {
    const handle = await open(this.path, 'r')
    try {
      for (let offset = 0; offset < this.length; ) {
        const chunk = new Uint8Array(Math.min(READ_CHUNK_BYTES, this.length - offset))
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset)
        if (bytesRead === 0) throw new SiteModelIntegrityError(`delta file ${this.path} ends at byte ${offset}, want ${this.length}`)
        offset += bytesRead
        yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead)
      }
    } finally {
      await handle.close()
    }
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true })
  }
}

/**
 * Writes the encoding of a delta laid out as `shapes` to `path`: `append`
 * the tensors' values in order, then `finish`. Writes are synchronous (they
 * run inside TF.js's read-back of the trained weights, one tensor at a time)
 * and go to `path + '.part'`, renamed into place by `finish`.
 */
export class DeltaFileWriter {
  readonly #fd: number
  readonly #hash: Hash = createHash('sha256')
  readonly #size: number
  #offset = 0
  #closed = false

  constructor(
    readonly path: string,
    readonly shapes: readonly TensorShape[],
  ) {
    this.#size = encodedSize(shapes)
    this.#fd = openSync(`${path}.part`, 'w', 0o600)
    this.#append(encodeHeader(shapes))
  }

  /**
   * Appends values: the tensors' values in order, in as many pieces as the
   * caller likes (a tensor may come in slices). `finish` checks the total.
   */
  append(values: Float32Array): void {
    if (this.#offset + values.byteLength > this.#size) {
      throw new SiteModelIntegrityError(`delta file: ${values.length} more values would pass the encoding's ${this.#size} bytes (at byte ${this.#offset})`)
    }
    let bytes: Uint8Array
    if (LITTLE_ENDIAN_HOST) bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    else {
      bytes = new Uint8Array(values.byteLength)
      valuesIntoBytes(bytes, 0, values)
    }
    this.#append(bytes)
  }

  /** Closes the file, checks it is whole, and renames it into place. */
  async finish(): Promise<DeltaFile> {
    this.#close()
    if (this.#offset !== this.#size) {
      await rm(`${this.path}.part`, { force: true })
      throw new SiteModelIntegrityError(`delta file: ${this.#offset} of the encoding's ${this.#size} bytes written`)
    }
    await rename(`${this.path}.part`, this.path)
    return new DeltaFile(this.path, this.#offset, new Uint8Array(this.#hash.digest()))
  }

  /** Closes and deletes an unfinished file (training failed). */
  async abandon(): Promise<void> {
    this.#close()
    await rm(`${this.path}.part`, { force: true })
  }

  #append(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length; ) done += writeSync(this.#fd, bytes, done, bytes.length - done, this.#offset + done)
    this.#hash.update(bytes)
    this.#offset += bytes.length
  }

  #close(): void {
    if (this.#closed) return
    this.#closed = true
    closeSync(this.#fd)
  }
}
