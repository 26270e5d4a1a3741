/**
 * The Ledger: an append-only, hash-chained, signed log of entries plus the
 * content-addressed blobs they name, over an injected LedgerStorage.
 * See index.ts for the format and what it guarantees.
 */
import { createHash } from 'node:crypto'
import type { BlobWriter, FinishedBlob } from './blob-files.ts'
import { sha256Reader, type BlobReader } from './core/blob-reader.ts'
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
import type { LedgerHead, LedgerStorage, StoredEntry, StoredNode } from './storage.ts'
import { readVerifiedEntries } from './verify.ts'

/** A blob to append: bytes, or a finished `BlobWriter`'s file (moved into place, not copied). */
export type AppendBlob = Uint8Array | FinishedBlob
import { EMPTY_COMPACT_RANGE, appendLeaf, appendLeaves, compactRangeFrom, rootOfRange, type CompactRange } from './core/compact-range.ts'
import {
  RFC6962_SHA256,
  consistencyProofFrom,
  consistencyProofNodes,
  hashLeaf,
  inclusionProofFrom,
  inclusionProofNodes,
  rangeNodes,
  verifyConsistency,
  type NodeId,
  type NodeReader,
} from './core/merkle.ts'
import {
  decodeMisbehaviourProof,
  decodeSignedCheckpoint,
  encodeMisbehaviourProof,
  encodeSignedCheckpoint,
  openCheckpoint,
  readCheckpoint,
  signCheckpoint,
  verifyCosignature,
  withCosignatures,
  type Cosignature,
  type MisbehaviourProof,
  type SignedCheckpoint,
} from './core/checkpoint.ts'
import { CheckpointInvalidError, CheckpointRootMismatchError } from './core/checkpoint-errors.ts'
import { RootMismatchError } from './core/merkle-errors.ts'
import { LedgerEntryTooLargeError } from './core/tile-errors.ts'
import { MAX_ENTRY_BYTES, TILE_WIDTH, encodeEntryBundle, joinTileHashes, tileNodeIds, type TileId } from './core/tiles.ts'
import { decodeCanonical, encodeCanonical } from './core/canonical.ts'
import { toHex } from './core/hash.ts'
import { LedgerChainBrokenError, LedgerStoreDamagedError, LedgerStoreFormatError, LedgerUntrustedAuthorError } from './errors.ts'

const HASHER = RFC6962_SHA256
/** Record prefixes of checkpoints and cosignatures, followed by `sizeKey(size)` (verify-store.ts reads them too). */
export const CHECKPOINT_RECORD = 'cp/'
export const COSIGNATURE_RECORD = 'cs/'
const MISBEHAVIOUR_RECORD = 'mb/'
/** Record of whose replica a store is (see setReplicaHolder). */
const REPLICA_HOLDER_RECORD = 'replica/holder'
export const sizeKey = (size: number) => size.toString(16).padStart(16, '0')

/**
 * The record naming the store's format. Version 2: checkpoints are C2SP
 * signed notes and cosignatures cosignature/v1. A store with entries and
 * without it was written by an older fedlineage (CBOR checkpoints): `open`
 * refuses it with `LedgerStoreFormatError` rather than misread it.
 */
const FORMAT_RECORD = 'format'
export const STORE_FORMAT_VERSION = 2
const FORMAT_RECORD_VALUE = new TextEncoder().encode(String(STORE_FORMAT_VERSION))
const formatRecord = { key: FORMAT_RECORD, value: FORMAT_RECORD_VALUE }

/** A cosignature record's value, as `addCosignature` stores it. */
export function decodeStoredCosignature(value: Uint8Array): Cosignature {
  const v = decodeCanonical(value) as { witness: Uint8Array; sig: Uint8Array; timestamp: number; name?: string }
  return { witness: v.witness, signature: v.sig, timestamp: v.timestamp, ...(typeof v.name === 'string' ? { name: v.name } : {}) }
}
const nodeId = (level: number, index: number) => `${level}/${index}`
/** Merkle leaves readCommitted reads at a time (one LevelDB getMany). */
const COMMITTED_READ_LEAVES = 256

