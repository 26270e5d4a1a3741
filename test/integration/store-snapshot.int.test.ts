/**
 * Reading a store another process holds and writes: every snapshot is a
 * consistent state of the store at one moment (a prefix of the final log,
 * whose every entry, Merkle node, checkpoint and blob verify), the store
 * itself is left as it was, and a snapshot on another filesystem copies
 * instead of linking.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Ledger, entryHash, openLevelStorage, openStoreForReading, signerFromSeed, toHex, verifyLog, verifyStore, type StoreSnapshot } from '../../ledger/index.ts'
import { createLedger, createTempDir } from '../helpers/ledger.ts'

const WRITER = fileURLToPath(new URL('../helpers/ledger-writer.ts', import.meta.url))
const WRITER_KEY = signerFromSeed(new Uint8Array(32).fill(1)).publicKey
const ROOT = path.resolve(import.meta.dirname, '../..')

/** Starts the writer on `dir` for `appends` appends; resolves once it appended once, with a promise of its final length. */
async function startWriter(dir: string, appends: number): Promise<{ done: Promise<number>; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(appends)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')))
  let out = ''
  let onDone: (n: number) => void = () => undefined
  const done = new Promise<number>((resolve) => (onDone = resolve))
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('ready\n')) resolve()
      const m = /done (\d+)\n/.exec(out)
      if (m) onDone(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`the writer exited with ${code} before appending`)))
  })
  return { done, stop: () => void child.kill('SIGTERM') }
}

/** What one snapshot read: its length and head, once its log (and, with `whole`, every other stored byte) verified. */
async function readSnapshot(dir: string, snapshots: StoreSnapshot[], whole = true): Promise<{ length: number; head: string }> {
  const storage = await openStoreForReading(dir, { onSnapshot: (s) => snapshots.push(s) })
  try {
    const log = await verifyLog(storage, { trustedAuthors: [WRITER_KEY] })
    if (whole) await verifyStore(storage, WRITER_KEY)
    return { length: log.entries, head: toHex(log.headHash) }
  } finally {
    await storage.close()
  }
}

