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
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { equalBytes, parsePublicKey, toHex } from '../../ledger/index.ts'
import { findConsentCommitments, type ConsentCommitment } from '../consent-lookup.ts'
import { AuditConsentNotLoggedError, AuditInvalidArgumentError, AuditPatientRewardsNotLoggedError } from '../errors.ts'
import { openLevelAuditSource } from '../source.ts'
import { checkConsentBundle, type CheckedConsentProof } from '../../protocol/index.ts'

export interface ConsentVerifyOptions {
  readonly proof: string
  readonly db?: string
  readonly site?: string
  readonly authority?: readonly string[]
  readonly coordinatorKey?: string
}

/** What a verified bundle proves, and the logged commitment it matched (with `--db`). */
export interface ConsentVerification {
  readonly proof: CheckedConsentProof
  readonly commitment?: ConsentCommitment
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
  const coordinatorKey = opts.coordinatorKey === undefined ? undefined : parsePublicKey(opts.coordinatorKey, '--coordinator-key')
  const trust = trustedSigners === undefined ? {} : { trustedSigners }
  const proof = checkConsentBundle(value, trust)
  const what =
    proof.kind === 'inclusion'
      ? `the consent receipt of pseudonym ${toHex(proof.pseudonym).slice(0, 16)}… (valid ${new Date(proof.receipt.validFrom).toISOString().slice(0, 10)}${proof.receipt.validUntil === null ? ' on' : ` to ${new Date(proof.receipt.validUntil).toISOString().slice(0, 10)}`}, signed by ${toHex(proof.receipt.signer).slice(0, 16)}…) is one of`
      : `pseudonym ${toHex(proof.pseudonym).slice(0, 16)}… is not among`
  const reward = proof.kind === 'inclusion' ? proof.reward : undefined
  const rewardWhat = reward === undefined ? '' : `; the patient's reward is ${reward.amount} of the site's ${reward.siteAmount} credits (allocation root ${toHex(reward.root).slice(0, 16)}…)`
  if (opts.db === undefined) {
    io.stdout.write(
      `consent proof verified offline: ${what} the ${proof.count} consents of root ${toHex(proof.root)} for round ${proof.round}${rewardWhat}; check that root against the log with --db LOG_REPLICA_DIR\n`,
    )
    return { proof }
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
    `consent proof verified against the log: ${what} the ${match.count} consents site "${match.site}" signed for round ${proof.round} (log entry ${match.seq}, decided at ${new Date(match.at).toISOString()}); ${fate}${reward === undefined ? '' : `${rewardWhat}, as site "${match.site}" signed it (log entry ${match.patientRewards!.seq})`}\n`,
  )
  return { proof, commitment: match }
}
