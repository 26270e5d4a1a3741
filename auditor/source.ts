/**
 * Where an audit reads its log from, chosen from the command line. Each kind
 * opens to an `AuditSource` plus the means to release it; the audit itself
 * never knows which kind it got, and trusts none of them (see replay.ts).
 *
 * - `db`: a local LevelDB replica (a coordinator's data dir, a site's
 *   replica, or a copy), opened read-only in effect: never created, never
 *   written. While its coordinator or site agent runs and holds it, a
 *   consistent snapshot of it is audited (ledger's `openStoreForReading`).
 * - `peer`: a fresh replica synced from any participant over libp2p (peer-source.ts).
 */
import { Ledger, LedgerBlobMissingError, equalBytes, loadSigner, logOrigin, openStoreForReading, snapshotNotice, toHex, type Signer } from '../ledger/index.ts'
import { ENTRY_KINDS, readLineageRecord } from '../protocol/index.ts'
import { blobFetcher, type BlobFetcher } from './blob-fetcher.ts'
import { AuditInvalidArgumentError } from './errors.ts'
import type { AuditSource } from './replay.ts'
import { openPeerAuditSource } from './peer-source.ts'

/** A log to audit, as the command line names it. */
export type AuditSourceSpec =
  | {
      readonly kind: 'db'
      readonly dir: string
      /** The key file of the participant whose replica `dir` is: the audit fetches what it may read. */
      readonly keyFile?: string | undefined
      /** Where to fetch from (default: the peers the replica recorded). */
      readonly fetchFrom?: readonly string[] | undefined
    }
  | {
      readonly kind: 'peer'
      readonly peer: string
      readonly study?: string | undefined
      readonly coordinatorKey?: Uint8Array | undefined
      readonly replicaDir?: string | undefined
      /** The auditor's key file: its identity on the network, which the study must name among its auditors. */
      readonly keyFile?: string | undefined
    }

/** An open source and how to release it. */
export interface OpenedAuditSource {
  readonly source: AuditSource
  /** Where the log comes from, for messages: `LevelDB hub-ledger`. */
  readonly description: string
  /** Releases the source (a LevelDB lock, a connection); safe to call detached from the object. */
  readonly close: () => Promise<void>
  /** What the user should know about how the log is read (a snapshot of a store in use), for stderr. */
  readonly notice?: string | undefined
}

/** Options of openLevelAuditSource. */
export interface LevelAuditSourceInit {
  /**
   * The participant whose replica the store is (its key file, as the site
   * agent runs with). The audit then fetches the blobs the replica lacks and
   * the participant may read, under its identity, from `fetchFrom`.
   */
  readonly identity?: Signer | undefined
  /** Replicas to fetch from (default: the peers the replica recorded, the coordinator's first). */
  readonly fetchFrom?: readonly string[] | undefined
}

/** Whose replica `ledger` is: the recorded holder, or `identity`'s (which must then be the same). */
async function holderOf(ledger: Ledger, dir: string, identity: Signer | undefined): Promise<{ key: Uint8Array; peers: readonly string[] } | undefined> {
  const recorded = await ledger.replicaHolder()
  if (identity === undefined) return recorded
  if (recorded !== undefined && !equalBytes(recorded.key, identity.publicKey))
    throw new AuditInvalidArgumentError(
      `--key: ${dir} is the replica of key ${toHex(recorded.key).slice(0, 16)}…, not of ${toHex(identity.publicKey).slice(0, 16)}…; give the key file of the participant whose replica it is`,
    )
  return { key: identity.publicKey, peers: recorded?.peers ?? [] }
}

/** The origin (of the study id) and coordinator key of a log, from its first entry (what a fetching node checks checkpoints against). */
async function originOf(ledger: Ledger): Promise<{ origin: string; coordinatorKey: Uint8Array } | undefined> {
  if (ledger.length === 0) return undefined
  const { entry } = await ledger.get(0)
  const record = readLineageRecord(entry)
  return record.kind === ENTRY_KINDS.STUDY_CREATED ? { origin: logOrigin(record.body.study), coordinatorKey: entry.author } : undefined
}

