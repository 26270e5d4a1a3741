/**
 * The ledgerSync service (see ../replication.ts for what it does and
 * guarantees). This file is the shell: stream lifecycles, deadlines, the
 * gossip wiring and the order of work. The protocols' frames are in the
 * *-protocol.ts files, the checks in core/ and in the Ledger.
 *
 * Order of work: every change to the local log (a pull, storing a checkpoint,
 * comparing a new checkpoint with stored ones) runs on one queue, so a pull
 * always starts from the current length and two pulls never race. Within
 * one pull, a round's request goes out while the previous round's entries
 * are being written (sync-protocol.ts pullRound).
 * Serving peers and fetching blobs run beside it.
 */
import { TypedEventEmitter, setMaxListeners, type AbortOptions, type Connection, type Logger, type PeerId, type Startable, type Stream } from '@libp2p/interface'
import { TopicValidatorResult, type GossipsubMessage, type Message } from '@libp2p/gossipsub'
import type { Multiaddr } from '@multiformats/multiaddr'
import { equalBytes, type CanonicalValue } from '../core/canonical.ts'
import {
  decodeSignedCheckpoint,
  encodeMisbehaviourProof,
  encodeSignedCheckpoint,
  openCheckpoint,
  splitViewProof,
  verifyMisbehaviourProof,
  type Checkpoint,
  type MisbehaviourProof,
  type SignedCheckpoint,
} from '../core/checkpoint.ts'
import { HASH_LENGTH_BYTES } from '../core/constants.ts'
import { hashLeaf } from '../core/merkle.ts'
import { sha256, toHex } from '../core/hash.ts'
import { LedgerBlobMissingError, LedgerChainBrokenError, LedgerClosedError, LedgerError, LedgerInvalidArgumentError, LedgerStorageError } from '../errors.ts'
import type { Ledger } from '../ledger.ts'
import type { LedgerSync, LedgerSyncComponents, LedgerSyncEvents, LedgerSyncInit, RepairFailure, RepairReport, VerifyAndRepairOptions } from '../replication.ts'
import { requestBlob, serveBlob } from './blob-protocol.ts'
import { requestCheckpoint, serveCheckpoint, type PeerCheckpoint } from './checkpoint-protocol.ts'
import {
  BLOB_CHUNK_BYTES,
  BLOB_PROTOCOL,
  CHECKPOINT_PROTOCOL,
  LEDGER_SYNC_PROTOCOL,
  MAX_BLOB_BYTES,
  MAX_FRAME_BYTES,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MAX_SYNC_ENTRIES,
  MAX_SYNC_ROUNDS,
  SEEN_CHECKPOINTS,
  STORE_EVERY_ENTRIES,
  STREAM_READ_BUFFER_BYTES,
  STREAM_TIMEOUT_MS,
} from './constants.ts'
import {
  LedgerSyncStoppedError,
  RemoteBlobMissingError,
  ReplicationAccessDeniedError,
  ReplicaUnavailableError,
  StoredEntryLeafMismatchError,
  SyncNoPeersError,
  SyncPeerBehindError,
  SyncStalledError,
} from './errors.ts'
import { FrameReader } from './frames.ts'
import { checkpointTopic, misbehaviourTopic, normaliseProof, openGossipedCheckpoint, openGossipedProof, proofId, type GossipTrust } from './gossip.ts'
import { fetchEntry, newestCheckpoint, pullRound, serveSync } from './sync-protocol.ts'

type Target = PeerId | Multiaddr

/** Serves a stream the remote opened. */
type Serve = (stream: Stream, reader: FrameReader, options: AbortOptions, connection: Connection) => Promise<void>

/** The raw Ed25519 key of a peer id, the participant's identity; undefined for other key types. */
function peerKeyOf(peer: PeerId): Uint8Array | undefined {
  return peer.type === 'Ed25519' ? peer.publicKey.raw : undefined
}

