/**
 * Log replication between real libp2p nodes on 127.0.0.1 over real LevelDB
 * ledgers: convergence, catching up, resuming an interrupted sync, repairing
 * damaged copies, and catching a coordinator that forks its log. Nothing is
 * mocked, and nothing sleeps: every wait is on an event, with a deadline.
 */
import { describe, expect, it } from 'vitest'
import {
  checkpointTopic,
  encodeCanonical,
  encodeMisbehaviourProof,
  encodeSignedCheckpoint,
  peerKeyOf,
  misbehaviourTopic,
  readCheckpoint,
  sha256,
  signCheckpoint,
  signEntry,
  toHex,
  verifyMisbehaviourProof,
  type EntryDraft,
  type AccessRefusal,
  type GossipRejection,
  type MisbehaviourProof,
} from '../../ledger/index.ts'
import { createLedger, entryKey, flipBlob, testDrafts, testSigner, withRawLevel } from '../helpers/ledger.ts'
import {
  COORDINATOR,
  ORIGIN,
  appendCheckpointed,
  blobDraft,
  createCoordinatorLedger,
  entriesHex,
  startCoordinator,
  startGossipNode,
  startReplica,
  waitForMisbehaviour,
  waitForSize,
  waitForSubscribers,
  waitUntil,
  type Replica,
} from '../helpers/replica.ts'

/** Two logs signed by the coordinator key that agree on 5 entries, then differ on 3. */
async function forkedLedgers() {
  const a = await createLedger()
  const b = await createLedger()
  const prefix = testDrafts(5)
  const fork = (name: string): EntryDraft[] => [0, 1, 2].map((i) => ({ kind: 'test-record', timeMs: 1_700_000_001_000 + i, body: { fork: name, n: i } }))
  await appendCheckpointed(a, prefix)
  await appendCheckpointed(b, prefix)
  const checkpointA = await appendCheckpointed(a, fork('a'))
  const checkpointB = await appendCheckpointed(b, fork('b'))
  return { a, b, checkpointA, checkpointB }
}

async function expectSameLog(replica: Replica, source: Replica): Promise<void> {
  expect(replica.fixture.ledger.length).toBe(source.fixture.ledger.length)
  expect(toHex(await replica.fixture.ledger.root())).toBe(toHex(await source.fixture.ledger.root()))
  expect(await entriesHex(replica.fixture)).toEqual(await entriesHex(source.fixture))
}