/**
 * The Ledger in LevelDB directory `dir`, or a consistent snapshot of it while
 * another process holds it (then `notice` says so). Refuses to create one
 * (`LEDGER_DATABASE_MISSING`).
 *
 * A participant's replica (a site agent's, which records whose it is, or
 * any store audited with `init.identity`) holds every entry but only the
 * blobs its holder may read: the source says so (`holder`), so that the audit
 * reports what it could not check instead of a missing blob; with
 * `init.identity` it fetches what the holder may read (blob-fetcher.ts).
 */
export async function openLevelAuditSource(dir: string, init: LevelAuditSourceInit = {}): Promise<OpenedAuditSource> {
  let notice: string | undefined
  const ledger = await Ledger.open(await openStoreForReading(dir, { onSnapshot: (s) => (notice = snapshotNotice(s)) }))
  let holder: Awaited<ReturnType<typeof holderOf>>
  let fetcher: BlobFetcher | undefined
  try {
    holder = await holderOf(ledger, dir, init.identity)
    const peers = init.fetchFrom ?? holder?.peers ?? []
    const log = init.identity !== undefined && peers.length > 0 ? await originOf(ledger) : undefined
    if (init.identity !== undefined && log !== undefined) fetcher = blobFetcher({ identity: init.identity, peers, ...log })
  } catch (err) {
    await ledger.close()
    throw err
  }
  // Blobs the replica holds, else those fetched for it.
  const orFetched = async <T>(read: () => Promise<T>, fetched: (() => Promise<T>) | undefined): Promise<T> => {
    try {
      return await read()
    } catch (err) {
      if (!(err instanceof LedgerBlobMissingError) || fetched === undefined) throw err
      return fetched()
    }
  }
  const source: AuditSource = {
    get length() {
      return ledger.length
    },
    scan: (from, to) => ledger.scan(from, to),
    getBlob: (hash) => orFetched(() => ledger.getBlob(hash), fetcher && (() => fetcher.getBlob(hash))),
    openBlob: (hash) => orFetched(() => ledger.openBlobReader(hash, { verify: true }), fetcher && (() => fetcher.openBlob(hash))),
    misbehaviour: () => ledger.misbehaviour(),
    latestCheckpoint: () => ledger.latestCheckpoint(),
    checkpoints: () => ledger.checkpoints(),
    cosignatures: (size: number) => ledger.cosignatures(size),
    ...(holder === undefined ? {} : { holder: { key: holder.key } }),
    ...(fetcher === undefined ? {} : { fetchBlob: (hash: Uint8Array) => fetcher.fetch(hash) }),
  }
  const close = async () => {
    try {
      await fetcher?.close()
    } finally {
      await ledger.close()
    }
  }
  return { source, description: `LevelDB ${dir}`, close, notice }
}

/** Opens the source `spec` names. */
export function openAuditSource(spec: AuditSourceSpec): Promise<OpenedAuditSource> {
  switch (spec.kind) {
    case 'db':
      return openLevelAuditSourceWithKey(spec)
    case 'peer':
      return openPeerAuditSourceWithKey(spec)
  }
}

async function openPeerAuditSourceWithKey(spec: Extract<AuditSourceSpec, { kind: 'peer' }>): Promise<OpenedAuditSource> {
  const { keyFile, ...init } = spec
  return openPeerAuditSource({ ...init, ...(keyFile === undefined ? {} : { identity: await loadSigner(keyFile) }) })
}

async function openLevelAuditSourceWithKey(spec: Extract<AuditSourceSpec, { kind: 'db' }>): Promise<OpenedAuditSource> {
  return openLevelAuditSource(spec.dir, { identity: spec.keyFile === undefined ? undefined : await loadSigner(spec.keyFile), fetchFrom: spec.fetchFrom })
}
