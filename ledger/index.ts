/**
 * @packageDocumentation
 *
 * The lineage log: an append-only, signed, hash-chained record of everything
 * a federated study did (enrolments, rounds, the models they produced), kept
 * so that anyone holding a copy can check it without trusting whoever kept it.
 *
 * **Entries.** An entry is a small canonical-CBOR map `{ v, seq, prev, kind,
 * time, body, author, sig }` (core/entry.ts). `kind` says what `body` is;
 * the ledger never interprets bodies: it deals in bytes, hashes, keys and
 * canonical values, and knows nothing of models or rounds.
 *
 * **Chain.** `prev` of entry n is the SHA-256 of entry n-1's bytes (32 zero
 * bytes for entry 0), so the head hash commits to the whole history: change
 * one byte anywhere and every later hash changes.
 *
 * **Signatures.** Each entry is signed with its author's Ed25519 key over a
 * domain-separated message (`ENTRY_SIGNING_CONTEXT ‖ 0x00 ‖ unsigned bytes`),
 * verified strictly (non-canonical S is refused). Keys live in key files
 * (identity.ts, `fedlineage keygen`).
 *
 * **Blobs.** Large payloads (model weights, deltas) are stored beside the log
 * under their SHA-256 and named by hash in entry bodies. An append stores an
 * entry and its blobs in one durable batch, and reads re-hash blobs.
 *
 * **Verification.** `verifyLog` (and `fedlineage log verify --db DIR`)
 * re-checks every entry from 0 to the stored head and reports the first
 * failure with its `seq`.
 *
 * **Merkle tree.** Every append also adds the entry's RFC 6962 leaf,
 * SHA-256(0x00 ‖ entry bytes), to a Merkle tree whose perfect nodes are
 * stored in the same batch (core/merkle.ts, core/compact-range.ts), so
 * `Ledger.root`, `inclusionProof` and `consistencyProof` cost O(log n).
 * `Ledger.checkpoint` signs and stores the coordinator's commitment
 * `{ origin, size, root, time }` (core/checkpoint.ts), which witnesses
 * cosign (`addCosignature`). `fedlineage log prove` writes a self-contained
 * inclusion proof (core/proof-bundle.ts) that `fedlineage log check-proof`
 * checks with no access to the log.
 *
 * **Tiles.** Every entry is at most 65,535 bytes (`MAX_ENTRY_BYTES`; larger
 * ones are refused at append with `LedgerEntryTooLargeError`), so the log
 * can be served as c2sp.org/tlog-tiles (core/tiles.ts): `tileResponse`
 * (tile-responses.ts) answers `/checkpoint`, `/tile/<L>/<N>` and
 * `/tile/entries/<N>` from the stored Merkle nodes for any HTTP server, and
 * `mirrorLog` (tile-client.ts, `fedlineage log mirror`) fetches a served log,
 * checks every tile and entry against its signed checkpoint and stores it.
 *
 * **Reading a store in use.** LevelDB locks its directory for one process.
 * `openStoreForReading` (read-store.ts) opens a store for the read tools: the
 * directory itself when it is free, else a consistent snapshot of it
 * (`snapshotStore`, store-snapshot.ts: tables and blob files hard-linked,
 * logs copied, taken again if LevelDB flushed or compacted meanwhile), so the
 * tools work while the coordinator or a site agent runs.
 *
 * **Replication.** `ledgerSync()` and `createReplicaNode` (replication.ts)
 * copy entries and blobs between peers over libp2p. Every received entry is
 * verified, and entries are stored only once their Merkle root matches a
 * signed checkpoint consistent with the newest stored one
 * (`Ledger.appendReplicated`); two checkpoints of one size with different
 * roots make a split-view proof, stored (`recordMisbehaviour`) and gossiped.
 *
 * ```ts
 * const ledger = await Ledger.open(await openLevelStorage(dataDir))
 * const signer = await loadSigner(keyFile)
 * const weightsHash = sha256(weights)
 * await ledger.append(signer, [{ kind: 'model-published', timeMs: Date.now(), body: { weights: weightsHash } }], [weights])
 * await ledger.close()
 * ```
 *
 * Outside the ledger folder, import this file (I/O) or `core/index.ts`
 * (pure: encoding, hashing, signatures, entry format) only.
 */
export { Ledger, type AppendBlob, type ReplicaHolder, type ReplicationInit } from './ledger.ts'
export { BLOB_DIR, INLINE_BLOB_MAX_BYTES, finishedBlobReader, type BlobWriter, type FinishedBlob } from './blob-files.ts'
export { READ_SLICE_BYTES, bytesReader, readAll, sha256Reader, type BlobReader } from './core/blob-reader.ts'
export {
  openLevelStorage,
  LevelLedgerStorage,
  type LedgerHead,
  type LedgerStorage,
  type LedgerWriteBatch,
  type LevelStorageInit,
  type ListedBlob,
  type StoredBlob,
  type StoredEntry,
  type StoredNode,
  type StoredRecord,
} from './storage.ts'
export { openStoreForReading, snapshotNotice, type ReadStoreInit } from './read-store.ts'
export { SNAPSHOT_MAX_ATTEMPTS, snapshotStore, type SnapshotStoreInit, type StoreSnapshot } from './store-snapshot.ts'
export { verifyLog, type LogVerification, type VerifyLogInit } from './verify.ts'
export { verifyStore, type StoreVerification } from './verify-store.ts'
export { generateSeed, loadSigner, parsePublicKey, writeIdentity, type WriteIdentityInit, type WrittenIdentity } from './identity.ts'
export { registerLedgerCommands } from './cli.ts'
export { MAX_WITNESS_REQUEST_BYTES, startWitness, type RunningWitness, type WitnessInit, type WitnessLogger } from './witness/server.ts'
export { WITNESS_LOCK_FILE, WITNESS_STATE_FILE, WitnessStateFile } from './witness/state-file.ts'
export { addCheckpoint, type AddCheckpointCall, type AddCheckpointOutcome } from './witness/client.ts'
export { WITNESS_SUBMIT_DEFAULTS, WitnessSubmitter, type SubmittedWitness, type WitnessSubmitterEvents, type WitnessSubmitterInit, type WitnessSubmitterLedger } from './witness/submitter.ts'
export { CHECKPOINT_CACHE_CONTROL, FULL_TILE_CACHE_CONTROL, PARTIAL_TILE_CACHE_CONTROL, isTileRoute, sendTile, tileResponse, type TileResponse } from './tile-responses.ts'
export { mirrorLog, type MirrorLogInit, type MirroredLog } from './tile-client.ts'
export {
  CanonicalEncodingError,
  IdentityFileError,
  LedgerBlobCorruptError,
  LedgerBlobMissingError,
  LedgerChainBrokenError,
  LedgerClosedError,
  LedgerDatabaseMissingError,
  LedgerEntryMalformedError,
  LedgerError,
  LedgerHeadMismatchError,
  LedgerInvalidArgumentError,
  LedgerLockedError,
  LedgerNotFoundError,
  LedgerSeqGapError,
  LedgerSignatureInvalidError,
  LedgerSnapshotUnstableError,
  LedgerStorageError,
  LedgerStoreDamagedError,
  LedgerStoreFormatError,
  LedgerUntrustedAuthorError,
} from './errors.ts'
export * from './core/index.ts'
export * from './replication.ts'
