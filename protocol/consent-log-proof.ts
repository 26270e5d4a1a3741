/**
 * The log part of a patient's consent proof bundle (`consent prove --format
 * tlog-proof`): a c2sp.org/tlog-proof@v1 of the site's `update-accepted`
 * entry of the round, whose `extra` is the entry's bytes, whose embedded
 * update envelope commits to the consent root and count, and whose
 * checkpoint carries the witnesses' cosignatures. With it a patient's
 * bundle is checked against the log with no replica at hand: the
 * checkpoint under the log's key (pinned by the checker), the entry's
 * inclusion under the checkpoint's root, and the envelope's consent root
 * and count equal to the bundle's. A bundle with a patient's reward also
 * carries the tlog-proof of the site's `patient-rewards` entry of the
 * round (same checkpoint), whose statement must commit to the reward's
 * allocation root and the site's amount.
 *
 * The envelope is signed by the site; its key is enrolled in the log, not
 * in the proof, so offline the coordinator's signed (and witnessed)
 * checkpoint attests the entry, and `consent verify --db` still checks the
 * site's signature from a replica.
 *
 * Pure: no I/O.
 */
import { checkTlogProof, formatTlogProof, fromHex, parseTlogProof, requireCheckpointQuorum, toHex, type Checkpoint, type SignedCheckpoint, type WitnessPolicy } from '../ledger/core/index.ts'
import { ConsentBundleMismatchError, ConsentInvalidError } from './consent-errors.ts'
import { consentSummaryOf } from './consent-claim.ts'
import { CONSENT_LOG_PROOF_FORMAT, type ConsentLogProofJson } from './consent.ts'
import { ENTRY_KINDS, isEmbeddedByBlob, readLineageRecord, resolveStatement } from './lineage.ts'
import { decodeStatement } from './statements.ts'

const SUBJECT = 'consent proof bundle'

export interface ConsentLogProofInput {
  /** The `update-accepted` entry's index and canonical bytes. */
  readonly index: number
  readonly entryBytes: Uint8Array
  /** Its RFC 6962 inclusion proof under `checkpoint`. */
  readonly proof: readonly Uint8Array[]
  /** The signed checkpoint, with the cosignatures the log keeps for it. */
  readonly checkpoint: SignedCheckpoint
  /** The envelope body, when the entry names it by hash (a blob). */
  readonly envelopeBody?: Uint8Array | undefined
  /** The site's `patient-rewards` entry of the round (index, bytes, inclusion proof under `checkpoint`), when the bundle carries a reward. */
  readonly rewards?: { readonly index: number; readonly entryBytes: Uint8Array; readonly proof: readonly Uint8Array[] } | undefined
}

/** The bundle's `log` field. */
export function makeConsentLogProof(input: ConsentLogProofInput): ConsentLogProofJson {
  const tlogProof = formatTlogProof({ index: input.index, proof: input.proof, checkpoint: input.checkpoint, extra: input.entryBytes })
  const r = input.rewards
  return {
    format: CONSENT_LOG_PROOF_FORMAT,
    tlogProof,
    ...(input.envelopeBody === undefined ? {} : { envelope: toHex(input.envelopeBody) }),
    ...(r === undefined ? {} : { rewards: formatTlogProof({ index: r.index, proof: r.proof, checkpoint: input.checkpoint, extra: r.entryBytes }) }),
  }
}

/** What the bundle's consent part claims, checked against the logged envelope. */
export interface ConsentLogClaim {
  readonly round: number
  readonly root: Uint8Array
  readonly count: number
  /** The patient's reward, when the bundle carries one: the allocation root and the site's amount it splits. */
  readonly reward?: { readonly root: Uint8Array; readonly siteAmount: bigint } | undefined
}

export interface ConsentLogTrust {
  /** The log's (coordinator's) Ed25519 key, obtained out of band. */
  readonly logKey: Uint8Array
  /** The log's origin, when the checker pinned it (a verifier key names it). */
  readonly origin?: string | undefined
  /** A witness policy whose quorum the checkpoint's cosignatures must meet. */
  readonly policy?: WitnessPolicy | undefined
  /** The site the patient expects, when known. */
  readonly site?: string | undefined
}

export interface CheckedConsentLogProof {
  /** The `update-accepted` entry's index. */
  readonly seq: number
  readonly site: string
  readonly checkpoint: Checkpoint
  /** The policy's witnesses that cosigned the checkpoint (empty without a policy). */
  readonly cosigners: readonly string[]
  /** The `patient-rewards` entry's index, when the bundle carries a reward. */
  readonly rewardsSeq?: number
}

