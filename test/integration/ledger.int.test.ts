/**
 * The ledger on a real LevelDB: appends, reads, whole-log verification, the
 * damage verification must catch (written straight into LevelDB, as a disk
 * fault or a tampering operator would), identities and the CLI.
 */
import { spawn } from 'node:child_process'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  GENESIS_PREV_HASH,
  Ledger,
  LedgerBlobCorruptError,
  LedgerLockedError,
  decodeEntry,
  encodeEntry,
  loadSigner,
  openLevelStorage,
  parsePublicKey,
  registerLedgerCommands,
  sha256,
  toHex,
  verifyLog,
  writeIdentity,
  type AppendedEntry,
  type LedgerStorage,
} from '../../ledger/index.ts'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { blobFile, blobKey, createLedger, overwriteBlob, createTempDir, entryKey, testDrafts, testSigner, withRawLevel } from '../helpers/ledger.ts'

/** verifyLog on a closed ledger's directory, opened afresh (as `log verify` does). */
async function verifyDir(dir: string, trustedAuthors?: readonly Uint8Array[]) {
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    return await verifyLog(storage, { trustedAuthors })
  } finally {
    await storage.close()
  }
}

/** A ledger of `count` entries by the fixture's signer, appended in batches of 50, then closed. */
async function closedLedgerWith(count: number) {
  const fx = await createLedger()
  for (let start = 0; start < count; start += 50) await fx.ledger.append(fx.signer, testDrafts(Math.min(50, count - start), start))
  await fx.close()
  return fx
}

