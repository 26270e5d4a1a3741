/**
 * Where the ledger keeps its bytes. `LedgerStorage` is the narrow interface
 * the Ledger and verifyLog use; `openLevelStorage` implements it on LevelDB.
 *
 * On-disk layout (LevelDB, utf8 keys, raw byte values). Changing it is a
 * breaking change of the on-disk format:
 *
 *   entry/<seq as 16 lowercase hex digits>   entry bytes (canonical CBOR, see core/entry.ts)
 *   blob/<SHA-256 as 64 lowercase hex digits> blob bytes, for blobs up to INLINE_BLOB_MAX_BYTES (64 KiB)
 *   meta/head                                canonical CBOR { length, head }: the entry
 *                                            count and the hash of the last entry
 *   rec/<key>                                records beside the log (ledger.ts): rec/format (the
 *                                            format version, "2"), checkpoints (note text), cosignatures
 *
 * Larger blobs are files beside it, `blobs/<SHA-256 hex>` (blob-files.ts).
 *
 * The seq is zero-padded so that key order is log order. Every write is one
 * LevelDB batch with `sync: true`, preceded by its blob files (fsynced and
 * renamed into place): once `writeBatch` resolves, the entries, their blobs
 * and the new head are on disk together, and no entry is ever stored
 * without the blobs it was appended with.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { Level } from 'level'
import { BlobFiles, INLINE_BLOB_MAX_BYTES, type BlobWriter } from './blob-files.ts'
import { bytesReader, type BlobReader } from './core/blob-reader.ts'
import { decodeCanonical, encodeCanonical } from './core/canonical.ts'
import { HASH_LENGTH_BYTES } from './core/constants.ts'
import { GENESIS_PREV_HASH } from './core/entry.ts'
import { asPlainBytes, fromHex, toHex } from './core/hash.ts'
import { LedgerClosedError, LedgerDatabaseMissingError, LedgerLockedError, LedgerStorageError } from './errors.ts'

/** Length of the log and hash of its last entry (GENESIS_PREV_HASH when empty). */
export interface LedgerHead {
  readonly length: number
  readonly headHash: Uint8Array
  /**
   * The Merkle tree's compact range at `length`: the roots of its perfect
   * subtrees, left to right. Kept with the head so an append never reads the
   * tree back. Absent only in stores written before the tree existed.
   */
  readonly range?: readonly Uint8Array[] | undefined
}

/** A perfect Merkle subtree's hash: 2^level leaves starting at leaf index·2^level. */
export interface StoredNode {
  readonly level: number
  readonly index: number
  readonly hash: Uint8Array
}

/** A small keyed record beside the log (checkpoints, cosignatures, misbehaviour proofs). */
export interface StoredRecord {
  readonly key: string
  readonly value: Uint8Array
}

/** Entry bytes at a position. */
export interface StoredEntry {
  readonly seq: number
  readonly bytes: Uint8Array
}

/** Blob bytes under their SHA-256, or a finished `BlobWriter`'s temp file, moved into place by the write. */
export type StoredBlob = { readonly hash: Uint8Array; readonly bytes: Uint8Array } | { readonly hash: Uint8Array; readonly file: string }

/** A stored blob as a whole-store check reads it: `key` names where it is kept. */
export interface ListedBlob {
  readonly hash: Uint8Array
  readonly bytes: Uint8Array
  readonly key: string
}

/** One atomic write. `head` is omitted by writes that add only blobs. */
export interface LedgerWriteBatch {
  readonly entries: readonly StoredEntry[]
  readonly head?: LedgerHead | undefined
  readonly blobs: readonly StoredBlob[]
  readonly nodes?: readonly StoredNode[] | undefined
  readonly records?: readonly StoredRecord[] | undefined
}

/**
 * What the ledger needs from storage. Storage does not interpret bytes: it
 * neither hashes nor decodes; the Ledger and verifyLog check what it returns.
 */
