/**
 * A consistent, private copy of a store that another process holds open: how
 * the read tools (`log verify`, `log prove`, `rewards`, `audit --db`,
 * `consent verify --db`) read a coordinator's or a site's store while it runs.
 *
 * **Why a snapshot.** LevelDB (through `level`) locks its directory for one
 * process and cannot be opened read-only beside a writer, so a tool that opens
 * the store of a running coordinator fails with `LEDGER_LOCKED`. The tools
 * could read through the running process instead (sync over libp2p as an
 * auditor does), but that checks what the process serves under the study's
 * access rules, not the store on disk: `log verify` could no longer name a
 * damaged file, a coordinator started without libp2p could not be read at all,
 * and the operator would need a key the study names. A snapshot reads exactly
 * the bytes of the directory named, with the same checks as a stopped store,
 * and asks the running process for nothing (it never notices).
 *
 * **How** (the technique of RocksDB's Checkpoint, done from outside the
 * process). LevelDB keeps immutable tables (`*.ldb`, `*.sst`), a write-ahead
 * log (`*.log`) it only appends to, and a MANIFEST, appended with each change
 * of the set of live tables and logs (a flush or a compaction), named by
 * CURRENT. One attempt:
 *
 * 1. read CURRENT and copy the MANIFEST it names;
 * 2. hard-link every table (a link keeps a table a later compaction deletes;
 *    LevelDB never writes a table after creating it) and copy every log, the
 *    newest first;
 * 3. check that CURRENT and the MANIFEST's length did not change meanwhile.
 *
 * If they did not, no table or log became live or obsolete during step 2:
 * every table the copied MANIFEST names was linked (a listed table that is
 * gone was already obsolete), and the logs hold a prefix of the writes since
 * its last flush. Logs are copied newest first because LevelDB starts a new
 * log only after the last write to the previous one: by the time the newest
 * log is copied, every older one is complete, so the copy ends at one moment
 * of the write history, never with a gap. A log copied in the middle of a
 * write ends with a partial record, which LevelDB's recovery drops as the
 * torn tail of a crash; each ledger write is one LevelDB batch, one record,
 * so a snapshot holds whole writes only: entries, head and Merkle nodes
 * together. Otherwise (a flush or compaction ran during the attempt) the
 * attempt is discarded and taken again.
 *
 * Blob files are linked after the LevelDB copy: a blob is a file before the
 * batch that names it is written, so every blob the snapshot's entries name
 * is there (unless retention deleted it in the milliseconds between the two
 * steps). The temp files of uploads in flight (`blobs/tmp/`) are not taken.
 *
 * Nothing in the store's directory is written, locked or deleted: the LOCK
 * file, whose lock is per file, is never linked. Opening the snapshot
 * replays its logs into new files of the snapshot's own. Hard links need the
 * snapshot on the store's filesystem; on another one (`EXDEV`) each file is
 * copied instead, which costs the store's size: set `TMPDIR` to a directory
 * on the store's filesystem to link.
 */
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { BLOB_DIR } from './blob-files.ts'
import { LedgerSnapshotUnstableError, LedgerStorageError } from './errors.ts'

/** Attempts before a store that keeps changing mid-copy is given up. */
export const SNAPSHOT_MAX_ATTEMPTS = 10
/** Pause before attempt n (n ≥ 2) is n times this: a flush or compaction usually finishes within it. */
const SNAPSHOT_RETRY_STEP_MS = 50

const CURRENT_FILE = 'CURRENT'
const TABLE_FILE = /^(\d+)\.(ldb|sst)$/
const LOG_FILE = /^(\d+)\.log$/
const MANIFEST_FILE = /^MANIFEST-\d+$/
const BLOB_NAME = /^[0-9a-f]{64}$/

/** A snapshot taken: where it is and what it cost. */
export interface StoreSnapshot {
  /** The store the snapshot was taken of. */
  readonly source: string
  /** The snapshot's own directory (a private temp dir). */
  readonly dir: string
  /** Files hard-linked (tables and blob files). */
  readonly linked: number
  /** Files copied, and their bytes: the MANIFEST and the logs, and every file when links are impossible. */
  readonly copied: number
  readonly copiedBytes: number
  /** Attempts it took (more than 1 when LevelDB flushed or compacted meanwhile). */
  readonly attempts: number
  /** Removes the snapshot's directory. Idempotent. */
  remove(): Promise<void>
}

/** Options of snapshotStore. */
export interface SnapshotStoreInit {
  /** Where to make the snapshot's directory (default: the OS temp dir, `TMPDIR`). */
  readonly tmpDir?: string
  readonly maxAttempts?: number
  /**
   * Runs in each attempt once the MANIFEST is copied, before the other files
   * are: a test changes the store there, as a flush or compaction would.
   */
  readonly afterManifestCopied?: (attempt: number) => Promise<void>
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code
}

function storageError(what: string, err: unknown): LedgerStorageError {
  return new LedgerStorageError(`${what}: ${(err as Error).message}`, { cause: err })
}

