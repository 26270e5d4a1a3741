/**
 * The import graph of STYLE.md §1, checked on every test run: each folder
 * reaches another only through its `index.ts` (or its `core/index.ts`), only
 * along the allowed edges, only `models/` touches TF.js, and `core/` folders
 * stay free of I/O so the auditor can replay with them.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CODE_FOLDERS = ['protos', 'models', 'ledger', 'pki', 'protocol', 'coordinator', 'site-agent', 'auditor', 'cli', 'web'] as const
type Folder = (typeof CODE_FOLDERS)[number]

/** Which of our folders each folder may import (through their public surfaces). */
const ALLOWED: Record<Folder, readonly string[]> = {
  protos: [],
  models: [],
  // The ledger's commands (keygen, log) write through the CLI runtime; its core never does (checked below).
  ledger: ['cli'],
  // The study's PKI reads identity key files through the ledger; its provision command writes through the CLI runtime.
  pki: ['ledger', 'cli'],
  protocol: ['ledger/core', 'models/core'],
  coordinator: ['protocol', 'models', 'ledger', 'pki', 'protos', 'cli', 'web'],
  'site-agent': ['protocol', 'models', 'ledger', 'pki', 'protos', 'cli', 'web'],
  auditor: ['protocol', 'ledger', 'models/core', 'cli', 'web'],
  // The CLI runtime knows commander, and nothing of ours.
  cli: [],
  // The pages' static files (dashboard, HTML report) and the read-only HTTP server; its loopback rule is pki's.
  web: ['pki'],
}

/** Every edge between our folders that exists, which the closing notes of refactors quote. */
const EDGES = [
  'auditor -> cli',
  'auditor -> ledger',
  'auditor -> ledger/core',
  'auditor -> models/core',
  'auditor -> protocol',
  'auditor -> web',
  'coordinator -> cli',
  'coordinator -> ledger',
  'coordinator -> models',
  'coordinator -> pki',
  'coordinator -> protocol',
  'coordinator -> protos',
  'coordinator -> web',
  'ledger -> cli',
  'pki -> cli',
  'pki -> ledger',
  'protocol -> ledger/core',
  'protocol -> models/core',
  'site-agent -> cli',
  'site-agent -> ledger',
  'site-agent -> ledger/core',
  'site-agent -> models',
  'site-agent -> models/core',
  'site-agent -> pki',
  'site-agent -> protocol',
  'site-agent -> protos',
  'site-agent -> web',
  'web -> pki',
]

/**
 * Modules a pure `core/` file may import besides its own folder's core and errors.
 * tweetnacl (X25519, secretbox) and shamir-secret-sharing are pure computation with
 * no I/O; secure aggregation (protocol/secagg/) needs them in the decider and the audit.
 */
const CORE_ALLOWED_PACKAGES = new Set(['node:crypto', 'zod', 'cborg', 'tweetnacl', 'shamir-secret-sharing'])

/**
 * models/core alone may also start the aggregation kernel's second thread
 * (models/core/aggregate-second-thread.ts, and only that file): a worker that
 * computes half of the same parameters with the same arithmetic, posted and
 * awaited within one synchronous call, so results stay a function of the inputs alone.
 */
const CORE_THREAD_IMPORTS = new Map([['models/core/aggregate-second-thread.ts', 'node:worker_threads']])

/** Packages the CLI runtime may import: it parses and prints, nothing more. */
const CLI_ALLOWED_PACKAGES = new Set(['commander'])

/** What a folder's cli.ts may load with the program: nothing that `fedlineage --help` does not need. */
const LIGHT_CLI_IMPORTS = new Set(['commander', '../cli/index.ts', './constants.ts'])

function tsFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'gen' || e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...tsFiles(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8')
  const specs: string[] = []
  // The clause before `from` is a name, `* as name`, or a braced list: never free text, so a template like `update from "${site}"` is no import.
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+['"]([^'"]+)['"]/g)) specs.push(m[1]!)
  for (const m of src.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) specs.push(m[1]!)
  for (const m of src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!)
  return specs
}

const rel = (p: string) => path.relative(ROOT, p).split(path.sep).join('/')

interface Edge {
  from: string
  spec: string
  target: string
}

function edges(): Edge[] {
  const out: Edge[] = []
  for (const top of [...CODE_FOLDERS, 'bin', 'bench', 'docs', 'test']) {
    let files: string[] = []
    try {
      files = tsFiles(path.join(ROOT, top))
    } catch {
      continue
    }
    for (const file of files) for (const spec of importsOf(file)) out.push({ from: rel(file), spec, target: spec.startsWith('.') ? rel(path.resolve(path.dirname(file), spec)) : spec })
  }
  return out
}

const folderOf = (p: string) => p.split('/')[0]!
const ALL = edges()