/**
 * Checks `log` (see the module doc) against `claim`. Throws the ledger's
 * tlog-proof, checkpoint and Merkle errors, LEDGER_WITNESS_QUORUM_NOT_MET,
 * PROTOCOL_CONSENT_INVALID for an entry that is not the round's update,
 * and PROTOCOL_CONSENT_BUNDLE_MISMATCH when the logged root or count differ.
 */
export function checkConsentLogProof(log: ConsentLogProofJson, claim: ConsentLogClaim, trust: ConsentLogTrust): CheckedConsentLogProof {
  const checked = checkTlogProof(log.tlogProof, trust.logKey, trust.origin === undefined ? {} : { origin: trust.origin })
  const record = readLineageRecord(checked.entry)
  if (record.kind !== ENTRY_KINDS.UPDATE_ACCEPTED)
    throw new ConsentInvalidError(SUBJECT, 'log.tlogProof', `proves entry ${checked.index}, a ${record.kind}; want the site's update-accepted entry of round ${claim.round}`)
  if (record.body.round !== claim.round) throw new ConsentBundleMismatchError('log round', String(claim.round), String(record.body.round))
  if (trust.site !== undefined && record.body.site !== trust.site) throw new ConsentBundleMismatchError('log site', trust.site, record.body.site)
  const e = record.body.envelope
  const body = isEmbeddedByBlob(e) && log.envelope !== undefined ? fromHex(log.envelope) : undefined
  const envelope = resolveStatement(e, () => body, checked.index)
  const summary = consentSummaryOf(decodeStatement('update', envelope.body).ext)
  if (summary === undefined)
    throw new ConsentInvalidError(SUBJECT, 'log.tlogProof', `entry ${checked.index}: site "${record.body.site}"'s update envelope of round ${claim.round} commits to no consent`)
  if (toHex(summary.root) !== toHex(claim.root)) throw new ConsentBundleMismatchError('root', toHex(summary.root), toHex(claim.root))
  if (summary.count !== claim.count) throw new ConsentBundleMismatchError('count', String(summary.count), String(claim.count))
  const rewardsSeq = claim.reward === undefined ? undefined : checkRewardsEntry(log, claim, claim.reward, record.body.site, checked.checkpoint, trust)
  const cosigners = trust.policy === undefined ? [] : requireCheckpointQuorum(trust.policy, parseTlogProof(log.tlogProof).checkpoint, trust.logKey, checked.checkpoint.origin)
  return { seq: checked.index, site: record.body.site, checkpoint: checked.checkpoint, cosigners, ...(rewardsSeq === undefined ? {} : { rewardsSeq }) }
}

/** The `patient-rewards` entry's proof: same checkpoint, the site's entry of the round, committing to the reward's root and amount. Returns its index. */
function checkRewardsEntry(log: ConsentLogProofJson, claim: ConsentLogClaim, reward: NonNullable<ConsentLogClaim['reward']>, site: string, checkpoint: Checkpoint, trust: ConsentLogTrust): number {
  if (log.rewards === undefined)
    throw new ConsentInvalidError(SUBJECT, 'log.rewards', `is missing: the bundle carries a reward for round ${claim.round} but no tlog-proof of the site's patient-rewards entry`)
  const checked = checkTlogProof(log.rewards, trust.logKey, trust.origin === undefined ? {} : { origin: trust.origin })
  if (checked.checkpoint.size !== checkpoint.size || toHex(checked.checkpoint.root) !== toHex(checkpoint.root))
    throw new ConsentInvalidError(SUBJECT, 'log.rewards', `is against checkpoint ${checked.checkpoint.size}, the update's proof against ${checkpoint.size}; want one checkpoint`)
  const record = readLineageRecord(checked.entry)
  if (record.kind !== ENTRY_KINDS.PATIENT_REWARDS || record.body.round !== claim.round || record.body.site !== site)
    throw new ConsentInvalidError(SUBJECT, 'log.rewards', `proves entry ${checked.index}, a ${record.kind}; want site "${site}"'s patient-rewards entry of round ${claim.round}`)
  const statement = decodeStatement('patient-rewards', record.body.statement.body)
  if (toHex(statement.root) !== toHex(reward.root)) throw new ConsentBundleMismatchError('reward.root', toHex(statement.root), toHex(reward.root))
  if (statement.amount !== reward.siteAmount) throw new ConsentBundleMismatchError('reward.siteAmount', String(statement.amount), String(reward.siteAmount))
  return checked.index
}
