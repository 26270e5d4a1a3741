/**
 * Runs the `fedlineage` executable as a user runs it, in a child process,
 * and records what it loaded (import-recorder.mjs): the module URLs and
 * files, and the CPU time it used. For the tests and the bench of how fast
 * the CLI starts.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The executable: the package's `bin`. */
export const LAUNCHER = path.join(ROOT, 'bin/fedlineage.mjs')
const RECORDER = fileURLToPath(new URL('./import-recorder.mjs', import.meta.url))

/**
 * What loading a command must not pull in when it does not run: TF.js,
 * libp2p, LevelDB and gRPC, matched on the installed package's path.
 */
export const HEAVY_PACKAGE = /\/node_modules\/(@tensorflow\/[^/]+|libp2p|@libp2p\/[^/]+|@chainsafe\/libp2p-[^/]+|level|classic-level|abstract-level|@grpc\/[^/]+)\//

export interface RecordedRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  /** Every module URL (ESM) or file (CommonJS) the process loaded, in order, without repeats. */
  readonly modules: readonly string[]
  /** User + system CPU time of the process. */
  readonly cpuMs: number
  readonly wallMs: number
}

/** Runs `node [--import recorder] <script> ...args`; `script` defaults to the launcher. */
export async function runRecorded(args: readonly string[], init: { readonly env?: NodeJS.ProcessEnv; readonly script?: string; readonly cwd?: string } = {}): Promise<RecordedRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-imports-'))
  const log = path.join(dir, 'imports.log')
  try {
    const started = performance.now()
    const { status, stdout, stderr } = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', RECORDER, init.script ?? LAUNCHER, ...args], {
        cwd: init.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: '1', ...init.env, FEDLINEAGE_IMPORT_LOG: log },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve({ status: code, stdout: out, stderr: err }))
    })
    const wallMs = performance.now() - started
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '')
    const modules = [...new Set(lines.filter((l) => l.startsWith('esm ') || l.startsWith('cjs ')).map((l) => l.slice(4)))]
    const cpu = lines.find((l) => l.startsWith('cpu '))
    return { status, stdout, stderr, modules, cpuMs: cpu === undefined ? Number.NaN : Number(cpu.slice(4)), wallMs }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The heavy packages among `modules`, by name (see HEAVY_PACKAGE). */
export function heavyPackages(modules: readonly string[]): string[] {
  return [...new Set(modules.map((m) => HEAVY_PACKAGE.exec(m)?.[1]).filter((p): p is string => p !== undefined))].sort()
}

/** Runs the launcher with `args` as a user would and gives its exit code and its stdout and stderr interleaved as they came. */
export function runLauncher(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, out }))
  })
}
