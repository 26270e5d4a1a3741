/**
 * `/fl/blob` between real libp2p nodes on 127.0.0.1 over real LevelDB
 * ledgers in temp dirs: a blob of many chunks lands as a blob file, a
 * damaged copy is never passed on, bytes that do not hash to their name (or
 * stop halfway) leave nothing behind, and the server holds about one chunk
 * per fetcher rather than the blob (its memory is sampled in a process of
 * its own, bench/support/blob-peer-process.ts). Nothing is mocked.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startBlobPeer } from '../../bench/support/blob-peer-child.ts'
import {
  BLOB_CHUNK_BYTES,
  BLOB_DIR,
  BLOB_PROTOCOL,
  Ledger,
  createReplicaNode,
  ReplicaUnavailableError,
  encodeBlobFrame,
  encodeFrame,
  openLevelStorage,
  sha256,
  toHex,
  type BlobFrame,
} from '../../ledger/index.ts'
import { blobFile, createLedger, createTempDir, flipBlob } from '../helpers/ledger.ts'
import { COORDINATOR, ORIGIN, startReplica, type Replica } from '../helpers/replica.ts'
import { seededRandomBytes } from '../helpers/seeded-random-bytes.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MIB = 1024 * 1024

/** A replica holding `blob` (stored as the coordinator would, under its SHA-256). */
async function holderOf(blob: Uint8Array): Promise<Replica> {
  const fixture = await createLedger()
  await fixture.ledger.putBlob(blob)
  return startReplica({ fixture, syncOnConnect: false })
}

/** A fetcher connected to `peers` only. */
async function fetcherOf(peers: readonly Replica[]): Promise<Replica> {
  return startReplica({ peers, syncOnConnect: false, expectedPeers: peers.length })
}

/** The unfinished writes in a store: files left in `blobs/tmp`. */
function tempFiles(replica: Replica): Promise<string[]> {
  return readdir(path.join(replica.fixture.dir, BLOB_DIR, 'tmp'))
}

/**
 * A peer that answers every blob request with `sizeBytes` announced and
 * `send` bytes of `bytes`, then ends the stream (or resets it, with `reset`):
 * a liar, or a peer cut off mid-transfer.
 */
async function startBadBlobPeer(bytes: Uint8Array, init: { readonly reset?: boolean } = {}) {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  onTestFinished(() => node.stop())
  const send = async (stream: Stream, frame: BlobFrame) => {
    if (!stream.send(encodeFrame(encodeBlobFrame(frame)))) await stream.onDrain()
  }
  await node.handle(BLOB_PROTOCOL, async (stream: Stream) => {
    await send(stream, { type: 'blob', sizeBytes: 3 * MIB })
    for (let offset = 0; offset < bytes.length; offset += BLOB_CHUNK_BYTES) await send(stream, { type: 'chunk', data: bytes.subarray(offset, offset + BLOB_CHUNK_BYTES) })
    if (init.reset === true) stream.abort(new Error('cut off mid-transfer'))
    else await stream.close()
  })
  return { addrs: node.getMultiaddrs().map((a) => a.toString()) }
}