describe('log replication over libp2p', () => {
  it('brings five replicas to the coordinator log as it grows and is announced', async () => {
    // Prepare: a coordinator with 20 entries, five replicas that dial it
    const coordinator = await startCoordinator(await createCoordinatorLedger(20, 5))
    const replicas = await Promise.all(Array.from({ length: 5 }, () => startReplica({ peers: [coordinator] })))
    await Promise.all(replicas.map((r) => waitForSize(r, 20)))
    await waitForSubscribers(coordinator.node, checkpointTopic(ORIGIN), 5)

    // Execute: three more appends, each announced
    for (let round = 0; round < 3; round++) {
      const checkpoint = await appendCheckpointed(coordinator.fixture, testDrafts(10, 20 + round * 10))
      await coordinator.sync.announce(checkpoint)
    }

    // Assert
    await Promise.all(replicas.map((r) => waitForSize(r, 50)))
    for (const replica of replicas) {
      await expectSameLog(replica, coordinator)
      expect(readCheckpoint((await replica.fixture.ledger.latestCheckpoint())!).size).toBe(50)
    }
  })

  it('catches up a replica started late, from another replica', async () => {
    // Prepare: a coordinator with 40 entries and one replica holding them
    const coordinator = await startCoordinator(await createCoordinatorLedger(40, 8))
    const early = await startReplica({ peers: [coordinator] })
    await waitForSize(early, 40)

    // Execute: a replica that knows only the early one
    const late = await startReplica({ peers: [early] })

    // Assert
    await waitForSize(late, 40)
    await expectSameLog(late, coordinator)
    expect(readCheckpoint((await late.fixture.ledger.latestCheckpoint())!).size).toBe(40)
  })

  it('resumes a sync interrupted by stopping the node, with no gap and no duplicate', async () => {
    // Prepare: 3000 entries, a checkpoint every 100; a replica that stops its node at its first store
    const total = 3000
    const coordinator = await startCoordinator(await createCoordinatorLedger(total, 100))
    const replica = await startReplica()
    let stopped: Promise<void> | undefined
    replica.sync.addEventListener('synced', (e) => {
      if (stopped === undefined && e.detail < total) stopped = Promise.resolve(replica.node.stop())
    })

    // Execute: connect, let the first store land, stop, then restart over the reopened ledger
    await replica.node.dial(coordinator.node.getMultiaddrs()[0]!)
    await waitUntil(replica.sync, 'synced', () => stopped !== undefined, 'the first store')
    await stopped
    const interruptedAt = replica.fixture.ledger.length
    await replica.fixture.reopen()
    const resumed = await startReplica({ fixture: replica.fixture })
    const sizes: number[] = []
    resumed.sync.addEventListener('synced', (e) => sizes.push(e.detail))
    await resumed.node.dial(coordinator.node.getMultiaddrs()[0]!)
    await waitForSize(resumed, total, 45_000)

    // Assert: the interruption kept whole checkpoints only, and the resumed sync continued from there
    expect(interruptedAt).toBeGreaterThan(0)
    expect(interruptedAt).toBeLessThan(total)
    expect(interruptedAt % 100).toBe(0)
    expect(sizes[0]).toBeGreaterThan(interruptedAt)
    expect(sizes.every((size) => size % 100 === 0)).toBe(true)
    expect(sizes).toEqual([...sizes].sort((x, y) => x - y))
    expect(new Set(sizes).size).toBe(sizes.length)
    expect(sizes.at(-1)).toBe(total)
    await expectSameLog(resumed, coordinator)
  })

  it('slows a sender down rather than overflowing: 12 MB of entries, more than libp2p buffers unread', async () => {
    // Prepare: 200 entries of 60 kB (entries stay under tlog-tiles' 64 KiB), a checkpoint every 20 (the replica writes while they keep coming)
    const source = await createLedger()
    const drafts = Array.from({ length: 200 }, (_, i): EntryDraft => ({ kind: 'large-record', timeMs: i, body: { n: i, pad: new Uint8Array(60_000).fill(i) } }))
    await appendCheckpointed(source, drafts, { perCheckpoint: 20 })
    const coordinator = await startCoordinator(source)

    // Execute
    const replica = await startReplica({ peers: [coordinator] })

    // Assert
    await waitForSize(replica, 200)
    await expectSameLog(replica, coordinator)
  })

  it('detects a flipped byte in an entry and a blob, and repairs both from another replica', async () => {
    // Prepare: 12 entries, three of which name blobs; two replicas holding entries and blobs
    const published = [1, 2, 3].map((n) => blobDraft(n))
    const source = await createLedger()
    await appendCheckpointed(source, testDrafts(9), { perCheckpoint: 3 })
    await appendCheckpointed(
      source,
      published.map((p) => p.draft),
      { blobs: published.map((p) => p.blob) },
    )
    const coordinator = await startCoordinator(source)
    const damaged = await startReplica({ peers: [coordinator] })
    const healthy = await startReplica({ peers: [coordinator, damaged] })
    await Promise.all([waitForSize(damaged, 12), waitForSize(healthy, 12)])
    for (const replica of [damaged, healthy]) for (const p of published) await replica.sync.fetchBlob(p.hash)
    // Flip one byte in entry 4 and one in the second blob, with the node down and the ledger closed.
    await damaged.node.stop()
    await damaged.fixture.close()
    await withRawLevel(damaged.fixture.dir, async (db) => {
      const bytes = Uint8Array.from((await db.get(entryKey(4)))!)
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01
      await db.put(entryKey(4), bytes)
    })
    await flipBlob(damaged.fixture.dir, toHex(published[1]!.hash))
    await damaged.fixture.reopen()
    await expect(damaged.fixture.ledger.get(4)).rejects.toThrow(expect.objectContaining({ code: expect.stringMatching(/^LEDGER_/) }))
    await expect(damaged.fixture.ledger.getBlob(published[1]!.hash)).rejects.toThrow(expect.objectContaining({ code: 'LEDGER_BLOB_CORRUPT' }))
    // Only the healthy replica is reachable now: the good copies must come from it.
    const restarted = await startReplica({ fixture: damaged.fixture, peers: [healthy], syncOnConnect: false })

    // Execute
    const report = await restarted.sync.verifyAndRepair()

    // Assert
    expect(report.failures).toEqual([])
    expect(report.checkedEntries).toBe(12)
    expect(report.checkedBlobs).toBe(3)
    expect(report.repairedEntries).toEqual([4])
    expect(report.repairedBlobs.map(toHex)).toEqual([toHex(published[1]!.hash)])
    await expectSameLog(restarted, coordinator)
    for (const p of published) expect(toHex(sha256(await restarted.fixture.ledger.getBlob(p.hash)))).toBe(toHex(p.hash))
    const again = await restarted.sync.verifyAndRepair()
    expect([again.repairedEntries, again.repairedBlobs, again.failures]).toEqual([[], [], []])
  })

  it('catches a coordinator that shows two logs to two groups of replicas, and tells every peer', async () => {
    // Prepare: two logs under the coordinator key, each served to its own replicas
    const { a, b, checkpointA, checkpointB } = await forkedLedgers()
    const coordinatorA = await startCoordinator(a)
    const coordinatorB = await startCoordinator(b)
    const groupA = [await startReplica({ peers: [coordinatorA] }), await startReplica({ peers: [coordinatorA] })]
    const groupB = [await startReplica({ peers: [coordinatorB] }), await startReplica({ peers: [coordinatorB] })]
    const replicas = [...groupA, ...groupB]
    await Promise.all(replicas.map((r) => waitForSize(r, 8)))
    await coordinatorA.sync.announce(checkpointA)
    await coordinatorB.sync.announce(checkpointB)

    // Execute: one replica of each group meets one of the other
    await groupB[0]!.node.dial(groupA[1]!.node.getMultiaddrs()[0]!)

    // Assert: every replica (and both coordinator nodes) store the one split-view proof
    const expected = new Set([toHex(encodeSignedCheckpoint(checkpointA)), toHex(encodeSignedCheckpoint(checkpointB))])
    const stored: string[] = []
    for (const peer of [...replicas, coordinatorA, coordinatorB]) {
      const proofs = await waitForMisbehaviour(peer)
      expect(proofs).toHaveLength(1)
      const proof = proofs[0]!
      expect(proof.kind).toBe('split-view')
      if (proof.kind !== 'split-view') return
      expect(() => verifyMisbehaviourProof(proof, COORDINATOR.publicKey)).not.toThrow()
      expect(new Set([toHex(encodeSignedCheckpoint(proof.a)), toHex(encodeSignedCheckpoint(proof.b))])).toEqual(expected)
      stored.push(toHex(encodeMisbehaviourProof(proof)))
    }
    expect(new Set(stored).size).toBe(1)
  })

  it('proves a forked entry when a longer fork does not extend the local log', async () => {
    // Prepare: one replica holds fork B (checkpoints at 5 and 8), a peer holds fork A grown to 11
    // (checkpoints at 5 and 11: no two checkpoints of one size differ, so only the entries can tell)
    const prefix = testDrafts(5)
    const fork = (name: string, count: number): EntryDraft[] => Array.from({ length: count }, (_, i) => ({ kind: 'test-record', timeMs: 1_700_000_001_000 + i, body: { fork: name, n: i } }))
    const a = await createLedger()
    const b = await createLedger()
    for (const [ledger, drafts] of [
      [a, fork('a', 6)],
      [b, fork('b', 3)],
    ] as const) {
      await appendCheckpointed(ledger, prefix)
      await appendCheckpointed(ledger, drafts)
    }
    const holderA = await startReplica({ fixture: a })
    const replicaB = await startReplica({ fixture: b })

    // Execute: the replica meets the longer fork
    await replicaB.node.dial(holderA.node.getMultiaddrs()[0]!)

    // Assert: it stored nothing from fork A, and proved the fork with entry 7 of each log; so does the peer, from its gossip
    for (const peer of [replicaB, holderA]) {
      const proofs = await waitForMisbehaviour(peer)
      expect(proofs).toHaveLength(1)
      const proof = proofs[0]!
      expect(proof.kind).toBe('forked-entry')
      expect(() => verifyMisbehaviourProof(proof, COORDINATOR.publicKey)).not.toThrow()
      if (proof.kind === 'forked-entry') {
        expect(new Set([toHex(proof.a), toHex(proof.b)])).toEqual(new Set([toHex((await a.ledger.get(7)).bytes), toHex((await b.ledger.get(7)).bytes)]))
      }
    }
    expect(replicaB.fixture.ledger.length).toBe(8)
    expect(holderA.fixture.ledger.length).toBe(11)
  })

  it('refuses forged proofs and forged checkpoints: nothing stored, nothing forwarded', async () => {
    // Prepare: a coordinator, two replicas, and an attacker speaking gossip to both replicas
    const { a, checkpointA } = await forkedLedgers()
    const coordinator = await startCoordinator(a)
    const replicas = [await startReplica({ peers: [coordinator] }), await startReplica({ peers: [coordinator] })]
    await Promise.all(replicas.map((r) => waitForSize(r, 8)))
    const attacker = await startGossipNode(replicas)
    await waitForSubscribers(attacker, misbehaviourTopic(ORIGIN), 2)
    await waitForSubscribers(attacker, checkpointTopic(ORIGIN), 2)
    const mallory = testSigner(66)
    const { root, size } = readCheckpoint(checkpointA)
    const otherRoot = sha256(root)
    const forgedCheckpoint = signCheckpoint(mallory, { origin: ORIGIN, size, root: otherRoot })
    const earlier = (await a.ledger.checkpointAt(5))!
    const entry7 = (await a.ledger.get(7)).bytes
    const forgedProofs: MisbehaviourProof[] = [
      // the second checkpoint is signed by another key
      { kind: 'split-view', a: checkpointA, b: forgedCheckpoint },
      // two genuine checkpoints of different sizes prove nothing
      { kind: 'split-view', a: earlier, b: checkpointA },
      // an entry and its forgery under another key
      { kind: 'forked-entry', a: entry7, b: signEntry(mallory, 7, sha256(entry7), { kind: 'test-record', timeMs: 0, body: 'x' }).bytes },
    ]
    const messages = [
      ...forgedProofs.map((p) => ({ topic: misbehaviourTopic(ORIGIN), data: encodeMisbehaviourProof(p) })),
      { topic: misbehaviourTopic(ORIGIN), data: encodeCanonical({ kind: 'split-view', a: 'not a checkpoint' }) },
      { topic: checkpointTopic(ORIGIN), data: encodeSignedCheckpoint(forgedCheckpoint) },
    ]
    const rejected = replicas.map((r) => {
      const seen: GossipRejection[] = []
      r.sync.addEventListener('rejected', (e) => seen.push(e.detail))
      return seen
    })

    // Execute
    for (const m of messages) await attacker.services.pubsub.publish(m.topic, m.data)

    // Assert: each replica refused each message, and stored no proof and no checkpoint of the forged size
    await Promise.all(replicas.map((r, i) => waitUntil(r.sync, 'rejected', () => rejected[i]!.length >= messages.length, `replica ${i} to refuse ${messages.length} messages`)))
    for (const [i, replica] of replicas.entries()) {
      expect(rejected[i]!.map((r) => r.topic).sort()).toEqual(messages.map((m) => m.topic).sort())
      expect(rejected[i]!.every((r) => r.peer.equals(attacker.peerId))).toBe(true)
      expect(await replica.fixture.ledger.misbehaviour()).toEqual([])
      expect(toHex(readCheckpoint((await replica.fixture.ledger.checkpointAt(size))!).root)).toBe(toHex(root))
    }
    expect(await coordinator.fixture.ledger.misbehaviour()).toEqual([])
  })
})

