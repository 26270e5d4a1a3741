/**
 * The site's own copy of the study's lineage log, replicated over libp2p
 * from the coordinator (and any other replica). Every entry is verified
 * before it is stored (chain, coordinator signature, Merkle root against the
 * signed checkpoint, consistency with the previous one), so the site holds
 * evidence of what was logged about its updates even if the hub goes away.
 * After each verified checkpoint the site cosigns it as a witness and hands
 * the cosignature to the coordinator, which keeps it beside the checkpoint.
 *
 * The replica is also where the site learns its world: `waitFor` folds the
 * verified entries into the protocol's `StudyState` (the same fold the
 * coordinator and the auditor run) and pulls from the coordinator until what
 * the site asks about is there. The site reads its credit, the committed
 * model hashes and its instructions' provenance from it, never from an
 * unauthenticated status RPC.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { Ledger, cosignCheckpoint, createReplicaNode, openLevelStorage, peerKeyOf, readCheckpoint, type ReplicaNode, type Signer } from '../ledger/index.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { ENTRY_KINDS, StudyState, isEmbeddedByBlob, readLineageRecord, studyReplicaAccess, type LineageRecord } from '../protocol/index.ts'

export interface SiteReplicaInit {
  readonly dataDir: string
  readonly listen: readonly string[]
  /** What other replicas are told to dial (empty: the bound addresses). */
  readonly announce?: readonly string[] | undefined
  readonly peers: readonly string[]
  readonly origin: string
  readonly coordinatorKey: Uint8Array
  /** The site's key: it cosigns checkpoints and is the replica's libp2p identity. */
  readonly witness: Signer
  readonly logger: Logger
  /** Hands a cosignature to the coordinator (over gRPC). */
  readonly submitCosignature: (size: number, cosig: ReturnType<typeof cosignCheckpoint>) => Promise<void>
}

/** How long to pause between pulls while `waitFor` waits for an entry. */
const WAIT_POLL_MS = 100

/** How long the final sync keeps trying to reach the coordinator's head, by default. */
export const FINAL_SYNC_TIMEOUT_MS = 60_000
/** First and longest pause between two attempts of the final sync. */
const FINAL_SYNC_BACKOFF_MS = { first: 200, max: 5_000 } as const

export class SiteReplica {
  private cosigned = 0
  /** The fold of the verified entries `[0, folded)`. */
  private folded = 0
  /**
   * Bodies of update envelopes the folded entries embed by reference (lineage.ts):
   * entry content every participant may read, kept in the replica so that its
   * holder's audit checks those entries without fetching anything.
   */
  private readonly envelopeBlobs: Uint8Array[] = []
  private readonly peers: string[]

  private constructor(
    readonly ledger: Ledger,
    readonly node: ReplicaNode,
    private readonly init: SiteReplicaInit,
    private readonly world: StudyState,
  ) {
    this.peers = [...init.peers]
  }

  static async start(init: SiteReplicaInit): Promise<SiteReplica> {
    const ledger = await Ledger.open(await openLevelStorage(init.dataDir))
    // The policy reads the fold the replica builds; it exists before the replica does.
    const world = new StudyState()
    let node: ReplicaNode
    try {
      // Says whose replica this is: it holds every entry but only what this site may read, and an
      // audit of it (`fedlineage audit --db`) reports what it could not check rather than a missing blob.
      await ledger.setReplicaHolder({ key: init.witness.publicKey, peers: init.peers })
      node = await createReplicaNode({
        ledger,
        origin: init.origin,
        coordinatorKey: init.coordinatorKey,
        listen: init.listen,
        announce: init.announce,
        peers: init.peers,
        privateKey: await peerKeyOf(init.witness),
        access: studyReplicaAccess(() => world, init.coordinatorKey),
      })
    } catch (err) {
      await ledger.close()
      throw err
    }
    const replica = new SiteReplica(ledger, node, init, world)
    node.services.ledgerSync.addEventListener('synced', () => void replica.cosignLatest())
    node.services.ledgerSync.addEventListener('misbehaviour', (e) => init.logger.error({ proof: e.detail.kind }, 'the coordinator misbehaved: conflicting signed logs'))
    return replica
  }

  get size(): number {
    return this.ledger.length
  }

  /**
   * The study as the verified log says it is now: the fold of every entry
   * the replica holds (entries are folded once, in order). Throws the fold's
   * `LineageRecordError` when the coordinator logged something the protocol
   * does not allow.
   */
  async view(): Promise<StudyState> {
    const length = this.ledger.length
    if (this.folded < length) {
      for await (const { entry } of this.ledger.scan(this.folded, length)) {
        const record = readLineageRecord(entry)
        this.world.apply(record)
        const blob = envelopeBlobOf(record)
        if (blob !== undefined) this.envelopeBlobs.push(blob)
        this.folded = entry.seq + 1
      }
    }
    return this.world
  }