async function collect(iterable: AsyncIterable<AppendedEntry>): Promise<AppendedEntry[]> {
  const out: AppendedEntry[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('Ledger: append and read', () => {
  it('appends a chain of 1,000 entries in batches that verifies end to end', async () => {
    // Prepare
    const fx = await createLedger()
    // Execute
    for (let start = 0; start < 1000; start += 100) await fx.ledger.append(fx.signer, testDrafts(100, start))
    const headHash = fx.ledger.headHash
    await fx.close()
    const result = await verifyDir(fx.dir)
    // Assert
    expect(result.entries).toBe(1000)
    expect(result.headHash).toEqual(headHash)
    expect(result.authors).toEqual([fx.signer.publicKey])
  })

  it('returns each appended entry with its seq, prev link and hash', async () => {
    // Prepare
    const fx = await createLedger()
    // Execute
    const first = await fx.ledger.append(fx.signer, testDrafts(2))
    const second = await fx.ledger.append(fx.signer, testDrafts(1, 2))
    // Assert
    expect(first.map((a) => a.entry.seq)).toEqual([0, 1])
    expect(first[0]?.entry.prevHash).toEqual(GENESIS_PREV_HASH)
    expect(first[1]?.entry.prevHash).toEqual(first[0]?.hash)
    expect(second[0]?.entry.prevHash).toEqual(first[1]?.hash)
    expect(fx.ledger.length).toBe(3)
    expect(fx.ledger.headHash).toEqual(second[0]?.hash)
    expect(await fx.ledger.get(1)).toEqual(first[1])
  })

  it('keeps a gap-free chain under concurrent appends from 10 callers', async () => {
    // Prepare
    const fx = await createLedger()
    const callers = Array.from({ length: 10 }, (_, c) => testSigner(10 + c))
    // Execute: every caller fires 5 appends of 3 entries at once
    const results = await Promise.all(callers.flatMap((signer, c) => Array.from({ length: 5 }, (_, k) => fx.ledger.append(signer, testDrafts(3, c * 100 + k * 3)))))
    await fx.close()
    const result = await verifyDir(fx.dir)
    // Assert: each call got a contiguous run, and together the runs tile 0..149
    for (const run of results) expect(run.map((a) => a.entry.seq)).toEqual([0, 1, 2].map((i) => (run[0]?.entry.seq ?? 0) + i))
    const seqs = results
      .flat()
      .map((a) => a.entry.seq)
      .sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: 150 }, (_, i) => i))
    expect(result.entries).toBe(150)
    expect(result.authors).toHaveLength(10)
  })

  it('refuses an invalid draft without writing anything, and keeps appending after it', async () => {
    // Prepare
    const fx = await createLedger()
    await fx.ledger.append(fx.signer, testDrafts(2))
    // Execute
    const failed = fx.ledger.append(fx.signer, [...testDrafts(1, 2), { kind: 'Bad Kind', timeMs: 0, body: null }])
    const next = fx.ledger.append(fx.signer, testDrafts(1, 2))
    // Assert
    await expect(failed).rejects.toMatchObject({ code: 'LEDGER_ENTRY_MALFORMED', field: 'kind', seq: 3 })
    expect((await next)[0]?.entry.seq).toBe(2)
    expect(fx.ledger.length).toBe(3)
  })

  it('throws LedgerNotFoundError outside [0, length)', async () => {
    const fx = await createLedger()
    await fx.ledger.append(fx.signer, testDrafts(3))
    await expect(fx.ledger.get(3)).rejects.toMatchObject({ code: 'LEDGER_NOT_FOUND', seq: 3, length: 3 })
    await expect(fx.ledger.get(-1)).rejects.toMatchObject({ code: 'LEDGER_NOT_FOUND' })
    await expect(fx.ledger.get(1.5)).rejects.toMatchObject({ code: 'LEDGER_NOT_FOUND' })
  })

  it('scans a whole log and any sub-range in order', async () => {
    // Prepare
    const fx = await createLedger()
    const appended = await fx.ledger.append(fx.signer, testDrafts(600))
    // Execute
    const all = await collect(fx.ledger.scan())
    const middle = await collect(fx.ledger.scan(250, 260))
    const empty = await collect(fx.ledger.scan(600))
    // Assert
    expect(all).toEqual(appended)
    expect(middle).toEqual(appended.slice(250, 260))
    expect(empty).toEqual([])
    await expect(collect(fx.ledger.scan(5, 601))).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
    await expect(collect(fx.ledger.scan(6, 5))).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
  })

  it('keeps its data across close and reopen', async () => {
    // Prepare
    const fx = await createLedger()
    const blob = new TextEncoder().encode('model weights')
    const appended = await fx.ledger.append(fx.signer, testDrafts(20), [blob])
    const headHash = fx.ledger.headHash
    // Execute
    const reopened = await fx.reopen()
    // Assert
    expect(reopened.length).toBe(20)
    expect(reopened.headHash).toEqual(headHash)
    expect(await reopened.get(19)).toEqual(appended[19])
    expect(await reopened.getBlob(sha256(blob))).toEqual(blob)
    const more = await reopened.append(fx.signer, testDrafts(1, 20))
    expect(more[0]?.entry).toMatchObject({ seq: 20, prevHash: headHash })
  })

  it('refuses calls after close with LEDGER_CLOSED', async () => {
    const fx = await createLedger()
    await fx.close()
    await expect(fx.ledger.append(fx.signer, testDrafts(1))).rejects.toMatchObject({ code: 'LEDGER_CLOSED' })
    await expect(fx.ledger.get(0)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' })
  })
})