describe('a snapshot of a store in use', () => {
  it('is a verified prefix of the log at every moment while another process appends, flushes and compacts', async () => {
    // Prepare: a process appending ~40 KiB batches (LevelDB flushes its memtable every ~100 of them and compacts).
    const dir = await createTempDir()
    const writer = await startWriter(dir, 1000)
    let finished = false
    void writer.done.then(() => (finished = true))

    // Execute: snapshot after snapshot while it writes.
    const snapshots: StoreSnapshot[] = []
    const seen: { length: number; head: string }[] = []
    // Many, to meet flushes and compactions mid-copy; every store byte verified in every 8th.
    while (!finished) seen.push(await readSnapshot(dir, snapshots, seen.length % 8 === 0))
    const total = await writer.done
    writer.stop()
    await new Promise((resolve) => setTimeout(resolve, 500))

    // Assert: each snapshot read is the log's state at one moment: a prefix of the final log.
    expect(snapshots).toHaveLength(seen.length)
    expect(new Set(seen.map((s) => s.length)).size).toBeGreaterThan(2)
    const final = await Ledger.open(await openLevelStorage(dir, { createIfMissing: false }))
    try {
      expect(final.length).toBe(total)
      for (const s of seen) {
        expect(s.length % 4).toBe(0) // whole batches only
        expect(s.head).toBe(toHex(entryHash((await final.get(s.length - 1)).bytes)))
      }
    } finally {
      await final.close()
    }
    // The snapshots are gone, and the store holds nothing of theirs.
    for (const s of snapshots) expect(existsSync(s.dir)).toBe(false)
    expect((await readdir(dir)).filter((n) => !/^(\d+\.(log|ldb)|CURRENT|LOCK|LOG(\.old)?|MANIFEST-\d+|blobs)$/.test(n))).toEqual([])
  })

  it('takes the copy again when LevelDB flushed or compacted during it: the first copy would have lost the flushed writes', async () => {
    // Prepare: a store held in this process, 2 MiB in its memtable.
    const fx = await createLedger()
    const append = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        const drafts = [{ kind: 'test-record', timeMs: 1_700_000_000_000 + i, body: { n: i } }]
        await fx.ledger.appendWithCheckpoint(fx.signer, drafts, [new Uint8Array(40 * 1024).fill(i & 0xff)], { origin: 'snapshot-test' })
      }
    }
    await append(0, 50)
    const manifest = async () => path.join(fx.dir, (await readFile(path.join(fx.dir, 'CURRENT'), 'utf8')).trim())

    // Execute: once the first attempt copied the MANIFEST, 5 MiB more: the memtable fills, a new log starts, the old one is flushed into a table and deleted.
    const flushMidCopy = async (attempt: number) => {
      if (attempt > 1) return
      const before = (await stat(await manifest())).size
      await append(50, 125)
      const deadline = Date.now() + 20_000
      while ((await stat(await manifest())).size === before) {
        if (Date.now() > deadline) throw new Error('LevelDB did not flush its memtable')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    const snapshots: StoreSnapshot[] = []
    const storage = await openStoreForReading(fx.dir, { afterManifestCopied: flushMidCopy, onSnapshot: (s) => snapshots.push(s) })
    const log = await verifyLog(storage, { trustedAuthors: [fx.signer.publicKey] }).finally(() => storage.close())

    // Assert
    expect(snapshots.map((s) => s.attempts)).toEqual([2])
    expect(log.entries).toBe(175)
    expect(toHex(log.headHash)).toBe(toHex(fx.ledger.headHash))
  })

  it('gives up with LEDGER_SNAPSHOT_UNSTABLE when the store changes during every attempt, and leaves nothing behind', async () => {
    // Prepare: a store held in this process, whose memtable is flushed during each attempt.
    const fx = await createLedger()
    let n = 0
    const flushMidCopy = async () => {
      const current = path.join(fx.dir, (await readFile(path.join(fx.dir, 'CURRENT'), 'utf8')).trim())
      const before = (await stat(current)).size
      while ((await stat(current)).size === before) {
        n++
        await fx.ledger.appendWithCheckpoint(fx.signer, [{ kind: 'test-record', timeMs: 1_700_000_000_000 + n, body: { n } }], [new Uint8Array(40 * 1024).fill(n & 0xff)], {
          origin: 'snapshot-test',
        })
      }
    }
    const tmpDir = await createTempDir()

    // Execute
    const opened = openStoreForReading(fx.dir, { tmpDir, maxAttempts: 2, afterManifestCopied: flushMidCopy })

    // Assert
    await expect(opened).rejects.toMatchObject({ code: 'LEDGER_SNAPSHOT_UNSTABLE', dir: fx.dir })
    expect(await readdir(tmpDir)).toEqual([])
  })

  it.skipIf(!existsSync('/dev/shm'))('copies what it cannot link (a temp dir on another filesystem)', async () => {
    // Prepare
    const dir = await createTempDir()
    const writer = await startWriter(dir, 40)
    await writer.done

    // Execute
    const snapshots: StoreSnapshot[] = []
    const read = await readSnapshot(dir, snapshots)
    const viaTmpfs = await openStoreForReading(dir, { tmpDir: '/dev/shm', onSnapshot: (s) => snapshots.push(s) })
    const log = await verifyLog(viaTmpfs, { trustedAuthors: [WRITER_KEY] }).finally(() => viaTmpfs.close())
    writer.stop()

    // Assert
    expect(snapshots[0]!.linked).toBeGreaterThan(0)
    expect(snapshots[1]!.linked).toBe(0)
    expect(snapshots[1]!.copied).toBeGreaterThan(snapshots[0]!.copied)
    expect(log.entries).toBe(read.length)
    expect(toHex(log.headHash)).toBe(read.head)
  })
})
