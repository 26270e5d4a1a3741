/**
 * The Ledger: an append-only, hash-chained, signed log of entries plus the
 * content-addressed blobs they name, over an injected LedgerStorage.
 * See index.ts for the format and what it guarantees.
 */
import { equalBytes } from './core/canonical.ts'
import { HASH_LENGTH_BYTES } from './core/constants.ts'
import { GENESIS_PREV_HASH, decodeEntry, entryHash, entrySigningMessage, signEntry, type AppendedEntry, type EntryDraft } from './core/entry.ts'
import { sha256 } from './core/hash.ts'
import { verifySignature, type Signer } from './core/signature.ts'
import {
  LedgerBlobCorruptError,
  LedgerBlobMissingError,
  LedgerClosedError,
  LedgerHeadMismatchError,
  LedgerInvalidArgumentError,
  LedgerNotFoundError,
  LedgerSeqGapError,
  LedgerSignatureInvalidError,
} from './errors.ts'
import type { LedgerHead, LedgerStorage } from './storage.ts'
import { readVerifiedEntries } from './verify.ts'

/**
 * One log over one storage. Appends are serialised: concurrent callers each
 * get a contiguous run of seqs, and the chain never forks. Reads check what
 * storage returns before handing it out.
 *
 * Emits nothing and owns no network; replication will wrap it, not live in it.
 */
export class Ledger {
  readonly #storage: LedgerStorage
  #length: number
  #headHash: Uint8Array
  // Tail of the write queue. Each write starts when the previous one settled,
  // so seq and prev are read and advanced by one write at a time.
  #tail: Promise<void> = Promise.resolve()
  #closed = false

  private constructor(storage: LedgerStorage, head: LedgerHead) {
    this.#storage = storage
    this.#length = head.length
    this.#headHash = head.headHash
  }

  /**
   * Opens the log in `storage` and takes ownership of it: `close()` closes
   * it, and so does a failed open. Checks that the stored head names the last
   * stored entry and that nothing is stored past it (`LedgerHeadMismatchError`,
   * `LedgerSeqGapError`); the full check is verifyLog.
   */
  static async open(storage: LedgerStorage): Promise<Ledger> {
    try {
      const head = await storage.readHead()
      if (head.length > 0) {
        const last = head.length - 1
        const bytes = await storage.readEntry(last)
        if (bytes === undefined) throw new LedgerSeqGapError(last, undefined, `missing from storage, but the stored head says the log has ${head.length} entries`)
        const hash = entryHash(bytes)
        if (!equalBytes(hash, head.headHash)) throw new LedgerHeadMismatchError(last, head.headHash, hash)
      }
      const beyond = await storage.readEntry(head.length)
      if (beyond !== undefined) {
        throw new LedgerHeadMismatchError(head.length, head.headHash, entryHash(beyond), `is stored past the head (the head says the log has ${head.length} entries)`)
      }
      return new Ledger(storage, head)
    } catch (err) {
      await storage.close()
      throw err
    }
  }

  /** Number of entries; the next append gets this seq. */
  get length(): number {
    return this.#length
  }

  /** Hash of the last entry, or GENESIS_PREV_HASH when the log is empty. */
  get headHash(): Uint8Array {
    return this.#headHash
  }

