/**
 * A ready-made replica node: libp2p over TCP with Noise and Yamux, identify,
 * gossipsub and ledgerSync, listening and dialing where it is told. The
 * caller owns both the node (stop it) and the ledger (close it after).
 *
 * The node's libp2p identity is a separate Ed25519 key from the
 * participant's signing key: it names the node on the network and signs
 * gossip, never log entries. `loadOrCreatePeerKey` keeps it in a file so a
 * restarted replica keeps its peer id.
 */
import { open, readFile, stat } from 'node:fs/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ledgerSync, type LedgerSync, type LedgerSyncInit } from '../replication.ts'
import { PeerKeyFileError, ReplicaDialError } from './errors.ts'

/** Options of createReplicaNode: where to listen and whom to dial, plus the service's options. */
export interface ReplicaNodeInit extends LedgerSyncInit {
  /** Multiaddrs to listen on (default `['/ip4/127.0.0.1/tcp/0']`: loopback, a free port). */
  readonly listen?: readonly string[] | undefined
  /** Multiaddrs (with `/p2p/<peer id>`) to dial once started. */
  readonly peers?: readonly string[] | undefined
  /** The node's persistent libp2p identity (see loadOrCreatePeerKey); a fresh one when absent. */
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
  const { listen, peers, privateKey, ...syncInit } = init
  const node = await createLibp2p<ReplicaServices>({
    ...(privateKey === undefined ? {} : { privateKey }),
    addresses: { listen: [...(listen ?? DEFAULT_LISTEN)] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // Publishing must not fail while a replica is alone: the coordinator
      // announces whether or not anyone listens, and peers catch up on connect.
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
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

const KEY_FILE_MODE = 0o600
const GROUP_OTHER_BITS = 0o077

/**
 * The libp2p private key stored in `file` (libp2p's protobuf encoding), or a
 * fresh Ed25519 key written there with mode 0600 when the file does not
 * exist. Refuses a file group or others can access, and one that does not
 * hold a key. Throws `PeerKeyFileError`.
 */
export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    const info = await stat(file)
    if (process.platform !== 'win32' && (info.mode & GROUP_OTHER_BITS) !== 0) {
      throw new PeerKeyFileError(file, `permissions ${(info.mode & 0o777).toString(8).padStart(4, '0')} are too open; a private key must be accessible by its owner only: chmod 600 ${file}`)
    }
    bytes = await readFile(file)
  } catch (err) {
    if (err instanceof PeerKeyFileError) throw err
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new PeerKeyFileError(file, `cannot read: ${(err as Error).message}`, { cause: err })
    return createPeerKey(file)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new PeerKeyFileError(file, `does not hold a libp2p private key: ${(err as Error).message}`, { cause: err })
  }
}

async function createPeerKey(file: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  let handle
  try {
    // 'wx': never replace a key another process wrote in the meantime.
    handle = await open(file, 'wx', KEY_FILE_MODE)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreatePeerKey(file)
    throw new PeerKeyFileError(file, `cannot create: ${(err as Error).message}`, { cause: err })
  }
  try {
    await handle.writeFile(privateKeyToProtobuf(key))
    await handle.sync()
  } catch (err) {
    throw new PeerKeyFileError(file, `cannot write: ${(err as Error).message}`, { cause: err })
  } finally {
    await handle.close()
  }
  return key
}
