/** `fedlineage coordinator --config hub.json`: run the research hub's coordinator until stopped. */
import { toHex } from '../../ledger/index.ts'
import { loadHubConfig, withHttpListen } from '../config.ts'
import { startCoordinator } from '../coordinator.ts'
import { createHubLogger, resolveLogFormat } from '../log-format.ts'

export interface CoordinatorCommandOptions {
  readonly config: string
  readonly exitWhenDone?: boolean
  /** json, pretty or auto (pretty on a terminal). */
  readonly logFormat: string
  /** host:port of the dashboard and /metrics, overriding hub.json's http.listen. */
  readonly http?: string
}

export async function runCoordinator(opts: CoordinatorCommandOptions): Promise<void> {
  const format = resolveLogFormat(opts.logFormat, process.stderr.isTTY === true)
  const config = withHttpListen(await loadHubConfig(opts.config), opts.http)
  const logger = createHubLogger({ format, level: process.env['FEDLINEAGE_LOG_LEVEL'] ?? 'info' })
  const coordinator = await startCoordinator(config, { logger })
  // The demo and scripts read this line to learn the bound port; keep its shape stable.
  process.stdout.write(`coordinator listening on ${coordinator.address} (study ${coordinator.runner.state.studyId}, log ${coordinator.ledger.length} entries)\n`)
  for (const addr of coordinator.p2pAddrs) process.stdout.write(`log replica on ${addr}\n`)
  if (coordinator.httpAddress !== undefined) process.stdout.write(`dashboard on http://${coordinator.httpAddress}/ (metrics on /metrics)\n`)
  coordinator.on('round-committed', (round, model) => process.stdout.write(`round ${round} committed: model ${toHex(model).slice(0, 16)}\n`))
  const stop = async () => {
    await coordinator.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
  await coordinator.completed
  process.stdout.write(`study ${coordinator.runner.state.studyId} completed: ${coordinator.runner.state.committedRounds} rounds, log ${coordinator.ledger.length} entries\n`)
  if (opts.exitWhenDone) await stop()
  else await new Promise(() => undefined) // keep serving downloads and status until stopped
}