  /**
   * Signs `drafts` as the next entries, in order, and stores them together
   * with `blobs` (each under its SHA-256) in one durable batch: an entry is
   * never stored without the blobs appended with it, and nothing is stored
   * if the call fails. Resolves once on disk. Throws
   * `LedgerEntryMalformedError` for an invalid draft (nothing is written).
   */
  append(signer: Signer, drafts: readonly EntryDraft[], blobs: readonly Uint8Array[] = []): Promise<AppendedEntry[]> {
    return this.#enqueue(async () => {
      let seq = this.#length
      let prevHash = this.#headHash
      const appended: AppendedEntry[] = []
      for (const draft of drafts) {
        const next = signEntry(signer, seq, prevHash, draft)
        appended.push(next)
        prevHash = next.hash
        seq++
      }
      await this.#storage.writeBatch({
        entries: appended.map((a) => ({ seq: a.entry.seq, bytes: a.bytes })),
        head: appended.length > 0 ? { length: seq, headHash: prevHash } : undefined,
        blobs: blobs.map((bytes) => ({ hash: sha256(bytes), bytes })),
      })
      this.#length = seq
      this.#headHash = prevHash
      return appended
    })
  }

  /**
   * Entry `seq`, checked: canonical and well-formed, stored at its own
   * position, validly signed, and, for the last entry, equal to the head.
   * (Whether it links to its predecessor is verifyLog's and scan's business;
   * Merkle inclusion proofs will make that O(log n).) Throws
   * `LedgerNotFoundError` unless `0 <= seq < length`.
   */
  async get(seq: number): Promise<AppendedEntry> {
    this.#assertOpen()
    const length = this.#length
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= length) throw new LedgerNotFoundError(seq, length)
    const bytes = await this.#storage.readEntry(seq)
    if (bytes === undefined) throw new LedgerSeqGapError(seq, undefined, `missing from storage (the log has ${length} entries)`)
    const entry = decodeEntry(bytes, seq)
    if (entry.seq !== seq) throw new LedgerSeqGapError(seq, entry.seq, `seq field is ${entry.seq}, want ${seq} (entry stored at the wrong position)`)
    if (!verifySignature(entry.author, entrySigningMessage(entry), entry.signature)) throw new LedgerSignatureInvalidError(seq, entry.author)
    const hash = entryHash(bytes)
    if (seq === this.#length - 1 && !equalBytes(hash, this.#headHash)) throw new LedgerHeadMismatchError(seq, this.#headHash, hash)
    return { entry, bytes, hash }
  }

  /**
   * Entries `[from, to)` in order (default: the whole log as of the call),
   * each verified as by verifyLog (position, chain link, signature) before it
   * is yielded; a scan that reaches the head also checks the head hash.
   * Requires `0 <= from <= to <= length` (`LedgerInvalidArgumentError`).
   */
  async *scan(from = 0, to: number = this.#length): AsyncGenerator<AppendedEntry> {
    this.#assertOpen()
    const length = this.#length
    const headHash = this.#headHash
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > length) {
      throw new LedgerInvalidArgumentError(`scan range [${from}, ${to}) is not within the log [0, ${length})`)
    }
    let prevHash = GENESIS_PREV_HASH
    if (from > 0) {
      const before = await this.#storage.readEntry(from - 1)
      if (before === undefined) throw new LedgerSeqGapError(from - 1, undefined, `missing from storage (the log has ${length} entries)`)
      prevHash = entryHash(before)
    }
    let last: AppendedEntry | undefined
    for await (const appended of readVerifiedEntries(this.#storage, from, to, { prevHash })) {
      last = appended
      yield appended
    }
    if (last !== undefined && to === length && !equalBytes(last.hash, headHash)) throw new LedgerHeadMismatchError(to - 1, headHash, last.hash)
  }

  /** Stores `bytes` under its SHA-256, durably, and returns the hash. */
  putBlob(bytes: Uint8Array): Promise<Uint8Array> {
    return this.#enqueue(async () => {
      const hash = sha256(bytes)
      await this.#storage.writeBatch({ entries: [], blobs: [{ hash, bytes }] })
      return hash
    })
  }

  /**
   * The blob stored under `hash`, re-hashed on the way out. Throws
   * `LedgerBlobMissingError` or `LedgerBlobCorruptError`.
   */
  async getBlob(hash: Uint8Array): Promise<Uint8Array> {
    this.#assertOpen()
    assertHash(hash)
    const bytes = await this.#storage.readBlob(hash)
    if (bytes === undefined) throw new LedgerBlobMissingError(hash)
    const calculated = sha256(bytes)
    if (!equalBytes(calculated, hash)) throw new LedgerBlobCorruptError(hash, calculated)
    return bytes
  }

  /** Whether a blob is stored under `hash` (without reading or checking it). */
  async hasBlob(hash: Uint8Array): Promise<boolean> {
    this.#assertOpen()
    assertHash(hash)
    return this.#storage.hasBlob(hash)
  }

  /** Waits for queued appends, then closes the storage. Later calls throw `LedgerClosedError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#tail
    await this.#storage.close()
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new LedgerClosedError())
    const run = this.#tail.then(task)
    // The queue only orders writes; each caller sees its own outcome via `run`.
    this.#tail = run.then(writeSettled, writeSettled)
    return run
  }

  #assertOpen(): void {
    if (this.#closed) throw new LedgerClosedError()
  }
}

function writeSettled(): void {
  // Deliberately nothing: see #enqueue.
}

function assertHash(hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH_BYTES) {
    throw new LedgerInvalidArgumentError(`blob hash is ${hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash}, want ${HASH_LENGTH_BYTES} bytes`)
  }
}
