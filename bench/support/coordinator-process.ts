/**
 * A coordinator in a process of its own, for the benches that read its
 * memory from /proc without counting their clients (`bench:abuse`,
 * `bench:model-size`). Started with one JSON argument
 * (`CoordinatorProcessInit`); prints one JSON line per event on stdout:
 * `{ ready, address, port }` once listening, then `{ timing, round, phase, ms }`,
 * `{ committed, round }`, `{ abandoned, round, reason }` and, for each
 * durable append of the log, `{ appended, entries }`. It stops when its
 * stdin closes or on SIGTERM.
 *
 * `root` is the checkout whose coordinator runs: this one by default, or
 * another worktree (e.g. main) to measure the same load before a change.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { pino } from 'pino'
import type * as CoordinatorModule from '../../coordinator/index.ts'
import type * as LedgerModule from '../../ledger/index.ts'

export interface CoordinatorProcessInit {
  readonly root?: string
  readonly study: unknown
  readonly sites: readonly { id: string; publicKey: string }[]
  /** The hub key's seed is 32 bytes of this value. */
  readonly hubSeedByte: number
  readonly limits?: Record<string, number>
}

const init = JSON.parse(process.argv[2] ?? '{}') as CoordinatorProcessInit
const root = init.root ?? fileURLToPath(new URL('../..', import.meta.url))
const coordinatorModule = (await import(pathToFileURL(path.join(root, 'coordinator/index.ts')).href)) as typeof CoordinatorModule
const ledgerModule = (await import(pathToFileURL(path.join(root, 'ledger/index.ts')).href)) as typeof LedgerModule
const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-coordinator-'))
const config = coordinatorModule.parseHubConfig(
  {
    study: init.study,
    listen: '127.0.0.1:0',
    dataDir: path.join(dir, 'ledger'),
    keyFile: path.join(dir, 'unused.key'),
    sites: init.sites,
    p2p: { enabled: false },
    ...(init.limits === undefined ? {} : { limits: init.limits }),
  },
  'bench hub config',
  dir,
)
const coordinator = await coordinatorModule.startCoordinator(config, {
  signer: ledgerModule.signerFromSeed(new Uint8Array(32).fill(init.hubSeedByte)),
  logger: pino({ level: 'silent' }),
})
const say = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(value)}\n`)
coordinator.on('timing', (round, phase, ms) => say({ timing: true, round, phase, ms }))
coordinator.on('round-committed', (round) => say({ committed: true, round }))
coordinator.on('round-abandoned', (round, reason) => say({ abandoned: true, round, reason }))
coordinator.on('appended', (records) => say({ appended: true, entries: records.length }))
say({ ready: true, address: coordinator.address, port: coordinator.port })

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  void coordinator
    .close()
    .then(() => rm(dir, { recursive: true, force: true }))
    .finally(() => process.exit(0))
}
process.stdin.resume()
process.stdin.on('end', stop)
process.on('SIGTERM', stop)
