/** `fedlineage round start`: the research hub opens the next round (signed by the hub key); `round abort` is in round-abort.ts. */
import type { Command } from 'commander'
import { loadSigner, toHex } from '../../ledger/index.ts'
import { addConnectOptions, connectHub, type ConnectOptions } from './connect-options.ts'
import { registerRoundAbortCommand } from './round-abort.ts'

export function registerRoundCommands(program: Command): void {
  const round = program.command('round').description('research hub: control rounds')
  const start = round
    .command('start')
    .description('open the next round; the request is signed with the hub key')
    .requiredOption('--coordinator <host:port>', 'coordinator address')
    .requiredOption('--key <file>', 'the hub key file (fedlineage keygen)')
  addConnectOptions(start).action(async (opts: ConnectOptions & { key: string }) => {
    const signer = await loadSigner(opts.key)
    const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
    try {
      const res = await client.startNextRound(signer)
      process.stdout.write(`round ${res.round} opened from model ${toHex(res.baseModelHash).slice(0, 16)} (log entry ${res.logSeq})\n`)
    } finally {
      client.close()
    }
  })
  registerRoundAbortCommand(round)
}
