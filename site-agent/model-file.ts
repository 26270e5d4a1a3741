/**
 * A global model as the site keeps it: in a file in its state folder, not in
 * memory. Training loads it into TF.js and then needs it again only for the
 * delta, tensor by tensor; held in memory all along it would be one more
 * model-sized copy beside TF.js's own (191 MiB at 50M parameters,
 * bench:site-memory). The page cache, not the agent's heap, keeps it warm.
 *
 * The file is written by `CoordinatorClient.downloadModelToFile`, which
 * checks its hash, and opened here only if its header is exactly the
 * study layout's and its size is exactly that layout's encoded size: the
 * encoding is canonical, so that is the check `decodeWeights` makes with the
 * layout expected.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { open, rm, stat } from 'node:fs/promises'
import { allocateEncoding, decodeWeightsInPlace, encodedSize, encodeHeader, sizeOfShape, toHex, valuesFromBytes, type TensorReader, type TensorShape, type Weights } from '../models/index.ts'
import { SiteModelIntegrityError } from './errors.ts'

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

export class ModelFile {
  /** Byte offset of each tensor's values in the file. */
  readonly #offsets: readonly number[]
  /** `readSlice`'s buffer. */
  #slice: Uint8Array | undefined

  private constructor(
    readonly path: string,
    readonly hash: string,
    readonly shapes: readonly TensorShape[],
  ) {
    let offset = encodeHeader(shapes).length
    this.#offsets = shapes.map((s) => {
      const at = offset
      offset += 4 * sizeOfShape(s.shape)
      return at
    })
  }

  /**
   * Opens the model file at `path` (the model `hash`, hex), checked against
   * the study's layout; `SiteModelIntegrityError` names what does not fit.
   */
  static async open(path: string, hash: string, shapes: readonly TensorShape[]): Promise<ModelFile> {
    const what = `model ${hash.slice(0, 16)}… (${path})`
    const want = encodeHeader(shapes)
    const size = (await stat(path)).size
    if (size !== encodedSize(shapes)) throw new SiteModelIntegrityError(`${what}: ${size} bytes, the study's model has ${encodedSize(shapes)}`)
    const header = new Uint8Array(want.length)
    const handle = await open(path, 'r')
    try {
      await handle.read(header, 0, header.length, 0)
    } finally {
      await handle.close()
    }
    if (!Buffer.from(header).equals(Buffer.from(want))) throw new SiteModelIntegrityError(`${what}: its header ${toHex(header).slice(0, 32)}… is not the study layout's ${toHex(want).slice(0, 32)}…`)
    return new ModelFile(path, hash, shapes)
  }

  /** The whole model in memory (one copy, its tensors views of one buffer): to score it or load it into TF.js. */
  async readWeights(): Promise<Weights> {
    const bytes = allocateEncoding(this.shapes)
    const handle = await open(this.path, 'r')
    try {
      await readFully(handle, bytes, 0)
    } finally {
      await handle.close()
    }
    return decodeWeightsInPlace(bytes, this.shapes)
  }

  /**
   * A reader of the model's tensors (for `buildModel`, `trainLocal`,
   * `evaluateModel`) that holds one tensor in memory at a time: each read
   * fills the same buffer, sized for the largest tensor. Reads are
   * synchronous (TF.js builds its layers synchronously); a whole 50M model
   * is 191 MiB from the page cache.
   */
  tensorReader(): TensorReader {
    let scratch: Uint8Array | undefined
    return (index) => {
      const shape = this.shapes[index]
      if (shape === undefined) throw new SiteModelIntegrityError(`model ${this.hash.slice(0, 16)}…: no tensor ${index}, the study's model has ${this.shapes.length}`)
      const bytes = 4 * sizeOfShape(shape.shape)
      scratch ??= new Uint8Array(Math.max(...this.shapes.map((s) => 4 * sizeOfShape(s.shape))))
      const into = scratch.subarray(0, bytes)
      this.#readSync(into, this.#offsets[index]!, shape.name)
      // The file's values are little-endian; a big-endian host converts them (a copy of one tensor).
      return LITTLE_ENDIAN_HOST ? new Float32Array(into.buffer, 0, bytes / 4) : valuesFromBytes(into)
    }
  }

  /**
   * Values `[start, start + count)` of tensor `index`, read synchronously into
   * a buffer that the next call reuses (sized for the largest slice asked):
   * how the delta is computed a slice at a time.
   */
  readSlice(index: number, start: number, count: number): Float32Array {
    const shape = this.shapes[index]
    if (shape === undefined || start < 0 || count < 0 || start + count > sizeOfShape(shape.shape)) {
      throw new SiteModelIntegrityError(`model ${this.hash.slice(0, 16)}…: no values [${start}, ${start + count}) in tensor ${index}`)
    }
    if (this.#slice === undefined || this.#slice.length < 4 * count) this.#slice = new Uint8Array(4 * count)
    const into = this.#slice.subarray(0, 4 * count)
    this.#readSync(into, this.#offsets[index]! + 4 * start, shape.name)
    return LITTLE_ENDIAN_HOST ? new Float32Array(into.buffer, 0, count) : valuesFromBytes(into)
  }

  #readSync(into: Uint8Array, position: number, tensor: string): void {
    const fd = openSync(this.path, 'r')
    try {
      for (let done = 0; done < into.length; ) {
        const read = readSync(fd, into, done, into.length - done, position + done)
        if (read === 0) throw new SiteModelIntegrityError(`model file ${this.path} ends inside tensor "${tensor}"`)
        done += read
      }
    } finally {
      closeSync(fd)
    }
  }

  /** Deletes the file. */
  async remove(): Promise<void> {
    await rm(this.path, { force: true })
  }
}

/** Reads `into.length` bytes at `position`; a file that ends first is refused (it changed since it was opened). */
async function readFully(handle: Awaited<ReturnType<typeof open>>, into: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done)
    if (bytesRead === 0) throw new SiteModelIntegrityError(`model file ends at byte ${position + done}, want ${position + into.length}`)
    done += bytesRead
  }
}
