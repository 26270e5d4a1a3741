/**
 * @packageDocumentation
 *
 * Replication of the lineage log between participants over libp2p: every
 * site, auditor and the coordinator keeps a full copy, checks every entry
 * before storing it, and catches a coordinator that shows different logs to
 * different participants.
 *
 * **Service.** `ledgerSync(init)` is a libp2p service factory. Compose it
 * beside gossipsub (under the name `pubsub`) and identify; the ledger stays
 * the caller's, and so does the node:
 *
 * ```ts
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
 *   transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
 *   services: {
 *     identify: identify(),
 *     pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
 *     ledgerSync: ledgerSync({ ledger, origin: 'study-7', coordinatorKey }),
 *   },
 * })
 * node.services.ledgerSync.addEventListener('misbehaviour', (e) => alarm(e.detail))
 * ```
 *
 * or let `createReplicaNode` (replication/node.ts) build exactly that.
 *
 * **Protocols** (ids in replication/constants.ts, messages in core/sync-codec.ts;
 * every stream has one deadline and frames of at most MAX_FRAME_BYTES):
 * - `/fl/ledger-sync/1.0.0`: `{ origin, from, to }` → the server's latest
 *   signed checkpoint, then entries `[from, min(to, its size))` with each
 *   stored checkpoint they reach right after its last entry, then an end
 *   frame, in writes of ~64 KiB. The server sends entries as stored, each
 *   checked against its own Merkle leaf (`Ledger.readCommitted`), not
 *   re-verified: the client verifies all of them. The client checks each entry as it arrives (position, chain link,
 *   author) and each checkpoint (signature, split view), and every ~1024
 *   entries and at the end hands the entries up to the latest checkpoint to
 *   `Ledger.appendReplicated`, which checks their signatures, the Merkle
 *   root against the signed checkpoint and its consistency with the newest
 *   stored one before storing anything. So a sync interrupted at any point
 *   has stored whole verified checkpoints, and resumes from the local
 *   length: no gap, no duplicate. A pull's next round (to the peer's newer
 *   head, or to a checkpoint announced meanwhile) is requested while the
 *   previous round's entries are being written: one store in flight, in
 *   order, and the pull ends once all have landed.
 * - `/fl/blob/1.0.0`: a SHA-256 → the blob in chunks, or not-found. Both
 *   ends hold one chunk at a time: the server re-hashes its file, then
 *   reads and sends it chunk by chunk; the client writes chunks to a temp
 *   file as they arrive, hashing them, and stores the blob only when it
 *   hashes to its name.
 * - `/fl/checkpoint/1.0.0`: the server's latest checkpoint and a consistency
 *   proof from the client's size, verified (core/merkle.ts) before the client
 *   pulls anything. Used when a peer connects.
 *
 * **Gossip.** Topic `/fl/checkpoints/<origin>` carries signed checkpoints
 * (the coordinator's `announce`); `/fl/misbehaviour/<origin>` carries proofs.
 * Topic validators refuse, and so never forward, a checkpoint not signed by
 * the coordinator key and a proof that `verifyMisbehaviourProof` refuses: a
 * forged proof cannot frame an honest coordinator. A valid checkpoint is
 * compared with every checkpoint of the same size this replica stores or has
 * seen; different roots make a split-view proof, which is stored
 * (`recordMisbehaviour`), gossiped and emitted. A checkpoint newer than the
 * local log starts a pull from the peer that forwarded it (then any other).
 * Gossip forwards a checkpoint before the forwarder holds its entries, so a
 * replica that served a pull less than the newest checkpoint it knew of (or
 * nothing) announces its newest checkpoint once it has stored more: the
 * peer that pulled too early learns when it can. Otherwise replicas do not
 * re-announce what reached every peer already. A checkpoint it already
 * verified and holds is ignored rather than forwarded again, and each
 * distinct checkpoint's signature is checked once (then remembered).
 * A pull that finds the peer's entries do not continue ours compares our last
 * entry with the peer's: two coordinator-signed entries with one seq make a
 * forked-entry proof.
 *
 * **Repair.** `verifyAndRepair()` re-reads every entry and checks it against
 * the stored Merkle leaf, re-hashes every stored blob the entries name, and
 * replaces what is damaged with a copy from a peer that matches the leaf
 * (entries) or the hash (blobs).
 */
import './replication/promise-polyfill.ts'
import type { AbortOptions, ComponentLogger, Connection, PeerId, StreamHandler, StreamHandlerOptions, Topology, TypedEventTarget } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { MisbehaviourProof, SignedCheckpoint } from './core/checkpoint.ts'
import type { Signer } from './core/signature.ts'
import type { Ledger } from './ledger.ts'
import { LedgerSyncService } from './replication/ledger-sync.ts'

