/**
 * `fedlineage log verify` checks every stored byte, not only the entries: one
 * flipped byte in a checkpoint, a cosignature, a Merkle node, the head's
 * compact range or a blob of a finished study's store is found, and the
 * damaged key named.
 */
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { INLINE_BLOB_MAX_BYTES, Ledger, decodeCanonical, encodeCanonical, openLevelStorage, registerLedgerCommands, toHex } from '../../ledger/index.ts'
import { useRecordedFederation } from '../helpers/audit.ts'
import { blobFile, flipFileBit, withRawLevel } from '../helpers/ledger.ts'

const recorded = useRecordedFederation()

async function logVerify(dir: string): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => (out += c.toString()))
  stderr.on('data', (c: Buffer) => (err += c.toString()))
  let exitCode: number | undefined
  const io: CliIo = { stdout, stderr, setExitCode: (code) => (exitCode = code) }
  const program = new Command('fedlineage').exitOverride()
  registerLedgerCommands(program, io)
  await runCommand(() => program.parseAsync(['node', 'fedlineage', 'log', 'verify', '--db', dir]), { io })
  return { out, err, exitCode }
}

/** Flips one bit in the middle of the value of the first key with `prefix`; returns that key. */
async function flipFirst(dir: string, prefix: string): Promise<string> {
  return withRawLevel(dir, async (db) => {
    for await (const [key, value] of db.iterator({ gte: prefix, lt: `${prefix}\uffff`, limit: 1 })) {
      const v = new Uint8Array(value)
      v[v.length >> 1]! ^= 0x01
      await db.put(key, v)
      return key
    }
    throw new Error(`no key with prefix ${prefix}`)
  })
}

describe('log verify checks every stored byte', () => {
  it('passes an honest store and counts what it checked beyond the entries', async () => {
    const log = await recorded()
    const r = await logVerify(log.dir)
    expect(r.exitCode).toBeUndefined()
    expect(r.out).toMatch(/^log verified: \d+ entries, head [0-9a-f]{64}\nstore verified: [1-9]\d* Merkle nodes, [1-9]\d* checkpoints, \d+ cosignatures, [1-9]\d* blobs\n$/)
  })

  it.each([
    ['a checkpoint', 'rec/cp/'],
    ['a cosignature', 'rec/cs/'],
    ['a Merkle node', 'node/'],
  ])('finds one flipped bit in %s and names the key', async (_what, prefix) => {
    // Prepare
    const log = await recorded()
    const key = await flipFirst(log.dir, prefix)
    // Execute
    const r = await logVerify(log.dir)
    // Assert
    expect(r.exitCode).toBe(1)
    expect(r.err).toMatch(/^LEDGER_STORE_DAMAGED: /)
    expect(r.err).toContain(prefix === 'node/' ? 'node ' : key.replace(/^rec\/(cp|cs)/, 'rec/$1'))
  })

  it.each([
    ['a blob file', 'file'],
    ['a small blob kept in LevelDB', 'inline'],
  ])('finds one flipped bit in %s and names it', async (_what, where) => {
    // Prepare
    const log = await recorded()
    let key: string
    if (where === 'file') {
      // The recorded study's blobs are small (kept inline): store one past the inline limit beside them.
      const ledger = await Ledger.open(await openLevelStorage(log.dir))
      const hash = toHex(await ledger.putBlob(new Uint8Array(INLINE_BLOB_MAX_BYTES + 1).fill(5)))
      await ledger.close()
      await flipFileBit(blobFile(log.dir, hash))
      key = `blobs/${hash}`
    } else key = await flipFirst(log.dir, 'blob/')
    // Execute
    const r = await logVerify(log.dir)
    // Assert
    expect(r.exitCode).toBe(1)
    expect(r.err).toMatch(new RegExp(`^LEDGER_STORE_DAMAGED: ${key}: its bytes hash to [0-9a-f]{64}`))
  })

  it('finds a wrong compact range in the head, which would make the next checkpoint commit to a wrong root', async () => {
    // Prepare
    const log = await recorded()
    await withRawLevel(log.dir, async (db) => {
      const head = decodeCanonical(await db.get('meta/head')) as { length: number; head: Uint8Array; range: Uint8Array[] }
      head.range[0] = new Uint8Array(head.range[0]!).map((b, i) => (i === 0 ? b ^ 1 : b))
      await db.put('meta/head', encodeCanonical(head))
    })
    // Execute
    const r = await logVerify(log.dir)
    // Assert
    expect(r.exitCode).toBe(1)
    expect(r.err).toMatch(/^LEDGER_STORE_DAMAGED: head: the stored compact range/)
  })
})
