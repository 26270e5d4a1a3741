/** `fedlineage coordinator --config hub.json`: run the research hub's coordinator until stopped. */
import { toHex } from '../../ledger/index.ts'
import { loadHubConfig } from '../config.ts'
import { startCoordinator } from '../coordinator.ts'

export interface CoordinatorCommandOptions {
  readonly config: string
  readonly exitWhenDone?: boolean
}

export async function runCoordinator(opts: CoordinatorCommandOptions): Promise<void> {
  const config = await loadHubConfig(opts.config)
  const coordinator = await startCoordinator(config)
  // The demo and scripts read this line to learn the bound port; keep its shape stable.
  process.stdout.write(`coordinator listening on ${coordinator.address} (study ${coordinator.runner.state.studyId}, log ${coordinator.ledger.length} entries)\n`)
  for (const addr of coordinator.p2pAddrs) process.stdout.write(`log replica on ${addr}\n`)
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
