/**
 * Bench: FLamby's Fed-Heart-Disease benchmark, every strategy FLamby reports,
 * run through the real coordinator and four site agents over gRPC on
 * 127.0.0.1, beside FLamby's two centralised baselines (Pooled Training and
 * Local 0-3, trained in this process), compared with FLamby's published
 * numbers (read from the data folder).
 *
 * Usage: npm run bench:flamby [-- --data DIR] [--strategies a,b] [--seeds 42,43] [--rounds N]
 *   --data        the heart-disease data folder (default ../shared/data/heart-disease from the repo root)
 *   --strategies  comma-separated keys (default: every implemented strategy, then pooled and local-0..3);
 *                 fedavg, fedprox, scaffold, cyclic, fedadam, fedyogi, fedadagrad, pooled, local-0 … local-3
 *   --seeds       comma-separated run seeds (default 42,43,44,45,46, FLamby's)
 *   --rounds      rounds per federated run (default 15, FLamby's); for quick runs only
 * Prints a table per strategy and a summary across them, and, for the full
 * protocol only (default seeds and rounds), writes each key's result into
 * bench/results/flamby-heart.json; a quick run never overwrites a recorded result.
 *
 * Two pooled numbers: `pooled test`, FLamby's own "Pooled Test", which
 * standardises all test rows with the pooled train statistics (FLamby's
 * published numbers are this one), and `pooled (sites)`, the
 * example-weighted mean of the four client test accuracies (what the sites
 * report). Patient rows go only to a temp dir, removed at the end.
 */
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { backendName } from '../models/index.ts'
import { BASELINE_EPOCHS, baselines, runBaseline, type Baseline } from './flamby/baselines.ts'
import { FLAMBY_CYCLIC_LEARNING_RATE, NumpyUnavailableError, runCyclicAsFlamby } from './flamby/cyclic-as-flamby.ts'
import { prepareHeartDiseaseCenters, type HeartCenter } from './flamby/heart-disease.ts'
import { HEART_ROUNDS, HEART_SEEDS, protocolDescription } from './flamby/protocol.ts'
import { readFlambyReference, type FlambyReference } from './flamby/reference.ts'
import { formatSummary, formatTable, summarize, type StrategyResult, type SummaryRow } from './flamby/report.ts'
import { runSeed, type SeedResult } from './flamby/run-seed.ts'
import { FLAMBY_STRATEGIES, strategySpec, type FlambyStrategy } from './flamby/strategies.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_DATA_DIR = resolve(REPO_ROOT, '../shared/data/heart-disease')
const RESULTS_FILE = join(REPO_ROOT, 'bench/results/flamby-heart.json')
/** The issue's floors for the strategies FLamby finds best on this dataset (FLamby pooled mean minus about 2 std). */
const TARGETS: Readonly<Record<string, number>> = { fedadam: 0.76, fedyogi: 0.76, cyclic: 0.77 }
const CENTER_IDS = [0, 1, 2, 3] as const

/** What explains a row that differs from FLamby's (see bench/flamby/cyclic-as-flamby.ts). */
const SUMMARY_NOTES: readonly { readonly key: string; readonly text: string }[] = [
  {
    key: 'cyclic-as-flamby',
    text: "cyclic vs FLamby: FLamby's Cyclic never passes a model between clients and scores client 0's own model (cyclic-as-flamby reproduces that: center 0 alone for its 3-4 turns); our cyclic passes the model on, as the algorithm says, and is scored on the model that visited every center.",
  },
  {
    key: 'fedadam',
    text: "fedadam: run with biasCorrection false, FLamby's rule (Flower's current FedAdam corrects the bias, which shrinks the early server steps about 4-6x at beta2 0.999).",
  },
]

class UsageError extends Error {
  readonly code = 'BENCH_USAGE'
}

/** One row of the run: a federated strategy, or a centralised baseline. */
type Job =
  | { readonly kind: 'strategy'; readonly strategy: FlambyStrategy }
  | { readonly kind: 'baseline'; readonly baseline: Baseline }
  /** FLamby's Cyclic as its benchmark scores it (cyclic-as-flamby.ts). */
  | { readonly kind: 'cyclic-as-flamby' }

