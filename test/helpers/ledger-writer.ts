/**
 * A process that holds a ledger store and appends to it as fast as it can,
 * as a busy coordinator does: `node --import tsx test/helpers/ledger-writer.ts DIR APPENDS`.
 * Each append is 4 entries and a signed checkpoint in one batch, with a
 * 40 KiB blob (inline in LevelDB, so its memtable fills and flushes and its
 * tables compact) and, every 8th append, a 100 KiB blob file. Prints `ready`
 * after the first append and `done <entries>` after the last, then holds the
 * store until killed.
 */
import { Ledger, openLevelStorage, signerFromSeed } from '../../ledger/index.ts'

const [dir, appendsArg] = process.argv.slice(2)
if (dir === undefined || appendsArg === undefined) throw new Error('usage: ledger-writer.ts DIR APPENDS')
const appends = Number(appendsArg)
const signer = signerFromSeed(new Uint8Array(32).fill(1))
const ledger = await Ledger.open(await openLevelStorage(dir))
process.once('SIGTERM', () => void ledger.close().then(() => process.exit(0)))

for (let i = 0; i < appends; i++) {
  const blobs = [new Uint8Array(40 * 1024).fill(i & 0xff).map((b, k) => (b + k * 7) & 0xff)]
  if (i % 8 === 0) blobs.push(new Uint8Array(100 * 1024).fill((i * 3) & 0xff).map((b, k) => (b + k) & 0xff))
  const drafts = Array.from({ length: 4 }, (_, k) => ({ kind: 'test-record', timeMs: 1_700_000_000_000 + i * 4 + k, body: { n: i * 4 + k } }))
  await ledger.appendWithCheckpoint(signer, drafts, blobs, { origin: 'snapshot-test' })
  if (i === 0) process.stdout.write('ready\n')
}
process.stdout.write(`done ${ledger.length}\n`)
setInterval(() => undefined, 60_000)
