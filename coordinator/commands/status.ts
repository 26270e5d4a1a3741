/** `fedlineage status --coordinator HOST:PORT`: a study's rounds, as a table. */
import type { Command } from 'commander'
import { addConnectOptions, connectHub, type ConnectOptions } from './connect-options.ts'
import { formatConsentTable, formatRoundTable, formatSiteControl } from '../round-table.ts'

export function registerStatusCommand(program: Command): void {
  const cmd = program
    .command('status')
    .description("print a study's rounds (sites, examples, loss, validation accuracy and AUC, model hash)")
    .requiredOption('--coordinator <host:port>', 'coordinator address')
    .option('--key <file>', 'with TLS: the key your certificate was issued for (hub, site or auditor)')
  addConnectOptions(cmd).action(async (opts: ConnectOptions) => {
    const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
    try {
      const status = await client.status()
      process.stdout.write(`study ${status.studyId}: ${status.committedRounds}/${status.roundsTarget} rounds committed${status.done ? ', done' : ''}\n`)
      process.stdout.write(formatRoundTable(status.rounds) + '\n')
      const consent = formatConsentTable(status.rounds)
      if (consent !== '') process.stdout.write(`\nconsent per round and site:\n${consent}\n`)
      const control = formatSiteControl(status)
      if (control !== '') process.stdout.write(`\nsite control (approvals, declined tasks):\n${control}\n`)
    } finally {
      client.close()
    }
  })
}
