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
import { encodedSize, encodeHeader, sizeOfShape, valuesIntoBytes, type TensorShape } from '../models/index.ts'
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
 * Writes the encoding of a delta laid out as `shapes` to `path`: `write`
 * each tensor's values in order, then `finish`. Writes are synchronous (they
 * run inside TF.js's read-back of the trained weights, one tensor at a time)
 * and go to `path + '.part'`, renamed into place by `finish`.
 */
export class DeltaFileWriter {
  readonly #fd: number
  readonly #hash: Hash = createHash('sha256')
  #next = 0
  #offset = 0
  #closed = false

  constructor(
    readonly path: string,
    readonly shapes: readonly TensorShape[],
  ) {
    this.#fd = openSync(`${path}.part`, 'w', 0o600)
    this.#append(encodeHeader(shapes))
  }

  /** Appends tensor `index`'s values; tensors must come in order, each of its shape's size. */
  write(index: number, values: Float32Array): void {
    const shape = this.shapes[index]
    if (index !== this.#next || shape === undefined || values.length !== sizeOfShape(shape.shape)) {
      throw new SiteModelIntegrityError(`delta file: tensor ${index} with ${values.length} values, want tensor ${this.#next} of the study's ${this.shapes.length}`)
    }
    let bytes: Uint8Array
    if (LITTLE_ENDIAN_HOST) bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    else {
      bytes = new Uint8Array(values.byteLength)
      valuesIntoBytes(bytes, 0, values)
    }
    this.#append(bytes)
    this.#next++
  }

  /** Closes the file, checks it is whole, and renames it into place. */
  async finish(): Promise<DeltaFile> {
    this.#close()
    const want = encodedSize(this.shapes)
    if (this.#next !== this.shapes.length || this.#offset !== want) {
      await rm(`${this.path}.part`, { force: true })
      throw new SiteModelIntegrityError(`delta file: ${this.#next} of ${this.shapes.length} tensors written (${this.#offset} of ${want} bytes)`)
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
