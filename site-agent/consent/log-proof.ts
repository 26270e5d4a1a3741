/**
 * Finds, in a replica of the lineage log, the site's `update-accepted`
 * entry of a round whose envelope commits to a given consent root, and
 * proves it: the bundle's `log` part (protocol/consent-log-proof.ts), a
 * c2sp.org/tlog-proof against the newest signed checkpoint, with the
 * cosignatures the replica keeps for it. The proof is checked before it is
 * handed out, under the key that signed the entry (the coordinator's).
 */
import type { CliIo } from '../../cli/index.ts'
import { Ledger, decodeEntry, openStoreForReading, readCheckpoint, snapshotNotice, toHex } from '../../ledger/index.ts'
import {
  ENTRY_KINDS,
  checkConsentLogProof,
  consentSummaryOf,
  decodeStatement,
  isEmbeddedByBlob,
  makeConsentLogProof,
  readLineageRecord,
  resolveStatement,
  type ConsentLogProofJson,
} from '../../protocol/index.ts'
import { ConsentNotInLogError } from './errors.ts'

export interface ConsentLogTarget {
  readonly site: string
  readonly round: number
  readonly root: Uint8Array
  readonly count: number
}

/** The log part for `target`, from the replica in `dbDir`. Throws ConsentNotInLogError when the replica cannot prove it yet. */
export async function proveConsentInLog(dbDir: string, target: ConsentLogTarget, io: Pick<CliIo, 'stderr'>): Promise<ConsentLogProofJson> {
  const ledger = await Ledger.open(await openStoreForReading(dbDir, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) }))
  try {
    const signed = await ledger.latestCheckpoint()
    if (signed === undefined) throw new ConsentNotInLogError(`${dbDir}: the replica holds no signed checkpoint yet; let the site agent sync, then prove again`)
    const size = readCheckpoint(signed).size
    for (let seq = 0; seq < size; seq++) {
      const { bytes } = await ledger.get(seq)
      const entry = decodeEntry(bytes, seq)
      if (entry.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) continue
      const record = readLineageRecord(entry)
      if (record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED || record.body.round !== target.round || record.body.site !== target.site) continue
      const e = record.body.envelope
      const envelopeBody = isEmbeddedByBlob(e) ? await ledger.getBlob(e.blob) : undefined
      const summary = consentSummaryOf(decodeStatement('update', resolveStatement(e, () => envelopeBody, seq).body).ext)
      if (summary === undefined || toHex(summary.root) !== toHex(target.root)) continue
      const cosigned = (await ledger.cosignedCheckpointAt(size)) ?? signed
      const log = makeConsentLogProof({ index: seq, entryBytes: bytes, proof: await ledger.inclusionProof(seq, size), checkpoint: cosigned, envelopeBody })
      checkConsentLogProof(log, target, { logKey: entry.author, site: target.site })
      return log
    }
    throw new ConsentNotInLogError(
      `${dbDir}: no accepted update of site "${target.site}" for round ${target.round} committing to consent root ${toHex(target.root)} within the newest checkpoint (size ${size}); let the replica sync, or prove without --format tlog-proof`,
    )
  } finally {
    await ledger.close()
  }
}