describe('peer identity and access', () => {
  it("a replica's libp2p identity is its participant's Ed25519 key", async () => {
    // Prepare
    const site = testSigner(40)
    // Execute
    const key = await peerKeyOf(site)
    // Assert
    expect(key.type).toBe('Ed25519')
    expect(toHex(key.publicKey.raw)).toBe(toHex(site.publicKey))
    await expect(peerKeyOf({ publicKey: site.publicKey, sign: site.sign })).rejects.toThrow(expect.objectContaining({ code: 'LEDGER_PEER_KEY_INVALID' }))
  })

  it('serves entries and blobs only to the peers its policy allows, and counts each refusal', async () => {
    // Prepare: a coordinator holding a blob, serving only `allowed`.
    const fixture = await createCoordinatorLedger(0)
    const { draft, blob, hash } = blobDraft(1)
    await appendCheckpointed(fixture, [draft], { blobs: [blob] })
    const allowed = testSigner(41)
    const isAllowed = (peer: Uint8Array | undefined) => peer !== undefined && toHex(peer) === toHex(allowed.publicKey)
    const coordinator = await startReplica({ fixture, signer: COORDINATOR, identity: COORDINATOR, access: { mayReadEntries: isAllowed, mayFetchBlob: isAllowed } })
    const refused: AccessRefusal[] = []
    coordinator.sync.addEventListener('access-refused', (e) => refused.push(e.detail))
    const friend = await startReplica({ peers: [coordinator], identity: allowed, syncOnConnect: false })
    const stranger = await startReplica({ peers: [coordinator], syncOnConnect: false })

    // Execute
    await friend.sync.syncWith(coordinator.node.peerId)
    await friend.sync.fetchBlob(hash)
    const strangerSync = await stranger.sync.syncWith(coordinator.node.peerId).then(
      () => undefined,
      (err: Error) => err,
    )
    const strangerBlob = await stranger.sync.fetchBlob(hash).then(
      () => undefined,
      (err: Error) => err,
    )

    // Assert
    expect(friend.fixture.ledger.length).toBe(1)
    expect(toHex(await friend.fixture.ledger.getBlob(hash))).toBe(toHex(blob))
    expect(stranger.fixture.ledger.length).toBe(0)
    expect(strangerSync?.message).toMatch(/LEDGER_ACCESS_DENIED/)
    expect(strangerBlob).toBeInstanceOf(Error)
    expect(await stranger.fixture.ledger.hasBlob(hash)).toBe(false)
    expect(coordinator.sync.accessRefusals).toBe(2)
    expect(refused.map((r) => [r.protocol, r.peer, r.hash && toHex(r.hash)])).toEqual([
      ['sync', stranger.node.peerId.toString(), undefined],
      ['blob', stranger.node.peerId.toString(), toHex(hash)],
    ])
  })
})

describe('replicas at scale', () => {
  it('takes 24 replicas dialing from one host at once, each syncing the whole log', async () => {
    // Prepare: a coordinator sized for the study's participants.
    const fixture = await createCoordinatorLedger(40, 10)
    const coordinator = await startReplica({ fixture, signer: COORDINATOR, expectedPeers: 24 })

    // Execute: 24 fresh replicas start and dial at the same moment, as sites do when a study starts.
    const replicas = await Promise.all(Array.from({ length: 24 }, () => startReplica({ peers: [coordinator], syncOnConnect: false })))
    await Promise.all(replicas.map((r) => r.sync.syncWith(coordinator.node.peerId)))

    // Assert
    for (const r of replicas) expect(r.fixture.ledger.length).toBe(40)
  })
})
