/**
 * The site's optional C2SP witness (site.json `witness`): started once the
 * agent knows the coordinator's key (at its first hello), signing with the
 * site's own key, following only this study's log. The coordinator reaches
 * it at the URL the study's witness policy gives for it.
 */
import type { Logger } from 'pino'
import { checkpointVerifierKey, logOrigin, parseVerifierKey, startWitness, type RunningWitness, type Signer } from '../ledger/index.ts'
import type { SiteConfig } from './config.ts'
import { SiteConfigError } from './errors.ts'

/** Starts the witness `config.witness` describes. Throws `SiteConfigError` on a bad `witness.log` or a port it cannot bind. */
export async function startSiteWitness(config: SiteConfig, signer: Signer, coordinatorKey: Uint8Array, logger: Logger): Promise<RunningWitness | undefined> {
  const w = config.witness
  if (w === undefined) return undefined
  let log
  try {
    log = parseVerifierKey(w.log ?? checkpointVerifierKey(logOrigin(config.study), coordinatorKey))
  } catch (err) {
    throw new SiteConfigError(`witness.log: ${(err as Error).message}`, { cause: err })
  }
  const at = w.listen.lastIndexOf(':')
  let witness: RunningWitness
  try {
    witness = await startWitness({
      signer,
      logs: [log],
      stateDir: w.stateDir ?? `${config.stateDir}/${config.siteId}-witness`,
      host: w.listen.slice(0, at),
      port: Number(w.listen.slice(at + 1)),
      logger: logger.child({ component: 'witness' }),
    })
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE') throw new SiteConfigError(`witness.listen ${w.listen}: the port is in use; pick a free one`, { cause: err })
    throw err
  }
  logger.info({ url: witness.url, verifierKey: witness.verifierKey, log: log.name }, 'witness listening: name it in the study witnessPolicy as `witness <name> <verifierKey> <url>`')
  return witness
}
