/**
 * Bench: how fast `fedlineage` starts. Wall and CPU time (median of RUNS
 * runs each) of `--help`, `--version`, a few commands' help, and one real
 * light command (`keygen`), for the launcher running the build in dist/
 * (what `npm install` leaves) and, as the baseline measured in the same run,
 * the launcher running the sources through tsx (FEDLINEAGE_FROM_SOURCE=1).
 * The build is refreshed first, so it is of the sources measured.
 *
 * Usage: npm run bench:cli [-- --runs N]
 * Writes bench/results/cli-startup.json.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { stableJson } from './support/stable-json.ts'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const LAUNCHER = path.join(ROOT, 'bin/fedlineage.mjs')
const CPU_PRELOAD = fileURLToPath(new URL('./cli-startup/cpu-at-exit.mjs', import.meta.url))
/** The goal of issue 11: `--help` and `--version` under this wall time. */
const GOAL_WALL_MS = 500

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const RUNS = Number(values.runs)

interface Timing {
  readonly wallMs: number
  readonly cpuMs: number
}

/** One run of the launcher: its wall time, and its CPU time as the preload reports it. */
async function once(args: readonly string[], env: NodeJS.ProcessEnv, scratch: string): Promise<Timing> {
  const log = path.join(scratch, 'cpu')
  const started = performance.now()
  const status = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', CPU_PRELOAD, LAUNCHER, ...args], { cwd: ROOT, env: { ...process.env, ...env, FEDLINEAGE_CPU_LOG: log }, stdio: 'ignore' })
    child.on('error', reject)
    child.on('close', resolve)
  })
  const wallMs = performance.now() - started
  if (status !== 0) throw new Error(`fedlineage ${args.join(' ')} exited ${status}`)
  return { wallMs, cpuMs: Number(await readFile(log, 'utf8')) }
}

const scratch = await mkdtemp(path.join(tmpdir(), 'fedlineage-bench-cli-'))
const CASES: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  { name: '--help', args: ['--help'] },
  { name: '--version', args: ['--version'] },
  { name: 'audit --help', args: ['audit', '--help'] },
  { name: 'site check --help', args: ['site', 'check', '--help'] },
  { name: 'model export --help', args: ['model', 'export', '--help'] },
  { name: 'keygen (a real command)', args: ['keygen', '--out', path.join(scratch, 'keys'), '--name', 'bench', '--force'] },
]
const LAUNCHES = [
  { name: 'build', env: {} },
  { name: 'source (tsx)', env: { FEDLINEAGE_FROM_SOURCE: '1' } },
] as const

const env = benchEnvironment()
console.log(`fedlineage CLI startup: ${RUNS} runs each, median; Node ${env.node}, ${env.cpu}, load average ${loadavg()[0]!.toFixed(2)}`)
console.log(execFileSync(process.execPath, [path.join(ROOT, 'bin/build.mjs')], { cwd: ROOT, encoding: 'utf8' }).trim())

const rows: { command: string; launch: string; wallMs: number; cpuMs: number }[] = []
try {
  for (const c of CASES)
    for (const l of LAUNCHES) {
      await once(c.args, l.env, scratch) // warm the file cache (and tsx's own cache), as every run after the first is
      const runs: Timing[] = []
      for (let i = 0; i < RUNS; i++) runs.push(await once(c.args, l.env, scratch))
      rows.push({ command: c.name, launch: l.name, wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)) })
    }
} finally {
  await rm(scratch, { recursive: true, force: true })
}

const header = `${'command'.padEnd(26)}${'launch'.padEnd(14)}${'wall ms'.padStart(9)}${'cpu ms'.padStart(9)}${'vs source'.padStart(11)}`
console.log(`\n${header}\n${'-'.repeat(header.length)}`)
for (const r of rows) {
  const source = rows.find((s) => s.command === r.command && s.launch === 'source (tsx)')!
  const ratio = r.launch === 'build' ? `${(source.wallMs / r.wallMs).toFixed(1)}x` : ''
  console.log(`${r.command.padEnd(26)}${r.launch.padEnd(14)}${r.wallMs.toFixed(0).padStart(9)}${r.cpuMs.toFixed(0).padStart(9)}${ratio.padStart(11)}`)
}
const help = rows.filter((r) => r.launch === 'build' && (r.command === '--help' || r.command === '--version'))
console.log(`\ngoal: --help and --version under ${GOAL_WALL_MS} ms wall from the build: ${help.every((r) => r.wallMs < GOAL_WALL_MS) ? 'met' : 'NOT met'}`)

const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
await writeFile(new URL('cli-startup.json', dir), stableJson({ bench: 'cli-startup', environment: { ...env, loadAverage1m: loadavg()[0] }, runs: RUNS, goalWallMs: GOAL_WALL_MS, results: rows }))
console.log('wrote bench/results/cli-startup.json')