interface Options {
  readonly dataDir: string
  /** Keys to run, in order. */
  readonly keys: readonly string[]
  readonly seeds: readonly number[]
  readonly rounds: number
  /** Default seeds and rounds: the run FLamby's numbers compare with, and the only one written to the results file. */
  readonly fullProtocol: boolean
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({ args: [...argv], options: { data: { type: 'string' }, strategies: { type: 'string' }, seeds: { type: 'string' }, rounds: { type: 'string' } }, strict: true })
  const baselineKeys = ['cyclic-as-flamby', 'pooled', ...CENTER_IDS.map((c) => `local-${c}`)]
  const known = [...FLAMBY_STRATEGIES.map((s) => s.key), ...baselineKeys]
  const keys = values.strategies === undefined ? known : values.strategies.split(',').map((k) => k.trim())
  const unknown = keys.filter((k) => !known.includes(k))
  if (unknown.length > 0) throw new UsageError(`--strategies: unknown ${unknown.join(', ')}; pick from ${known.join(', ')}`)
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
  return { dataDir, keys, seeds, rounds, fullProtocol: values.seeds === undefined && values.rounds === undefined }
}

function jobsOf(keys: readonly string[], centers: readonly HeartCenter[]): { jobs: Job[]; skipped: string[] } {
  const jobs: Job[] = []
  const skipped: string[] = []
  const all = baselines(centers)
  for (const key of keys) {
    const strategy = FLAMBY_STRATEGIES.find((s) => s.key === key)
    if (strategy !== undefined) {
      if (strategySpec(strategy, 0) === undefined) skipped.push(key)
      else jobs.push({ kind: 'strategy', strategy })
      continue
    }
    if (key === 'cyclic-as-flamby') {
      jobs.push({ kind: 'cyclic-as-flamby' })
      continue
    }
    const baseline = all.find((b) => b.key === key)
    if (baseline === undefined) throw new UsageError(`--strategies: no center for ${key} in the data`)
    jobs.push({ kind: 'baseline', baseline })
  }
  return { jobs, skipped }
}

function jobKey(job: Job): string {
  return job.kind === 'strategy' ? job.strategy.key : job.kind === 'baseline' ? job.baseline.key : 'cyclic-as-flamby'
}

function jobMethod(job: Job): string {
  return job.kind === 'strategy' ? job.strategy.flambyMethod : job.kind === 'baseline' ? job.baseline.flambyMethod : 'Cyclic100'
}

function cyclicAsFlambyProtocol(rounds: number): string {
  return [
    `FLamby's Cyclic100 reproduced as FLamby's benchmark computes it (flamby/strategies/cyclic.py, fed_benchmark.py): every client trains its own copy of the initial model, nothing passes between clients, and only client 0's model is scored;`,
    `so: center 0's train rows (its own statistics), SGD lr ${FLAMBY_CYCLIC_LEARNING_RATE}, batch 4, 100 steps per turn it gets among ${rounds} rounds in numpy default_rng(seed) cycle order (3 or 4 turns), in-process.`,
    `Our cyclic strategy passes each round's model to the next site instead. Metrics as for the strategies.`,
  ].join(' ')
}

