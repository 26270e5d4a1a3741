/**
 * `fedlineage consent verify --proof FILE [--db DIR] [--site ID] [--authority HEX...] [--coordinator-key HEX]`:
 * checks a patient's consent proof bundle (`fedlineage consent prove`).
 *
 * Offline, with nothing but the bundle: for an inclusion bundle, the
 * receipt's signature (under `--authority` keys when given) and its path to
 * the bundle's root; for a non-inclusion bundle, the two neighbours and
 * their paths. That only shows the proof is consistent with the root it
 * carries.
 *
 * With `--db` (a replica of the lineage log: a site's replica, an auditor's,
 * or a copy of the coordinator's data dir), also that the root and count are
 * the ones a site signed in its update envelope for that round, as logged
 * (consent-lookup.ts), and whether the round committed a model with that
 * update. `--site` names the site when the patient knows it.
 *
 * A bundle with a `reward` (the patient's share of the site's round credit)
 * is checked offline against the allocation root it carries; with `--db`,
 * that root must be the one the site signed in its logged `patient-rewards`
 * entry of the round (AUDIT_PATIENT_REWARDS_NOT_LOGGED otherwise).
 *
 * A bundle from `consent prove --format tlog-proof` also carries its log
 * part, a c2sp.org/tlog-proof of the site's update entry: it is checked
 * under the log's key, pinned with `--coordinator-key` or `--verifier-key`
 * (AUDIT_CONSENT_LOG_UNVERIFIED without one), and the logged envelope must
 * commit to the bundle's root and count. With `--policy FILE` (the study's
 * c2sp.org/tlog-policy) its checkpoint's cosignatures must meet the quorum
 * (LEDGER_WITNESS_QUORUM_NOT_MET otherwise).
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { NOTE_KEY_TYPE_ED25519, equalBytes, parsePublicKey, parseVerifierKey, parseWitnessPolicy, toHex, type WitnessPolicy } from '../../ledger/index.ts'
import { findConsentCommitments, type ConsentCommitment } from '../consent-lookup.ts'
import { AuditConsentLogUnverifiedError, AuditConsentNotLoggedError, AuditInvalidArgumentError, AuditPatientRewardsNotLoggedError } from '../errors.ts'
import { openLevelAuditSource } from '../source.ts'
import { checkConsentBundle, checkConsentLogProof, type CheckedConsentLogProof, type CheckedConsentProof, type ConsentProofBundle } from '../../protocol/index.ts'

export interface ConsentVerifyOptions {
  readonly proof: string
  readonly db?: string
  readonly site?: string
  readonly authority?: readonly string[]
  readonly coordinatorKey?: string
  /** The log's verifier key (origin+keyid+base64): pins its key and origin for a bundle's log part. */
  readonly verifierKey?: string
  /** A c2sp.org/tlog-policy file whose quorum the log part's checkpoint must meet. */
  readonly policy?: string
}

/** What a verified bundle proves, and the logged commitment it matched (with `--db`). */
export interface ConsentVerification {
  readonly proof: CheckedConsentProof
  readonly commitment?: ConsentCommitment
  /** The bundle's log part, when it carries one. */
  readonly log?: CheckedConsentLogProof
}

