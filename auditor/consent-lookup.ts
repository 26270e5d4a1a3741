/**
 * Finds what the log records about one round's consent: each accepted
 * update's consent root and count, as its site signed them. Used by
 * `fedlineage consent verify --db` to hold a patient's proof bundle against
 * the log rather than against the root the bundle carries.
 *
 * Every entry up to the end of the round is verified as the audit verifies
 * the chain (canonical bytes, seq, prev hash, strict signature by the
 * coordinator: the author of `study-created`, or the pinned key), folded into
 * the study state, and each update envelope of the round is checked under
 * its site's enrolled key, and so is each site's `patient-rewards` statement
 * of the round (the whole log is read: a site may pass its credit on after
 * the next round opened). The models are not re-derived: that is the
 * audit's job (`fedlineage audit`).
 */
import { GENESIS_PREV_HASH, decodeEntry, toHex, verifyEntry } from '../ledger/index.ts'
import { AuditStatementSignatureError, entryLabel } from './errors.ts'
import type { AuditSource } from './replay.ts'
import { consentSummaryOf, decodeStatement, isEmbeddedByBlob, resolveStatement, verifyStatement, ENTRY_KINDS, StudyState, readLineageRecord, unembedStatement } from '../protocol/index.ts'

/** One site's consent in a round, as the log holds it. */
export interface ConsentCommitment {
  readonly site: string
  /** The `update-accepted` entry that embeds the site's signed envelope. */
  readonly seq: number
  readonly round: number
  readonly root: Uint8Array
  readonly count: number
  /** The round's time the site decided consent at. */
  readonly at: number
  /** True when the round committed a model with this site's update as an input. */
  readonly committed: boolean
  /** The site's `patient-rewards` entry of the round, when it passed its credit on to its patients. */
  readonly patientRewards?: { readonly seq: number; readonly amount: bigint; readonly count: number; readonly root: Uint8Array }
}

/**
 * The consent commitments of round `round` in `source`, in log order, each
 * with its site's patient-rewards record of the round when logged.
 * Throws the ledger's errors for an entry that does not verify, the
 * coordinator's LineageRecordError for a record that does not fold, and
 * AuditStatementSignatureError for an envelope its site did not sign.
 */
export async function findConsentCommitments(source: AuditSource, round: number, init: { readonly trustedCoordinatorKey?: Uint8Array | undefined } = {}): Promise<ConsentCommitment[]> {
  const state = new StudyState()
  const found: Omit<ConsentCommitment, 'committed'>[] = []
  let prevHash = GENESIS_PREV_HASH
  let coordinator = init.trustedCoordinatorKey
  let seq = 0
  for await (const { bytes } of source.scan(0, source.length)) {
    const entry = decodeEntry(bytes, seq)
    prevHash = verifyEntry(entry, bytes, { seq, prevHash, trustedAuthors: coordinator && [coordinator] })
    coordinator ??= entry.author
    const record = readLineageRecord(entry)
    state.apply(record)
    if (record.kind === ENTRY_KINDS.PATIENT_REWARDS && record.body.round === round) {
      const key = state.sites.get(record.body.site)!
      if (!verifyStatement(key, unembedStatement(record.body.statement))) {
        throw new AuditStatementSignatureError(`${entryLabel(seq, record.kind)}: the patient-rewards statement of site "${record.body.site}" is not validly signed by ${toHex(key)}`, seq, key)
      }
    }
    if (record.kind === ENTRY_KINDS.UPDATE_ACCEPTED && record.body.round === round) {
      const key = state.sites.get(record.body.site)!
      // An envelope embedded by reference is read back from its blob (lineage.ts).
      const e = record.body.envelope
      const body = isEmbeddedByBlob(e) ? await source.getBlob(e.blob) : undefined
      const envelope = resolveStatement(e, () => body, seq)
      if (!verifyStatement(key, envelope)) {
        throw new AuditStatementSignatureError(`${entryLabel(seq, record.kind)}: the update envelope of site "${record.body.site}" is not validly signed by ${toHex(key)}`, seq, key)
      }
      const summary = consentSummaryOf(decodeStatement('update', envelope.body).ext)
      if (summary !== undefined) found.push({ site: record.body.site, seq, round, root: summary.root, count: summary.count, at: summary.at })
    }
    seq++
  }
  const inputs = new Set(state.rounds.get(round)?.commit?.body.inputs.map((i) => i.site) ?? [])
  const rewards = state.rounds.get(round)?.patientRewards
  return found.map((c) => {
    const r = rewards?.get(c.site)
    return { ...c, committed: inputs.has(c.site), ...(r === undefined ? {} : { patientRewards: { seq: r.seq, amount: r.amount, count: r.count, root: r.root } }) }
  })
}