export {
  BLOB_CHUNK_BYTES,
  BLOB_PROTOCOL,
  CHECKPOINT_PROTOCOL,
  CHECKPOINT_TOPIC_PREFIX,
  DISCOVER_ANY_ORIGIN,
  LEDGER_SYNC_PROTOCOL,
  MAX_BLOB_BYTES,
  MAX_FRAME_BYTES,
  MAX_SYNC_ENTRIES,
  MISBEHAVIOUR_TOPIC_PREFIX,
  STORE_EVERY_ENTRIES,
  STREAM_READ_BUFFER_BYTES,
  STREAM_TIMEOUT_MS,
} from './replication/constants.ts'
export {
  LedgerSyncStoppedError,
  PeerKeyError,
  RemoteBlobCorruptError,
  RemoteBlobMissingError,
  RemoteBlobTooLargeError,
  ReplicaDialError,
  ReplicationAccessDeniedError,
  ReplicaUnavailableError,
  StoredEntryLeafMismatchError,
  SyncFrameTruncatedError,
  SyncStreamClosedError,
  SyncNoPeersError,
  SyncOriginMismatchError,
  SyncPeerBehindError,
  SyncProtocolError,
  SyncRemoteError,
  SyncStalledError,
} from './replication/errors.ts'
export { checkpointTopic, misbehaviourTopic, normaliseProof, proofId } from './replication/gossip.ts'
export { discoverLog, type DiscoveredLog } from './replication/discover.ts'
export { createReplicaNode, peerKeyOf, type ReplicaNode, type ReplicaNodeInit, type ReplicaServices } from './replication/node.ts'
export { replicaAddressProblem } from './replication/addresses.ts'

/** Options of `ledgerSync`. */
export interface LedgerSyncInit {
  /** This participant's copy of the log. The service reads and appends to it; opening and closing it stay the caller's. */
  readonly ledger: Ledger
  /** The log's origin (the study id): what checkpoints must name and requests must ask for. */
  readonly origin: string
  /** The coordinator's raw Ed25519 public key: the only key that may author entries and sign checkpoints. */
  readonly coordinatorKey: Uint8Array
  /**
   * The coordinator's signer, on the coordinator's own node only. With it,
   * `announce()` signs a fresh checkpoint, and the service never pulls
   * entries from peers (the coordinator's log is the source).
   */
  readonly signer?: Signer | undefined
  /** Where to log (default: the node's component logger). */
  readonly logger?: ComponentLogger | undefined
  /** Deadline of one stream, request and response (default STREAM_TIMEOUT_MS). */
  readonly streamTimeoutMs?: number | undefined
  /** Most entries per sync stream, both ways (default MAX_SYNC_ENTRIES). */
  readonly maxSyncEntries?: number | undefined
  /** Largest blob accepted from a peer (default MAX_BLOB_BYTES). */
  readonly maxBlobBytes?: number | undefined
  /** Ask every peer that connects for its checkpoint and pull when it is ahead (default true). */
  readonly syncOnConnect?: boolean | undefined
  /**
   * Pull when a gossiped checkpoint is ahead of the local log (default true).
   * False, with `syncOnConnect: false`, for a node that only fetches blobs
   * (an audit fetching what a participant's replica lacks).
   */
  readonly pullOnGossip?: boolean | undefined
  /**
   * Who may read this replica, by the peer's Ed25519 key (its libp2p
   * identity): entries, and each blob. Everyone when absent. Checkpoints stay
   * open to all: they hold a size and a root, which discovery and witnesses need.
   */
  readonly access?: ReplicaAccess | undefined
}

/**
 * A replica's read policy. `peer` is the raw Ed25519 public key of the
 * remote's libp2p identity (undefined for a non-Ed25519 peer id). The ledger
 * knows nothing of studies: the caller decides who is a participant and
 * whose blob is whose.
 */
export interface ReplicaAccess {
  mayReadEntries(peer: Uint8Array | undefined): boolean
  mayFetchBlob(peer: Uint8Array | undefined, hash: Uint8Array): boolean
}

/** A request this replica refused under its access policy. */
export interface AccessRefusal {
  /** The remote peer id. */
  readonly peer: string
  readonly protocol: 'sync' | 'blob'
  /** The blob asked for (blob requests). */
  readonly hash?: Uint8Array
}

/** The registrar calls the service makes (a subset of libp2p's Registrar). */
export interface LedgerSyncRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string, options?: AbortOptions): Promise<void>
  register(protocol: string, topology: Topology, options?: AbortOptions): Promise<string>
  unregister(id: string): void
}

/** The connection-manager calls the service makes (a subset of libp2p's ConnectionManager). */
export interface LedgerSyncConnectionManager {
  openConnection(peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions): Promise<Connection>
  getConnections(peerId?: PeerId): Connection[]
}

/** The gossipsub calls the service makes. */
export type LedgerSyncPubSub = Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'topicValidators' | 'addEventListener' | 'removeEventListener'>

/** What `ledgerSync` needs from the node: exactly these, so a unit test can stub them. */
export interface LedgerSyncComponents {
  readonly registrar: LedgerSyncRegistrar
  readonly connectionManager: LedgerSyncConnectionManager
  readonly logger: ComponentLogger
  /** Gossipsub, composed under the service name `pubsub`. */
  readonly pubsub: LedgerSyncPubSub
}

