/**
 * `fedlineage log prove --db DIR --seq N [--size S] [--out FILE]`: an
 * inclusion proof of entry N against the signed checkpoint of size S (default:
 * the newest checkpoint), as a JSON bundle anyone can check offline with
 * `fedlineage log check-proof`.
 */
import { writeFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { readCheckpoint } from '../core/checkpoint.ts'
import { checkInclusionBundle, makeInclusionBundle } from '../core/proof-bundle.ts'
import { LedgerInvalidArgumentError, LedgerStoreDamagedError } from '../errors.ts'
import { Ledger } from '../ledger.ts'
import { openStoreForReading, snapshotNotice } from '../read-store.ts'

function count(raw: unknown, flag: string): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new LedgerInvalidArgumentError(`${flag}: "${String(raw)}" is not a non-negative integer`)
  return n
}

export async function logProve(raw: { db: string; seq: string; size?: string; out?: string }, io: CliIo): Promise<void> {
  const seq = count(raw.seq, '--seq')!
  // The notice goes to stderr: stdout may be the bundle itself.
  const ledger = await Ledger.open(await openStoreForReading(raw.db, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) }))
  try {
    const size = count(raw.size, '--size')
    const checkpoint = size === undefined ? await ledger.latestCheckpoint() : await ledger.checkpointAt(size)
    if (!checkpoint) throw new LedgerInvalidArgumentError(size === undefined ? `${raw.db}: the log holds no signed checkpoint` : `${raw.db}: no signed checkpoint of size ${size}; try without --size`)
    const cp = readCheckpoint(checkpoint)
    if (seq >= cp.size) throw new LedgerInvalidArgumentError(`--seq ${seq}: the checkpoint covers entries [0, ${cp.size})`)
    // Every entry is authored by the coordinator, whose key also signs the checkpoints.
    const entry = await ledger.get(seq)
    const coordinatorKey = entry.entry.author
    const bundle = makeInclusionBundle(seq, entry.bytes, await ledger.inclusionProof(seq, cp.size), checkpoint, coordinatorKey)
    // Never hand out a proof that does not check: a damaged Merkle node or checkpoint would make one.
    const text = JSON.stringify(bundle, null, 2) + '\n'
    try {
      checkInclusionBundle(JSON.parse(text), coordinatorKey)
    } catch (err) {
      throw new LedgerStoreDamagedError(
        `the proof of entry ${seq} at size ${cp.size}`,
        `does not check (${(err as Error).message}); the store is damaged: run \`fedlineage log verify --db ${raw.db}\``,
      )
    }
    if (raw.out) {
      await writeFile(raw.out, text)
      io.stdout.write(`inclusion proof of entry ${seq} in the log of ${cp.origin} at size ${cp.size} written to ${raw.out}; check it with: fedlineage log check-proof --proof ${raw.out}\n`)
    } else io.stdout.write(text)
  } finally {
    await ledger.close()
  }
}
