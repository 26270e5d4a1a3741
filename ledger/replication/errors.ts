/**
 * Errors of log replication (the libp2p shell). One class per condition, each
 * a `LedgerError` with a stable `code`. Messages name the peer and the
 * protocol; wire-format errors are in core/sync-errors.ts, and whatever the
 * ledger refuses (a bad entry, a root mismatch) keeps its own class.
 */
import { LedgerError } from '../errors.ts'
import { toHex } from '../core/hash.ts'

/**
 * A peer broke a protocol: frames out of order, an entry at the wrong
 * position, more than it was asked for, or a stream that ended early.
 */
export class SyncProtocolError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_PROTOCOL'
  readonly peer: string
  constructor(peer: string, protocol: string, problem: string, options?: ErrorOptions) {
    super(`peer ${peer} ${protocol}: ${problem}`, options)
    this.peer = peer
  }
}

/** A stream that ended in the middle of a frame. */
export class SyncFrameTruncatedError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_FRAME_TRUNCATED'
  readonly bufferedBytes: number
  constructor(bufferedBytes: number) {
    super(`stream ended inside a frame (${bufferedBytes} bytes of it arrived)`)
    this.bufferedBytes = bufferedBytes
  }
}

/** A stream that closed while we waited to send more on it (the peer went away or reset it). */
export class SyncStreamClosedError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_STREAM_CLOSED'
  constructor(what: string) {
    super(`${what}: the stream closed before its buffer drained; the peer closed or reset it, try again or another peer`)
  }
}

/**
 * A peer answered with an error frame. `remoteCode` is the peer's error code
 * (what it would have thrown), `remoteMessage` its message.
 */
export class SyncRemoteError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_REMOTE'
  readonly peer: string
  readonly remoteCode: string
  readonly remoteMessage: string
  constructor(peer: string, protocol: string, remoteCode: string, remoteMessage: string) {
    super(`peer ${peer} ${protocol}: answered ${remoteCode}: ${remoteMessage}`)
    this.peer = peer
    this.remoteCode = remoteCode
    this.remoteMessage = remoteMessage
  }
}

/** A request for another log (origin) than the one this replica keeps. */
export class SyncOriginMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_ORIGIN_MISMATCH'
  readonly expected: string
  readonly calculated: string
  constructor(expected: string, calculated: string) {
    super(`request names origin ${JSON.stringify(calculated)}, want ${JSON.stringify(expected)}`)
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A peer holds a newer checkpoint but a sync round stored nothing: it sent
 * no checkpoint the entries it sent reach (its checkpoints are further apart
 * than `maxSyncEntries`).
 */
export class SyncStalledError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_STALLED'
  readonly peer: string
  readonly size: number
  readonly peerSize: number
  constructor(peer: string, size: number, peerSize: number) {
    super(`peer ${peer}: has a checkpoint of size ${peerSize}, but a sync from ${size} stored nothing (no checkpoint within reach)`)
    this.peer = peer
    this.size = size
    this.peerSize = peerSize
  }
}

/** Nothing to ask: no peer is connected (or none but the excluded ones). */
export class SyncNoPeersError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_NO_PEERS'
  constructor(what: string) {
    super(`${what}: no connected peer to ask; dial one first`)
  }
}

/**
 * Bytes from a peer that do not hash to the blob asked for. `expected` is
 * the hash asked for, `calculated` the hash of what arrived.
 */
export class RemoteBlobCorruptError extends LedgerError {
  static override readonly code = 'LEDGER_REMOTE_BLOB_CORRUPT'
  readonly peer: string
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(peer: string, expected: Uint8Array, calculated: Uint8Array) {
    super(`peer ${peer}: blob ${toHex(expected)} arrived as bytes hashing to ${toHex(calculated)}`)
    this.peer = peer
    this.expected = expected
    this.calculated = calculated
  }
}

/** A blob announced larger than we accept. */
export class RemoteBlobTooLargeError extends LedgerError {
  static override readonly code = 'LEDGER_REMOTE_BLOB_TOO_LARGE'
  readonly peer: string
  readonly expected: number
  readonly calculated: number
  constructor(peer: string, hash: Uint8Array, expected: number, calculated: number) {
    super(`peer ${peer}: blob ${toHex(hash)} is ${calculated} bytes, want <= ${expected}`)
    this.peer = peer
    this.expected = expected
    this.calculated = calculated
  }
}

/** A peer whose log does not (yet) reach what we need from it: entry `size - 1`, or a checkpoint of `size`. */
export class SyncPeerBehindError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_PEER_BEHIND'
  readonly peer: string
  readonly expected: number
  readonly calculated: number
  constructor(peer: string, expected: number, calculated: number) {
    super(`peer ${peer}: its log reaches size ${calculated}, want ${expected}`)
    this.peer = peer
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A peer asked for entries or a blob this replica's access policy does not
 * let it read (it is not a participant, or the blob is another site's delta).
 */
export class ReplicationAccessDeniedError extends LedgerError {
  static override readonly code = 'LEDGER_ACCESS_DENIED'
}

/** A peer that holds no good copy of a blob (it answered not-found). */
export class RemoteBlobMissingError extends LedgerError {
  static override readonly code = 'LEDGER_REMOTE_BLOB_MISSING'
  readonly peer: string
  readonly hash: Uint8Array
  constructor(peer: string, hash: Uint8Array) {
    super(`peer ${peer}: has no good copy of blob ${toHex(hash)}`)
    this.peer = peer
    this.hash = hash
  }
}

/**
 * No connected peer could give us something we need: `what` names it
 * (`blob <hash>`, `entry 12`); `causes` holds each peer's failure, in the
 * order they were asked.
 */
export class ReplicaUnavailableError extends LedgerError {
  static override readonly code = 'LEDGER_REPLICA_UNAVAILABLE'
  readonly causes: readonly Error[]
  constructor(what: string, causes: readonly Error[]) {
    super(`${what}: none of the ${causes.length} peers asked could provide it${causes.length > 0 ? ` (${causes.map((c) => c.message).join('; ')})` : ''}`, { cause: causes[0] })
    this.causes = causes
  }
}

/** A signer that cannot be a replica's libp2p identity (its key is not exportable, or not Ed25519). */
export class PeerKeyError extends LedgerError {
  static override readonly code = 'LEDGER_PEER_KEY_INVALID'
}

/** None of the peers a replica was told to dial answered. */
export class ReplicaDialError extends LedgerError {
  static override readonly code = 'LEDGER_REPLICA_DIAL_FAILED'
  readonly peers: readonly string[]
  constructor(peers: readonly string[], causes: readonly Error[]) {
    super(`could not dial any of ${peers.length} peers: ${causes.map((c) => c.message).join('; ')}`, { cause: causes[0] })
    this.peers = peers
  }
}

/**
 * A stored entry that reads back as a valid entry but not the one the tree
 * committed to: its leaf hash (`calculated`) differs from the stored Merkle
 * leaf (`expected`).
 */
export class StoredEntryLeafMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_ENTRY_LEAF_MISMATCH'
  readonly seq: number
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(seq: number, expected: Uint8Array, calculated: Uint8Array) {
    super(`entry ${seq}: leaf hash is ${toHex(calculated)}, the stored tree says ${toHex(expected)}`)
    this.seq = seq
    this.expected = expected
    this.calculated = calculated
  }
}

/** Work cut short because the service (its libp2p node) stopped. */
export class LedgerSyncStoppedError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_STOPPED'
  constructor() {
    super('ledger sync stopped: its libp2p node is stopping')
  }
}
