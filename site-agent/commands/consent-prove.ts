/**
 * `fedlineage consent prove --config site.json --patient-id ID --round R [--out FILE]`:
 * the proof, for one patient, of what the site did with their consent in
 * round R, from the round's consent leaves the site kept and its consent
 * store:
 *
 * - when the patient is among the receipts the site trained on: an
 *   inclusion bundle (`kind: "inclusion"`) with the signed receipt and its
 *   path to the round's consent root; and when the site passed its credit
 *   for the round on to its patients (`patient-rewards`), the bundle's
 *   `reward`: the patient's amount and the inclusion proof of its
 *   allocation leaf against the root the site signed;
 * - otherwise: a non-inclusion bundle (`kind: "non-inclusion"`), the
 *   patient's pseudonym between its two neighbours, proving the site did not
 *   train on them that round.
 *
 * Anyone checks it offline with `fedlineage consent verify --proof FILE`,
 * and against the site-signed envelope in the log with `--db`.
 *
 * With `--format tlog-proof` the bundle also carries its `log` part: a
 * c2sp.org/tlog-proof@v1 of the site's `update-accepted` entry of the
 * round (the entry that embeds the envelope committing to the consent
 * root) against the newest cosigned checkpoint of the site's replica (or
 * `--db`), so that the patient can check it against the log with no
 * replica, under the log's key and the study's witness policy. The bundle
 * holds the patient's pseudonym and receipt: hand it to the patient only.
 */
import { writeFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { fromHex, parsePublicKey, toHex } from '../../ledger/index.ts'
import { loadSiteConfig } from '../config.ts'
import { ConsentStoreCorruptError } from '../consent/errors.ts'
import { proveConsentInLog } from '../consent/log-proof.ts'
import { loadPatientRewardsRound } from '../consent/patient-rewards.ts'
import { loadConsentRound } from '../consent/rounds.ts'
import { loadSiteSecret } from '../consent/secret.ts'
import { loadConsentStore } from '../consent/store.ts'
import { ConsentUnknownPatientError, SiteConfigError } from '../errors.ts'
import {
  findConsentLeaf,
  makeConsentInclusionBundle,
  makeConsentNonInclusionBundle,
  makePatientRewardBundle,
  provePatientReward,
  proveConsentInclusion,
  proveConsentNonInclusion,
  pseudonymOf,
  type ConsentProofBundle,
} from '../../protocol/index.ts'

export interface ConsentProveOptions {
  readonly config: string
  readonly patientId: string
  readonly round: string
  readonly out?: string
  /** Prove non-inclusion for an id the consent store has no record of (a patient who never consented). */
  readonly allowUnknownPatient?: boolean
  /** `json` (default): the consent proof alone; `tlog-proof`: with its log part as a c2sp.org/tlog-proof@v1. */
  readonly format?: string
  /** The replica of the log the `tlog-proof` format proves from; default the site's (`p2p.dataDir`). */
  readonly db?: string
}

/** Formats `consent prove` writes. */
export const CONSENT_PROOF_FORMATS = ['json', 'tlog-proof'] as const

/** Builds the bundle (see the module comment), writes or prints it, and returns it. */
export async function consentProve(opts: ConsentProveOptions, io: CliIo): Promise<ConsentProofBundle> {
  const round = Number(opts.round)
  if (!Number.isSafeInteger(round) || round < 1) throw new SiteConfigError(`--round is ${JSON.stringify(opts.round)}, want a round number >= 1`)
  const format = opts.format ?? 'json'
  if (!(CONSENT_PROOF_FORMATS as readonly string[]).includes(format)) throw new SiteConfigError(`--format is ${JSON.stringify(format)}, want one of ${CONSENT_PROOF_FORMATS.join(', ')}`)
  const config = await loadSiteConfig(opts.config)
  const consent = config.consent
  if (consent === undefined) throw new SiteConfigError(`${opts.config}: no "consent" section: this site keeps no consent leaves to prove from`)
  const secret = await loadSiteSecret(consent.secretFile)
  const { tree } = await loadConsentRound(consent.roundsDir!, round)
  const pseudonym = pseudonymOf(secret, opts.patientId)
  let bundle: ConsentProofBundle
  let what: string
  const store = await loadConsentStore(consent.store, { authorities: consent.authorities.map((k, i) => parsePublicKey(k, `consent.authorities[${i}]`)) })
  if (findConsentLeaf(tree, pseudonym) >= 0) {
    const proof = proveConsentInclusion(tree, pseudonym)
    const receipt = store.receiptByHash(pseudonym, proof.leaf.receiptHash)
    if (receipt === undefined) {
      throw new ConsentStoreCorruptError(
        `${consent.store}: the receipt ${toHex(proof.leaf.receiptHash)} the site trained on in round ${round} is no longer in the consent store; restore the store from a backup`,
      )
    }
    bundle = makeConsentInclusionBundle(round, receipt.signed, proof, tree.root)
    what = `inclusion proof: the patient's consent receipt is leaf ${proof.index} of the ${tree.count} receipts used in round ${round}`
    const rewards = await loadPatientRewardsRound(consent.roundsDir!, round)
    const reward = rewards && provePatientReward(rewards.tree, pseudonym)
    if (rewards !== undefined && reward === undefined) {
      throw new ConsentStoreCorruptError(
        `${consent.roundsDir}: round ${round}'s patient-rewards file has no allocation for a patient the site trained on; it was not written from this round's consent leaves`,
      )
    }
    if (rewards !== undefined && reward !== undefined) {
      bundle = { ...bundle, reward: makePatientRewardBundle(reward, rewards.tree.root, rewards.record.amount) }
      what += `, with their reward: ${reward.amount} of the site's ${rewards.record.amount} credits (allocation root ${toHex(rewards.tree.root).slice(0, 16)}…)`
    }
  } else {
    bundle = makeConsentNonInclusionBundle(round, proveConsentNonInclusion(tree, pseudonym), tree.root)
    what = `non-inclusion proof: the patient is not among the ${tree.count} receipts used in round ${round}`
    // Any id, a mistyped one too, would get a valid "not included" proof: refuse an id the store never heard of, unless told it is right.
    if (store.receiptsOf(pseudonym).length === 0 && store.revocationsOf(pseudonym).length === 0 && !opts.allowUnknownPatient)
      throw new ConsentUnknownPatientError(
        `patient id ${JSON.stringify(opts.patientId)} has no consent receipt or revocation in ${consent.store}: a mistyped id would get a valid proof about nobody; check the id against the site's records, and if it is right (a patient who never consented), rerun with --allow-unknown-patient`,
      )
  }
  if (format === 'tlog-proof') {
    const replica = opts.db ?? config.p2p.dataDir
    if (replica === undefined) throw new SiteConfigError(`${opts.config}: no replica of the log (p2p.dataDir) to prove from; pass --db LOG_REPLICA_DIR`)
    const log = await proveConsentInLog(
      replica,
      {
        site: config.siteId,
        round,
        root: tree.root,
        count: tree.count,
        reward: bundle.kind === 'inclusion' && bundle.reward !== undefined ? { root: fromHex(bundle.reward.root), siteAmount: BigInt(bundle.reward.siteAmount) } : undefined,
      },
      io,
    )
    bundle = { ...bundle, log }
    const entryOf = (text: string) => text.match(/^index (\d+)$/m)?.[1]
    what += `, with the log's tlog-proof of the site's update (entry ${entryOf(log.tlogProof)})${log.rewards === undefined ? '' : ` and of its patient-rewards (entry ${entryOf(log.rewards)})`}`
  }
  const json = `${JSON.stringify(bundle, null, 2)}\n`
  if (opts.out === undefined) {
    io.stdout.write(json)
  } else {
    await writeFile(opts.out, json, { mode: 0o600 })
    io.stdout.write(`${what} (consent root ${bundle.root}), written to ${opts.out}; check it with \`fedlineage consent verify --proof ${opts.out} [--db LOG_REPLICA_DIR]\`\n`)
  }
  return bundle
}