/** A gossip message the topic validators refused (it is neither delivered nor forwarded). */
export interface GossipRejection {
  readonly topic: string
  /** The peer that forwarded it to us. */
  readonly peer: PeerId
  readonly error: Error
}

/** Events of the service. */
export interface LedgerSyncEvents {
  /** The local log grew to `detail` entries (a verified checkpoint was stored with its entries). */
  synced: CustomEvent<number>
  /** A proof of coordinator misbehaviour was verified and stored for the first time. */
  misbehaviour: CustomEvent<MisbehaviourProof>
  /** A gossip message was refused: a checkpoint not signed by the coordinator, a bogus proof. */
  rejected: CustomEvent<GossipRejection>
  /** A peer asked for entries or a blob the access policy does not let it read. */
  'access-refused': CustomEvent<AccessRefusal>
}

/** Options of `verifyAndRepair`. */
export interface VerifyAndRepairOptions extends AbortOptions {
  /**
   * Blobs that must be stored, beyond those the scan finds: a missing one is
   * fetched. (The scan checks every stored blob whose hash appears as a
   * 32-byte string in an entry body; it cannot tell a missing blob from a
   * digest that never was one.)
   */
  readonly blobs?: readonly Uint8Array[] | undefined
}

/** Something `verifyAndRepair` found damaged and could not repair. */
export interface RepairFailure {
  /** The entry, when an entry could not be repaired. */
  readonly seq?: number | undefined
  /** The blob's hash, when a blob could not be repaired. */
  readonly hash?: Uint8Array | undefined
  readonly error: Error
}

/** What `verifyAndRepair` checked and repaired. */
export interface RepairReport {
  readonly checkedEntries: number
  readonly checkedBlobs: number
  /** Seqs of entries replaced by a peer's copy that matches the stored Merkle leaf. */
  readonly repairedEntries: readonly number[]
  /** Hashes of blobs replaced (or fetched) from a peer's copy that hashes right. */
  readonly repairedBlobs: readonly Uint8Array[]
  readonly failures: readonly RepairFailure[]
}

/** The service: `node.services.ledgerSync`. */
export interface LedgerSync extends TypedEventTarget<LedgerSyncEvents> {
  /** The origin this service replicates. */
  readonly origin: string
  /** Requests refused under the access policy since start. */
  readonly accessRefusals: number

  /**
   * Gossips a signed checkpoint on the checkpoint topic and resolves with it.
   * Without an argument: on the coordinator (init.signer), signs and stores a
   * checkpoint of the log as it is now; elsewhere, re-announces the latest
   * stored one. Throws `CheckpointInvalidError` for a checkpoint others
   * would refuse, `LedgerInvalidArgumentError` when there is nothing to announce.
   */
  announce(checkpoint?: SignedCheckpoint, options?: AbortOptions): Promise<SignedCheckpoint>

  /**
   * Pulls from `peer` until the local log has caught up with the peer's
   * latest checkpoint (or the peer has none newer). Resolves with the local
   * log's size. Throws what the peer or the ledger refused (`SyncProtocolError`,
   * `SyncRemoteError`, `SyncStalledError`, the ledger's verification errors);
   * whatever was stored before the failure stays stored and is verified.
   */
  syncWith(peer: PeerId | Multiaddr, options?: AbortOptions): Promise<number>

  /**
   * The peer's latest signed checkpoint, verified: signed by the coordinator
   * for this origin and, when it is larger than the local log, proved
   * consistent with it (`RootMismatchError` when it is not: the peer holds a
   * fork). Undefined when the peer has no checkpoint.
   */
  checkpointOf(peer: PeerId | Multiaddr, options?: AbortOptions): Promise<SignedCheckpoint | undefined>

  /**
   * Fetches the blob `hash` from connected peers, one after another, writing
   * it to disk a chunk at a time as it arrives (never whole in memory),
   * checks that the bytes hash to it and stores it (replacing a damaged local
   * copy); read it from the ledger once this resolves. Throws
   * `SyncNoPeersError` or `ReplicaUnavailableError` (each peer's failure in
   * `causes`).
   */
  fetchBlob(hash: Uint8Array, options?: AbortOptions): Promise<void>

  /**
   * Checks the whole local log and the blobs it names, and repairs what is
   * damaged from connected peers (see the module doc). Never throws for
   * damage: what it cannot repair is in `failures`.
   */
  verifyAndRepair(options?: VerifyAndRepairOptions): Promise<RepairReport>
}

/**
 * The libp2p service factory: `services: { ledgerSync: ledgerSync(init) }`.
 * Needs gossipsub under the service name `pubsub`.
 */
export function ledgerSync(init: LedgerSyncInit): (components: LedgerSyncComponents) => LedgerSync {
  return (components) => new LedgerSyncService(components, init)
}
