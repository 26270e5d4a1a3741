/**
 * A ready-made replica node: libp2p over TCP with Noise and Yamux, identify,
 * gossipsub and ledgerSync, listening and dialing where it is told. The
 * caller owns both the node (stop it) and the ledger (close it after).
 *
 * The node's libp2p identity is the participant's own Ed25519 key
 * (`peerKeyOf`): its peer id is its enrolled key, which is how a replica's
 * access policy knows who asks.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ledgerSync, type LedgerSync, type LedgerSyncInit } from '../replication.ts'
import type { Signer } from '../core/signature.ts'
import { PeerKeyError, ReplicaDialError } from './errors.ts'

/** Options of createReplicaNode: where to listen and whom to dial, plus the service's options. */
export interface ReplicaNodeInit extends LedgerSyncInit {
  /** Multiaddrs to listen on (default `['/ip4/127.0.0.1/tcp/0']`: loopback, a free port). */
  readonly listen?: readonly string[] | undefined
  /**
   * Multiaddrs to tell peers instead of the bound ones (identify, and what
   * `getMultiaddrs()` returns): the address other machines reach the node
   * at, behind a wildcard bind, NAT or a container's port mapping. Empty or
   * absent: the listening addresses, as bound.
   */
  readonly announce?: readonly string[] | undefined
  /** Multiaddrs (with `/p2p/<peer id>`) to dial once started. */
  readonly peers?: readonly string[] | undefined
  /**
   * How many peers the node should take at once (a coordinator: its sites
   * and auditors). libp2p's defaults (10 pending inbound connections, 5 a
   * second from one host) refuse most of a study's sites when they start
   * together, or sit behind one NAT; the limits are sized to this instead.
   */
  readonly expectedPeers?: number | undefined
  /** The node's libp2p identity: the participant's key (`peerKeyOf`); a fresh, anonymous one when absent. */
  readonly privateKey?: PrivateKey | undefined
}

/** The services of a replica node. */
export interface ReplicaServices extends Record<string, unknown> {
  identify: Identify
  pubsub: GossipSub
  ledgerSync: LedgerSync
}

/** A started replica node: `node.services.ledgerSync` is the LedgerSync. */
export type ReplicaNode = Libp2p<ReplicaServices>

const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/**
 * Creates and starts a replica node and dials `init.peers` (in parallel).
 * Peers that do not answer are logged and skipped; when none of several
 * answers, the node is stopped and `ReplicaDialError` thrown.
 */
export async function createReplicaNode(init: ReplicaNodeInit): Promise<ReplicaNode> {
  const { listen, announce, peers, privateKey, expectedPeers, ...syncInit } = init
  const expected = Math.max(0, expectedPeers ?? 0)
  const node = await createLibp2p<ReplicaServices>({
    connectionManager: {
      maxConnections: Math.max(300, 2 * expected + 50),
      maxIncomingPendingConnections: Math.max(10, expected + 8),
      inboundConnectionThreshold: Math.max(5, expected + 8),
    },
    ...(privateKey === undefined ? {} : { privateKey }),
    addresses: { listen: [...(listen ?? DEFAULT_LISTEN)], announce: [...(announce ?? [])] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // Publishing must not fail while a replica is alone: the coordinator
      // announces whether or not anyone listens, and peers catch up on connect.
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, scoreParams: gossipScoreParams(expected) }),
      ledgerSync: ledgerSync(syncInit),
    },
  })
  const targets = peers ?? []
  const results = await Promise.allSettled(targets.map((peer) => node.dial(multiaddr(peer))))
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
  if (targets.length > 0 && failures.length === targets.length) {
    await node.stop()
    throw new ReplicaDialError(targets, failures)
  }
  const log = node.logger.forComponent('fedlineage:replica-node')
  for (const failure of failures) log.error('dialing a peer failed - %e', failure)
  return node
}

/** Peers one IP address may hold before gossipsub's colocation penalty applies, by default (gossipsub's own default). */
const DEFAULT_PEERS_PER_IP = 10

/**
 * Gossipsub's peer-score parameters for a node expecting `expectedPeers`.
 *
 * Gossipsub penalises every peer of an IP address that holds more than
 * IPColocationFactorThreshold peers (10) by the square of the surplus (P6,
 * weight -5). A study's sites on one host, on loopback or behind one NAT
 * share an address: with 14 of them every score is below gossipsub's
 * graylist threshold (-80), so the coordinator ignores their subscriptions,
 * publishes checkpoints to none of them (publish threshold -50), and the
 * replicas stop following the log live. The threshold is sized to the
 * study instead; the other penalties (invalid messages, broken promises)
 * stay, and every gossiped checkpoint is checked against the coordinator
 * key whatever its sender's score.
 */
function gossipScoreParams(expectedPeers: number): { IPColocationFactorThreshold: number } {
  return { IPColocationFactorThreshold: Math.max(DEFAULT_PEERS_PER_IP, Math.ceil(expectedPeers) + 8) }
}

/**
 * The libp2p private key of a participant: its own Ed25519 identity key, so
 * its peer id is its enrolled public key and every replica can tell from the
 * log who is on the other end of a connection (Noise proves the key). The
 * key signs libp2p's own messages under their domain prefixes
 * (`noise-libp2p-static-key:`, `libp2p-pubsub:`), which can never be read as
 * a fedlineage statement or entry (each has its own signing context).
 * Throws `PeerKeyError` for a signer that cannot hand out its key.
 */
export async function peerKeyOf(signer: Signer): Promise<PrivateKey> {
  if (signer.privateKey === undefined) throw new PeerKeyError("this signer does not expose its private key, so it cannot be the replica's libp2p identity")
  const jwk = signer.privateKey.export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') throw new PeerKeyError(`the signer's key is ${jwk.crv ?? jwk.kty}, not Ed25519`)
  return generateKeyPairFromSeed('Ed25519', new Uint8Array(Buffer.from(jwk.d, 'base64url')))
}
