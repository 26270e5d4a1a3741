/**
 * Bench: FLamby's Fed-Heart-Disease FedAvg benchmark, run through the real
 * coordinator and four site agents over gRPC on 127.0.0.1, compared with
 * FLamby's published FedAvg numbers (read from the data folder).
 *
 * Usage: npm run bench:flamby [-- --data DIR] [--seeds 42,43] [--rounds N]
 *   --data    the heart-disease data folder (default ../shared/data/heart-disease from the repo root)
 *   --seeds   comma-separated run seeds (default 42,43,44,45,46, FLamby's)
 *   --rounds  rounds per run (default 15, FLamby's); for quick runs only
 * Prints a table and, for the full protocol only (default seeds and rounds),
 * writes bench/results/flamby-heart.json (key "fedavg"); a quick run never
 * overwrites the recorded result.
 *
 * Two pooled numbers: `pooled test`, the example-weighted mean of the four
 * client test accuracies (what the sites report), and `pooled (FLamby)`,
 * FLamby's own "Pooled Test", which standardises all test rows with the
 * pooled train statistics. FLamby's published 0.748 is the latter; its
 * per-seed files give 0.706 for the former.
 * Patient rows go only to a temp dir, removed at the end.
 */
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { backendName } from '../models/index.ts'
import { prepareHeartDiseaseCenters } from './flamby/heart-disease.ts'
import { HEART_ROUNDS, HEART_SEEDS, protocolDescription } from './flamby/protocol.ts'
import { readFlambyReference } from './flamby/reference.ts'
import { formatTable, summarize } from './flamby/report.ts'
import { runSeed, type SeedResult } from './flamby/run-seed.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_DATA_DIR = resolve(REPO_ROOT, '../shared/data/heart-disease')
const RESULTS_FILE = join(REPO_ROOT, 'bench/results/flamby-heart.json')
const STRATEGY = 'fedavg'
const FLAMBY_METHOD = 'FedAvg100'

class UsageError extends Error {
  readonly code = 'BENCH_USAGE'
}

interface Options {
  readonly dataDir: string
  readonly seeds: readonly number[]
  readonly rounds: number
  /** Default seeds and rounds: the run FLamby's numbers compare with, and the only one written to the results file. */
  readonly fullProtocol: boolean
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({ args: [...argv], options: { data: { type: 'string' }, seeds: { type: 'string' }, rounds: { type: 'string' } }, strict: true })
  const seeds = values.seeds === undefined ? HEART_SEEDS : values.seeds.split(',').map((s) => Number(s.trim()))
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`--seeds ${values.seeds}: want comma-separated non-negative integers, e.g. --seeds 42,43`)
  const rounds = values.rounds === undefined ? HEART_ROUNDS : Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds ${values.rounds}: want a positive integer`)
  const dataDir = resolve(values.data ?? DEFAULT_DATA_DIR)
  if (!existsSync(join(dataDir, 'flamby_heart_split.csv'))) {
    throw new UsageError(
      values.data === undefined
        ? `no heart-disease data at the default ${dataDir}; pass the folder holding processed.*.data and flamby_heart_split.csv: npm run bench:flamby -- --data DIR`
        : `--data ${dataDir}: no flamby_heart_split.csv there; pass the folder holding processed.*.data and flamby_heart_split.csv`,
    )
  }
  return { dataDir, seeds, rounds, fullProtocol: values.seeds === undefined && values.rounds === undefined }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const reference = await readFlambyReference(options.dataDir, FLAMBY_METHOD)
  const workDir = await mkdtemp(join(tmpdir(), 'fedlineage-flamby-'))
  const cleanup = () => rmSync(workDir, { recursive: true, force: true })
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  const results: SeedResult[] = []
  const progress = benchProgress(options.seeds.length * options.rounds, 'FLamby heart')
  try {
    const centers = await prepareHeartDiseaseCenters(options.dataDir, join(workDir, 'centers'))
    for (const seed of options.seeds) {
      results.push(await runSeed({ centers, seed, rounds: options.rounds, workDir, onRound: (r) => progress.tick(`seed ${seed} round ${r}/${options.rounds}`) }))
    }
  } finally {
    progress.stop()
    cleanup()
  }

  const environment = { ...benchEnvironment(), backend: backendName() ?? 'unknown' }
  const result = summarize(results, reference, protocolDescription(options.rounds), environment)
  const title = `FLamby Fed-Heart-Disease · FedAvg · ${options.rounds} rounds × 100 local steps · 4 site agents over gRPC · test accuracy`
  console.log(formatTable(title, result, reference))

  if (!options.fullProtocol) {
    console.log(`not written to ${relative(process.cwd(), RESULTS_FILE)}: --seeds/--rounds differ from the full protocol`)
    return
  }
  const existing = existsSync(RESULTS_FILE) ? (JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {}
  await mkdir(join(REPO_ROOT, 'bench/results'), { recursive: true })
  await writeFile(RESULTS_FILE, stableJson({ ...existing, [STRATEGY]: result }))
  console.log(`wrote ${relative(process.cwd(), RESULTS_FILE)}`)
}

main().catch((err: unknown) => {
  const e = err as { code?: unknown; message?: string }
  console.error(`${typeof e.code === 'string' ? e.code : 'BENCH_FAILED'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