export interface LedgerStorage {
  /** The stored head; `{ length: 0, headHash: GENESIS_PREV_HASH }` for a new store. */
  readHead(): Promise<LedgerHead>
  /** Entry bytes at `seq`, or undefined. */
  readEntry(seq: number): Promise<Uint8Array | undefined>
  /** Stored entries with `from <= seq < to`, in seq order. Missing positions are skipped, not filled. */
  readEntries(from: number, to: number): AsyncIterable<StoredEntry>
  /** Writes entries, blobs and head atomically and durably (resolves only once synced). */
  writeBatch(batch: LedgerWriteBatch): Promise<void>
  /** Blob bytes stored under `hash`, or undefined. */
  readBlob(hash: Uint8Array): Promise<Uint8Array | undefined>
  hasBlob(hash: Uint8Array): Promise<boolean>
  /** Every stored blob, by the hash it is stored under (for whole-store checks). */
  readBlobs(): AsyncIterable<ListedBlob>
  /** Random-access reads of a blob without loading it (close the reader), or undefined. */
  openBlobReader(hash: Uint8Array): Promise<(BlobReader & { close(): void }) | undefined>
  /** A blob's bytes in chunks as they are consumed (downloads), or undefined. */
  openBlobStream(hash: Uint8Array, chunkBytes: number): Promise<{ readonly size: number; chunks(): AsyncGenerator<Uint8Array> } | undefined>
  /** A writer for a blob that arrives in pieces; pass its finished file in a batch's `blobs`. */
  createBlobWriter(): Promise<BlobWriter>
  /** Removes a blob's bytes (retention); entries keep naming it by hash. Resolves true when it was stored. */
  removeBlob(hash: Uint8Array): Promise<boolean>
  /** Merkle node hashes, in the order asked (undefined where not stored). */
  readNodes(ids: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]>
  /** A record by key, or undefined. */
  readRecord(key: string): Promise<Uint8Array | undefined>
  /** Records whose key starts with `prefix`, in key order. */
  readRecords(prefix: string): AsyncIterable<StoredRecord>
  /** The record with the greatest key that starts with `prefix`, if any (one seek, whatever the count). */
  readLastRecord(prefix: string): Promise<StoredRecord | undefined>
  /** Releases the store (and its lock). Idempotent. */
  close(): Promise<void>
}

/** Options of openLevelStorage. */
export interface LevelStorageInit {
  /** Create the database when `dir` holds none (default true). Read-only tools pass false. */
  readonly createIfMissing?: boolean
  /** Runs once the database is closed (a snapshot's storage removes the snapshot). */
  readonly afterClose?: () => Promise<void>
}

const ENTRY_PREFIX = 'entry/'
const BLOB_PREFIX = 'blob/'
const HEAD_KEY = 'meta/head'
const NODE_PREFIX = 'node/'
const RECORD_PREFIX = 'rec/'
/** Every LevelDB database directory has this file. */
const LEVELDB_CURRENT_FILE = 'CURRENT'
const SEQ_HEX_DIGITS = 16
const ENTRY_KEY = /^entry\/([0-9a-f]{16})$/
// Entries per native iterator call: large enough to amortise the hop into
// LevelDB's thread, small enough to keep the first entry quick.
const READ_BATCH_ENTRIES = 512

/** The key of entry `seq`. Requires a non-negative safe integer. */
function entryKey(seq: number): string {
  return ENTRY_PREFIX + seq.toString(16).padStart(SEQ_HEX_DIGITS, '0')
}

function nodeKey(level: number, index: number): string {
  return `${NODE_PREFIX}${level.toString(16).padStart(2, '0')}/${index.toString(16).padStart(SEQ_HEX_DIGITS, '0')}`
}

function blobKey(hash: Uint8Array): string {
  return BLOB_PREFIX + toHex(hash)
}

function encodeHead(head: LedgerHead): Uint8Array {
  return encodeCanonical(head.range === undefined ? { length: head.length, head: head.headHash } : { length: head.length, head: head.headHash, range: [...head.range] })
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false
    throw new LedgerStorageError(`cannot stat ${file}: ${(err as Error).message}`, { cause: err })
  }
}

function abandonedReadFailed(): void {
  // Deliberately nothing: see readEntries.
}