/**
 * Whose replica a store is, as its holder recorded it: a participant's
 * replica keeps every entry but only the blobs its holder may read, so a blob
 * it lacks is not a missing blob of the log. Advisory: nothing signs it.
 */
export interface ReplicaHolder {
  /** The holder's Ed25519 public key: its libp2p identity, under which peers serve it. */
  readonly key: Uint8Array
  /** Multiaddrs of the replicas it syncs from (the coordinator's first), where its blobs can be fetched. */
  readonly peers: readonly string[]
}

/** What a replica checks replicated entries against. */
export interface ReplicationInit {
  /** The only key allowed to author entries and sign checkpoints. */
  readonly coordinatorKey: Uint8Array
  /** The log's origin (the study id) that checkpoints must name. */
  readonly origin: string
}

/**
 * One log over one storage. Appends are serialised: concurrent callers each
 * get a contiguous run of seqs, and the chain never forks. Reads check what
 * storage returns before handing it out.
 *
 * Emits nothing and owns no network: replication (replication.ts) wraps it and
 * hands it verified entries through `appendReplicated`; it does not live in it.
 */
export class Ledger {
  readonly #storage: LedgerStorage
  #length: number
  #headHash: Uint8Array
  // Tail of the write queue. Each write starts when the previous one settled,
  // so seq and prev are read and advanced by one write at a time.
  #tail: Promise<void> = Promise.resolve()
  #closed = false
  #range: CompactRange

