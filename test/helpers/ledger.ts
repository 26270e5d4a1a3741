/**
 * Ledger fixtures for integration tests. Each helper registers its own
 * cleanup with vitest's `onTestFinished` (cf. hypercore's `create(t)`), so a
 * test never leaves a LevelDB lock or a temp directory behind.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Level } from 'level'
import { onTestFinished } from 'vitest'
import { Ledger, openLevelStorage, signerFromSeed, type EntryDraft, type Signer } from '../../ledger/index.ts'

/** A fresh temp directory, removed when the test finishes. */
export async function createTempDir(prefix = 'fedlineage-ledger-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Deterministic signer number `n` (seed = 32 bytes of `n`), so failures reproduce. */
export function testSigner(n: number): Signer {
  return signerFromSeed(new Uint8Array(32).fill(n))
}

/** `count` drafts numbered from `start`, with a body shaped like a real round record. */
export function testDrafts(count: number, start = 0): EntryDraft[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'test-record',
    timeMs: 1_700_000_000_000 + start + i,
    body: { n: start + i, site: `site-${(start + i) % 7}`, digest: new Uint8Array(32).fill((start + i) & 0xff), loss: 0.5 / (start + i + 1) },
  }))
}

export interface LedgerFixture {
  readonly dir: string
  readonly signer: Signer
  /** The currently open ledger (replaced by reopen). */
  readonly ledger: Ledger
  /** Closes the current ledger and opens the directory again. */
  reopen(): Promise<Ledger>
  /** Closes the current ledger (the fixture closes it at the end anyway). */
  close(): Promise<void>
}

/** A Ledger on a real LevelDB in a fresh temp directory, closed and removed when the test finishes. */
export async function createLedger(): Promise<LedgerFixture> {
  const dir = await createTempDir()
  let ledger = await Ledger.open(await openLevelStorage(dir))
  // Registered after createTempDir's, so it runs first (vitest runs these in reverse).
  onTestFinished(() => ledger.close())
  return {
    dir,
    signer: testSigner(1),
    get ledger() {
      return ledger
    },
    async reopen() {
      await ledger.close()
      ledger = await Ledger.open(await openLevelStorage(dir))
      return ledger
    },
    close: () => ledger.close(),
  }
}

/**
 * The LevelDB key of entry `seq`. Spelled out here rather than imported, on
 * purpose: it pins the on-disk layout documented in ledger/storage.ts.
 */
export function entryKey(seq: number): string {
  return `entry/${seq.toString(16).padStart(16, '0')}`
}

/** The LevelDB key of a blob in stores written before blob files (still read). */
export function blobKey(hashHex: string): string {
  return `blob/${hashHex}`
}

/** The file of a blob in a store: `<dir>/blobs/<hash hex>` (ledger/blob-files.ts). */
export function blobFile(dir: string, hashHex: string): string {
  return path.join(dir, 'blobs', hashHex)
}

/** Flips one bit in the middle of a file (a damaged disk block). */
export async function flipFileBit(file: string): Promise<void> {
  const bytes = new Uint8Array(await readFile(file))
  bytes[bytes.length >> 1]! ^= 0x01
  await writeFile(file, bytes)
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  )
}

/** Overwrites the stored bytes of a blob wherever the store keeps it (its file, or inline in LevelDB for small ones). */
export async function overwriteBlob(dir: string, hashHex: string, bytes: Uint8Array): Promise<void> {
  if (await isFile(blobFile(dir, hashHex))) await writeFile(blobFile(dir, hashHex), bytes)
  else await withRawLevel(dir, (db) => db.put(blobKey(hashHex), bytes))
}

/** Flips one bit in the middle of a stored blob, wherever it is kept. */
export async function flipBlob(dir: string, hashHex: string): Promise<void> {
  if (await isFile(blobFile(dir, hashHex))) return flipFileBit(blobFile(dir, hashHex))
  await withRawLevel(dir, async (db) => {
    const bytes = Uint8Array.from((await db.get(blobKey(hashHex)))!)
    bytes[bytes.length >> 1]! ^= 0x01
    await db.put(blobKey(hashHex), bytes)
  })
}

/** Deletes a stored blob, wherever it is kept. */
export async function removeBlob(dir: string, hashHex: string): Promise<void> {
  await rm(blobFile(dir, hashHex), { force: true })
  await withRawLevel(dir, (db) => db.del(blobKey(hashHex)))
}

/** Whether the store in `dir` (closed) holds a blob, as a file or inline. */
export async function blobStored(dir: string, hashHex: string): Promise<boolean> {
  return (await isFile(blobFile(dir, hashHex))) || (await withRawLevel(dir, (db) => db.has(blobKey(hashHex))))
}

/** Opens the raw LevelDB in `dir` (which must not be open elsewhere), runs `fn`, closes it. */
export async function withRawLevel<T>(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open({ createIfMissing: false })
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}
