/**
 * Protocol ids, gossip topics and limits of log replication. Protocol ids
 * follow `/fl/<name>/<semver>`; changing a message layout (core/sync-codec.ts)
 * means a new major version here.
 */

/** Pull entries `[from, to)` and the checkpoints that commit to them. */
export const LEDGER_SYNC_PROTOCOL = '/fl/ledger-sync/1.0.0'

/** Fetch a blob by its SHA-256. */
export const BLOB_PROTOCOL = '/fl/blob/1.0.0'

/** Ask a peer for its latest checkpoint and a consistency proof from a tree size we hold. */
export const CHECKPOINT_PROTOCOL = '/fl/checkpoint/1.0.0'

/** Gossip topic of signed checkpoints is this prefix followed by the origin. */
export const CHECKPOINT_TOPIC_PREFIX = '/fl/checkpoints/'

/** Gossip topic of misbehaviour proofs is this prefix followed by the origin. */
export const MISBEHAVIOUR_TOPIC_PREFIX = '/fl/misbehaviour/'

/**
 * Largest frame a peer may send us. Entries are small (bodies name blobs by
 * hash), so 1 MiB is generous; blobs travel in chunks well below it.
 */
export const MAX_FRAME_BYTES = 1024 * 1024

/**
 * Bytes a paused stream may still receive before libp2p resets it. Pausing
 * only stops granting the sender more window; what it was already granted
 * still arrives: up to 16 MiB with Yamux's defaults (its window grows with
 * throughput). libp2p's default of 4 MiB would reset a fast sync.
 */
export const STREAM_READ_BUFFER_BYTES = 32 * 1024 * 1024

/** Blob bytes per chunk frame (the frame adds a few bytes of CBOR). */
export const BLOB_CHUNK_BYTES = 256 * 1024

/** Largest blob we accept from a peer, by default: 1 GiB (model weights). */
export const MAX_BLOB_BYTES = 1024 * 1024 * 1024

/**
 * Most entries one sync stream carries, by default, both ways: the server
 * stops there, and the client asks for no more. A client keeps the entries
 * after its last stored checkpoint in memory, so a log needs a checkpoint at
 * least this often (the coordinator checkpoints every append).
 */
export const MAX_SYNC_ENTRIES = 65_536

/**
 * A pull stores (one durable write) once this many entries have gathered at
 * a checkpoint, and at the response's last checkpoint. Live, each pull brings
 * one checkpoint and stores it; catching up, it stores every ~1024 entries
 * rather than at each of the coordinator's checkpoints. The checkpoints in
 * between are still checked for split views, just not kept.
 */
export const STORE_EVERY_ENTRIES = 1024

/** One deadline for a whole stream (request and response), by default. */
export const STREAM_TIMEOUT_MS = 60_000

/** Concurrent inbound streams per connection and protocol. */
export const MAX_INBOUND_STREAMS = 8

/** Concurrent outbound streams per connection and protocol. */
export const MAX_OUTBOUND_STREAMS = 8

/**
 * How many verified checkpoints (by size) a replica remembers besides those
 * it stores, to catch a split view between two checkpoints it has seen but
 * not (yet) stored.
 */
export const SEEN_CHECKPOINTS = 1024

/** Stop pulling from a peer after this many sync rounds in one call (a peer that keeps growing). */
export const MAX_SYNC_ROUNDS = 1024

/** The origin a discovery request names: "whatever log you serve" (answered by the checkpoint protocol only). */
export const DISCOVER_ANY_ORIGIN = '*'