  private constructor(storage: LedgerStorage, head: LedgerHead, range: CompactRange) {
    this.#storage = storage
    this.#length = head.length
    this.#headHash = head.headHash
    this.#range = range
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
      const format = await storage.readRecord(FORMAT_RECORD)
      if (head.length > 0 && (format === undefined || !equalBytes(format, FORMAT_RECORD_VALUE))) {
        throw new LedgerStoreFormatError(format === undefined ? 1 : new TextDecoder().decode(format), STORE_FORMAT_VERSION)
      }
      const range = head.range ? { size: head.length, hashes: head.range } : head.length === 0 ? EMPTY_COMPACT_RANGE : await rebuildTree(storage, head)
      return new Ledger(storage, head, range)
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
  append(signer: Signer, drafts: readonly EntryDraft[], blobs: readonly AppendBlob[] = []): Promise<AppendedEntry[]> {
    return this.#enqueue(async () => (await this.#appendLocked(signer, drafts, blobs)).appended)
  }

  /**
   * As `append`, and signs a checkpoint of the extended log, stored in the
   * same durable batch: the entries and the commitment to them land together,
   * so a replica is never announced a checkpoint the log does not hold.
   */
  appendWithCheckpoint(
    signer: Signer,
    drafts: readonly EntryDraft[],
    blobs: readonly AppendBlob[],
    checkpoint: { readonly origin: string },
  ): Promise<{ appended: AppendedEntry[]; checkpoint: SignedCheckpoint }> {
    return this.#enqueue(async () => {
      const r = await this.#appendLocked(signer, drafts, blobs, checkpoint)
      return { appended: r.appended, checkpoint: r.checkpoint! }
    })
  }

  async #appendLocked(
    signer: Signer,
    drafts: readonly EntryDraft[],
    blobs: readonly AppendBlob[],
    checkpoint?: { readonly origin: string },
  ): Promise<{ appended: AppendedEntry[]; checkpoint?: SignedCheckpoint }> {
    let seq = this.#length
    let prevHash = this.#headHash
    let range = this.#range
    const nodes: StoredNode[] = []
    const visit = (level: number, index: number, hash: Uint8Array) => void nodes.push({ level, index, hash })
    const appended: AppendedEntry[] = []
    const entries: StoredEntry[] = []
    const leafHashes: Uint8Array[] = []
    for (const draft of drafts) {
      const next = signEntry(signer, seq, prevHash, draft)
      // Refused before anything is written: tile bundles cannot carry it (core/tiles.ts).
      if (next.bytes.length > MAX_ENTRY_BYTES) throw new LedgerEntryTooLargeError(seq, draft.kind, next.bytes.length, MAX_ENTRY_BYTES)
      appended.push(next)
      entries.push({ seq, bytes: next.bytes })
      leafHashes.push(hashLeaf(next.bytes))
      prevHash = next.hash
      seq++
    }
    // One appendLeaves for the batch: the same nodes as appendLeaf per entry, one range check.
    range = appendLeaves(HASHER, range, leafHashes, visit)
    const signed = checkpoint ? signCheckpoint(signer, { origin: checkpoint.origin, size: seq, root: rootOfRange(HASHER, range) }) : undefined
    await this.#storage.writeBatch({
      entries,
      head: appended.length > 0 ? { length: seq, headHash: prevHash, range: range.hashes } : undefined,
      blobs: blobs.map((b) => (b instanceof Uint8Array ? { hash: sha256(b), bytes: b } : 'file' in b ? { hash: b.hash, file: b.file } : { hash: b.hash, bytes: b.bytes })),
      nodes,
      records: [...(this.#length === 0 && appended.length > 0 ? [formatRecord] : []), ...(signed ? [{ key: CHECKPOINT_RECORD + sizeKey(seq), value: encodeSignedCheckpoint(signed) }] : [])],
    })
    this.#length = seq
    this.#headHash = prevHash
    this.#range = range
    return signed ? { appended, checkpoint: signed } : { appended }
  }

  /**
   * Entry `seq`, checked: canonical and well-formed, stored at its own
   * position, validly signed, and, for the last entry, equal to the head.
   * (Whether it links to its predecessor is verifyLog's and scan's business;
   * `inclusionProof` proves its place in the tree in O(log n).) Throws
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

  /**
   * Entries `[from, to)` as stored, in order, each checked against the
   * Merkle leaf the tree committed to when it was appended (its signature
   * and chain were checked then): one SHA-256 per entry instead of scan's
   * signature check. For handing entries to someone who verifies them all
   * again, as a replica serving a peer does. Throws `RootMismatchError` for
   * a damaged entry, `LedgerSeqGapError` for a missing one. Requires
   * `0 <= from <= to <= length` (`LedgerInvalidArgumentError`).
   */
  async *readCommitted(from: number, to: number): AsyncGenerator<{ readonly seq: number; readonly bytes: Uint8Array }> {
    this.#assertOpen()
    const length = this.#length
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > length) {
      throw new LedgerInvalidArgumentError(`range [${from}, ${to}) is not within the log [0, ${length})`)
    }
    let expected = from
    let leaves: (Uint8Array | undefined)[] = []
    let leavesFrom = from
    for await (const { seq, bytes } of this.#storage.readEntries(from, to)) {
      if (seq !== expected) throw new LedgerSeqGapError(expected, seq, `missing from storage (the next stored entry is ${seq})`)
      if (seq >= leavesFrom + leaves.length) {
        leavesFrom = seq
        const count = Math.min(COMMITTED_READ_LEAVES, to - seq)
        leaves = await this.#storage.readNodes(Array.from({ length: count }, (_, i) => ({ level: 0, index: seq + i })))
      }
      const leaf = leaves[seq - leavesFrom]
      if (leaf === undefined) throw new LedgerSeqGapError(seq, undefined, `Merkle leaf of entry ${seq} is missing from storage`)
      const calculated = hashLeaf(bytes)
      if (!equalBytes(leaf, calculated)) throw new RootMismatchError(`entry ${seq}: stored bytes`, 'leaf', leaf, calculated)
      expected++
      yield { seq, bytes }
    }
    if (expected < to) throw new LedgerSeqGapError(expected, undefined, `missing from storage (the log should have ${to} entries)`)
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

  /**
   * A blob read in ranges without loading it whole (close it). With `verify`,
   * its bytes are first re-hashed in one pass of slices (`LedgerBlobCorruptError`);
   * without, a reader that needs them checked hashes what it reads. Throws
   * `LedgerBlobMissingError`.
   */
  async openBlobReader(hash: Uint8Array, options: { readonly verify?: boolean } = {}): Promise<BlobReader & { close(): void }> {
    this.#assertOpen()
    assertHash(hash)
    const reader = await this.#storage.openBlobReader(hash)
    if (reader === undefined) throw new LedgerBlobMissingError(hash)
    if (options.verify === true) {
      const calculated = sha256Reader(reader)
      if (!equalBytes(calculated, hash)) {
        reader.close()
        throw new LedgerBlobCorruptError(hash, calculated)
      }
    }
    return reader
  }

  /**
   * A blob's bytes in chunks, re-hashed as they are read: the last chunk is
   * withheld and `LedgerBlobCorruptError` thrown instead when the bytes do
   * not hash to `hash`, so a damaged copy is never served whole. Throws
   * `LedgerBlobMissingError`.
   */
  async openBlobStream(hash: Uint8Array, chunkBytes: number): Promise<{ readonly size: number; chunks(): AsyncGenerator<Uint8Array> }> {
    this.#assertOpen()
    assertHash(hash)
    const stream = await this.#storage.openBlobStream(hash, chunkBytes)
    if (stream === undefined) throw new LedgerBlobMissingError(hash)
    return {
      size: stream.size,
      async *chunks() {
        const hasher = createHash('sha256')
        let held: Uint8Array | undefined
        for await (const chunk of stream.chunks()) {
          if (held !== undefined) yield held
          hasher.update(chunk)
          held = chunk
        }
        const calculated = new Uint8Array(hasher.digest())
        if (!equalBytes(calculated, hash)) throw new LedgerBlobCorruptError(hash, calculated)
        if (held !== undefined) yield held
      },
    }
  }

  /** A writer for a blob that arrives in pieces (an upload); append its finished file with the entries that name it. */
  createBlobWriter(): Promise<BlobWriter> {
    this.#assertOpen()
    return this.#storage.createBlobWriter()
  }

  /**
   * Deletes the blob stored under `hash` (a retention policy's pruning); the
   * entries that name it keep its hash. Resolves true when it was stored.
   */
  removeBlob(hash: Uint8Array): Promise<boolean> {
    this.#assertOpen()
    assertHash(hash)
    return this.#enqueue(() => this.#storage.removeBlob(hash))
  }

  /** Whether a blob is stored under `hash` (without reading or checking it). */
  async hasBlob(hash: Uint8Array): Promise<boolean> {
    this.#assertOpen()
    assertHash(hash)
    return this.#storage.hasBlob(hash)
  }

  // ---- Merkle tree (RFC 6962): leaf = SHA-256(0x00 ‖ entry bytes) ------------------

  /** The Merkle root of the first `size` entries. Requires `0 <= size <= length`. */
  async root(size: number = this.#length): Promise<Uint8Array> {
    this.#assertOpen()
    this.#assertSize(size)
    if (size === this.#length) return rootOfRange(HASHER, this.#range)
    const reader = await this.#nodeReader(rangeNodes(0, size))
    return rootOfRange(HASHER, compactRangeFrom(HASHER, reader, size))
  }

  /** The stored leaf hash of entry `seq` (what inclusion proofs prove). */
  async leafHash(seq: number): Promise<Uint8Array> {
    this.#assertOpen()
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#length) throw new LedgerNotFoundError(seq, this.#length)
    const reader = await this.#nodeReader([{ level: 0, index: seq }])
    return reader(0, seq)
  }

  /** Inclusion proof of entry `index` in the tree of `size` entries. Requires `0 <= index < size <= length`. */
  async inclusionProof(index: number, size: number = this.#length): Promise<Uint8Array[]> {
    this.#assertOpen()
    this.#assertSize(size)
    return inclusionProofFrom(HASHER, await this.#nodeReader(inclusionProofNodes(index, size)), index, size)
  }

  /** Consistency proof from the tree of `size1` entries to that of `size2`. Requires `0 <= size1 <= size2 <= length`. */
  async consistencyProof(size1: number, size2: number = this.#length): Promise<Uint8Array[]> {
    this.#assertOpen()
    this.#assertSize(size2)
    return consistencyProofFrom(HASHER, await this.#nodeReader(consistencyProofNodes(size1, size2)), size1, size2)
  }

  async #nodeReader(ids: readonly NodeId[], extra?: ReadonlyMap<string, Uint8Array>): Promise<NodeReader> {
    const wanted = ids.filter((id) => !extra?.has(nodeId(id.level, id.index)))
    const values = await this.#storage.readNodes(wanted)
    const map = new Map(extra)
    wanted.forEach((id, i) => {
      const v = values[i]
      if (v !== undefined) map.set(nodeId(id.level, id.index), v)
    })
    return (level, index) => {
      const hash = map.get(nodeId(level, index))
      if (hash === undefined) throw new LedgerSeqGapError(index << level, undefined, `Merkle node (level ${level}, index ${index}) is missing from storage`)
      return hash
    }
  }

  /**
   * The bytes of hash tile `tile` (core/tiles.ts) read from the stored Merkle
   * nodes: level 8·L, `width` hashes from index N·256. Requires the tree to
   * have them (`tileWidthAt(length, L, N) >= width`; LedgerInvalidArgumentError).
   */
  async readTile(tile: TileId): Promise<Uint8Array> {
    this.#assertOpen()
    const ids = tileNodeIds(tile)
    const last = ids.at(-1)
    if (last === undefined || (last.index + 1) * 2 ** last.level > this.#length || tile.width > TILE_WIDTH)
      throw new LedgerInvalidArgumentError(`tile ${tile.level}/${tile.index} of width ${tile.width} is not within the log's ${this.#length} entries`)
    const reader = await this.#nodeReader(ids)
    return joinTileHashes(ids.map((id) => reader(id.level, id.index)))
  }

  /**
   * The entry bundle of level-0 tile `index` (`width` entries from index·256),
   * each entry checked against its stored Merkle leaf as readCommitted does.
   * Requires `(index·256 + width) <= length` (LedgerInvalidArgumentError).
   */
  async readEntryBundle(index: number, width: number): Promise<Uint8Array> {
    const from = index * TILE_WIDTH
    if (width < 1 || width > TILE_WIDTH || from + width > this.#length) throw new LedgerInvalidArgumentError(`entry bundle ${index} of width ${width} is not within the log's ${this.#length} entries`)
    const entries: Uint8Array[] = []
    for await (const { bytes } of this.readCommitted(from, from + width)) entries.push(bytes)
    return encodeEntryBundle(entries)
  }

  #assertSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#length) throw new LedgerInvalidArgumentError(`tree size ${size} is not within the log's ${this.#length} entries`)
  }

  // ---- checkpoints -------------------------------------------------------------------

  /** Signs and stores a checkpoint of the log as it is now (the coordinator's commitment). */
  checkpoint(signer: Signer, origin: string): Promise<SignedCheckpoint> {
    return this.#enqueue(async () => {
      const signed = signCheckpoint(signer, { origin, size: this.#length, root: rootOfRange(HASHER, this.#range) })
      await this.#storage.writeBatch({ entries: [], blobs: [], records: [{ key: CHECKPOINT_RECORD + sizeKey(this.#length), value: encodeSignedCheckpoint(signed) }] })
      return signed
    })
  }

  /** The stored checkpoint of tree size `size`, if any. */
  async checkpointAt(size: number): Promise<SignedCheckpoint | undefined> {
    this.#assertOpen()
    const bytes = await this.#storage.readRecord(CHECKPOINT_RECORD + sizeKey(size))
    return bytes === undefined ? undefined : decodeSignedCheckpoint(bytes)
  }

  /** Every stored checkpoint, smallest size first. */
  async checkpoints(): Promise<SignedCheckpoint[]> {
    this.#assertOpen()
    const out: SignedCheckpoint[] = []
    for await (const r of this.#storage.readRecords(CHECKPOINT_RECORD)) out.push(decodeSignedCheckpoint(r.value))
    return out
  }

  /** The newest stored checkpoint (the one of the greatest size): one seek, however many are stored. */
  async latestCheckpoint(): Promise<SignedCheckpoint | undefined> {
    this.#assertOpen()
    return this.#latestCheckpointUnqueued()
  }

  /** Stores a witness's cosignature of the stored checkpoint of `size`, after checking it. */
  async addCosignature(size: number, cosig: Cosignature): Promise<void> {
    const cp = await this.checkpointAt(size)
    if (!cp) throw new CheckpointInvalidError(`no checkpoint of size ${size} to cosign`)
    if (!verifyCosignature(cp, cosig)) throw new CheckpointInvalidError(`cosignature by ${toHex(cosig.witness).slice(0, 16)}… of the checkpoint of size ${size} does not verify`)
    // `name` only for a witness that names itself otherwise than by its key: records of the others keep their old bytes.
    const value = encodeCanonical({ witness: cosig.witness, sig: cosig.signature, timestamp: cosig.timestamp, ...(cosig.name === undefined ? {} : { name: cosig.name }) })
    await this.#enqueue(() => this.#storage.writeBatch({ entries: [], blobs: [], records: [{ key: `${COSIGNATURE_RECORD}${sizeKey(size)}/${toHex(cosig.witness)}`, value }] }))
  }

  /** The cosignatures stored for the checkpoint of `size`. */
  async cosignatures(size: number): Promise<Cosignature[]> {
    this.#assertOpen()
    const out: Cosignature[] = []
    for await (const r of this.#storage.readRecords(`${COSIGNATURE_RECORD}${sizeKey(size)}/`)) out.push(decodeStoredCosignature(r.value))
    return out
  }

  /** The stored checkpoint of `size` with its stored witnesses' cosignature/v1 lines: the note `log checkpoint` prints and tiles serve. */
  async cosignedCheckpointAt(size: number): Promise<SignedCheckpoint | undefined> {
    const cp = await this.checkpointAt(size)
    return cp === undefined ? undefined : withCosignatures(cp, await this.cosignatures(size))
  }

  // ---- replication -----------------------------------------------------------------

  /**
   * Appends entries received from another replica, verified before anything
   * is stored: they continue this log (seq and prev hash), each is authored
   * and validly signed by the coordinator, the Merkle root of the extended
   * log equals the signed checkpoint's root, and that root is consistent with
   * the newest checkpoint already stored. Stores entries, tree nodes, head and
   * checkpoint in one batch; stores nothing on failure.
   * An empty `entries` only checks and stores a checkpoint of the current size.
   */
  appendReplicated(entries: readonly Uint8Array[], checkpoint: SignedCheckpoint, init: ReplicationInit): Promise<void> {
    return this.#enqueue(async () => {
      const cp = openCheckpoint(checkpoint, init.coordinatorKey, init.origin)
      const first = this.#length
      if (cp.size !== first + entries.length) throw new LedgerInvalidArgumentError(`entries [${first}, ${first + entries.length}) do not end at the checkpoint's size ${cp.size}`)
      let prevHash = this.#headHash
      let range = this.#range
      const nodes: StoredNode[] = []
      const fresh = new Map<string, Uint8Array>()
      const visit = (level: number, index: number, hash: Uint8Array) => {
        nodes.push({ level, index, hash })
        fresh.set(nodeId(level, index), hash)
      }
      const stored: { seq: number; bytes: Uint8Array }[] = []
      entries.forEach((bytes, i) => {
        const seq = first + i
        const entry = decodeEntry(bytes, seq)
        if (entry.seq !== seq) throw new LedgerSeqGapError(seq, entry.seq, `seq field is ${entry.seq}, want ${seq}`)
        if (!equalBytes(entry.prevHash, prevHash)) throw new LedgerChainBrokenError(seq, prevHash, entry.prevHash)
        if (!equalBytes(entry.author, init.coordinatorKey)) throw new LedgerUntrustedAuthorError(seq, entry.author)
        if (!verifySignature(entry.author, entrySigningMessage(entry), entry.signature)) throw new LedgerSignatureInvalidError(seq, entry.author)
        range = appendLeaf(HASHER, range, hashLeaf(bytes), visit)
        prevHash = entryHash(bytes)
        stored.push({ seq, bytes })
      })
      const root = rootOfRange(HASHER, range)
      if (!equalBytes(root, cp.root))
        throw new CheckpointRootMismatchError(`entries [0, ${cp.size}) have root ${toHex(root).slice(0, 16)}…, the signed checkpoint says ${toHex(cp.root).slice(0, 16)}…`, cp.root, root)
      const previous = await this.#latestCheckpointUnqueued()
      if (previous) {
        const prev = readCheckpoint(previous)
        if (prev.size <= cp.size) {
          const proof = consistencyProofFrom(HASHER, await this.#nodeReader(consistencyProofNodes(prev.size, cp.size), fresh), prev.size, cp.size)
          verifyConsistency(HASHER, prev.size, cp.size, proof, prev.root, cp.root)
        }
      }
      await this.#storage.writeBatch({
        entries: stored,
        head: stored.length > 0 ? { length: cp.size, headHash: prevHash, range: range.hashes } : undefined,
        blobs: [],
        nodes,
        records: [...(first === 0 && stored.length > 0 ? [formatRecord] : []), { key: CHECKPOINT_RECORD + sizeKey(cp.size), value: encodeSignedCheckpoint(checkpoint) }],
      })
      this.#length = cp.size
      this.#headHash = prevHash
      this.#range = range
    })
  }

  async #latestCheckpointUnqueued(): Promise<SignedCheckpoint | undefined> {
    const last = await this.#storage.readLastRecord(CHECKPOINT_RECORD)
    return last === undefined ? undefined : decodeSignedCheckpoint(last.value)
  }

  /**
   * Replaces a damaged stored entry with `bytes`, which must be the entry the
   * tree committed to: its leaf hash equals the stored Merkle leaf of `seq`.
   */
  async repairEntry(seq: number, bytes: Uint8Array): Promise<void> {
    const leaf = await this.leafHash(seq)
    const calculated = hashLeaf(bytes)
    if (!equalBytes(leaf, calculated)) throw new RootMismatchError(`entry ${seq}: replacement bytes`, 'leaf', leaf, calculated)
    decodeEntry(bytes, seq)
    await this.#enqueue(() => this.#storage.writeBatch({ entries: [{ seq, bytes }], blobs: [] }))
  }

  /**
   * Stores a blob written through `createBlobWriter` as the blob `hash` (a
   * copy fetched from a peer, replacing a damaged local one), only if the
   * writer hashed its bytes to `hash` (`LedgerBlobCorruptError`). Its temp
   * file is moved into place, never read back into memory; on a refusal or a
   * failed write the caller discards the writer.
   */
  async putFinishedBlob(hash: Uint8Array, finished: FinishedBlob): Promise<void> {
    this.#assertOpen()
    assertHash(hash)
    if (!equalBytes(finished.hash, hash)) throw new LedgerBlobCorruptError(hash, finished.hash)
    const blob = 'file' in finished ? { hash, file: finished.file } : { hash, bytes: finished.bytes }
    await this.#enqueue(() => this.#storage.writeBatch({ entries: [], blobs: [blob] }))
  }

  // ---- whose replica this is ---------------------------------------------------------

  /** Records whose replica this store is, and whom it syncs from (see ReplicaHolder); replaces what was recorded. */
  async setReplicaHolder(holder: ReplicaHolder): Promise<void> {
    assertHash(holder.key)
    const value = encodeCanonical({ key: holder.key, peers: [...holder.peers] })
    await this.#enqueue(() => this.#storage.writeBatch({ entries: [], blobs: [], records: [{ key: REPLICA_HOLDER_RECORD, value }] }))
  }

  /** Whose replica this store is, if its holder recorded it (a coordinator's store and an auditor's full replica record none). */
  async replicaHolder(): Promise<ReplicaHolder | undefined> {
    this.#assertOpen()
    const bytes = await this.#storage.readRecord(REPLICA_HOLDER_RECORD)
    if (bytes === undefined) return undefined
    let v: { key?: unknown; peers?: unknown }
    try {
      v = decodeCanonical(bytes) as { key?: unknown; peers?: unknown }
    } catch (err) {
      throw new LedgerStoreDamagedError(`rec/${REPLICA_HOLDER_RECORD}`, `does not decode: ${(err as Error).message}`)
    }
    if (!(v.key instanceof Uint8Array) || v.key.length !== 32 || !Array.isArray(v.peers) || v.peers.some((p) => typeof p !== 'string'))
      throw new LedgerStoreDamagedError(`rec/${REPLICA_HOLDER_RECORD}`, 'is not { key: 32 bytes, peers: [multiaddr] }')
    return { key: v.key, peers: v.peers as string[] }
  }

  // ---- misbehaviour --------------------------------------------------------------------

  /** Stores a proof of coordinator misbehaviour (the caller verified it). Idempotent. */
  async recordMisbehaviour(proof: MisbehaviourProof): Promise<void> {
    const value = encodeMisbehaviourProof(proof)
    await this.#enqueue(() => this.#storage.writeBatch({ entries: [], blobs: [], records: [{ key: MISBEHAVIOUR_RECORD + toHex(sha256(value)), value }] }))
  }

  /** Every stored proof of misbehaviour. */
  async misbehaviour(): Promise<MisbehaviourProof[]> {
    this.#assertOpen()
    const out: MisbehaviourProof[] = []
    for await (const r of this.#storage.readRecords(MISBEHAVIOUR_RECORD)) out.push(decodeMisbehaviourProof(r.value))
    return out
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

/**
 * Builds the Merkle tree of a store written before the tree existed: reads
 * every entry once, stores every node and the compact range with the head.
 */
async function rebuildTree(storage: LedgerStorage, head: LedgerHead): Promise<CompactRange> {
  let range = EMPTY_COMPACT_RANGE
  let nodes: StoredNode[] = []
  const visit = (level: number, index: number, hash: Uint8Array) => void nodes.push({ level, index, hash })
  for await (const { bytes } of storage.readEntries(0, head.length)) {
    range = appendLeaf(HASHER, range, hashLeaf(bytes), visit)
    if (nodes.length > 4096) {
      await storage.writeBatch({ entries: [], blobs: [], nodes })
      nodes = []
    }
  }
  if (range.size !== head.length) throw new LedgerSeqGapError(range.size, undefined, `the store holds ${range.size} entries, its head says ${head.length}`)
  await storage.writeBatch({ entries: [], blobs: [], nodes, head: { ...head, range: range.hashes } })
  return range
}

function writeSettled(): void {
  // Deliberately nothing: see #enqueue.
}

function assertHash(hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH_BYTES) {
    throw new LedgerInvalidArgumentError(`blob hash is ${hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash}, want ${HASH_LENGTH_BYTES} bytes`)
  }
}