describe('Ledger: blobs', () => {
  it('stores blobs with the entries that name them and reads them back', async () => {
    // Prepare
    const fx = await createLedger()
    const blobs = [new Uint8Array([1, 2, 3]), new Uint8Array(100_000).fill(7)]
    const hashes = blobs.map((b) => sha256(b))
    // Execute
    await fx.ledger.append(fx.signer, [{ kind: 'model-published', timeMs: 1, body: { weights: hashes[0] as Uint8Array, delta: hashes[1] as Uint8Array } }], blobs)
    const put = await fx.ledger.putBlob(new Uint8Array([9]))
    // Assert
    expect(await fx.ledger.getBlob(hashes[1] as Uint8Array)).toEqual(blobs[1])
    expect(await fx.ledger.hasBlob(hashes[0] as Uint8Array)).toBe(true)
    expect(put).toEqual(sha256(new Uint8Array([9])))
    expect(await fx.ledger.hasBlob(sha256(new Uint8Array([10])))).toBe(false)
  })

  it('throws LedgerBlobMissingError for an unknown hash', async () => {
    const fx = await createLedger()
    const hash = sha256(new Uint8Array([42]))
    await expect(fx.ledger.getBlob(hash)).rejects.toMatchObject({ code: 'LEDGER_BLOB_MISSING', hash })
  })

  it('keeps blobs as content-addressed files and still reads blobs that stores before them kept in LevelDB', async () => {
    // Prepare
    const fx = await createLedger()
    const fresh = new Uint8Array(100_000).fill(7)
    const hash = await fx.ledger.putBlob(fresh)
    await fx.close()
    const old = new Uint8Array(100).fill(9)
    await withRawLevel(fx.dir, (db) => db.put(blobKey(toHex(sha256(old))), old))
    const ledger = await fx.reopen()
    // Execute
    const [a, b] = await Promise.all([ledger.getBlob(hash), ledger.getBlob(sha256(old))])
    // Assert
    expect(await readFile(blobFile(fx.dir, toHex(hash)))).toEqual(Buffer.from(fresh))
    expect(a).toEqual(fresh)
    expect(b).toEqual(old)
    expect(await ledger.hasBlob(sha256(old))).toBe(true)
  })

  it('streams a blob re-hashed as it is read and withholds the last chunk of a damaged copy', async () => {
    // Prepare
    const fx = await createLedger()
    const blob = new Uint8Array(100_000).map((_, i) => i & 0xff)
    const hash = await fx.ledger.putBlob(blob)
    // Execute
    const chunks: Uint8Array[] = []
    for await (const c of (await fx.ledger.openBlobStream(hash, 40_000)).chunks()) chunks.push(c)
    await writeFile(blobFile(fx.dir, toHex(hash)), Uint8Array.from(blob).fill(0, 90_000))
    const damaged: Uint8Array[] = []
    const read = (async () => {
      for await (const c of (await fx.ledger.openBlobStream(hash, 40_000)).chunks()) damaged.push(c)
    })()
    // Assert
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(blob))
    await expect(read).rejects.toMatchObject({ code: 'LEDGER_BLOB_CORRUPT' })
    expect(damaged.reduce((n, c) => n + c.length, 0)).toBeLessThan(blob.length)
  })

  it('detects a corrupted blob on read (LedgerBlobCorruptError with both hashes)', async () => {
    // Prepare
    const fx = await createLedger()
    const blob = new Uint8Array(1024).fill(3)
    const hash = await fx.ledger.putBlob(blob)
    await fx.close()
    const corrupt = Uint8Array.from(blob)
    corrupt[512] = 4
    await overwriteBlob(fx.dir, toHex(hash), corrupt)
    const ledger = await fx.reopen()
    // Execute
    const read = ledger.getBlob(hash)
    // Assert
    await expect(read).rejects.toBeInstanceOf(LedgerBlobCorruptError)
    await expect(read).rejects.toMatchObject({ code: 'LEDGER_BLOB_CORRUPT', expected: hash, calculated: sha256(corrupt) })
  })
})

