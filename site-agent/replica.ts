/**
 * The site's own copy of the study's lineage log, replicated over libp2p
 * from the coordinator (and any other replica). Every entry is verified
 * before it is stored (chain, coordinator signature, Merkle root against the
 * signed checkpoint, consistency with the previous one), so the site holds
 * evidence of what was logged about its updates even if the hub goes away.
 * After each verified checkpoint the site cosigns it as a witness and hands
 * the cosignature to the coordinator, which keeps it beside the checkpoint.
 */
import type { Logger } from 'pino'
import { Ledger, cosignCheckpoint, createReplicaNode, loadOrCreatePeerKey, openLevelStorage, readCheckpoint, type ReplicaNode, type Signer } from '../ledger/index.ts'
import { multiaddr } from '@multiformats/multiaddr'

export interface SiteReplicaInit {
  readonly dataDir: string
  readonly peerKeyFile: string
  readonly listen: readonly string[]
  readonly peers: readonly string[]
  readonly origin: string
  readonly coordinatorKey: Uint8Array
  readonly witness: Signer
  readonly logger: Logger
  /** Hands a cosignature to the coordinator (over gRPC). */
  readonly submitCosignature: (size: number, cosig: ReturnType<typeof cosignCheckpoint>) => Promise<void>
}

export class SiteReplica {
  private cosigned = 0

  private constructor(
    readonly ledger: Ledger,
    readonly node: ReplicaNode,
    private readonly init: SiteReplicaInit,
  ) {}

  static async start(init: SiteReplicaInit): Promise<SiteReplica> {
    const ledger = await Ledger.open(await openLevelStorage(init.dataDir))
    let node: ReplicaNode
    try {
      node = await createReplicaNode({
        ledger,
        origin: init.origin,
        coordinatorKey: init.coordinatorKey,
        listen: init.listen,
        peers: init.peers,
        privateKey: await loadOrCreatePeerKey(init.peerKeyFile),
      })
    } catch (err) {
      await ledger.close()
      throw err
    }
    const replica = new SiteReplica(ledger, node, init)
    node.services.ledgerSync.addEventListener('synced', () => void replica.cosignLatest())
    node.services.ledgerSync.addEventListener('misbehaviour', (e) => init.logger.error({ proof: e.detail.kind }, 'the coordinator misbehaved: conflicting signed logs'))
    return replica
  }

  get size(): number {
    return this.ledger.length
  }

  /** Dials replicas learned later (e.g. the coordinator's new address after a restart). */
  async addPeers(addrs: readonly string[]): Promise<void> {
    await Promise.all(addrs.map((a) => this.node.dial(multiaddr(a)).catch((err: unknown) => this.init.logger.debug({ err, peer: a }, 'replica dial failed'))))
  }

  private async cosignLatest(): Promise<void> {
    try {
      const latest = await this.ledger.latestCheckpoint()
      if (!latest) return
      const size = readCheckpoint(latest).size
      if (size <= this.cosigned || size !== this.ledger.length) return
      this.cosigned = size
      await this.init.submitCosignature(size, cosignCheckpoint(this.init.witness, latest, Date.now()))
    } catch (err) {
      this.init.logger.debug({ err }, 'cosignature not delivered')
    }
  }

  /** Pulls until level with the given peers' latest checkpoint, then stops the node and closes the copy. */
  async finish(peers: readonly string[]): Promise<number> {
    try {
      for (const p of peers) {
        try {
          await this.node.services.ledgerSync.syncWith(multiaddr(p))
          break
        } catch (err) {
          this.init.logger.debug({ err, peer: p }, 'final sync failed')
        }
      }
      await this.cosignLatest()
      return this.ledger.length
    } finally {
      await this.node.stop()
      await this.ledger.close()
    }
  }
}
