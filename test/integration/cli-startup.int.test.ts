/**
 * `fedlineage --help`, `--version`, each command's help and a usage error
 * load commander and the command definitions, never TF.js, libp2p, LevelDB
 * or gRPC: a command loads those when it runs. Checked on the executable as
 * a user runs it, from the build in dist/ (what `npm install` leaves) and
 * from the sources (FEDLINEAGE_FROM_SOURCE=1), by recording every module the
 * process loads. How long it takes is bench/cli-startup.ts's job; the bound
 * here is only the old cost's order of magnitude.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT, heavyPackages, runRecorded } from '../helpers/cli-process.ts'

/** Runs from the build load its files from dist/ and no TypeScript source of ours. */
const fromBuild = (modules: readonly string[]) => modules.some((m) => m.includes('/dist/')) && !modules.some((m) => m.startsWith(`file://${ROOT}`) && m.endsWith('.ts'))

/** Before the split, `--help` cost about 2 s of CPU from the sources; from the build it costs about 0.1 s. */
const HELP_CPU_BOUND_MS = 1000

const LIGHT_RUNS: readonly (readonly string[])[] = [
  ['--help'],
  ['--version'],
  ['audit', '--help'],
  ['site', '--help'],
  ['coordinator', '--help'],
  ['model', 'export', '--help'],
  ['consent', 'verify', '--help'],
]

beforeAll(async () => {
  // What `npm install` leaves; a developer's edits since then make the launcher run the sources, so build them.
  if (!fromBuild((await runRecorded(['--version'])).modules)) await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/build.mjs')], { cwd: ROOT })
})

describe.each([
  ['the build in dist/', {}],
  ['the sources (FEDLINEAGE_FROM_SOURCE=1)', { FEDLINEAGE_FROM_SOURCE: '1' }],
])('fedlineage run from %s', (from, env) => {
  it.each(LIGHT_RUNS.map((args) => [args.join(' '), args] as const))('fedlineage %s loads no TF.js, libp2p, LevelDB or gRPC', async (_, args) => {
    // Execute
    const run = await runRecorded(args, { env })
    // Assert
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.modules.some((m) => m.includes('/node_modules/commander/'))).toBe(true)
    expect(heavyPackages(run.modules)).toEqual([])
    expect(fromBuild(run.modules)).toBe(from.startsWith('the build'))
  })

  it('prints a usage error with help, exit 1, and loads no heavy package for it', async () => {
    const run = await runRecorded(['audit', '--no-such-option'], { env })
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/unknown option '--no-such-option'/)
    expect(heavyPackages(run.modules)).toEqual([])
  })

  it('loads LevelDB once a command that reads a log runs (the recorder sees heavy packages)', async () => {
    // Prepare
    const empty = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-no-log-'))
    try {
      // Execute
      const run = await runRecorded(['log', 'verify', '--db', empty], { env })
      // Assert
      expect(run.stderr).toMatch(/^LEDGER_DATABASE_MISSING: /)
      expect(heavyPackages(run.modules)).toContain('level')
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })
})

describe('fedlineage --help from the build', () => {
  it(`uses under ${HELP_CPU_BOUND_MS} ms of CPU`, async () => {
    const run = await runRecorded(['--help'])
    expect(fromBuild(run.modules)).toBe(true)
    expect(run.cpuMs).toBeLessThan(HELP_CPU_BOUND_MS)
  })
})
