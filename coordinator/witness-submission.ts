/**
 * The coordinator's side of witnessing: every checkpoint the round runner
 * signs goes to each witness of the study's policy that has a URL
 * (tlog-witness `add-checkpoint`), and their cosignatures are kept beside
 * the checkpoint in the log's store, where `log checkpoint`, the dashboard
 * and the audit find them. Submission never waits for a witness: a round
 * goes on whether the witnesses answer or not (the audit is what holds the
 * log to the quorum).
 */
import type { Logger } from 'pino'
import { WitnessSubmitter, parseWitnessPolicy, type Ledger } from '../ledger/index.ts'
import type { RoundRunner } from './round-runner.ts'

/** Starts submitting to the policy's witnesses; undefined when the policy names none with a URL (or there is no policy). */
export async function startWitnessSubmission(policyText: string | undefined, ledger: Ledger, runner: RoundRunner, logger: Logger): Promise<WitnessSubmitter | undefined> {
  if (policyText === undefined) return undefined
  // Validated when hub.json was loaded.
  const policy = parseWitnessPolicy(policyText)
  const witnesses = policy.witnesses.flatMap((w) => (w.url === undefined ? [] : [{ name: w.name, key: w.key, url: w.url }]))
  const offline = policy.witnesses.filter((w) => w.url === undefined).map((w) => w.name)
  if (offline.length > 0) logger.info({ witnesses: offline }, 'witnesses without a URL in the policy: their cosignatures must reach the log another way')
  if (witnesses.length === 0) return undefined
  const submitter = new WitnessSubmitter(ledger, { witnesses, logger })
  submitter.on('cosigned', (witness, size) => logger.debug({ witness, size }, 'checkpoint cosigned by witness'))
  runner.on('checkpoint', (cp) => submitter.submit(cp))
  // A restarted coordinator sends its newest checkpoint at once: the witnesses may have missed it.
  const latest = await ledger.latestCheckpoint()
  if (latest !== undefined) submitter.submit(latest)
  logger.info({ witnesses: witnesses.map((w) => `${w.name} ${w.url}`), quorum: policy.quorum }, 'submitting checkpoints to witnesses')
  return submitter
}
