/** `fedlineage status --coordinator HOST:PORT`: a study's rounds, as a table. */
import { connectHub, type ConnectOptions } from './connect-options.ts'
import { formatConsentTable, formatRoundTable, formatSiteControl } from '../round-table.ts'

export async function printStatus(opts: ConnectOptions): Promise<void> {
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
}