function baselineProtocol(baseline: Baseline): string {
  const rows = baseline.centerId === undefined ? 'all 486 train rows, standardised with the pooled train statistics' : `center ${baseline.centerId}'s train rows, standardised with its own statistics`
  return [
    `FLamby Fed-Heart-Disease baseline ${baseline.flambyMethod}, trained in-process (no federation): ${rows};`,
    `logistic regression (PyTorch nn.Linear init, seeded by the run seed), Adam lr 0.001, batch 4, ${BASELINE_EPOCHS} epochs (FLamby's NUM_EPOCHS_POOLED).`,
    `Metrics as for the strategies: pooledTest = FLamby's "Pooled Test" (all 254 test rows, pooled train statistics); pooledTestSiteNorm = example-weighted mean of the 4 client accuracies (each center its own statistics).`,
  ].join(' ')
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const workDir = await mkdtemp(join(tmpdir(), 'fedlineage-flamby-'))
  const cleanup = () => rmSync(workDir, { recursive: true, force: true })
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  const runs: { key: string; seeds: SeedResult[]; reference: FlambyReference; job: Job; protocol: string }[] = []
  let skipped: string[] = []
  try {
    const centers = await prepareHeartDiseaseCenters(options.dataDir, join(workDir, 'centers'))
    const plan = jobsOf(options.keys, centers)
    skipped = plan.skipped
    for (const key of skipped) console.log(`${key}: not implemented in this build, skipped (its FLamby row is in the summary)`)
    const ticks = plan.jobs.reduce((n, j) => n + options.seeds.length * (j.kind === 'strategy' ? options.rounds : 1), 0)
    const progress = benchProgress(ticks, 'FLamby heart')
    try {
      for (const job of plan.jobs) {
        const key = jobKey(job)
        const reference = await readFlambyReference(options.dataDir, jobMethod(job))
        const seeds: SeedResult[] = []
        try {
          for (const seed of options.seeds) {
            if (job.kind === 'strategy') {
              seeds.push(await runSeed({ centers, seed, rounds: options.rounds, workDir, strategy: job.strategy, onRound: (r) => progress.tick(`${key} seed ${seed} round ${r}/${options.rounds}`) }))
              continue
            }
            seeds.push(job.kind === 'baseline' ? await runBaseline(job.baseline, centers, seed) : await runCyclicAsFlamby(centers, seed, options.rounds))
            progress.tick(`${key} seed ${seed}`)
          }
        } catch (err) {
          // Without numpy FLamby's cycle order cannot be drawn: say so and go on with the rest.
          if (!(err instanceof NumpyUnavailableError)) throw err
          console.log(`${key}: skipped, ${err.message}`)
          continue
        }
        const protocol = job.kind === 'strategy' ? protocolDescription(options.rounds, job.strategy) : job.kind === 'baseline' ? baselineProtocol(job.baseline) : cyclicAsFlambyProtocol(options.rounds)
        runs.push({ key, seeds, reference, job, protocol })
      }
    } finally {
      progress.stop()
    }
  } finally {
    cleanup()
  }

  // After the runs: the TF.js backend is chosen when the first model trains.
  const environment = { ...benchEnvironment(), backend: backendName() ?? 'unknown' }
  const results = new Map(runs.map((r) => [r.key, { result: summarize(r.seeds, r.reference, r.protocol, environment), reference: r.reference, job: r.job }]))
  for (const [key, { result, reference, job }] of results) {
    const what =
      job.kind === 'strategy'
        ? `${key} (${job.strategy.flambySettings}) · ${options.rounds} rounds × 100 local steps · 4 site agents over gRPC`
        : job.kind === 'baseline'
          ? `${job.baseline.flambyMethod} · ${BASELINE_EPOCHS} epochs in-process`
          : "FLamby's Cyclic as its benchmark scores it (center 0's own model after its turns) · in-process"
    console.log(`\n${formatTable(`FLamby Fed-Heart-Disease · ${what} · test accuracy`, result, reference)}`)
  }
  const rows: SummaryRow[] = [...results].map(([key, { result, reference }]) => ({ key, result, reference, target: TARGETS[key] }))
  const missing = await Promise.all(skipped.map(async (key) => ({ key, reference: await readFlambyReference(options.dataDir, FLAMBY_STRATEGIES.find((s) => s.key === key)!.flambyMethod) })))
  console.log(`\n${formatSummary(rows, missing)}`)
  for (const note of SUMMARY_NOTES) if (results.has(note.key)) console.log(note.text)

  if (!options.fullProtocol) {
    console.log(`not written to ${relative(process.cwd(), RESULTS_FILE)}: --seeds/--rounds differ from the full protocol`)
    return
  }
  const existing = existsSync(RESULTS_FILE) ? (JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as Record<string, StrategyResult>) : {}
  const merged = { ...existing, ...Object.fromEntries([...results].map(([key, r]) => [key, r.result])) }
  await mkdir(join(REPO_ROOT, 'bench/results'), { recursive: true })
  await writeFile(RESULTS_FILE, stableJson(merged))
  console.log(`wrote ${[...results.keys()].join(', ')} to ${relative(process.cwd(), RESULTS_FILE)}`)
  // The whole recorded table, this run's rows with the earlier ones, in the order of --strategies' default.
  const order = [...FLAMBY_STRATEGIES.map((s) => s.key), 'cyclic-as-flamby', 'pooled', ...CENTER_IDS.map((c) => `local-${c}`)]
  const recorded = await Promise.all(
    order.filter((key) => merged[key] !== undefined).map(async (key) => ({ key, result: merged[key]!, reference: await readFlambyReference(options.dataDir, methodOfKey(key)), target: TARGETS[key] })),
  )
  const notBuilt = FLAMBY_STRATEGIES.filter((s) => merged[s.key] === undefined && strategySpec(s, 0) === undefined)
  const notBuiltRows = await Promise.all(notBuilt.map(async (s) => ({ key: s.key, reference: await readFlambyReference(options.dataDir, s.flambyMethod) })))
  console.log(`\nrecorded in ${relative(process.cwd(), RESULTS_FILE)}:\n${formatSummary(recorded, notBuiltRows)}`)
}

/** FLamby's method name for a results key. */
function methodOfKey(key: string): string {
  const strategy = FLAMBY_STRATEGIES.find((s) => s.key === key)
  if (strategy !== undefined) return strategy.flambyMethod
  if (key === 'cyclic-as-flamby') return 'Cyclic100'
  if (key === 'pooled') return 'Pooled Training'
  return `Local ${key.slice('local-'.length)}`
}

main().catch((err: unknown) => {
  const e = err as { code?: unknown; message?: string }
  console.error(`${typeof e.code === 'string' ? e.code : 'BENCH_FAILED'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
