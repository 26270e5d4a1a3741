/**
 * Content-addressed blob files beside the LevelDB store: `<db>/blobs/<sha256
 * hex>`. Models and deltas are the bulk of a study's bytes (100 sites × 100
 * rounds × 10M parameters is ~400 GB); inside LevelDB every blob was written
 * 2–4 times by compaction and read back whole. As files they are written
 * once, read in ranges, streamed to downloads, and can be pruned by a
 * retention policy without touching the log.
 *
 * A blob file is durable before any entry names it: written to `tmp/`,
 * fsynced, renamed into place, and the directory fsynced; only then is the
 * LevelDB batch that names it written. A crash in between leaves an unnamed
 * file, never a named blob that is missing. Files in `tmp/` belong to writes
 * that never finished and are removed when the store is opened for writing.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { bytesReader, type BlobReader } from './core/blob-reader.ts'
import { HASH_LENGTH_BYTES } from './core/constants.ts'
import { fromHex, toHex } from './core/hash.ts'
import { LedgerStorageError } from './errors.ts'

/** The directory, inside a store, that holds its blob files. */
export const BLOB_DIR = 'blobs'

/**
 * Blobs up to this size stay inside LevelDB, in the batch of the entries that
 * name them: a small delta costs no file, no fsync of its own and no
 * directory fsync, so a group of small uploads shares the batch's one sync.
 * Larger ones are files, where LevelDB's compaction would rewrite them.
 */
export const INLINE_BLOB_MAX_BYTES = 64 * 1024
const TMP_DIR = 'tmp'
const BLOB_NAME = /^[0-9a-f]{64}$/

/** A blob being written as it arrives (an upload): hashed on the way to a temp file. */
export interface BlobWriter {
  /** Appends `chunk`; resolves once it is written (callers pause their source meanwhile). */
  write(chunk: Uint8Array): Promise<void>
  /** Bytes written so far. */
  readonly size: number
  /** Fsyncs and closes the temp file: the blob, ready to be named by a batch (`file`). */
  finish(): Promise<FinishedBlob>
  /** Removes the temp file (an upload that was refused or cut off). Idempotent. */
  discard(): Promise<void>
}

/** A finished blob: written and fsynced in a temp file, not yet in place; or, up to INLINE_BLOB_MAX_BYTES, its bytes. */
export type FinishedBlob = { readonly hash: Uint8Array; readonly size: number; readonly file: string } | { readonly hash: Uint8Array; readonly size: number; readonly bytes: Uint8Array }