describe('blob transfers over libp2p', () => {
  it('fetches a blob of twelve chunks into a blob file named by its hash', async () => {
    // Prepare: 3 MiB of random bytes (12 chunks of 256 KiB)
    const blob = seededRandomBytes('three-mib')(3 * MIB)
    const hash = sha256(blob)
    const holder = await holderOf(blob)
    const fetcher = await fetcherOf([holder])

    // Execute
    await fetcher.sync.fetchBlob(hash)

    // Assert: a file in place whose bytes hash to its name, nothing left in tmp
    const file = new Uint8Array(await readFile(blobFile(fetcher.fixture.dir, toHex(hash))))
    expect(file.length).toBe(3 * MIB)
    expect(toHex(sha256(file))).toBe(toHex(hash))
    expect(toHex(sha256(await fetcher.fixture.ledger.getBlob(hash)))).toBe(toHex(hash))
    expect(await tempFiles(fetcher)).toEqual([])
  })

  it('answers not-found for a damaged copy, and the fetcher gets the blob from the next peer', async () => {
    // Prepare: one holder whose file has a flipped bit, one healthy holder
    const blob = seededRandomBytes('damaged')(1 * MIB)
    const hash = sha256(blob)
    const damaged = await holderOf(blob)
    await flipBlob(damaged.fixture.dir, toHex(hash))
    const healthy = await holderOf(blob)
    const fetcher = await fetcherOf([damaged])

    // Execute: first with the damaged holder alone, then with both
    const alone = await fetcher.sync.fetchBlob(hash).then(
      () => undefined,
      (err: unknown) => err,
    )
    await fetcher.node.dial(multiaddr(healthy.addrs[0]!))
    await fetcher.sync.fetchBlob(hash)

    // Assert: the damaged holder said not-found (it passed nothing on); the healthy one's copy was stored
    expect(alone).toBeInstanceOf(ReplicaUnavailableError)
    expect((alone as ReplicaUnavailableError).causes.map((c) => (c as { code?: string }).code)).toEqual(['LEDGER_REMOTE_BLOB_MISSING'])
    expect(toHex(sha256(await fetcher.fixture.ledger.getBlob(hash)))).toBe(toHex(hash))
    expect(await tempFiles(fetcher)).toEqual([])
  })

  it('refuses bytes that do not hash to the name, and leaves no temp file', async () => {
    // Prepare: a peer that sends 3 MiB of other bytes for the blob asked for
    const hash = sha256(seededRandomBytes('asked')(3 * MIB))
    const liar = await startBadBlobPeer(seededRandomBytes('sent')(3 * MIB))
    const fetcher = await fetcherOf([])
    await fetcher.node.dial(multiaddr(liar.addrs[0]!))

    // Execute
    const refused = await fetcher.sync.fetchBlob(hash).then(
      () => undefined,
      (err: unknown) => err,
    )

    // Assert
    expect(refused).toBeInstanceOf(ReplicaUnavailableError)
    expect((refused as ReplicaUnavailableError).causes.map((c) => (c as { code?: string }).code)).toEqual(['LEDGER_REMOTE_BLOB_CORRUPT'])
    expect(await fetcher.fixture.ledger.hasBlob(hash)).toBe(false)
    expect(await tempFiles(fetcher)).toEqual([])
  })

  it('discards what arrived of a blob whose transfer is cut off halfway', async () => {
    // Prepare: a peer that announces 3 MiB, sends 1 MiB and resets the stream
    const blob = seededRandomBytes('cut')(3 * MIB)
    const hash = sha256(blob)
    const cut = await startBadBlobPeer(blob.subarray(0, 1 * MIB), { reset: true })
    const fetcher = await fetcherOf([])
    await fetcher.node.dial(multiaddr(cut.addrs[0]!))

    // Execute
    const failed = await fetcher.sync.fetchBlob(hash).then(
      () => undefined,
      (err: unknown) => err,
    )

    // Assert
    expect(failed).toBeInstanceOf(ReplicaUnavailableError)
    expect(await fetcher.fixture.ledger.hasBlob(hash)).toBe(false)
    expect(await tempFiles(fetcher)).toEqual([])
  })

  it('refuses a blob larger than maxBlobBytes from its announced size, before writing any of it', async () => {
    // Prepare: a holder of 3 MiB; a fetcher that takes at most 1 MiB
    const blob = seededRandomBytes('too-large')(3 * MIB)
    const hash = sha256(blob)
    const holder = await holderOf(blob)
    const fixture = await createLedger()
    const node = await createReplicaNode({
      ledger: fixture.ledger,
      origin: ORIGIN,
      coordinatorKey: COORDINATOR.publicKey,
      peers: holder.addrs.slice(0, 1),
      syncOnConnect: false,
      maxBlobBytes: 1 * MIB,
    })
    onTestFinished(() => node.stop())

    // Execute
    const refused = await node.services.ledgerSync.fetchBlob(hash).then(
      () => undefined,
      (err: unknown) => err,
    )

    // Assert
    expect(refused).toBeInstanceOf(ReplicaUnavailableError)
    expect((refused as ReplicaUnavailableError).causes.map((c) => (c as { code?: string }).code)).toEqual(['LEDGER_REMOTE_BLOB_TOO_LARGE'])
    expect(await fixture.ledger.hasBlob(hash)).toBe(false)
    expect(await readdir(path.join(fixture.dir, BLOB_DIR, 'tmp'))).toEqual([])
  })

  it('serves a 64 MiB blob to 4 fetchers at once holding well under one copy of it', async () => {
    // Prepare: the store, written here and closed; the server in a process of its own, so its memory is its own.
    // The 4 fetchers share this process, whose reads lag: before FrameReader re-paused after a resume, libp2p
    // reset their streams here (read buffer past 32 MiB); before sendFrame waited for every drain, the server grew 4 copies.
    const blob = seededRandomBytes('sixty-four-mib')(64 * MIB)
    const hash = sha256(blob)
    const dir = await createTempDir()
    const writer = await Ledger.open(await openLevelStorage(dir))
    await writer.putBlob(blob)
    await writer.close()
    const server = await startBlobPeer({ role: 'serve', root: ROOT, dir, origin: ORIGIN, coordinatorKeyHex: toHex(COORDINATOR.publicKey) })
    onTestFinished(() => server.stop())
    const address = server.ready.address!
    const fetchers = await Promise.all(Array.from({ length: 4 }, () => fetcherOf([])))
    await Promise.all(fetchers.map((f) => f.node.dial(multiaddr(address))))
    const before = (await server.peak()).now

    // Execute
    await Promise.all(fetchers.map((f) => f.sync.fetchBlob(hash)))
    const { peak } = await server.peak()

    // Assert: every fetcher holds the blob; the server's buffers grew by less than one copy (today's code held 4)
    for (const f of fetchers) expect(toHex(sha256(new Uint8Array(await readFile(blobFile(f.fixture.dir, toHex(hash))))))).toBe(toHex(hash))
    const growthBytes = peak.arrayBuffersBytes - before.arrayBuffersBytes
    expect(growthBytes).toBeLessThan(64 * MIB)
  })
})
