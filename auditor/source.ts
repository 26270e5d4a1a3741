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
import { Ledger, loadSigner, openStoreForReading, snapshotNotice } from '../ledger/index.ts'
import type { AuditSource } from './replay.ts'
import { openPeerAuditSource } from './peer-source.ts'

/** A log to audit, as the command line names it. */
export type AuditSourceSpec =
  | { readonly kind: 'db'; readonly dir: string }
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

/**
 * The Ledger in LevelDB directory `dir`, or a consistent snapshot of it while
 * another process holds it (then `notice` says so). Refuses to create one
 * (`LEDGER_DATABASE_MISSING`).
 */
export async function openLevelAuditSource(dir: string): Promise<OpenedAuditSource> {
  let notice: string | undefined
  const ledger = await Ledger.open(await openStoreForReading(dir, { onSnapshot: (s) => (notice = snapshotNotice(s)) }))
  const source: AuditSource = {
    get length() {
      return ledger.length
    },
    scan: (from, to) => ledger.scan(from, to),
    getBlob: (hash) => ledger.getBlob(hash),
    openBlob: (hash) => ledger.openBlobReader(hash, { verify: true }),
    misbehaviour: () => ledger.misbehaviour(),
    latestCheckpoint: () => ledger.latestCheckpoint(),
  }
  return { source, description: `LevelDB ${dir}`, close: () => ledger.close(), notice }
}

/** Opens the source `spec` names. */
export function openAuditSource(spec: AuditSourceSpec): Promise<OpenedAuditSource> {
  switch (spec.kind) {
    case 'db':
      return openLevelAuditSource(spec.dir)
    case 'peer':
      return openPeerAuditSourceWithKey(spec)
  }
}

async function openPeerAuditSourceWithKey(spec: Extract<AuditSourceSpec, { kind: 'peer' }>): Promise<OpenedAuditSource> {
  const { keyFile, ...init } = spec
  return openPeerAuditSource({ ...init, ...(keyFile === undefined ? {} : { identity: await loadSigner(keyFile) }) })
}
