/**
 * Fetches, over libp2p, the blobs a participant's replica lacks, under that
 * participant's identity: replicas serve each blob only to whoever the
 * study's policy lets read it (protocol's replica-access rules), so a site's
 * key gets the models and its own deltas and nothing else. The node starts on
 * the first fetch (an audit that needs nothing opens no connection), serves
 * nothing and never pulls entries, and keeps what it fetches in a temp store
 * of its own: the replica being audited is never written.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Ledger, LedgerBlobMissingError, createReplicaNode, openLevelStorage, peerKeyOf, type BlobReader, type ReplicaNode, type Signer } from '../ledger/index.ts'

export interface BlobFetcherInit {
  /** The participant whose replica is audited: its key is the node's identity. */
  readonly identity: Signer
  /** Replicas to fetch from (multiaddrs with /p2p/), the coordinator's first. */
  readonly peers: readonly string[]
  readonly origin: string
  readonly coordinatorKey: Uint8Array
}

export interface BlobFetcher {
  /** Fetches the blob (re-hashed on arrival) into the fetcher's store. Throws what the peers answered (access denied, not found, unreachable). */
  fetch(hash: Uint8Array): Promise<void>
  /** A fetched blob as a reader, checked against its hash; rejects `LEDGER_BLOB_MISSING` when it was not fetched. */
  openBlob(hash: Uint8Array): Promise<BlobReader & { close(): void }>
  getBlob(hash: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

export function blobFetcher(init: BlobFetcherInit): BlobFetcher {
  let started: Promise<{ dir: string; ledger: Ledger; node: ReplicaNode }> | undefined
  const start = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-audit-fetch-'))
    const ledger = await Ledger.open(await openLevelStorage(dir))
    try {
      const node = await createReplicaNode({
        ledger,
        origin: init.origin,
        coordinatorKey: init.coordinatorKey,
        peers: init.peers,
        privateKey: await peerKeyOf(init.identity),
        syncOnConnect: false,
        pullOnGossip: false,
        access: { mayReadEntries: () => false, mayFetchBlob: () => false },
      })
      return { dir, ledger, node }
    } catch (err) {
      await ledger.close()
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }
  const stored = async () => {
    if (started === undefined) return undefined
    try {
      return await started
    } catch {
      return undefined
    }
  }
  return {
    async fetch(hash) {
      // A node that could not start (no peer answered) fails every fetch with the same error.
      const { node } = await (started ??= start())
      await node.services.ledgerSync.fetchBlob(hash)
    },
    async openBlob(hash) {
      const s = await stored()
      if (s === undefined) throw new LedgerBlobMissingError(hash)
      return s.ledger.openBlobReader(hash, { verify: true })
    },
    async getBlob(hash) {
      const s = await stored()
      if (s === undefined) throw new LedgerBlobMissingError(hash)
      return s.ledger.getBlob(hash)
    },
    async close() {
      const s = await stored()
      if (s === undefined) return
      await s.node.stop()
      await s.ledger.close()
      await rm(s.dir, { recursive: true, force: true })
    },
  }
}