/** What one attempt copied, for the snapshot's counts. */
interface Tally {
  linked: number
  copied: number
  copiedBytes: number
}

/** Links `from` to `to`, or copies it when they are on different filesystems. Resolves false when `from` is gone. */
async function linkOrCopy(from: string, to: string, tally: Tally): Promise<boolean> {
  try {
    await link(from, to)
    tally.linked++
    return true
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false
    if (errnoOf(err) !== 'EXDEV' && errnoOf(err) !== 'EPERM') throw storageError(`linking ${from}`, err)
  }
  return copy(from, to, tally)
}

/** Copies `from` as it is now (its length when the copy starts). Resolves false when `from` is gone. */
async function copy(from: string, to: string, tally: Tally): Promise<boolean> {
  try {
    await copyFile(from, to)
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false
    throw storageError(`copying ${from}`, err)
  }
  tally.copied++
  tally.copiedBytes += (await stat(to)).size
  return true
}

async function readCurrent(dir: string): Promise<string> {
  try {
    return await readFile(path.join(dir, CURRENT_FILE), 'utf8')
  } catch (err) {
    throw storageError(`reading ${path.join(dir, CURRENT_FILE)}`, err)
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined
    throw storageError(`stat ${file}`, err)
  }
}

/**
 * One attempt at copying the LevelDB files of `source` into the empty `into`
 * (see the module doc). Resolves true when the copy is consistent; false when
 * the store changed meanwhile (the caller empties `into` and tries again).
 */
async function copyLevelFiles(source: string, into: string, tally: Tally, afterManifestCopied: () => Promise<void>): Promise<boolean> {
  const current = await readCurrent(source)
  const manifest = current.trim()
  if (!MANIFEST_FILE.test(manifest)) throw new LedgerStorageError(`${path.join(source, CURRENT_FILE)} names ${JSON.stringify(manifest)}, not a MANIFEST file`)
  if (!(await copy(path.join(source, manifest), path.join(into, manifest), tally))) return false
  const manifestBytes = (await stat(path.join(into, manifest))).size
  await afterManifestCopied()
  let names: string[]
  try {
    names = await readdir(source)
  } catch (err) {
    throw storageError(`listing ${source}`, err)
  }
  for (const name of names) if (TABLE_FILE.test(name)) await linkOrCopy(path.join(source, name), path.join(into, name), tally)
  const logs = names.filter((n) => LOG_FILE.test(n)).sort((a, b) => Number.parseInt(LOG_FILE.exec(b)![1]!, 10) - Number.parseInt(LOG_FILE.exec(a)![1]!, 10))
  // Newest first: once a newer log exists, the older ones are complete (see the module doc).
  for (const name of logs) await copy(path.join(source, name), path.join(into, name), tally)
  if ((await readCurrent(source)) !== current || (await sizeOf(path.join(source, manifest))) !== manifestBytes) return false
  await writeFile(path.join(into, CURRENT_FILE), current)
  return true
}

/** Links (or copies) every blob file of `source` into `into`'s blob directory. */
async function copyBlobFiles(source: string, into: string, tally: Tally): Promise<void> {
  let names: string[]
  try {
    names = await readdir(path.join(source, BLOB_DIR))
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return
    throw storageError(`listing ${path.join(source, BLOB_DIR)}`, err)
  }
  await mkdir(path.join(into, BLOB_DIR))
  for (const name of names) if (BLOB_NAME.test(name)) await linkOrCopy(path.join(source, BLOB_DIR, name), path.join(into, BLOB_DIR, name), tally)
}

/**
 * A consistent snapshot of the store in `dir` (see the module doc), in a new
 * private directory. Throws `LedgerSnapshotUnstableError` when every attempt
 * saw the store change, `LedgerStorageError` when a file cannot be read.
 */
export async function snapshotStore(dir: string, init: SnapshotStoreInit = {}): Promise<StoreSnapshot> {
  const maxAttempts = init.maxAttempts ?? SNAPSHOT_MAX_ATTEMPTS
  const root = await mkdtemp(path.join(init.tmpDir ?? os.tmpdir(), 'fedlineage-snapshot-'))
  let removed = false
  const remove = async () => {
    if (removed) return
    removed = true
    await rm(root, { recursive: true, force: true })
  }
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, attempt * SNAPSHOT_RETRY_STEP_MS))
      const into = path.join(root, `attempt-${attempt}`)
      await mkdir(into)
      const tally: Tally = { linked: 0, copied: 0, copiedBytes: 0 }
      if (!(await copyLevelFiles(dir, into, tally, () => init.afterManifestCopied?.(attempt) ?? Promise.resolve()))) {
        await rm(into, { recursive: true, force: true })
        continue
      }
      await copyBlobFiles(dir, into, tally)
      return { source: dir, dir: into, ...tally, attempts: attempt, remove }
    }
  } catch (err) {
    await remove()
    throw err
  }
  await remove()
  throw new LedgerSnapshotUnstableError(dir, maxAttempts)
}
