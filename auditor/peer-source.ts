/**
 * The `peer` audit source: join as a fresh replica and sync the log and the
 * blobs it names over libp2p only. The audit trusts nothing the peer says:
 * every entry is verified as it is stored (chain, coordinator signature,
 * Merkle root against the signed checkpoint) and again by the replay, and
 * every blob is re-hashed. The coordinator key comes from `--coordinator-key`
 * or, trusted on first use, from the peer's newest signed checkpoint; the
 * report names it so a reader can compare it with the published one.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { Ledger, SyncRemoteError, createReplicaNode, discoverLog, logOrigin, openLevelStorage, peerKeyOf, toHex, type Signer } from '../ledger/index.ts'
import { AuditAccessDeniedError, AuditInvalidArgumentError } from './errors.ts'
import type { AuditSource } from './replay.ts'
import type { OpenedAuditSource } from './source.ts'

export interface PeerSourceInit {
  readonly peer: string
  /** The study (log origin) to audit; discovered from the peer when absent. */
  readonly study?: string | undefined
  readonly coordinatorKey?: Uint8Array | undefined
  /** Where to keep the replica; a temp dir (removed on close) when absent. */
  readonly replicaDir?: string | undefined
  readonly onSynced?: (entries: number) => void
  /**
   * The auditor's key, its libp2p identity: replicas serve entries to the
   * study's participants only, and deltas to its named auditors. Without it
   * the auditor is an anonymous peer, which an access-controlled replica refuses.
   */
  readonly identity?: Signer | undefined
}

export async function openPeerAuditSource(init: PeerSourceInit): Promise<OpenedAuditSource & { readonly coordinatorKey: Uint8Array; readonly origin: string }> {
  const discovered = await discoverLog(init.peer, init.coordinatorKey)
  if (init.study !== undefined && logOrigin(init.study) !== discovered.origin) throw new AuditInvalidArgumentError(`--study ${init.study}: peer ${init.peer} serves the log of "${discovered.origin}"`)
  const dir = init.replicaDir ?? (await mkdtemp(path.join(os.tmpdir(), 'fedlineage-audit-')))
  const ledger = await Ledger.open(await openLevelStorage(dir))
  const cleanup = async () => {
    await ledger.close()
    if (init.replicaDir === undefined) await rm(dir, { recursive: true, force: true })
  }
  let node
  try {
    node = await createReplicaNode({
      ledger,
      origin: discovered.origin,
      coordinatorKey: discovered.coordinatorKey,
      peers: [init.peer],
      syncOnConnect: false,
      ...(init.identity ? { privateKey: await peerKeyOf(init.identity) } : {}),
      // An auditor's replica is no distribution point: it serves nothing to anyone.
      access: { mayReadEntries: () => false, mayFetchBlob: () => false },
    })
    await node.services.ledgerSync.syncWith(multiaddr(init.peer))
  } catch (err) {
    await node?.stop()
    await cleanup()
    if (err instanceof SyncRemoteError && err.remoteCode === 'LEDGER_ACCESS_DENIED')
      throw new AuditAccessDeniedError(
        `peer ${init.peer} does not serve this log to ${init.identity ? `key ${toHex(init.identity.publicKey)}` : 'an anonymous peer'}: the study serves its log to its participants and its data to the auditors it names (study.auditors); run with --key <auditor key file>`,
        undefined,
        { cause: err },
      )
    throw err
  }
  init.onSynced?.(ledger.length)
  const sync = node.services.ledgerSync
  const common = {
    get length() {
      return ledger.length
    },
    scan: (from?: number, to?: number) => ledger.scan(from, to),
    misbehaviour: () => ledger.misbehaviour(),
    latestCheckpoint: () => ledger.latestCheckpoint(),
    checkpoints: () => ledger.checkpoints(),
    cosignatures: (size: number) => ledger.cosignatures(size),
  }
  // With a key, the replica is that participant's: the replay asks for each blob only if the study's policy lets
  // the key read it (a named auditor reads all), and what cannot be had is named in a partial verdict.
  // Anonymous, every blob is fetched as it is needed, and one the peer will not give fails the audit.
  const source: AuditSource = init.identity
    ? {
        ...common,
        getBlob: (hash) => ledger.getBlob(hash),
        openBlob: (hash) => ledger.openBlobReader(hash, { verify: true }),
        holder: { key: init.identity.publicKey },
        fetchBlob: (hash) => sync.fetchBlob(hash),
      }
    : {
        ...common,
        // Blobs come from the local replica when already fetched, else from the peers (re-hashed, then kept).
        getBlob: async (hash) => {
          if (!(await ledger.hasBlob(hash))) await sync.fetchBlob(hash)
          return ledger.getBlob(hash)
        },
        openBlob: async (hash) => {
          if (!(await ledger.hasBlob(hash))) await sync.fetchBlob(hash)
          return ledger.openBlobReader(hash, { verify: true })
        },
      }
  return {
    source,
    description: `libp2p peer ${init.peer} (study ${discovered.origin}, coordinator key ${toHex(discovered.coordinatorKey).slice(0, 16)}…)`,
    coordinatorKey: discovered.coordinatorKey,
    origin: discovered.origin,
    close: async () => {
      await node.stop()
      await cleanup()
    },
  }
}
