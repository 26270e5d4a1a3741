/**
 * `fedlineage log prove --db DIR --seq N [--size S] [--format json|tlog-proof] [--out FILE]`:
 * an inclusion proof of entry N against the signed checkpoint of size S
 * (default: the newest checkpoint, with its cosignatures), as a JSON bundle
 * or a c2sp.org/tlog-proof@v1 text (the entry's bytes as its `extra`), which
 * anyone can check offline with `fedlineage log check-proof`.
 */
import { writeFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { readCheckpoint } from '../core/checkpoint.ts'
import { checkInclusionBundle, makeInclusionBundle } from '../core/proof-bundle.ts'
import { checkTlogProof, formatTlogProof } from '../core/tlog-proof.ts'
import { LedgerInvalidArgumentError, LedgerStoreDamagedError } from '../errors.ts'
import { Ledger } from '../ledger.ts'
import { openStoreForReading, snapshotNotice } from '../read-store.ts'

function count(raw: unknown, flag: string): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new LedgerInvalidArgumentError(`${flag}: "${String(raw)}" is not a non-negative integer`)
  return n
}

/** Proof formats `log prove` writes. */
export const PROOF_FORMATS = ['json', 'tlog-proof'] as const

export async function logProve(raw: { db: string; seq: string; size?: string; out?: string; format?: string }, io: CliIo): Promise<void> {
  const seq = count(raw.seq, '--seq')!
  const format = raw.format ?? 'json'
  if (!(PROOF_FORMATS as readonly string[]).includes(format)) throw new LedgerInvalidArgumentError(`--format: "${format}", want one of ${PROOF_FORMATS.join(', ')}`)
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
    const proof = await ledger.inclusionProof(seq, cp.size)
    const cosigned = (await ledger.cosignedCheckpointAt(cp.size)) ?? checkpoint
    const text =
      format === 'tlog-proof'
        ? formatTlogProof({ index: seq, proof, checkpoint: cosigned, extra: entry.bytes })
        : `${JSON.stringify(makeInclusionBundle(seq, entry.bytes, proof, checkpoint, coordinatorKey), null, 2)}\n`
    // Never hand out a proof that does not check: a damaged Merkle node or checkpoint would make one.
    try {
      if (format === 'tlog-proof') checkTlogProof(text, coordinatorKey)
      else checkInclusionBundle(JSON.parse(text), coordinatorKey)
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