export class LedgerSyncService extends TypedEventEmitter<LedgerSyncEvents> implements LedgerSync, Startable {
  readonly origin: string
  readonly #components: LedgerSyncComponents
  readonly #ledger: Ledger
  readonly #trust: GossipTrust
  readonly #init: LedgerSyncInit
  readonly #log: Logger
  readonly #timeoutMs: number
  readonly #maxSyncEntries: number
  readonly #maxBlobBytes: number
  readonly #checkpointTopic: string
  readonly #misbehaviourTopic: string
  /** Verified checkpoints seen (stored or not), by size, oldest first; bounded by SEEN_CHECKPOINTS. */
  readonly #seen = new Map<number, SignedCheckpoint>()
  /** Checkpoints whose signature we verified: hex SHA-256 of their wire bytes → the checkpoint; bounded by SEEN_CHECKPOINTS. */
  readonly #verified = new Map<string, Checkpoint>()
  /** The greatest size of a checkpoint verified so far (gossiped or pulled), stored or not. */
  #newestKnown = 0
  /**
   * Whether a peer pulled from us and got less than the newest checkpoint we
   * know of (or nothing at all): it is waiting for entries we do not hold
   * yet, so once we store them we announce our newest checkpoint. Otherwise
   * we do not re-announce what the coordinator announced already.
   */
  #owed = false
  /** Ids of proofs already stored (see proofId). */
  readonly #knownProofs = new Set<string>()
  /** Work in flight, awaited by stop(). */
  readonly #tasks = new Set<Promise<unknown>>()
  #controller = new AbortController()
  #queue: Promise<void> = Promise.resolve()
  #topologyId: string | undefined
  #started = false
  #accessRefusals = 0

  constructor(components: LedgerSyncComponents, init: LedgerSyncInit) {
    super()
    this.#components = components
    this.#init = init
    this.#ledger = init.ledger
    this.origin = init.origin
    this.#trust = { origin: init.origin, coordinatorKey: init.coordinatorKey }
    this.#log = (init.logger ?? components.logger).forComponent('fedlineage:ledger-sync')
    this.#timeoutMs = init.streamTimeoutMs ?? STREAM_TIMEOUT_MS
    this.#maxSyncEntries = init.maxSyncEntries ?? MAX_SYNC_ENTRIES
    this.#maxBlobBytes = init.maxBlobBytes ?? MAX_BLOB_BYTES
    this.#checkpointTopic = checkpointTopic(init.origin)
    this.#misbehaviourTopic = misbehaviourTopic(init.origin)
  }

  readonly [Symbol.toStringTag] = 'fedlineage/ledger-sync'

  isStarted(): boolean {
    return this.#started
  }