function storageError(what: string, err: unknown): LedgerStorageError {
  return new LedgerStorageError(`${what}: ${(err as Error).message}`, { cause: err })
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export class BlobFiles {
  readonly root: string
  readonly #tmp: string

  private constructor(root: string) {
    this.root = root
    this.#tmp = path.join(root, TMP_DIR)
  }

  /**
   * The blob files of the store in `dir`: creates the directories and clears
   * what unfinished writes left in `tmp/` (the caller holds the store's lock,
   * so no write of another process is in flight).
   */
  static async open(dir: string): Promise<BlobFiles> {
    const files = new BlobFiles(path.join(dir, BLOB_DIR))
    try {
      await rm(files.#tmp, { recursive: true, force: true })
      await mkdir(files.#tmp, { recursive: true })
    } catch (err) {
      throw storageError(`cannot prepare blob directory ${files.root}`, err)
    }
    return files
  }

  pathOf(hash: Uint8Array): string {
    return path.join(this.root, toHex(hash))
  }

  /** Writes each blob as a file (temp file, fsync, rename; a finished writer's file is only renamed), then fsyncs the directory once. */
  async write(blobs: readonly ({ readonly hash: Uint8Array; readonly bytes: Uint8Array } | { readonly hash: Uint8Array; readonly file: string })[]): Promise<void> {
    if (blobs.length === 0) return
    await Promise.all(
      blobs.map(async (blob) => {
        // Written even when a file of that name exists: it may be a damaged copy being repaired (rename replaces it atomically).
        const target = this.pathOf(blob.hash)
        try {
          if ('file' in blob) await rename(blob.file, target)
          else {
            const tmp = this.#tempName()
            const fh = await open(tmp, 'wx')
            try {
              await fh.writeFile(blob.bytes)
              await fh.sync()
            } finally {
              await fh.close()
            }
            await rename(tmp, target)
          }
        } catch (err) {
          throw storageError(`writing blob ${toHex(blob.hash)}`, err)
        }
      }),
    )
    await fsyncDir(this.root).catch((err: unknown) => Promise.reject(storageError(`fsync of ${this.root}`, err)))
  }

  /** The whole blob, or undefined when there is no file for it. */
  async read(hash: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.pathOf(hash))
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    } catch (err) {
      if (isMissing(err)) return undefined
      throw storageError(`reading blob ${toHex(hash)}`, err)
    }
  }

  async has(hash: Uint8Array): Promise<boolean> {
    return this.#exists(this.pathOf(hash))
  }

  /**
   * A synchronous random-access reader (the decider reads deltas slice by
   * slice inside one step), or undefined when there is no file. Close it.
   */
  openReader(hash: Uint8Array): (BlobReader & { close(): void }) | undefined {
    let fd: number
    try {
      fd = openSync(this.pathOf(hash), 'r')
    } catch (err) {
      if (isMissing(err)) return undefined
      throw storageError(`opening blob ${toHex(hash)}`, err)
    }
    return fileReader(fd, fstatSync(fd).size, toHex(hash))
  }

  /** The blob's bytes in chunks of at most `chunkBytes`, read as they are consumed; undefined when there is no file. */
  async openStream(hash: Uint8Array, chunkBytes: number): Promise<{ readonly size: number; chunks(): AsyncGenerator<Uint8Array> } | undefined> {
    let fh: FileHandle
    try {
      fh = await open(this.pathOf(hash), 'r')
    } catch (err) {
      if (isMissing(err)) return undefined
      throw storageError(`opening blob ${toHex(hash)}`, err)
    }
    const size = (await fh.stat()).size
    return {
      size,
      async *chunks() {
        try {
          for (let offset = 0; offset < size; offset += chunkBytes) {
            const buf = new Uint8Array(Math.min(chunkBytes, size - offset))
            const { bytesRead } = await fh.read(buf, 0, buf.length, offset)
            if (bytesRead !== buf.length) throw new LedgerStorageError(`blob ${toHex(hash)} shrank while being read`)
            yield buf
          }
        } finally {
          await fh.close()
        }
      },
    }
  }

  /** Every blob file, by the hash it is named by (names that are not hashes are skipped). */
  async *list(): AsyncGenerator<{ readonly hash: Uint8Array; readonly file: string }> {
    let names: string[]
    try {
      names = await readdir(this.root)
    } catch (err) {
      if (isMissing(err)) return
      throw storageError(`listing ${this.root}`, err)
    }
    for (const name of names.sort()) if (BLOB_NAME.test(name)) yield { hash: fromHex(name, HASH_LENGTH_BYTES), file: path.join(this.root, name) }
  }

  /** Removes a blob file (retention). Resolves true when there was one. */
  async remove(hash: Uint8Array): Promise<boolean> {
    try {
      await unlink(this.pathOf(hash))
      return true
    } catch (err) {
      if (isMissing(err)) return false
      throw storageError(`removing blob ${toHex(hash)}`, err)
    }
  }

  /**
   * A writer that keeps the first INLINE_BLOB_MAX_BYTES in memory and moves
   * to a fresh temp file once a blob outgrows them (small blobs stay inline).
   */
  async createWriter(): Promise<BlobWriter> {
    const file = this.#tempName()
    const hash = createHash('sha256')
    let held: Uint8Array[] = []
    let handle: FileHandle | undefined
    let size = 0
    let done = false
    const writeAt = async (fh: FileHandle, chunk: Uint8Array, at: number) => {
      let written = 0
      while (written < chunk.length) written += (await fh.write(chunk, written, chunk.length - written, at + written)).bytesWritten
    }
    return {
      get size() {
        return size
      },
      async write(chunk) {
        if (done) throw new LedgerStorageError(`write after finish or discard of ${file}`)
        hash.update(chunk)
        const at = size
        size += chunk.length
        if (handle === undefined && size <= INLINE_BLOB_MAX_BYTES) {
          held.push(Uint8Array.from(chunk))
          return
        }
        if (handle === undefined) {
          try {
            handle = await open(file, 'wx')
          } catch (err) {
            throw storageError(`creating ${file}`, err)
          }
          let offset = 0
          for (const h of held) {
            await writeAt(handle, h, offset)
            offset += h.length
          }
          held = []
        }
        await writeAt(handle, chunk, at)
      },
      async finish() {
        done = true
        const digest = new Uint8Array(hash.digest())
        if (handle === undefined) {
          const bytes = new Uint8Array(size)
          let offset = 0
          for (const h of held) {
            bytes.set(h, offset)
            offset += h.length
          }
          return { hash: digest, size, bytes }
        }
        try {
          await handle.sync()
        } finally {
          await handle.close()
        }
        return { hash: digest, size, file }
      },
      async discard() {
        held = []
        if (!done) {
          done = true
          await handle?.close().catch(() => undefined)
        }
        if (handle !== undefined) await unlink(file).catch(() => undefined)
      },
    }
  }

  async #exists(file: string): Promise<boolean> {
    try {
      return (await stat(file)).isFile()
    } catch (err) {
      if (isMissing(err)) return false
      throw storageError(`stat ${file}`, err)
    }
  }

  #tempName(): string {
    return path.join(this.#tmp, toHex(new Uint8Array(randomBytes(12))))
  }
}

/** A reader over a finished blob: its bytes, or its temp file, opened on the first read. */
export function finishedBlobReader(blob: FinishedBlob): BlobReader & { close(): void } {
  if ('bytes' in blob) return { ...bytesReader(blob.bytes), close: () => undefined }
  let reader: (BlobReader & { close(): void }) | undefined
  return {
    size: blob.size,
    read: (offset, length) => {
      reader ??= fileReader(openSync(blob.file, 'r'), blob.size, blob.file)
      return reader.read(offset, length)
    },
    close: () => {
      reader?.close()
      reader = undefined
    },
  }
}

/** A reader over an open file; reads are positioned, so readers may share nothing. */
export function fileReader(fd: number, size: number, name: string): BlobReader & { close(): void } {
  return {
    size,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size) throw new LedgerStorageError(`blob ${name}: read of ${length} bytes at ${offset} is outside its ${size} bytes`)
      const buf = new Uint8Array(length)
      let got = 0
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got)
        if (n === 0) throw new LedgerStorageError(`blob ${name}: ended at ${offset + got} of ${size} bytes`)
        got += n
      }
      return buf
    },
    close: () => closeSync(fd),
  }
}