describe('verifyLog: damage written straight into LevelDB', () => {
  const N = 120
  const VICTIM = 37

  it.each([
    { desc: 'the map header', offset: 0, codes: ['LEDGER_ENTRY_MALFORMED'] },
    { desc: 'the seq value', offset: 8, codes: ['LEDGER_SEQ_GAP', 'LEDGER_ENTRY_MALFORMED'] },
    { desc: 'the signature', offset: 40, codes: ['LEDGER_SIGNATURE_INVALID'] },
    { desc: 'the last byte (inside the author key)', offset: -1, codes: ['LEDGER_SIGNATURE_INVALID'] },
    { desc: 'the middle of the entry', offset: 'middle' as const, codes: ['LEDGER_SIGNATURE_INVALID', 'LEDGER_ENTRY_MALFORMED', 'LEDGER_CHAIN_BROKEN'] },
  ])('a flipped byte in $desc of entry 37 fails with seq 37', async ({ offset, codes }) => {
    // Prepare
    const fx = await closedLedgerWith(N)
    await withRawLevel(fx.dir, async (db) => {
      const bytes = Uint8Array.from((await db.get(entryKey(VICTIM))) as Uint8Array)
      const at = offset === 'middle' ? bytes.length >> 1 : offset < 0 ? bytes.length + offset : offset
      bytes[at] = (bytes[at] as number) ^ 0x01
      await db.put(entryKey(VICTIM), bytes)
    })
    // Execute
    const verified = verifyDir(fx.dir)
    // Assert
    const err = await verified.then(
      () => expect.fail('verifyLog accepted a damaged log'),
      (e: unknown) => e as { code: string; seq: number; message: string },
    )
    expect(err.seq).toBe(VICTIM)
    expect(codes).toContain(err.code)
    expect(err.message).toMatch(/^entry 37: /)
  })

  it('a deleted middle entry fails with LEDGER_SEQ_GAP at its seq', async () => {
    // Prepare
    const fx = await closedLedgerWith(N)
    await withRawLevel(fx.dir, (db) => db.del(entryKey(VICTIM)))
    // Execute / Assert
    await expect(verifyDir(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_SEQ_GAP', seq: VICTIM, calculated: VICTIM + 1 })
  })

  it('a deleted last entry fails with LEDGER_SEQ_GAP, and Ledger.open refuses the log', async () => {
    // Prepare
    const fx = await closedLedgerWith(N)
    await withRawLevel(fx.dir, (db) => db.del(entryKey(N - 1)))
    // Execute / Assert
    await expect(verifyDir(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_SEQ_GAP', seq: N - 1 })
    await expect(fx.reopen()).rejects.toMatchObject({ code: 'LEDGER_SEQ_GAP', seq: N - 1 })
  })

  it("a signature swapped in from another entry fails with LEDGER_SIGNATURE_INVALID at the victim's seq", async () => {
    // Prepare: re-encode entry 37 canonically with entry 38's signature
    const fx = await closedLedgerWith(N)
    await withRawLevel(fx.dir, async (db) => {
      const victim = decodeEntry((await db.get(entryKey(VICTIM))) as Uint8Array)
      const donor = decodeEntry((await db.get(entryKey(VICTIM + 1))) as Uint8Array)
      await db.put(entryKey(VICTIM), encodeEntry({ ...victim, signature: donor.signature }))
    })
    // Execute / Assert
    await expect(verifyDir(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_SIGNATURE_INVALID', seq: VICTIM })
  })

  it('a validly signed entry from another chain fails with LEDGER_CHAIN_BROKEN', async () => {
    // Prepare: the same signer's entry 37 of a different history, signature intact
    const fx = await closedLedgerWith(N)
    const other = await createLedger()
    await other.ledger.append(other.signer, testDrafts(VICTIM + 1, 1000))
    await other.close()
    const foreign = await withRawLevel(other.dir, async (db) => (await db.get(entryKey(VICTIM))) as Uint8Array)
    await withRawLevel(fx.dir, (db) => db.put(entryKey(VICTIM), foreign))
    // Execute / Assert
    await expect(verifyDir(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_CHAIN_BROKEN', seq: VICTIM })
  })

  it('an entry stored past the head fails with LEDGER_HEAD_MISMATCH', async () => {
    // Prepare
    const fx = await closedLedgerWith(10)
    await withRawLevel(fx.dir, async (db) => db.put(entryKey(12), (await db.get(entryKey(3))) as Uint8Array))
    // Execute / Assert
    await expect(verifyDir(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_HEAD_MISMATCH', seq: 12 })
  })

  it('rejects an untrusted author at its first entry, and accepts it once trusted', async () => {
    // Prepare
    const fx = await createLedger()
    const mallory = testSigner(66)
    await fx.ledger.append(fx.signer, testDrafts(5))
    await fx.ledger.append(mallory, testDrafts(2, 5))
    await fx.ledger.append(fx.signer, testDrafts(1, 7))
    await fx.close()
    // Execute / Assert
    await expect(verifyDir(fx.dir, [fx.signer.publicKey])).rejects.toMatchObject({ code: 'LEDGER_UNTRUSTED_AUTHOR', seq: 5, author: mallory.publicKey })
    const trusted = await verifyDir(fx.dir, [mallory.publicKey, fx.signer.publicKey])
    expect(trusted.authors).toEqual([fx.signer.publicKey, mallory.publicKey])
  })

  it('reports progress and finishes at the total', async () => {
    // Prepare
    const fx = await closedLedgerWith(2100)
    const calls: [number, number][] = []
    const storage = await openLevelStorage(fx.dir)
    onTestFinished(() => storage.close())
    // Execute
    await verifyLog(storage, { onProgress: (done, total) => calls.push([done, total]) })
    // Assert
    expect(calls[0]).toEqual([0, 2100])
    expect(calls).toContainEqual([1024, 2100])
    expect(calls.at(-1)).toEqual([2100, 2100])
  })

  it('verifies an empty log', async () => {
    const fx = await createLedger()
    await fx.close()
    await expect(verifyDir(fx.dir)).resolves.toEqual({ entries: 0, headHash: GENESIS_PREV_HASH, authors: [] })
  })
})

describe('Ledger.scan and get see the damage too', () => {
  it('scan throws at the damaged entry after yielding the ones before it', async () => {
    // Prepare
    const fx = await closedLedgerWith(300)
    await withRawLevel(fx.dir, async (db) => {
      const bytes = Uint8Array.from((await db.get(entryKey(200))) as Uint8Array)
      bytes[40] = (bytes[40] as number) ^ 0x80
      await db.put(entryKey(200), bytes)
    })
    const ledger = await fx.reopen()
    const seen: number[] = []
    // Execute
    const scanned = (async () => {
      for await (const { entry } of ledger.scan()) seen.push(entry.seq)
    })()
    // Assert
    await expect(scanned).rejects.toMatchObject({ code: 'LEDGER_SIGNATURE_INVALID', seq: 200 })
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i))
    await expect(ledger.get(200)).rejects.toMatchObject({ code: 'LEDGER_SIGNATURE_INVALID', seq: 200 })
  })
})

describe('LevelDB storage', () => {
  it('a second open of the same directory gives LedgerLockedError naming it', async () => {
    // Prepare
    const fx = await createLedger()
    // Execute
    const second = openLevelStorage(fx.dir)
    // Assert
    await expect(second).rejects.toBeInstanceOf(LedgerLockedError)
    await expect(openLevelStorage(fx.dir)).rejects.toMatchObject({ code: 'LEDGER_LOCKED', dir: fx.dir, message: expect.stringContaining(fx.dir) })
  })

  it('a directory held by another process gives LedgerLockedError', async () => {
    // Prepare: a child process opens the LevelDB and holds it
    const dir = await createTempDir()
    const holder = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { Level } from 'level'; const db = new Level(${JSON.stringify(dir)}); await db.open(); process.stdout.write('open\\n'); setInterval(() => {}, 1000)`],
      {
        cwd: path.resolve(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    onTestFinished(() => {
      holder.kill()
    })
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve())
      holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)))
    })
    // Execute / Assert
    await expect(openLevelStorage(dir)).rejects.toMatchObject({ code: 'LEDGER_LOCKED', dir })
  })

  it('refuses to invent a database when createIfMissing is false', async () => {
    const dir = path.join(await createTempDir(), 'nothing-here')
    await expect(openLevelStorage(dir, { createIfMissing: false })).rejects.toMatchObject({ code: 'LEDGER_DATABASE_MISSING', dir })
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('hands out plain Uint8Arrays, not Buffers', async () => {
    const fx = await createLedger()
    await fx.ledger.append(fx.signer, testDrafts(1))
    const { bytes, entry } = await fx.ledger.get(0)
    expect(Buffer.isBuffer(bytes)).toBe(false)
    expect(Buffer.isBuffer(entry.signature)).toBe(false)
  })

  it('applies a write batch atomically with its head', async () => {
    // Prepare: a storage stub is not needed; write through LedgerStorage directly
    const dir = await createTempDir()
    const storage: LedgerStorage = await openLevelStorage(dir)
    onTestFinished(() => storage.close())
    const blob = new Uint8Array([5])
    // Execute
    await storage.writeBatch({ entries: [{ seq: 0, bytes: new Uint8Array([1]) }], head: { length: 1, headHash: sha256(new Uint8Array([1])) }, blobs: [{ hash: sha256(blob), bytes: blob }] })
    // Assert
    expect(await storage.readHead()).toEqual({ length: 1, headHash: sha256(new Uint8Array([1])) })
    expect(await storage.readEntry(0)).toEqual(new Uint8Array([1]))
    expect(await storage.readBlob(sha256(blob))).toEqual(blob)
  })
})

describe('identity files', () => {
  it('writes the key 0600 in a 0700 directory and the public key 0644, and loads it back', async () => {
    // Prepare
    const dir = path.join(await createTempDir(), 'keys')
    // Execute
    const written = await writeIdentity(dir, 'hub')
    const signer = await loadSigner(written.keyFile)
    // Assert
    expect((await stat(written.keyFile)).mode & 0o777).toBe(0o600)
    expect((await stat(written.pubFile)).mode & 0o777).toBe(0o644)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect(written.keyFile).toBe(path.join(dir, 'hub.key'))
    expect(toHex(signer.publicKey)).toBe(written.publicKeyHex)
    expect(await readFile(written.pubFile, 'utf8')).toBe(`${written.publicKeyHex}\n`)
    expect(JSON.parse(await readFile(written.keyFile, 'utf8'))).toMatchObject({ type: 'ed25519', publicKey: written.publicKeyHex, seed: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })

  it('refuses a key file readable by group or others (0644), pointing at chmod 600', async () => {
    // Prepare
    const written = await writeIdentity(await createTempDir(), 'site')
    await chmod(written.keyFile, 0o644)
    // Execute / Assert
    await expect(loadSigner(written.keyFile)).rejects.toMatchObject({ code: 'LEDGER_IDENTITY_INVALID', file: written.keyFile, message: expect.stringContaining('chmod 600') })
  })

  it('refuses a seed that does not match the stated public key', async () => {
    // Prepare
    const written = await writeIdentity(await createTempDir(), 'site')
    const json = JSON.parse(await readFile(written.keyFile, 'utf8')) as { publicKey: string }
    const { writeFile } = await import('node:fs/promises')
    await writeFile(written.keyFile, JSON.stringify({ ...json, publicKey: toHex(testSigner(3).publicKey) }))
    // Execute / Assert
    await expect(loadSigner(written.keyFile)).rejects.toMatchObject({ code: 'LEDGER_IDENTITY_INVALID', message: expect.stringContaining('seed belongs to public key') })
  })

  it.each([
    { desc: 'not JSON', content: '{ seed: ' },
    { desc: 'a wrong type', content: JSON.stringify({ type: 'rsa', publicKey: '00'.repeat(32), seed: '00'.repeat(32) }) },
    { desc: 'a short seed', content: JSON.stringify({ type: 'ed25519', publicKey: '00'.repeat(32), seed: '00'.repeat(31) }) },
    { desc: 'no public key', content: JSON.stringify({ type: 'ed25519', seed: '00'.repeat(32) }) },
  ])('refuses a key file with $desc', async ({ content }) => {
    const written = await writeIdentity(await createTempDir(), 'site')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(written.keyFile, content)
    await expect(loadSigner(written.keyFile)).rejects.toMatchObject({ code: 'LEDGER_IDENTITY_INVALID', file: written.keyFile })
  })

  it('refuses a missing key file, suggesting keygen', async () => {
    const file = path.join(await createTempDir(), 'none.key')
    await expect(loadSigner(file)).rejects.toMatchObject({ code: 'LEDGER_IDENTITY_INVALID', message: expect.stringContaining('fedlineage keygen') })
  })

  it('refuses to overwrite without force, replaces with force', async () => {
    // Prepare
    const dir = await createTempDir()
    const first = await writeIdentity(dir, 'hub')
    // Execute
    const again = writeIdentity(dir, 'hub')
    // Assert
    await expect(again).rejects.toMatchObject({ code: 'LEDGER_IDENTITY_INVALID', message: expect.stringContaining('--force') })
    expect(toHex((await loadSigner(first.keyFile)).publicKey)).toBe(first.publicKeyHex)
    const replaced = await writeIdentity(dir, 'hub', { force: true })
    expect(replaced.publicKeyHex).not.toBe(first.publicKeyHex)
    expect((await stat(replaced.keyFile)).mode & 0o777).toBe(0o600)
    expect(toHex((await loadSigner(replaced.keyFile)).publicKey)).toBe(replaced.publicKeyHex)
  })

  it('refuses an identity name that is a path', async () => {
    await expect(writeIdentity(await createTempDir(), '../escape')).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
  })

  it('parsePublicKey names the source of a bad key', () => {
    expect(parsePublicKey(` ${'ab'.repeat(32)}\n`, 'x')).toHaveLength(32)
    expect(() => parsePublicKey('ab'.repeat(31), 'site "eu-3" publicKey')).toThrow(
      expect.objectContaining({ code: 'LEDGER_INVALID_ARGUMENT', message: expect.stringMatching(/^site "eu-3" publicKey: /) }),
    )
  })
})

describe('CLI', () => {
  /** Runs the program in-process with captured streams. */
  async function run(argv: readonly string[]) {
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let out = ''
    let err = ''
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    let exitCode: number | undefined
    const io: CliIo = { stdout, stderr, setExitCode: (code) => (exitCode = code) }
    const program = new Command('fedlineage').exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) })
    registerLedgerCommands(program, io)
    const status = await runCommand(() => program.parseAsync(['node', 'fedlineage', ...argv]), { io })
    return { out, err, exitCode, status }
  }

  it('log verify prints the entry count and head', async () => {
    // Prepare
    const fx = await closedLedgerWith(75)
    const { headHash } = await verifyDir(fx.dir)
    // Execute
    const result = await run(['log', 'verify', '--db', fx.dir])
    // Assert
    expect(result.out).toMatch(new RegExp(`^log verified: 75 entries, head ${toHex(headHash)}\\nstore verified: \\d+ Merkle nodes, \\d+ checkpoints, 0 cosignatures, \\d+ blobs\\n$`))
    expect(result.err).toBe('')
    expect(result.status).toBe(0)
    expect(result.exitCode).toBeUndefined()
  })

  it('log verify --author checks trust', async () => {
    const fx = await closedLedgerWith(3)
    const result = await run(['log', 'verify', '--db', fx.dir, '--author', toHex(testSigner(9).publicKey), toHex(testSigner(8).publicKey)])
    expect(result.err).toMatch(/^LEDGER_UNTRUSTED_AUTHOR: entry 0: /)
    expect(result.exitCode).toBe(1)
  })

  it('log verify prints CODE: message to stderr and exits 1 on a damaged log', async () => {
    // Prepare
    const fx = await closedLedgerWith(10)
    await withRawLevel(fx.dir, (db) => db.del(entryKey(4)))
    // Execute
    const result = await run(['log', 'verify', '--db', fx.dir])
    // Assert
    expect(result.out).toBe('')
    expect(result.err).toMatch(/^LEDGER_SEQ_GAP: entry 4: /)
    expect(result.exitCode).toBe(1)
  })

  it('log verify refuses a directory without a ledger rather than creating one', async () => {
    const dir = path.join(await createTempDir(), 'missing')
    const result = await run(['log', 'verify', '--db', dir])
    expect(result.err).toMatch(/^LEDGER_DATABASE_MISSING: /)
    expect(result.exitCode).toBe(1)
  })

  it('keygen prints the public key and both paths, and refuses to overwrite', async () => {
    // Prepare
    const dir = await createTempDir()
    // Execute
    const first = await run(['keygen', '--out', dir, '--name', 'hub'])
    const second = await run(['keygen', '--out', dir, '--name', 'hub'])
    // Assert
    const publicKeyHex = (await readFile(path.join(dir, 'hub.pub'), 'utf8')).trim()
    expect(first.out).toContain(publicKeyHex)
    expect(first.out).toContain(path.join(dir, 'hub.key'))
    expect(first.out).toContain(path.join(dir, 'hub.pub'))
    expect(second.err).toMatch(/^LEDGER_IDENTITY_INVALID: .*--force/)
    expect(second.exitCode).toBe(1)
  })

  it("a usage error keeps commander's message and status (inherited exitOverride, no process.exit)", async () => {
    const result = await run(['log', 'verify'])
    expect(result.err).toMatch(/required option '--db <dir>' not specified/)
    expect(result.status).toBe(1)
    expect(result.exitCode).toBe(1)
  })

  it('shares an existing log command', () => {
    const program = new Command('fedlineage')
    program.command('log').command('replay')
    registerLedgerCommands(program)
    const log = program.commands.filter((c) => c.name() === 'log')
    expect(log).toHaveLength(1)
    expect(log[0]?.commands.map((c) => c.name()).sort()).toEqual(['check-proof', 'checkpoint', 'mirror', 'prove', 'replay', 'verify'])
  })
})

describe('Ledger.open', () => {
  it('refuses a head that does not match the last entry, and closes the storage', async () => {
    // Prepare: entry 9 replaced by entry 8's bytes
    const fx = await closedLedgerWith(10)
    await withRawLevel(fx.dir, async (db) => db.put(entryKey(9), (await db.get(entryKey(8))) as Uint8Array))
    const storage = await openLevelStorage(fx.dir)
    // Execute
    const opened = Ledger.open(storage)
    // Assert
    await expect(opened).rejects.toMatchObject({ code: 'LEDGER_HEAD_MISMATCH', seq: 9 })
    const again = await openLevelStorage(fx.dir) // not locked: the failed open closed it
    await again.close()
  })
})