  /** Handles the three protocols and watches for peers that support them. */
  async start(): Promise<void> {
    this.#controller = new AbortController()
    setMaxListeners(Infinity, this.#controller.signal)
    for (const proof of await this.#ledger.misbehaviour()) this.#knownProofs.add(proofId(proof))
    const { registrar } = this.#components
    const options = { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS }
    const syncContext = { ledger: this.#ledger, origin: this.origin, maxSyncEntries: this.#maxSyncEntries }
    await registrar.handle(
      LEDGER_SYNC_PROTOCOL,
      this.#handler('sync', async (stream, reader, o, connection) => {
        const served = await serveSync({ ...syncContext, authorize: () => this.#authorize(connection.remotePeer, 'sync') }, stream, reader, o)
        if (served !== undefined && (served.end < this.#newestKnown || served.end <= served.from)) this.#owed = true
      }),
      options,
    )
    await registrar.handle(
      BLOB_PROTOCOL,
      this.#handler('blob', (stream, reader, o, connection) =>
        serveBlob({ ledger: this.#ledger, chunkBytes: BLOB_CHUNK_BYTES, authorize: (hash) => this.#authorize(connection.remotePeer, 'blob', hash) }, stream, reader, o),
      ),
      options,
    )
    await registrar.handle(
      CHECKPOINT_PROTOCOL,
      this.#handler('checkpoint', (stream, reader, o) => serveCheckpoint({ ledger: this.#ledger, origin: this.origin, coordinatorKey: this.#trust.coordinatorKey }, stream, reader, o)),
      options,
    )
    if (this.#init.syncOnConnect !== false) {
      this.#topologyId = await registrar.register(LEDGER_SYNC_PROTOCOL, { onConnect: (peer) => this.#background(this.#catchUp(peer), `catching up with ${peer}`) })
    }
    this.#started = true
  }

  /** Subscribes to the gossip topics (gossipsub accepts subscriptions only once started). */
  afterStart(): void {
    const { pubsub } = this.#components
    pubsub.topicValidators.set(this.#checkpointTopic, this.#validateCheckpoint)
    pubsub.topicValidators.set(this.#misbehaviourTopic, this.#validateProof)
    pubsub.addEventListener('gossipsub:message', this.#onGossip)
    pubsub.subscribe(this.#checkpointTopic)
    pubsub.subscribe(this.#misbehaviourTopic)
  }

  /** Leaves the gossip topics while gossipsub still runs. */
  beforeStop(): void {
    const { pubsub } = this.#components
    pubsub.removeEventListener('gossipsub:message', this.#onGossip)
    try {
      pubsub.unsubscribe(this.#checkpointTopic)
      pubsub.unsubscribe(this.#misbehaviourTopic)
    } catch (err) {
      this.#log.error('leaving the gossip topics failed - %e', err)
    }
    pubsub.topicValidators.delete(this.#checkpointTopic)
    pubsub.topicValidators.delete(this.#misbehaviourTopic)
  }

  /**
   * Stops handling the protocols, aborts every stream and pull in flight and
   * waits for them, so the caller may close the ledger once this resolves. A
   * pull stopped here has stored whole verified checkpoints only.
   */
  async stop(): Promise<void> {
    this.#started = false
    this.#controller.abort(new LedgerSyncStoppedError())
    if (this.#topologyId !== undefined) this.#components.registrar.unregister(this.#topologyId)
    this.#topologyId = undefined
    const { registrar } = this.#components
    await Promise.all([LEDGER_SYNC_PROTOCOL, BLOB_PROTOCOL, CHECKPOINT_PROTOCOL].map((protocol) => registrar.unhandle(protocol)))
    await Promise.allSettled([...this.#tasks])
  }

  // ---- public API ---------------------------------------------------------------------

  async announce(checkpoint?: SignedCheckpoint, options: AbortOptions = {}): Promise<SignedCheckpoint> {
    options.signal?.throwIfAborted()
    const signed = checkpoint ?? (this.#init.signer !== undefined ? await this.#ledger.checkpoint(this.#init.signer, this.origin) : await newestCheckpoint(this.#ledger))
    if (signed === undefined) throw new LedgerInvalidArgumentError('announce: no checkpoint given and none stored')
    openCheckpoint(signed, this.#trust.coordinatorKey, this.origin)
    await this.#components.pubsub.publish(this.#checkpointTopic, encodeSignedCheckpoint(signed))
    return signed
  }

  syncWith(peer: Target, options: AbortOptions = {}): Promise<number> {
    return this.#serial(() => this.#pullFrom(peer, options))
  }

  async checkpointOf(peer: Target, options: AbortOptions = {}): Promise<SignedCheckpoint | undefined> {
    const remote = await this.#requestCheckpoint(peer, options)
    if (remote?.conflict !== undefined) throw remote.conflict
    return remote?.signed
  }

  async fetchBlob(hash: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH_BYTES)
      throw new LedgerInvalidArgumentError(`blob hash is ${hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash}, want ${HASH_LENGTH_BYTES}`)
    const what = `blob ${toHex(hash)}`
    return this.#fromAnyPeer(what, options, async (peer) => {
      const stored = await this.#request(peer, BLOB_PROTOCOL, options, (stream, reader, label, o) => requestBlob(stream, reader, hash, label, this.#maxBlobBytes, this.#ledger, o))
      if (!stored) throw new RemoteBlobMissingError(peer.toString(), hash)
    })
  }

  async verifyAndRepair(options: VerifyAndRepairOptions = {}): Promise<RepairReport> {
    const repairedEntries: number[] = []
    const repairedBlobs: Uint8Array[] = []
    const failures: RepairFailure[] = []
    const candidates = new Map<string, Uint8Array>()
    const length = this.#ledger.length
    for (let seq = 0; seq < length; seq++) {
      options.signal?.throwIfAborted()
      let body = await this.#checkEntry(seq)
      if (body instanceof Error) {
        this.#log('entry %d is damaged, fetching it from peers - %e', seq, body)
        try {
          const bytes = await this.#fetchGoodEntry(seq, options)
          await this.#ledger.repairEntry(seq, bytes)
          repairedEntries.push(seq)
          body = (await this.#ledger.get(seq)).entry.body
        } catch (err) {
          failures.push({ seq, error: err as Error })
          continue
        }
      }
      for (const hash of hashesIn(body)) candidates.set(toHex(hash), hash)
    }
    const required = new Set<string>()
    for (const hash of options.blobs ?? []) {
      candidates.set(toHex(hash), hash)
      required.add(toHex(hash))
    }
    let checkedBlobs = 0
    for (const [id, hash] of candidates) {
      options.signal?.throwIfAborted()
      const stored = await this.#ledger.hasBlob(hash)
      if (!stored && !required.has(id)) continue // a digest, not a blob name
      checkedBlobs++
      let damage: Error | undefined
      try {
        if (stored) await this.#ledger.getBlob(hash)
        else damage = new LedgerBlobMissingError(hash)
      } catch (err) {
        if (!isDamage(err)) throw err
        damage = err as Error
      }
      if (damage === undefined) continue
      this.#log('blob %s is damaged or missing, fetching it from peers - %e', id, damage)
      try {
        await this.fetchBlob(hash, options)
        repairedBlobs.push(hash)
      } catch (err) {
        failures.push({ hash, error: err as Error })
      }
    }
    return { checkedEntries: length, checkedBlobs, repairedEntries, repairedBlobs, failures }
  }

  // ---- pulling --------------------------------------------------------------------------

  /**
   * Pulls from `peer` until caught up with its latest checkpoint, and with
   * any newer one announced meanwhile. Rounds are pipelined: the next
   * round's request goes out while the previous round's entries are being
   * written (one store in flight at most, in order); resolves once every
   * store has landed. Runs on the queue.
   */
  async #pullFrom(peer: Target, options: AbortOptions): Promise<number> {
    let from = { size: this.#ledger.length, headHash: this.#ledger.headHash, inFlight: Promise.resolve() }
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      let result
      try {
        result = await this.#request(peer, LEDGER_SYNC_PROTOCOL, options, (stream, reader, label, o) =>
          pullRound(
            {
              ledger: this.#ledger,
              origin: this.origin,
              coordinatorKey: this.#trust.coordinatorKey,
              maxSyncEntries: this.#maxSyncEntries,
              storeEveryEntries: STORE_EVERY_ENTRIES,
              open: (signed) => this.#open(signed),
              observe: (signed, checkpoint) => this.#observe(signed, checkpoint),
              stored: (size) => this.safeDispatchEvent('synced', { detail: size }),
              from,
            },
            stream,
            reader,
            label,
            o,
          ),
        )
      } catch (err) {
        // What was issued lands (or fails, which is the error to report) before we look at the log.
        await from.inFlight
        // The peer's next entry does not follow our last one: if both are the
        // coordinator's, that is a forked log, and the two entries prove it.
        if (err instanceof LedgerChainBrokenError && err.seq === this.#ledger.length && err.seq > 0) await this.#proveForkedEntry(peer, err.seq - 1, options)
        throw err
      }
      const progressed = result.size > from.size
      from = { size: result.size, headHash: result.headHash, inFlight: result.stored }
      if (result.head === undefined || result.head.size <= result.size) {
        // Caught up with the peer's head; a checkpoint announced since then is pulled now, while this round is written.
        if (progressed && this.#newestKnown > result.size && !(options.signal?.aborted ?? false)) continue
        break
      }
      if (!progressed) {
        await from.inFlight
        throw new SyncStalledError(String(peer), result.size, result.head.size)
      }
    }
    await from.inFlight
    return this.#ledger.length
  }

  /**
   * Catches up with a peer that just connected: its checkpoint first
   * (verified, compared), then a pull when it is ahead. A checkpoint that
   * does not extend our log is pulled from all the same: the pull stores
   * nothing it cannot verify, and where the logs part it finds the two
   * coordinator-signed entries that prove the fork.
   */
  async #catchUp(peer: PeerId): Promise<void> {
    const signal = this.#controller.signal
    await this.#serial(async () => {
      signal.throwIfAborted()
      const remote = await this.#requestCheckpoint(peer, { signal })
      if (remote === undefined) return
      if (remote.conflict !== undefined) this.#log.error('peer %p holds a checkpoint of size %d that does not extend our log - %e', peer, remote.checkpoint.size, remote.conflict)
      await this.#observe(remote.signed, remote.checkpoint)
      if (this.#init.signer === undefined && remote.checkpoint.size > this.#ledger.length) {
        await this.#pullFrom(peer, { signal })
        await this.#announceIfOwed()
      }
    })
  }

  #requestCheckpoint(peer: Target, options: AbortOptions): Promise<PeerCheckpoint | undefined> {
    return this.#request(peer, CHECKPOINT_PROTOCOL, options, (stream, reader, label, o) =>
      requestCheckpoint({ ledger: this.#ledger, origin: this.origin, coordinatorKey: this.#trust.coordinatorKey }, stream, reader, label, o),
    )
  }

  /**
   * Compares a verified checkpoint with every checkpoint of its size we
   * store or have seen; a different root is a split view. Remembers it, and
   * stores it when it is of the local size and agrees with the local root.
   * Runs on the queue.
   */
  async #observe(signed: SignedCheckpoint, checkpoint: Checkpoint): Promise<void> {
    if (checkpoint.size > this.#newestKnown) this.#newestKnown = checkpoint.size
    for (const other of [await this.#ledger.checkpointAt(checkpoint.size), this.#seen.get(checkpoint.size)]) {
      if (other === undefined) continue
      const proof = splitViewProof(other, signed)
      if (proof !== undefined) await this.#learn(proof)
    }
    this.#remember(checkpoint.size, signed)
    if (checkpoint.size === this.#ledger.length && checkpoint.size > 0 && (await this.#ledger.checkpointAt(checkpoint.size)) === undefined) {
      if (equalBytes(await this.#ledger.root(checkpoint.size), checkpoint.root)) await this.#ledger.appendReplicated([], signed, this.#trust)
      else this.#log.error('checkpoint of size %d has root %s, but our log of that size has another root', checkpoint.size, toHex(checkpoint.root))
    }
  }

  #remember(size: number, signed: SignedCheckpoint): void {
    this.#seen.delete(size)
    this.#seen.set(size, signed)
    if (this.#seen.size > SEEN_CHECKPOINTS) {
      const oldest = this.#seen.keys().next().value
      if (oldest !== undefined) this.#seen.delete(oldest)
    }
  }

  /** Builds a forked-entry proof from our entry `seq` and the peer's, if they differ. */
  async #proveForkedEntry(peer: Target, seq: number, options: AbortOptions): Promise<void> {
    try {
      const theirs = await this.#request(peer, LEDGER_SYNC_PROTOCOL, options, (stream, reader, label, o) => fetchEntry(this.origin, stream, reader, label, seq, o))
      if (theirs === undefined) return
      const ours = (await this.#ledger.get(seq)).bytes
      if (equalBytes(ours, theirs)) return
      await this.#learn({ kind: 'forked-entry', a: ours, b: theirs })
    } catch (err) {
      this.#log.error('no forked-entry proof from peer %s at entry %d - %e', String(peer), seq, err)
    }
  }

  // ---- misbehaviour -----------------------------------------------------------------------

  /** Stores, emits and gossips a verified proof, once. */
  async #learn(found: MisbehaviourProof): Promise<void> {
    const proof = normaliseProof(found)
    const id = proofId(proof)
    if (this.#knownProofs.has(id)) return
    verifyMisbehaviourProof(proof, this.#trust.coordinatorKey)
    this.#knownProofs.add(id)
    this.#log.error('coordinator misbehaviour (%s), proof %s', proof.kind, id)
    try {
      await this.#ledger.recordMisbehaviour(proof)
    } catch (err) {
      this.#knownProofs.delete(id) // not stored: learn it again when it comes again
      throw err
    }
    this.safeDispatchEvent('misbehaviour', { detail: proof })
    try {
      await this.#components.pubsub.publish(this.#misbehaviourTopic, encodeMisbehaviourProof(proof))
    } catch (err) {
      this.#log.error('gossiping misbehaviour proof %s failed - %e', id, err)
    }
  }

  // ---- gossip -------------------------------------------------------------------------------

  /**
   * A checkpoint we verified before and already hold (a peer re-announcing
   * what it has just pulled) is ignored: neither delivered nor forwarded,
   * and no signature checked again.
   */
  readonly #validateCheckpoint = (peer: PeerId, message: Message): TopicValidatorResult => {
    const id = toHex(sha256(message.data))
    const known = this.#verified.get(id)
    if (known !== undefined) return known.size <= this.#ledger.length ? TopicValidatorResult.Ignore : TopicValidatorResult.Accept
    return this.#validate(peer, message, () => {
      const { checkpoint } = openGossipedCheckpoint(message.data, this.#trust)
      this.#rememberVerified(id, checkpoint)
    })
  }

  /** `openCheckpoint` against the coordinator key and origin, once per distinct checkpoint. */
  #open(signed: SignedCheckpoint): Checkpoint {
    const id = toHex(sha256(encodeSignedCheckpoint(signed)))
    const known = this.#verified.get(id)
    if (known !== undefined) return known
    const checkpoint = openCheckpoint(signed, this.#trust.coordinatorKey, this.origin)
    this.#rememberVerified(id, checkpoint)
    return checkpoint
  }

  #rememberVerified(id: string, checkpoint: Checkpoint): void {
    this.#verified.set(id, checkpoint)
    if (this.#verified.size > SEEN_CHECKPOINTS) this.#verified.delete(this.#verified.keys().next().value as string)
    if (checkpoint.size > this.#newestKnown) this.#newestKnown = checkpoint.size
  }

  readonly #validateProof = (peer: PeerId, message: Message): TopicValidatorResult => this.#validate(peer, message, () => openGossipedProof(message.data, this.#trust))

  #validate(peer: PeerId, message: Message, open: () => unknown): TopicValidatorResult {
    try {
      open()
      return TopicValidatorResult.Accept
    } catch (err) {
      this.#log('refused a gossip message on %s from %p - %e', message.topic, peer, err)
      this.safeDispatchEvent('rejected', { detail: { topic: message.topic, peer, error: err as Error } })
      return TopicValidatorResult.Reject
    }
  }

  readonly #onGossip = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = evt.detail
    if (msg.topic === this.#checkpointTopic) {
      this.#background(
        this.#serial(() => this.#onCheckpoint(msg.data, propagationSource)),
        `handling a checkpoint from ${propagationSource}`,
      )
    } else if (msg.topic === this.#misbehaviourTopic) {
      this.#background(this.#learn(openGossipedProof(msg.data, this.#trust)), `handling a proof from ${propagationSource}`)
    }
  }

  /**
   * A gossiped checkpoint: compare it, and when it is ahead pull from the
   * peer that forwarded it, then from the others, until one gets us there.
   * Having stored it, announce it ourselves if a peer pulled from us too
   * early (see #announceIfOwed). Runs on the queue.
   */
  async #onCheckpoint(data: Uint8Array, source: PeerId): Promise<void> {
    const signal = this.#controller.signal
    signal.throwIfAborted()
    const signed = decodeSignedCheckpoint(data)
    const checkpoint = this.#open(signed)
    await this.#observe(signed, checkpoint)
    if (this.#init.signer !== undefined || this.#init.pullOnGossip === false || checkpoint.size <= this.#ledger.length) return
    await this.#fromAnyPeer(
      `entries up to ${checkpoint.size}`,
      { signal },
      async (peer) => {
        const size = await this.#pullFrom(peer, { signal })
        if (size < checkpoint.size) throw new SyncPeerBehindError(peer.toString(), checkpoint.size, size)
      },
      source,
    )
    await this.#announceIfOwed()
  }

  /**
   * Announces our newest checkpoint when a peer pulled from us too early (see
   * #owed). Gossipsub forwards a checkpoint as soon as it is checked, before
   * the forwarder holds the entries, so a peer that pulled from us then
   * learns this way when we can serve it. When nobody did, the announcement
   * that reached us reached our peers too, and announcing again would only
   * make every peer check the same checkpoint once more.
   */
  async #announceIfOwed(): Promise<void> {
    if (!this.#owed) return
    this.#owed = false
    const latest = await newestCheckpoint(this.#ledger)
    if (latest !== undefined) await this.#components.pubsub.publish(this.#checkpointTopic, encodeSignedCheckpoint(latest))
  }

  // ---- streams ------------------------------------------------------------------------------

  /**
   * A protocol handler: one deadline per stream (and the service's stop),
   * a scoped logger, abort on failure, close in finally.
   */
  /** Throws ReplicationAccessDeniedError (and counts it) when the access policy does not let `peer` read this. */
  #authorize(peer: PeerId, protocol: 'sync' | 'blob', hash?: Uint8Array): void {
    const access = this.#init.access
    if (access === undefined) return
    const key = peerKeyOf(peer)
    const allowed = protocol === 'sync' ? access.mayReadEntries(key) : access.mayFetchBlob(key, hash!)
    if (allowed) return
    this.#accessRefusals++
    this.safeDispatchEvent('access-refused', { detail: { peer: peer.toString(), protocol, ...(hash ? { hash } : {}) } })
    const what = protocol === 'sync' ? "this log's entries" : `blob ${toHex(hash!)}`
    throw new ReplicationAccessDeniedError(
      `peer ${peer.toString()} may not read ${what}: the study's access policy serves entries to its participants, models to participants, and a site's deltas only to that site, the coordinator and the study's auditors`,
    )
  }

  get accessRefusals(): number {
    return this.#accessRefusals
  }

  #handler(name: string, serve: Serve) {
    return (stream: Stream, connection: Connection): void => {
      const log = stream.log.newScope(`ledger-${name}`)
      const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#controller.signal])
      const task = (async () => {
        const onAbort = (): void => stream.abort(signal.reason as Error)
        signal.addEventListener('abort', onAbort, { once: true })
        const reader = new FrameReader(stream, MAX_FRAME_BYTES, STREAM_READ_BUFFER_BYTES)
        try {
          await serve(stream, reader, { signal }, connection)
        } catch (err) {
          log.error('serving %s failed - %e', name, err)
          stream.abort(err as Error)
        } finally {
          reader.release()
          signal.removeEventListener('abort', onAbort)
          await stream.close({ signal }).catch((err: unknown) => stream.abort(err as Error))
        }
      })()
      this.#track(task)
    }
  }

  /**
   * Opens a stream to `peer` for `protocol` and runs `use` on it under one
   * deadline (also ended by `options.signal` and by stop()). Aborts the
   * stream when `use` fails, closes it in any case.
   */
  async #request<T>(peer: Target, protocol: string, options: AbortOptions, use: (stream: Stream, reader: FrameReader, label: string, options: AbortOptions) => Promise<T>): Promise<T> {
    const signals = [AbortSignal.timeout(this.#timeoutMs), this.#controller.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    setMaxListeners(Infinity, signal)
    const connection = await this.#components.connectionManager.openConnection(peer, { signal })
    const label = connection.remotePeer.toString()
    const stream = await connection.newStream(protocol, { signal })
    const onAbort = (): void => stream.abort(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    const reader = new FrameReader(stream, MAX_FRAME_BYTES, STREAM_READ_BUFFER_BYTES)
    try {
      return await use(stream, reader, label, { signal })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      reader.release()
      signal.removeEventListener('abort', onAbort)
      await stream.close({ signal }).catch((err: unknown) => stream.abort(err as Error))
    }
  }

  /** Runs `attempt` against each connected peer (`first` first) until one succeeds. */
  async #fromAnyPeer<T>(what: string, options: AbortOptions, attempt: (peer: PeerId) => Promise<T>, first?: PeerId): Promise<T> {
    const peers = new Map<string, PeerId>()
    if (first !== undefined) peers.set(first.toString(), first)
    for (const connection of this.#components.connectionManager.getConnections()) {
      if (connection.status === 'open') peers.set(connection.remotePeer.toString(), connection.remotePeer)
    }
    if (peers.size === 0) throw new SyncNoPeersError(what)
    const causes: Error[] = []
    for (const peer of peers.values()) {
      options.signal?.throwIfAborted()
      try {
        return await attempt(peer)
      } catch (err) {
        if (err instanceof LedgerClosedError || err instanceof LedgerStorageError) throw err
        this.#log('%s from %p failed - %e', what, peer, err)
        causes.push(err as Error)
      }
    }
    throw new ReplicaUnavailableError(what, causes)
  }

  // ---- repair -----------------------------------------------------------------------------

  /** Entry `seq`'s body when it reads back as the entry the tree committed to, else the damage. */
  async #checkEntry(seq: number): Promise<CanonicalValue | Error> {
    try {
      const { entry, bytes } = await this.#ledger.get(seq)
      const leaf = await this.#ledger.leafHash(seq)
      const calculated = hashLeaf(bytes)
      return equalBytes(leaf, calculated) ? entry.body : new StoredEntryLeafMismatchError(seq, leaf, calculated)
    } catch (err) {
      if (!isDamage(err)) throw err
      return err as Error
    }
  }

  /** A peer's copy of entry `seq` whose leaf hash is the stored Merkle leaf. */
  async #fetchGoodEntry(seq: number, options: AbortOptions): Promise<Uint8Array> {
    const leaf = await this.#ledger.leafHash(seq)
    return this.#fromAnyPeer(`entry ${seq}`, options, async (peer) => {
      const bytes = await this.#request(peer, LEDGER_SYNC_PROTOCOL, options, (stream, reader, label, o) => fetchEntry(this.origin, stream, reader, label, seq, o))
      if (bytes === undefined) throw new SyncPeerBehindError(peer.toString(), seq + 1, seq)
      const calculated = hashLeaf(bytes)
      if (!equalBytes(calculated, leaf)) throw new StoredEntryLeafMismatchError(seq, leaf, calculated)
      return bytes
    })
  }

  // ---- bookkeeping ------------------------------------------------------------------------

  /** Runs `task` after every earlier queued task has settled. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task)
    this.#queue = run.then(settled, settled)
    this.#track(run)
    return run
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task)
    const untrack = (): void => void this.#tasks.delete(task)
    task.then(untrack, untrack)
  }

  /** Work nobody awaits: tracked for stop(), failures logged (a stopped service's are expected). */
  #background(task: Promise<unknown>, what: string): void {
    this.#track(
      task.catch((err: unknown) => {
        if (this.#controller.signal.aborted) this.#log('%s stopped - %e', what, err)
        else this.#log.error('%s failed - %e', what, err)
      }),
    )
  }
}

function settled(): void {
  // Deliberately nothing: the queue only orders work; each caller sees its own outcome.
}

/** Whether a failed read means damaged data (repairable) rather than a closed or failing store. */
function isDamage(err: unknown): boolean {
  return err instanceof LedgerError && !(err instanceof LedgerClosedError) && !(err instanceof LedgerStorageError)
}

/** Every 32-byte string in a canonical value: the candidates for blob names. */
function hashesIn(value: CanonicalValue): Uint8Array[] {
  if (value instanceof Uint8Array) return value.length === HASH_LENGTH_BYTES ? [value] : []
  if (Array.isArray(value)) return value.flatMap((v: CanonicalValue) => hashesIn(v))
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap((v) => hashesIn(v))
  return []
}
