/**
 * The coordinator under test in its own process, so the abuse bench can read
 * its memory from /proc without counting the attackers'. Started by
 * `bench/abuse.ts` with one JSON argument (`CoordinatorProcessInit`); prints
 * one line `{"port": N}` once listening, and runs until stdin closes.
 *
 * `root` is the checkout whose coordinator runs: this one by default, or
 * another worktree (e.g. main) to measure the same attacks before a change.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import type * as CoordinatorModule from '../../coordinator/index.ts'
import type * as LedgerModule from '../../ledger/index.ts'

export interface CoordinatorProcessInit {
  readonly root: string
  readonly study: unknown
  readonly sites: readonly { id: string; publicKey: string }[]
  readonly hubSeedByte: number
  readonly limits?: Record<string, number>
}

const init = JSON.parse(process.argv[2] ?? '{}') as CoordinatorProcessInit
const coordinatorModule = (await import(pathToFileURL(path.join(init.root, 'coordinator/index.ts')).href)) as typeof CoordinatorModule
const ledgerModule = (await import(pathToFileURL(path.join(init.root, 'ledger/index.ts')).href)) as typeof LedgerModule
const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-abuse-'))
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
process.stdout.write(`${JSON.stringify({ port: coordinator.port })}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  void coordinator
    .close()
    .then(() => rm(dir, { recursive: true, force: true }))
    .finally(() => process.exit(0))
})
