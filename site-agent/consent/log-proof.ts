/**
 * Finds, in a replica of the lineage log, the site's `update-accepted`
 * entry of a round whose envelope commits to a given consent root, and
 * proves it: the bundle's `log` part (protocol/consent-log-proof.ts), a
 * c2sp.org/tlog-proof against the newest signed checkpoint, with the
 * cosignatures the replica keeps for it; when the patient's bundle carries
 * a reward, also of the site's `patient-rewards` entry of the round. The
 * proof is checked before it is
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
  /** The patient's reward in the bundle: its allocation root and the site's amount. */
  readonly reward?: { readonly root: Uint8Array; readonly siteAmount: bigint } | undefined
}

/** The log part for `target`, from the replica in `dbDir`. Throws ConsentNotInLogError when the replica cannot prove it yet. */
export async function proveConsentInLog(dbDir: string, target: ConsentLogTarget, io: Pick<CliIo, 'stderr'>): Promise<ConsentLogProofJson> {
  const ledger = await Ledger.open(await openStoreForReading(dbDir, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) }))
  try {
    const signed = await ledger.latestCheckpoint()
    if (signed === undefined) throw new ConsentNotInLogError(`${dbDir}: the replica holds no signed checkpoint yet; let the site agent sync, then prove again`)
    const size = readCheckpoint(signed).size
    let update: { seq: number; bytes: Uint8Array; author: Uint8Array; envelopeBody: Uint8Array | undefined } | undefined
    let rewards: { index: number; entryBytes: Uint8Array } | undefined
    for (let seq = 0; seq < size && (update === undefined || (target.reward !== undefined && rewards === undefined)); seq++) {
      const { bytes } = await ledger.get(seq)
      const entry = decodeEntry(bytes, seq)
      if (entry.kind !== ENTRY_KINDS.UPDATE_ACCEPTED && entry.kind !== ENTRY_KINDS.PATIENT_REWARDS) continue
      const record = readLineageRecord(entry)
      if (record.kind === ENTRY_KINDS.PATIENT_REWARDS) {
        if (record.body.round === target.round && record.body.site === target.site) rewards = { index: seq, entryBytes: bytes }
        continue
      }
      if (record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED || record.body.round !== target.round || record.body.site !== target.site) continue
      const e = record.body.envelope
      const envelopeBody = isEmbeddedByBlob(e) ? await ledger.getBlob(e.blob) : undefined
      const summary = consentSummaryOf(decodeStatement('update', resolveStatement(e, () => envelopeBody, seq).body).ext)
      if (summary !== undefined && toHex(summary.root) === toHex(target.root)) update = { seq, bytes, author: entry.author, envelopeBody }
    }
    if (update === undefined)
      throw new ConsentNotInLogError(
        `${dbDir}: no accepted update of site "${target.site}" for round ${target.round} committing to consent root ${toHex(target.root)} within the newest checkpoint (size ${size}); let the replica sync, or prove without --format tlog-proof`,
      )
    if (target.reward !== undefined && rewards === undefined)
      throw new ConsentNotInLogError(
        `${dbDir}: no patient-rewards entry of site "${target.site}" for round ${target.round} within the newest checkpoint (size ${size}), though the site passed its credit on; let the replica sync, then prove again`,
      )
    const cosigned = (await ledger.cosignedCheckpointAt(size)) ?? signed
    const log = makeConsentLogProof({
      index: update.seq,
      entryBytes: update.bytes,
      proof: await ledger.inclusionProof(update.seq, size),
      checkpoint: cosigned,
      envelopeBody: update.envelopeBody,
      rewards: rewards && { ...rewards, proof: await ledger.inclusionProof(rewards.index, size) },
    })
    checkConsentLogProof(log, target, { logKey: update.author, site: target.site })
    return log
  } finally {
    await ledger.close()
  }
}
