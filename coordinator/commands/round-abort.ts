/**
 * `fedlineage round abort --round N --reason TEXT`: the research hub aborts
 * the open round with a request signed by the hub key. The coordinator logs
 * it (`round-aborted`, with the reason and the hub key), the round closes
 * without a model, sites drop their task, and `round start` opens the next.
 */
import { processIo, type CliIo } from '../../cli/index.ts'
import { loadSigner } from '../../ledger/index.ts'
import { CoordinatorConfigError } from '../errors.ts'
import { connectHub, type ConnectOptions } from './connect-options.ts'

export type RoundAbortOptions = ConnectOptions & { readonly key: string; readonly round: string; readonly reason: string }

/** Signs and sends the abort; prints the round and its log entry. */
export async function abortRound(opts: RoundAbortOptions, io: CliIo = processIo()): Promise<void> {
  const round = Number(opts.round)
  if (!Number.isSafeInteger(round) || round < 1) throw new CoordinatorConfigError(`--round ${opts.round}: must be a round number (1 or more); \`fedlineage status\` shows the open round`)
  if (opts.reason.trim() === '') throw new CoordinatorConfigError('--reason: say why the round is aborted; the reason goes into the log')
  const signer = await loadSigner(opts.key)
  const client = await connectHub(opts, (line) => io.stderr.write(`${line}\n`))
  try {
    const res = await client.abortRound(signer, { round, reason: opts.reason })
    io.stdout.write(`round ${res.round} aborted (log entry ${res.logSeq}): ${opts.reason}\nopen the next round with \`fedlineage round start\`\n`)
  } finally {
    client.close()
  }
}
