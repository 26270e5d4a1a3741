/**
 * `fedlineage log checkpoint --db DIR [--size N]`: prints the log's newest
 * checkpoint (or the one of size N) as the C2SP signed note it is stored as,
 * with the cosignature/v1 lines of the witnesses that cosigned it, and the
 * log's verifier key on stderr (so stdout is the note alone, for other tools).
 */
import type { CliIo } from '../../cli/index.ts'
import { checkpointVerifierKey, openCheckpoint, readCheckpoint } from '../core/checkpoint.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { Ledger } from '../ledger.ts'
import { openStoreForReading, snapshotNotice } from '../read-store.ts'

export async function logCheckpoint(raw: { db: string; size?: string }, io: CliIo): Promise<void> {
  const size = raw.size === undefined ? undefined : Number(raw.size)
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw new LedgerInvalidArgumentError(`--size: "${raw.size}" is not a non-negative integer`)
  const ledger = await Ledger.open(await openStoreForReading(raw.db, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) }))
  try {
    const latest = await ledger.latestCheckpoint()
    const at = size ?? (latest === undefined ? undefined : readCheckpoint(latest).size)
    const note = at === undefined ? undefined : await ledger.cosignedCheckpointAt(at)
    if (note === undefined)
      throw new LedgerInvalidArgumentError(size === undefined ? `${raw.db}: the log holds no signed checkpoint` : `${raw.db}: no signed checkpoint of size ${size}; try without --size`)
    // The coordinator authors every entry; an empty log's checkpoint names no key to check it by.
    if (ledger.length > 0) {
      const key = (await ledger.get(0)).entry.author
      const cp = openCheckpoint(note, key)
      io.stderr.write(`verifier key: ${checkpointVerifierKey(cp.origin, key)}\n`)
    }
    io.stdout.write(note.note)
  } finally {
    await ledger.close()
  }
}
