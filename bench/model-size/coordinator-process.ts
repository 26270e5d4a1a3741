/**
 * The coordinator of `bench:model-size`, in a process of its own so that the
 * bench can read its resident memory from /proc without counting the sites'
 * copies of their deltas. Reads a hub config (JSON) from argv[2] and the hub
 * key seed (hex) from argv[3]; prints one JSON line per event on stdout:
 * `{ ready, address }`, then `{ timing, round, phase, ms }` and
 * `{ committed, round }`.
 */
import { readFile } from 'node:fs/promises'
import { pino } from 'pino'
import { parseHubConfig, startCoordinator } from '../../coordinator/index.ts'
import { fromHex, signerFromSeed } from '../../ledger/index.ts'

const [configFile, seedHex] = process.argv.slice(2)
if (configFile === undefined || seedHex === undefined) throw new Error('usage: coordinator-process.ts <hub config json> <hub key seed hex>')
const config = parseHubConfig(JSON.parse(await readFile(configFile, 'utf8')), configFile, process.cwd())
const coordinator = await startCoordinator(config, { signer: signerFromSeed(fromHex(seedHex)), logger: pino({ level: 'silent' }) })
const say = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(value)}\n`)
coordinator.on('timing', (round, phase, ms) => say({ timing: true, round, phase, ms }))
coordinator.on('round-committed', (round) => say({ committed: true, round }))
coordinator.on('round-abandoned', (round, reason) => say({ abandoned: true, round, reason }))
say({ ready: true, address: coordinator.address })
process.on('SIGTERM', () => {
  void coordinator.close().then(() => process.exit(0))
})
