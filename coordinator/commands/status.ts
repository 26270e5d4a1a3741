/** `fedlineage status --coordinator HOST:PORT`: a study's rounds, as a table. */
import type { Command } from 'commander'
import { HubClient } from '../hub-client.ts'
import { formatConsentTable, formatRoundTable } from '../round-table.ts'

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("print a study's rounds (sites, examples, loss, validation accuracy and AUC, model hash)")
    .requiredOption('--coordinator <host:port>', 'coordinator address')
    .action(async (opts: { coordinator: string }) => {
      const client = new HubClient(opts.coordinator)
      try {
        const status = await client.status()
        process.stdout.write(`study ${status.studyId}: ${status.committedRounds}/${status.roundsTarget} rounds committed${status.done ? ', done' : ''}\n`)
        process.stdout.write(formatRoundTable(status.rounds) + '\n')
        const consent = formatConsentTable(status.rounds)
        if (consent !== '') process.stdout.write(`\nconsent per round and site:\n${consent}\n`)
      } finally {
        client.close()
      }
    })
}