  /**
   * What `read` finds in the verified log, pulling from the peers until it
   * finds something or `timeoutMs` passes (then undefined: the log does not
   * show it yet, and the caller must not act as if it did).
   */
  async waitFor<T>(read: (state: StudyState) => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const found = read(await this.view())
      if (found !== undefined) return found
      if (Date.now() >= until) return undefined
      await this.pull()
      const again = read(await this.view())
      if (again !== undefined) return again
      await new Promise((r) => setTimeout(r, WAIT_POLL_MS))
    }
  }

  /** One pull from the first peer that answers. */
  private async pull(): Promise<void> {
    for (const p of this.peers) {
      try {
        await this.node.services.ledgerSync.syncWith(multiaddr(p))
        return
      } catch (err) {
        this.init.logger.debug({ err, peer: p }, 'pull failed')
      }
    }
  }

  /** Dials replicas learned later (e.g. the coordinator's new address after a restart). */
  async addPeers(addrs: readonly string[]): Promise<void> {
    const fresh = addrs.filter((a) => !this.peers.includes(a))
    for (const a of fresh) this.peers.unshift(a)
    if (fresh.length > 0)
      await this.ledger.setReplicaHolder({ key: this.init.witness.publicKey, peers: this.peers }).catch((err: unknown) => this.init.logger.debug({ err }, 'replica peers not recorded'))
    await Promise.all(addrs.map((a) => this.node.dial(multiaddr(a)).catch((err: unknown) => this.init.logger.debug({ err, peer: a }, 'replica dial failed'))))
  }

  private async cosignLatest(): Promise<void> {
    try {
      const latest = await this.ledger.latestCheckpoint()
      if (!latest) return
      const size = readCheckpoint(latest).size
      if (size <= this.cosigned || size !== this.ledger.length) return
      this.cosigned = size
      await this.init.submitCosignature(size, cosignCheckpoint(this.init.witness, latest, Math.floor(Date.now() / 1000)))
    } catch (err) {
      this.init.logger.debug({ err }, 'cosignature not delivered')
    }
  }

  /**
   * Pulls until level with the latest checkpoint of one of `peers`, then
   * stops the node and closes the copy; resolves with the log's length.
   * When the study ends, every site pulls at once from a coordinator that is
   * still answering the last calls: a pull that fails (refused, timed out,
   * reset) is tried again, with backoff, against each peer in turn, until
   * one succeeds or `timeoutMs` has passed (then the replica keeps what it
   * verified, and says so in the log).
   */
  async finish(peers: readonly string[], timeoutMs = FINAL_SYNC_TIMEOUT_MS): Promise<number> {
    try {
      const until = Date.now() + timeoutMs
      let backoffMs: number = FINAL_SYNC_BACKOFF_MS.first
      let attempts = 0
      while (peers.length > 0 && !(await this.syncWithAny(peers, until))) {
        attempts++
        if (Date.now() + backoffMs >= until) {
          this.init.logger.warn({ attempts, size: this.ledger.length, timeoutMs }, 'final sync did not reach the coordinator head; the replica keeps what it verified')
          break
        }
        await sleep(backoffMs)
        backoffMs = Math.min(2 * backoffMs, FINAL_SYNC_BACKOFF_MS.max)
      }
      await this.cosignLatest()
      await this.fetchEnvelopeBlobs(until)
      return this.ledger.length
    } finally {
      await this.node.stop()
      await this.ledger.close()
    }
  }

  /**
   * Fetches the envelope bodies the log embeds by reference that the replica
   * does not hold yet, from its peers, until `until`; one it cannot get is
   * left out (the holder's audit then names it), never fatal.
   */
  private async fetchEnvelopeBlobs(until: number): Promise<void> {
    await this.view()
    for (const hash of this.envelopeBlobs) {
      if (Date.now() >= until) return
      if (await this.ledger.hasBlob(hash)) continue
      try {
        await this.node.services.ledgerSync.fetchBlob(hash, { signal: AbortSignal.timeout(Math.max(1, until - Date.now())) })
      } catch (err) {
        this.init.logger.warn({ err, blob: Buffer.from(hash).toString('hex') }, 'an update envelope embedded by reference could not be fetched; the replica goes without it')
      }
    }
  }

  /** One pull to the head of the first of `peers` that answers before `until`; false when none did. */
  private async syncWithAny(peers: readonly string[], until: number): Promise<boolean> {
    for (const p of peers) {
      const remainingMs = until - Date.now()
      if (remainingMs <= 0) return false
      try {
        await this.node.services.ledgerSync.syncWith(multiaddr(p), { signal: AbortSignal.timeout(remainingMs) })
        return true
      } catch (err) {
        this.init.logger.debug({ err, peer: p }, 'final sync failed')
      }
    }
    return false
  }
}

/** The blob an update entry names for its envelope's body when it embeds it by reference; undefined otherwise. */
function envelopeBlobOf(record: LineageRecord): Uint8Array | undefined {
  if (record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED && record.kind !== ENTRY_KINDS.UPDATE_REJECTED) return undefined
  const e = record.body.envelope
  return isEmbeddedByBlob(e) ? e.blob : undefined
}
