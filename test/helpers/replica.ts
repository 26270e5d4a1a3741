/**
 * Replication fixtures: coordinator logs, replica nodes on loopback, and
 * waits on events with deadlines (never sleeps). Each node registers its own
 * stop with vitest's `onTestFinished`; it is registered after its ledger's
 * close, so it runs first (vitest runs these in reverse).
 */
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { onTestFinished } from 'vitest'
import {
  createReplicaNode,
  peerKeyOf,
  sha256,
  toHex,
  type ReplicaAccess,
  type EntryDraft,
  type LedgerSync,
  type MisbehaviourProof,
  type ReplicaNode,
  type SignedCheckpoint,
  type Signer,
} from '../../ledger/index.ts'
import { createLedger, testDrafts, testSigner, type LedgerFixture } from './ledger.ts'

/** The study every replication test replicates. */
export const ORIGIN = 'study-replication'

/** The coordinator's signer: its public key is every replica's coordinatorKey. */
export const COORDINATOR: Signer = testSigner(7)

/** Fixed checkpoint time, so that two coordinators signing the same log sign the same bytes. */
export const CHECKPOINT_TIME_MS = 1_700_000_100_000

/** How long a test waits for replication before it fails. */
export const WAIT_MS = 20_000

/** A blob and the draft of an entry that names it, as a model-publishing round would append. */
export function blobDraft(n: number, sizeBytes = 4096): { draft: EntryDraft; blob: Uint8Array; hash: Uint8Array } {
  const blob = new Uint8Array(sizeBytes).map((_, i) => (i * 31 + n * 7) & 0xff)
  const hash = sha256(blob)
  return { draft: { kind: 'model-published', timeMs: 1_700_000_000_000 + n, body: { round: n, weights: hash } }, blob, hash }
}

/**
 * Appends `drafts` to the coordinator's log in appends of `perCheckpoint`,
 * each signed into a checkpoint in the same batch (as the coordinator does),
 * and returns the last checkpoint.
 */
export async function appendCheckpointed(
  fixture: LedgerFixture,
  drafts: readonly EntryDraft[],
  init: { perCheckpoint?: number; blobs?: readonly Uint8Array[]; signer?: Signer } = {},
): Promise<SignedCheckpoint> {
  const step = init.perCheckpoint ?? (drafts.length || 1)
  let last: SignedCheckpoint | undefined
  for (let i = 0; i < drafts.length; i += step) {
    const blobs = i === 0 ? (init.blobs ?? []) : []
    const r = await fixture.ledger.appendWithCheckpoint(init.signer ?? COORDINATOR, drafts.slice(i, i + step), blobs, { origin: ORIGIN })
    last = r.checkpoint
  }
  if (last === undefined) throw new Error('appendCheckpointed: no drafts')
  return last
}

/** A coordinator ledger of `count` test entries, checkpointed every `perCheckpoint`. */
export async function createCoordinatorLedger(count: number, perCheckpoint = count): Promise<LedgerFixture> {
  const fixture = await createLedger()
  if (count > 0) await appendCheckpointed(fixture, testDrafts(count), { perCheckpoint })
  return fixture
}

/** A running participant: its ledger, its node and the service on it. */
export interface Replica {
  readonly fixture: LedgerFixture
  readonly node: ReplicaNode
  readonly sync: LedgerSync
  /** Dialable addresses, with `/p2p/<peer id>`. */
  readonly addrs: string[]
}

/**
 * Starts a node over `fixture` (a fresh ledger when absent), dialing
 * `peers`. With `signer`, it is the coordinator's node. With `identity`, its
 * libp2p identity is that key (else a fresh, anonymous one); with `access`,
 * it serves under that policy. Stopped when the test finishes.
 */
export async function startReplica(
  init: { fixture?: LedgerFixture; peers?: readonly Replica[]; signer?: Signer; syncOnConnect?: boolean; identity?: Signer; access?: ReplicaAccess; expectedPeers?: number } = {},
): Promise<Replica> {
  const fixture = init.fixture ?? (await createLedger())
  const node = await createReplicaNode({
    ...(init.identity ? { privateKey: await peerKeyOf(init.identity) } : {}),
    access: init.access,
    expectedPeers: init.expectedPeers,
    ledger: fixture.ledger,
    origin: ORIGIN,
    coordinatorKey: COORDINATOR.publicKey,
    signer: init.signer,
    peers: (init.peers ?? []).flatMap((p) => p.addrs.slice(0, 1)),
    syncOnConnect: init.syncOnConnect,
  })
  onTestFinished(() => node.stop())
  return { fixture, node, sync: node.services.ledgerSync, addrs: node.getMultiaddrs().map((a) => a.toString()) }
}

/** The coordinator's node over `fixture`. */
export function startCoordinator(fixture: LedgerFixture, peers: readonly Replica[] = []): Promise<Replica> {
  return startReplica({ fixture, peers, signer: COORDINATOR })
}

/** A bare libp2p node with gossipsub only: a peer that speaks gossip but keeps no log (an attacker). */
export async function startGossipNode(peers: readonly Replica[]): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
  })
  onTestFinished(() => node.stop())
  await Promise.all(peers.map((p) => node.dial(multiaddr(p.addrs[0]!))))
  return node
}

/**
 * Resolves once `check()` holds: it is evaluated now and again at every
 * `type` event of `target` (the listener is added before the first check, so
 * no event is missed). Rejects after `timeoutMs`, naming `what`.
 */
export function waitUntil(target: EventTarget, type: string, check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false
    const finish = (err?: unknown): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      target.removeEventListener(type, evaluate)
      if (err === undefined) resolve()
      else reject(err)
    }
    const evaluate = (): void => {
      Promise.resolve()
        .then(check)
        .then(
          (ok) => {
            if (ok) finish()
          },
          (err: unknown) => finish(err),
        )
    }
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    target.addEventListener(type, evaluate)
    evaluate()
  })
}

/** Waits until the replica's log has at least `size` entries. */
export function waitForSize(replica: Replica, size: number, timeoutMs = WAIT_MS): Promise<void> {
  return waitUntil(replica.sync, 'synced', () => replica.fixture.ledger.length >= size, `replica ${replica.node.peerId} to reach size ${size}`, timeoutMs)
}

/** Waits until the replica has stored at least one misbehaviour proof, and returns what it stores. */
export async function waitForMisbehaviour(replica: Replica, timeoutMs = WAIT_MS): Promise<MisbehaviourProof[]> {
  const ledger = replica.fixture.ledger
  await waitUntil(replica.sync, 'misbehaviour', async () => (await ledger.misbehaviour()).length > 0, `replica ${replica.node.peerId} to record misbehaviour`, timeoutMs)
  return ledger.misbehaviour()
}

/** Waits until `node`'s gossipsub knows at least `count` peers subscribed to `topic`. */
export function waitForSubscribers(node: Libp2p<{ pubsub: GossipSub }>, topic: string, count: number, timeoutMs = WAIT_MS): Promise<void> {
  const pubsub = node.services.pubsub
  return waitUntil(pubsub, 'subscription-change', () => pubsub.getSubscribers(topic).length >= count, `${count} subscribers to ${topic} at ${node.peerId}`, timeoutMs)
}

/** Every entry's bytes, in order, as hex (to compare two logs). */
export async function entriesHex(fixture: LedgerFixture): Promise<string[]> {
  const out: string[] = []
  for await (const { bytes } of fixture.ledger.scan()) out.push(toHex(bytes))
  return out
}
