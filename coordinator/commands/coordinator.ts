/** `fedlineage coordinator --config hub.json`: run the research hub's coordinator until stopped. */
import type { Command } from 'commander'
import { toHex } from '../../ledger/index.ts'
import { loadHubConfig, withHttpListen } from '../config.ts'
import { startCoordinator } from '../coordinator.ts'
import { createHubLogger, resolveLogFormat } from '../log-format.ts'

export function registerCoordinatorCommand(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator of a study (gRPC server, round loop, lineage log)')
    .requiredOption('--config <file>', 'hub config (study, sites, listen address, data dir, key file)')
    .option('--exit-when-done', 'exit once the study has completed')
    .option('--log-format <format>', 'the log on stderr: json (one object per line), pretty (lines for people, round events in words), or auto: pretty on a terminal, json otherwise', 'auto')
    .option('--http <host:port>', 'serve the read-only dashboard and Prometheus /metrics here (overrides hub.json http.listen; port 0 picks one)')
    .action(async (opts: { config: string; exitWhenDone?: boolean; logFormat: string; http?: string }) => {
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
    })
}