describe('module boundaries (STYLE.md §1)', () => {
  it('finds the code it checks', () => {
    expect(ALL.length).toBeGreaterThan(100)
  })

  it('crosses folders only through index.ts or core/index.ts, and only along allowed edges', () => {
    const bad: string[] = []
    for (const e of ALL) {
      if (!e.spec.startsWith('.')) continue
      const from = folderOf(e.from)
      const to = folderOf(e.target)
      if (from === to) continue
      // bench/ and docs/ have no public surface: their helpers are scripts that tests may exercise directly.
      // A folder's cli.ts is a second surface, for the program (bin/) and tests alone: its command definitions, without the folder's code.
      // bin/program.ts is the whole program, without running it: tests read its help.
      const cliSurface = (e.target === `${to}/cli.ts` && (from === 'bin' || from === 'test')) || (e.target === 'bin/program.ts' && from === 'test')
      const surface = to === 'bench' || to === 'docs' || e.target === `${to}/index.ts` || e.target === `${to}/core/index.ts` || cliSurface
      if (!surface) bad.push(`${e.from} imports ${e.target}: go through ${to}/index.ts`)
      if ((CODE_FOLDERS as readonly string[]).includes(from)) {
        const allowed = ALLOWED[from as Folder]
        const ok = allowed.includes(to) || (e.target.endsWith('/core/index.ts') && allowed.includes(`${to}/core`))
        if (!ok) bad.push(`${e.from} imports ${e.target}: ${from} may not depend on ${to}`)
      }
    }
    expect(bad).toEqual([])
  })

  // Tests and benches may use TF.js directly (a baseline to compare with, tensor-leak checks); product code may not.
  it('keeps TF.js inside models/', () => {
    const bad = ALL.filter((e) => e.spec.startsWith('@tensorflow/') && !['models', 'test', 'bench'].includes(folderOf(e.from))).map((e) => `${e.from} imports ${e.spec}`)
    expect(bad).toEqual([])
  })

  it('keeps core/ folders and protocol/ pure: no I/O modules, no shell files', () => {
    const bad: string[] = []
    for (const e of ALL) {
      // protocol/ is pure as a whole: it is the core of every role.
      const m = /^([a-z-]+)\/core\//.exec(e.from) ?? (/^protocol\//.test(e.from) ? ['', 'protocol'] : null)
      if (!m) continue
      if (!e.spec.startsWith('.')) {
        if (!CORE_ALLOWED_PACKAGES.has(e.spec) && CORE_THREAD_IMPORTS.get(e.from) !== e.spec) bad.push(`${e.from} imports ${e.spec}`)
        continue
      }
      const sameCore = e.target.startsWith(m[1] === 'protocol' ? 'protocol/' : `${m[1]}/core/`)
      const ownErrors = e.target === `${m[1]}/errors.ts` || e.target === `${m[1]}/constants.ts`
      const otherCore = /^[a-z-]+\/core\/index\.ts$/.test(e.target) || e.target === 'protocol/index.ts'
      if (!sameCore && !ownErrors && !otherCore) bad.push(`${e.from} imports ${e.target}`)
    }
    expect(bad).toEqual([])
  })

  it('keeps the ledger free of the federation (protocol, coordinator) and of TF.js', () => {
    const bad = ALL.filter((e) => folderOf(e.from) === 'ledger' && (['coordinator', 'protocol'].includes(folderOf(e.target)) || e.spec.includes('tensorflow'))).map(
      (e) => `${e.from} imports ${e.spec}`,
    )
    expect(bad).toEqual([])
  })

  it('keeps TF.js and the I/O packages out of protocol/', () => {
    const bad = ALL.filter((e) => folderOf(e.from) === 'protocol' && !e.spec.startsWith('.') && !CORE_ALLOWED_PACKAGES.has(e.spec)).map((e) => `${e.from} imports ${e.spec}`)
    expect(bad).toEqual([])
  })

  it('keeps cli/ a runtime over commander alone', () => {
    const bad = ALL.filter((e) => folderOf(e.from) === 'cli' && !e.spec.startsWith('.') && !CLI_ALLOWED_PACKAGES.has(e.spec)).map((e) => `${e.from} imports ${e.spec}`)
    expect(bad).toEqual([])
  })

  // What `fedlineage --help` loads: each folder's cli.ts and what it imports. Loading a command's code is its action's job (`await import('./commands/x.ts')`).
  it("keeps each folder's cli.ts to command definitions: it loads commander, the CLI runtime and its own constants, and types", () => {
    const bad: string[] = []
    for (const folder of CODE_FOLDERS) {
      const file = path.join(ROOT, folder, 'cli.ts')
      let src: string
      try {
        src = readFileSync(file, 'utf8')
      } catch {
        continue
      }
      for (const m of src.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?\s+from\s+['"]([^'"]+)['"]/g)) {
        const [, , typeOnly, spec] = m
        if (typeOnly === undefined && !LIGHT_CLI_IMPORTS.has(spec!)) bad.push(`${folder}/cli.ts imports ${spec} at load: import it in the action instead`)
      }
    }
    expect(bad).toEqual([])
  })

  /** The edge list of our folders, as the closing note of a refactor reports it (printed with --reporter=verbose). */
  it('has exactly the documented folder edges', () => {
    const found = new Set<string>()
    for (const e of ALL) {
      if (!e.spec.startsWith('.')) continue
      const from = folderOf(e.from)
      const to = e.target.endsWith('/core/index.ts') ? `${folderOf(e.target)}/core` : folderOf(e.target)
      if (from !== folderOf(e.target) && (CODE_FOLDERS as readonly string[]).includes(from)) found.add(`${from} -> ${to}`)
    }
    expect([...found].sort()).toEqual(EDGES)
  })
})