/** Checks the bundle (see the module comment) and prints the verdict. Throws the ledger's consent errors, or AuditConsentNotLoggedError. */
export async function consentVerify(opts: ConsentVerifyOptions, io: CliIo): Promise<ConsentVerification> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(opts.proof, 'utf8'))
  } catch (err) {
    throw new AuditInvalidArgumentError(`--proof ${opts.proof}: ${(err as Error).message}`, undefined, { cause: err })
  }
  const trustedSigners = opts.authority?.map((k, i) => parsePublicKey(k, `--authority[${i}]`))
  if (opts.coordinatorKey !== undefined && opts.verifierKey !== undefined) throw new AuditInvalidArgumentError('give --coordinator-key or --verifier-key, not both')
  const vkey = opts.verifierKey === undefined ? undefined : parseVerifierKey(opts.verifierKey)
  if (vkey !== undefined && vkey.type !== NOTE_KEY_TYPE_ED25519) throw new AuditInvalidArgumentError(`--verifier-key: key type 0x${vkey.type.toString(16)}, want 0x01 (the log's Ed25519 key)`)
  const coordinatorKey = opts.coordinatorKey === undefined ? vkey?.publicKey : parsePublicKey(opts.coordinatorKey, '--coordinator-key')
  const trust = trustedSigners === undefined ? {} : { trustedSigners }
  const proof = checkConsentBundle(value, trust)
  const log = await checkLogPart((value as ConsentProofBundle).log, proof, opts, coordinatorKey, vkey?.name)
  const what =
    proof.kind === 'inclusion'
      ? `the consent receipt of pseudonym ${toHex(proof.pseudonym).slice(0, 16)}… (valid ${new Date(proof.receipt.validFrom).toISOString().slice(0, 10)}${proof.receipt.validUntil === null ? ' on' : ` to ${new Date(proof.receipt.validUntil).toISOString().slice(0, 10)}`}, signed by ${toHex(proof.receipt.signer).slice(0, 16)}…) is one of`
      : `pseudonym ${toHex(proof.pseudonym).slice(0, 16)}… is not among`
  const reward = proof.kind === 'inclusion' ? proof.reward : undefined
  const rewardWhat = reward === undefined ? '' : `; the patient's reward is ${reward.amount} of the site's ${reward.siteAmount} credits (allocation root ${toHex(reward.root).slice(0, 16)}…)`
  const logWhat =
    log === undefined
      ? ''
      : `; the log's tlog-proof shows site "${log.site}" committed to that root in entry ${log.seq}${log.rewardsSeq === undefined ? '' : ` and to the reward's allocation root in its patient-rewards entry ${log.rewardsSeq}`}, in the log of ${log.checkpoint.origin} at size ${log.checkpoint.size}${opts.policy === undefined ? '' : `, cosigned by ${log.cosigners.join(', ') || 'no witness'} (the policy's quorum met)`}`
  if (opts.db === undefined) {
    io.stdout.write(
      `consent proof verified offline: ${what} the ${proof.count} consents of root ${toHex(proof.root)} for round ${proof.round}${rewardWhat}${logWhat}${log === undefined ? '; check that root against the log with --db LOG_REPLICA_DIR' : ''}\n`,
    )
    return { proof, ...(log === undefined ? {} : { log }) }
  }

  const { source, close, notice } = await openLevelAuditSource(opts.db)
  if (notice !== undefined) io.stderr.write(`${notice}\n`)
  let commitments: ConsentCommitment[]
  try {
    commitments = await findConsentCommitments(source, proof.round, { trustedCoordinatorKey: coordinatorKey })
  } finally {
    await close()
  }
  const candidates = commitments.filter((c) => opts.site === undefined || c.site === opts.site)
  const match = candidates.find((c) => equalBytes(c.root, proof.root))
  if (match === undefined) {
    // One site named and one commitment: let the bundle check say which field differs.
    if (opts.site !== undefined && candidates.length === 1) checkConsentBundle(value, { ...trust, root: candidates[0]!.root, count: candidates[0]!.count })
    const logged = candidates.map((c) => `"${c.site}" ${toHex(c.root).slice(0, 16)}…`).join(', ') || 'none'
    throw new AuditConsentNotLoggedError(
      `no update of round ${proof.round}${opts.site === undefined ? '' : ` from site "${opts.site}"`} in ${opts.db} commits to consent root ${toHex(proof.root)}; the round's logged consent roots: ${logged}`,
    )
  }
  if (reward !== undefined) {
    const logged = match.patientRewards
    if (logged === undefined)
      throw new AuditPatientRewardsNotLoggedError(`the bundle carries a reward for round ${proof.round}, but ${opts.db} holds no patient-rewards entry of site "${match.site}" for that round`)
    if (logged.amount !== reward.siteAmount)
      throw new AuditPatientRewardsNotLoggedError(
        `the bundle's reward splits ${reward.siteAmount} credits, site "${match.site}" logged ${logged.amount} for round ${proof.round} (entry ${logged.seq})`,
      )
  }
  checkConsentBundle(value, { ...trust, root: match.root, count: match.count, ...(match.patientRewards && reward ? { rewardRoot: match.patientRewards.root } : {}) })
  const fate = match.committed ? `round ${proof.round} committed a model with this update` : `round ${proof.round} did not commit a model with this update`
  io.stdout.write(
    `consent proof verified against the log: ${what} the ${match.count} consents site "${match.site}" signed for round ${proof.round} (log entry ${match.seq}, decided at ${new Date(match.at).toISOString()}); ${fate}${reward === undefined ? '' : `${rewardWhat}, as site "${match.site}" signed it (log entry ${match.patientRewards!.seq})`}${logWhat}\n`,
  )
  return { proof, commitment: match, ...(log === undefined ? {} : { log }) }
}

/** Checks the bundle's log part (a tlog-proof), when it has one, under the pinned key and the policy. */
async function checkLogPart(
  log: ConsentProofBundle['log'],
  proof: CheckedConsentProof,
  opts: ConsentVerifyOptions,
  logKey: Uint8Array | undefined,
  origin: string | undefined,
): Promise<CheckedConsentLogProof | undefined> {
  if (log === undefined) {
    if (opts.policy !== undefined)
      throw new AuditInvalidArgumentError(`--policy: ${opts.proof} carries no log part to hold to a witness policy; ask the site for \`fedlineage consent prove --format tlog-proof\``)
    return undefined
  }
  if (logKey === undefined)
    throw new AuditConsentLogUnverifiedError(
      `${opts.proof} carries a tlog-proof of the log, which names no key: pass --coordinator-key or --verifier-key with the log's key (obtained out of band, e.g. from the study's witness policy) to check it`,
    )
  let policy: WitnessPolicy | undefined
  if (opts.policy !== undefined) {
    let text: string
    try {
      text = await readFile(opts.policy, 'utf8')
    } catch (err) {
      throw new AuditInvalidArgumentError(`--policy ${opts.policy}: ${(err as Error).message}`, undefined, { cause: err })
    }
    policy = parseWitnessPolicy(text)
  }
  return checkConsentLogProof(log, proof, { logKey, origin, policy, site: opts.site })
}
