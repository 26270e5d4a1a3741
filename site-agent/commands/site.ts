/** `fedlineage site --config site.json`: run a hospital's site agent until the study is done. */
import { pino, type Logger } from 'pino'
import { loadSigner, type Ledger } from '../../ledger/index.ts'
import { SiteAgent, type SiteAgentEvent } from '../agent.ts'
import { loadSiteConfig } from '../config.ts'
import { siteCredentials } from '../credentials.ts'
import { SiteConfigError } from '../errors.ts'
import { startSiteMetrics, type RunningSiteMetrics } from '../metrics.ts'

function describe(siteId: string, e: SiteAgentEvent): string | undefined {
  const p = `[${siteId}]`
  switch (e.type) {
    case 'joined':
      return [
        `${p} joined study ${e.study}: ${e.train} training and ${e.validation} validation records (${e.report.dropped.total} dropped), TF.js backend ${e.backend}`,
        ...e.report.warnings.map((w) => `${p} warning: ${w}`),
      ].join('\n')
    case 'consent': {
      const c = e.counts
      return `${p} round ${e.round}: consent at ${new Date(e.atMs).toISOString()}: ${c.consented} records of ${e.patients} consenting patients used; left out ${c.noConsent} without consent, ${c.expired} expired, ${c.notYetValid} not yet valid, ${c.revoked} revoked (${e.revoked} withdrawals proven absent); consent root ${e.root.slice(0, 16)}`
    }
    case 'dp-sgd':
      return `${p} round ${e.round}: DP-SGD (q ${e.q.toPrecision(3)}, σ ${e.noiseMultiplier}, C ${e.clipNorm}, ${e.steps} steps): site ε ${e.epsilon.toPrecision(4)} at δ ${e.delta}${e.budget === undefined ? '' : ` of budget ${e.budget}`}`
    case 'trained':
      return `${p} round ${e.round}: ${e.steps} local steps on ${e.examples} records, train loss ${e.trainLoss.toFixed(4)} (${(e.durationMs / 1000).toFixed(2)} s)`
    case 'uploaded':
      return `${p} round ${e.round}: signed delta accepted${e.logSeq >= 0 ? ` (log entry ${e.logSeq})` : ' (already logged)'}`
    case 'update-refused':
      return `${p} round ${e.round}: update refused: ${e.code ?? ''} ${e.message}`
    case 'evaluation-refused':
      return `${p} model of round ${e.round}: evaluation refused: ${e.code} ${e.message}`
    case 'evaluated':
      return `${p} model of round ${e.round}: validation ${Object.entries(e.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ')}`
    case 'approval':
      return `${p} approval of spec ${e.spec.slice(0, 16)}…${e.logSeq >= 0 ? ` logged (entry ${e.logSeq})` : e.code === 'COORD_UPDATE_REPLAYED' || e.code === 'COORD_APPROVAL_DUPLICATE' ? ' already logged' : ` not logged: ${e.code ?? ''}`}`
    case 'spec-unapproved':
      return `${p} SITE_SPEC_UNAPPROVED: every task is refused: ${e.reason}`
    case 'declined':
      return `${p} ${e.task === 'fit' ? `round ${e.round}: fit task declined` : `model of round ${e.round}: evaluation not reported`}: ${e.code}: ${e.reason}${e.logSeq >= 0 ? ` (logged as entry ${e.logSeq})` : ''}`
    case 'reconnecting':
      return `${p} reconnecting: ${e.reason}`
    case 'replicating':
      return `${p} replicating the lineage log from ${e.peers.length} peer(s)`
    case 'done':
      return `${p} study done after ${e.rounds} rounds; final model ${e.model.slice(0, 16)}${e.replicaEntries === undefined ? '' : `; verified replica holds ${e.replicaEntries} log entries`}`
  }
}

/** The metrics port, when asked for; a bad address or a port in use fails the start, naming the setting. */
async function siteMetricsFor(listen: string | undefined, logger: Logger, replica: () => Ledger | undefined): Promise<RunningSiteMetrics | undefined> {
  if (listen === undefined) return undefined
  if (!/^[^\s:]+:\d{1,5}$/.test(listen)) throw new SiteConfigError(`--metrics ${listen}: must be host:port, e.g. --metrics 127.0.0.1:9101`)
  try {
    return await startSiteMetrics(listen, (err) => logger.error({ err }, 'metrics request failed'), replica)
  } catch (err) {
    throw new SiteConfigError(`metrics ${listen}: cannot bind (${(err as Error).message}); pick a free port or another address`, { cause: err })
  }
}

export interface SiteCommandOptions {
  readonly config?: string
  readonly quiet?: boolean
  /** host:port of the site's /metrics, overriding site.json's metrics.listen. */
  readonly metrics?: string
}

/** Runs the site agent until the study is done or SIGTERM/SIGINT stops it. */
export async function runSite(opts: SiteCommandOptions): Promise<void> {
  if (opts.config === undefined) throw new SiteConfigError('fedlineage site: --config <file> is required: the site config (site id, study, coordinator address, key file, data)')
  const config = await loadSiteConfig(opts.config)
  const signer = await loadSigner(config.keyFile)
  const logger = pino({ level: process.env['FEDLINEAGE_LOG_LEVEL'] ?? 'warn' }, pino.destination(2))
  const credentials = await siteCredentials(config)
  const agent = new SiteAgent({ signer, logger, ...(credentials ? { credentials } : {}) }, config)
  if (!opts.quiet)
    agent.onEvent((e) => {
      const line = describe(config.siteId, e)
      if (line) process.stdout.write(line + '\n')
    })
  const metrics = await siteMetricsFor(opts.metrics ?? config.metrics?.listen, logger, () => agent.replicaLedger())
  if (metrics) {
    agent.onEvent((e) => metrics.record(e))
    process.stdout.write(`[${config.siteId}] metrics on http://${metrics.address}/metrics\n`)
  }
  const abort = new AbortController()
  process.once('SIGTERM', () => abort.abort())
  process.once('SIGINT', () => abort.abort())
  try {
    await agent.run(abort.signal)
  } catch (err) {
    // A stop request is a clean exit, not a failure.
    if (!abort.signal.aborted) throw err
    process.stderr.write(`site ${config.siteId}: stopped on request\n`)
  } finally {
    await metrics?.close()
  }
}