function closeFailed(): void {
  // Deliberately nothing: the write's own error is the one reported.
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

/** LedgerStorage on a LevelDB directory. Open it with openLevelStorage. */
export class LevelLedgerStorage implements LedgerStorage {
  readonly dir: string
  readonly #db: Level<string, Uint8Array>
  readonly #files: BlobFiles
  readonly #afterClose: (() => Promise<void>) | undefined
  #closed = false

  private constructor(dir: string, db: Level<string, Uint8Array>, files: BlobFiles, afterClose: (() => Promise<void>) | undefined) {
    this.dir = dir
    this.#db = db
    this.#files = files
    this.#afterClose = afterClose
  }

  /** @internal use openLevelStorage */
  static async open(dir: string, init: LevelStorageInit = {}): Promise<LevelLedgerStorage> {
    // LevelDB reports a missing database only as message text; check for its
    // CURRENT file instead, so the error can have a code of its own.
    if (init.createIfMissing === false && !(await isFile(path.join(dir, LEVELDB_CURRENT_FILE)))) throw new LedgerDatabaseMissingError(dir)
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    try {
      await db.open({ createIfMissing: init.createIfMissing ?? true })
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause
      if (hasCode(err, 'LEVEL_DATABASE_NOT_OPEN') && hasCode(cause, 'LEVEL_LOCKED')) throw new LedgerLockedError(dir, { cause: err })
      const detail = cause instanceof Error ? cause.message : (err as Error).message
      throw new LedgerStorageError(`cannot open ledger database ${dir}: ${detail}`, { cause: err })
    }
    let files: BlobFiles
    try {
      files = await BlobFiles.open(dir)
    } catch (err) {
      await db.close()
      throw err
    }
    return new LevelLedgerStorage(dir, db, files, init.afterClose)
  }

  async readHead(): Promise<LedgerHead> {
    const bytes = await this.#get(HEAD_KEY)
    if (bytes === undefined) return { length: 0, headHash: GENESIS_PREV_HASH }
    let value
    try {
      value = decodeCanonical(bytes)
    } catch (err) {
      throw new LedgerStorageError(`${this.dir}: head record is not canonical CBOR`, { cause: err })
    }
    const record = value as { length?: unknown; head?: unknown; range?: unknown } | null
    const length = record?.length
    const headHash = record?.head
    const range = record?.range
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || !(headHash instanceof Uint8Array) || headHash.length !== HASH_LENGTH_BYTES) {
      throw new LedgerStorageError(`${this.dir}: head record is not { length, head } with a 32-byte head`)
    }
    if (range !== undefined && (!Array.isArray(range) || range.some((h) => !(h instanceof Uint8Array) || h.length !== HASH_LENGTH_BYTES))) {
      throw new LedgerStorageError(`${this.dir}: head record's compact range is not a list of 32-byte hashes`)
    }
    return range === undefined ? { length, headHash } : { length, headHash, range: range as Uint8Array[] }
  }

  readEntry(seq: number): Promise<Uint8Array | undefined> {
    return this.#get(entryKey(seq))
  }

  async *readEntries(from: number, to: number): AsyncIterable<StoredEntry> {
    this.#assertOpen()
    if (to <= from) return
    const iterator = this.#db.iterator({ gte: entryKey(from), lt: entryKey(to) })
    // Ask for the next batch before handing out the current one, so LevelDB
    // reads while the consumer decodes and verifies.
    let pending: Promise<[string, Uint8Array][]> | undefined = iterator.nextv(READ_BATCH_ENTRIES)
    try {
      for (;;) {
        const batch: [string, Uint8Array][] = await pending
        if (batch.length === 0) {
          pending = undefined
          return
        }
        pending = iterator.nextv(READ_BATCH_ENTRIES)
        for (const [key, value] of batch) {
          const match = ENTRY_KEY.exec(key)
          if (match === null) throw new LedgerStorageError(`${this.dir}: unexpected key ${JSON.stringify(key)} among entries`)
          yield { seq: Number.parseInt(match[1] as string, 16), bytes: asPlainBytes(value) }
        }
      }
    } finally {
      // When the consumer stops early, nobody will read the batch already
      // requested; close() waits for it, and its failure, if any, is moot.
      pending?.catch(abandonedReadFailed)
      await iterator.close()
    }
  }

  async writeBatch(batch: LedgerWriteBatch): Promise<void> {
    this.#assertOpen()
    const nodes = batch.nodes ?? []
    const records = batch.records ?? []
    if (batch.blobs.length + batch.entries.length + nodes.length + records.length === 0 && batch.head === undefined) return
    // A chained batch, not the array form: the array form builds an op object
    // per put and abstract-level checks and copies each one (about 10 µs per
    // entry at 1024 entries per call, against 7.5 µs for the whole chained
    // write). Same puts, same order, one atomic sync write.
    // Blob files first: an entry must never be durable without the blobs it names.
    // Small blobs go into the batch itself (one sync for the lot).
    const inline = batch.blobs.filter((b): b is { hash: Uint8Array; bytes: Uint8Array } => 'bytes' in b && b.bytes.length <= INLINE_BLOB_MAX_BYTES)
    await this.#files.write(batch.blobs.filter((b) => !('bytes' in b) || b.bytes.length > INLINE_BLOB_MAX_BYTES))
    let chain: ReturnType<Level<string, Uint8Array>['batch']> | undefined
    try {
      chain = this.#db.batch()
      for (const blob of inline) chain.put(blobKey(blob.hash), blob.bytes)
      for (const entry of batch.entries) chain.put(entryKey(entry.seq), entry.bytes)
      for (const node of nodes) chain.put(nodeKey(node.level, node.index), node.hash)
      for (const record of records) chain.put(RECORD_PREFIX + record.key, record.value)
      if (batch.head !== undefined) chain.put(HEAD_KEY, encodeHead(batch.head))
      await chain.write({ sync: true })
    } catch (err) {
      // A failed write has closed the batch already; one that failed while
      // being filled has not (close is idempotent, and its failure is moot).
      await chain?.close().catch(closeFailed)
      throw new LedgerStorageError(`${this.dir}: writing ${batch.entries.length} entries and ${batch.blobs.length} blobs failed: ${(err as Error).message}`, { cause: err })
    }
  }

  async readBlob(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen()
    return (await this.#files.read(hash)) ?? this.#get(blobKey(hash))
  }

  async hasBlob(hash: Uint8Array): Promise<boolean> {
    this.#assertOpen()
    return (await this.#files.has(hash)) || this.#db.has(blobKey(hash))
  }

  async openBlobReader(hash: Uint8Array): Promise<(BlobReader & { close(): void }) | undefined> {
    this.#assertOpen()
    const reader = this.#files.openReader(hash)
    if (reader !== undefined) return reader
    const legacy = await this.#get(blobKey(hash))
    return legacy === undefined ? undefined : { ...bytesReader(legacy), close: () => undefined }
  }

  async openBlobStream(hash: Uint8Array, chunkBytes: number): Promise<{ readonly size: number; chunks(): AsyncGenerator<Uint8Array> } | undefined> {
    this.#assertOpen()
    const stream = await this.#files.openStream(hash, chunkBytes)
    if (stream !== undefined) return stream
    const legacy = await this.#get(blobKey(hash))
    if (legacy === undefined) return undefined
    return {
      size: legacy.length,
      async *chunks() {
        for (let offset = 0; offset < legacy.length; offset += chunkBytes) yield legacy.subarray(offset, offset + chunkBytes)
      },
    }
  }

  createBlobWriter(): Promise<BlobWriter> {
    this.#assertOpen()
    return this.#files.createWriter()
  }

  async removeBlob(hash: Uint8Array): Promise<boolean> {
    this.#assertOpen()
    const legacy = await this.#db.has(blobKey(hash))
    if (legacy) await this.#db.del(blobKey(hash), { sync: true })
    return (await this.#files.remove(hash)) || legacy
  }

  async readNodes(ids: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
    this.#assertOpen()
    if (ids.length === 0) return []
    const values = await this.#db.getMany(ids.map((id) => nodeKey(id.level, id.index)))
    return values.map((v) => (v === undefined ? undefined : asPlainBytes(v)))
  }

  readRecord(key: string): Promise<Uint8Array | undefined> {
    return this.#get(RECORD_PREFIX + key)
  }

  async *readBlobs(): AsyncIterable<ListedBlob> {
    this.#assertOpen()
    for await (const [key, value] of this.#db.iterator({ gte: BLOB_PREFIX, lt: `${BLOB_PREFIX}\uffff` })) yield { hash: fromHex(key.slice(BLOB_PREFIX.length)), bytes: asPlainBytes(value), key }
    for await (const { hash, file } of this.#files.list()) {
      const bytes = await this.#files.read(hash)
      if (bytes !== undefined) yield { hash, bytes, key: path.relative(this.dir, file) }
    }
  }

  async *readRecords(prefix: string): AsyncIterable<StoredRecord> {
    this.#assertOpen()
    const gte = RECORD_PREFIX + prefix
    for await (const [key, value] of this.#db.iterator({ gte, lt: gte + '\uffff' })) yield { key: key.slice(RECORD_PREFIX.length), value: asPlainBytes(value) }
  }

  async readLastRecord(prefix: string): Promise<StoredRecord | undefined> {
    this.#assertOpen()
    const gte = RECORD_PREFIX + prefix
    for await (const [key, value] of this.#db.iterator({ gte, lt: gte + '\uffff', reverse: true, limit: 1 })) return { key: key.slice(RECORD_PREFIX.length), value: asPlainBytes(value) }
    return undefined
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#db.close()
    } finally {
      await this.#afterClose?.()
    }
  }

  async #get(key: string): Promise<Uint8Array | undefined> {
    this.#assertOpen()
    const value = await this.#db.get(key)
    return value === undefined ? undefined : asPlainBytes(value)
  }

  #assertOpen(): void {
    if (this.#closed) throw new LedgerClosedError()
  }
}

/**
 * Opens (creating unless `init.createIfMissing === false`) the LevelDB ledger
 * store in `dir`. Throws `LedgerLockedError` when another process, or another
 * open in this one, holds it; `LedgerDatabaseMissingError` when there is none
 * and it may not create one; `LedgerStorageError` for anything else.
 */
export function openLevelStorage(dir: string, init?: LevelStorageInit): Promise<LevelLedgerStorage> {
  return LevelLedgerStorage.open(dir, init)
}
