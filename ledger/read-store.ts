/**
 * How the read tools open a store: the directory itself when nobody holds it,
 * else a consistent snapshot of it (store-snapshot.ts), so `log verify`,
 * `log prove`, `rewards`, `audit --db` and `consent verify --db` work while
 * the coordinator or site agent that owns the store runs. Never creates a
 * store (`LEDGER_DATABASE_MISSING`).
 */
import { LedgerLockedError } from './errors.ts'
import { openLevelStorage, type LevelLedgerStorage } from './storage.ts'
import { snapshotStore, type SnapshotStoreInit, type StoreSnapshot } from './store-snapshot.ts'

/** Options of openStoreForReading. */
export interface ReadStoreInit extends SnapshotStoreInit {
  /** Called when the store is held by another process and a snapshot of it is read instead. */
  readonly onSnapshot?: (snapshot: StoreSnapshot) => void
}

/**
 * The store in `dir` for reading: itself, or, while another process holds
 * it, a snapshot (removed when the storage is closed). What is read through
 * it is a consistent state of the store at one moment; later writes of the
 * running process are not in it.
 */
export async function openStoreForReading(dir: string, init: ReadStoreInit = {}): Promise<LevelLedgerStorage> {
  try {
    return await openLevelStorage(dir, { createIfMissing: false })
  } catch (err) {
    if (!(err instanceof LedgerLockedError)) throw err
  }
  const snapshot = await snapshotStore(dir, init)
  let storage: LevelLedgerStorage
  try {
    storage = await openLevelStorage(snapshot.dir, { createIfMissing: false, afterClose: snapshot.remove })
  } catch (err) {
    await snapshot.remove()
    throw err
  }
  init.onSnapshot?.(snapshot)
  return storage
}

/** The line a tool prints (on stderr) when it reads a snapshot. */
export function snapshotNotice(snapshot: StoreSnapshot): string {
  const copied = snapshot.copiedBytes >= 2 ** 20 ? `${(snapshot.copiedBytes / 2 ** 20).toFixed(1)} MiB` : `${(snapshot.copiedBytes / 2 ** 10).toFixed(1)} KiB`
  return `${snapshot.source} is in use by another process (a running coordinator or site agent): reading a consistent snapshot of it (${snapshot.linked} files linked, ${snapshot.copied} copied, ${copied}); writes made after it are not read`
}
