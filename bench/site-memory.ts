/**
 * Bench: what model size costs a site agent's memory. For 1M, 10M and 50M
 * parameters (an MLP of the study's synthetic schema, as in
 * bench:model-size), one round of one site: a real `SiteAgent` in a process
 * of its own, run from a site config file, joins, evaluates the initial
 * model, downloads it, trains one local step (SGD, batch 4) on TF.js,
 * uploads its signed delta over real gRPC on 127.0.0.1 to a coordinator in
 * another process, then evaluates the committed model.
 *
 * Reported: the site's peak resident memory above its idle memory (after
 * joining: TF.js initialised, records read, no model fetched yet), sampled
 * every 50 ms inside the site process plus the kernel's high-water mark, as
 * a multiple of one delta's bytes, overall and per phase (eval base:
 * download, decode and score the initial model, round 0; train; upload:
 * delta, encode, sign, send; evaluate: the committed model); and the peak of
 * `process.memoryUsage().arrayBuffers`.
 *
 * Baseline, same run: with `--before DIR` (a checkout of main, e.g. a
 * `git worktree`) the same round runs first with that checkout's site agent;
 * both sites talk to this checkout's coordinator.
 *
 * Usage: npm run bench:site-memory [-- --params 1,10,50] [--before DIR]
 * (millions of parameters). Writes bench/results/site-memory.json.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HubClient } from '../coordinator/index.ts'
import { signerFromSeed, toHex } from '../ledger/index.ts'
import { encodedSize, inputWidth, modelShapes, parameterCount, StudySpecSchema } from '../models/index.ts'
import { SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { benchSites, writeCohorts } from './round/cohorts.ts'
import { SITE_SPLIT } from './round/federation.ts'
import type { SiteProcessInit } from './site-memory/site-process.ts'
import { startCoordinatorChild } from './support/coordinator-child.ts'
import { benchEnvironment } from './support/environment.ts'
import { followEventLines } from './support/event-lines.ts'
import { hiddenFor } from './support/mlp-width.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const { values: args } = parseArgs({ options: { params: { type: 'string', default: '1,10,50' }, before: { type: 'string' } } })
const sizes = args.params.split(',').map(Number)
for (const m of sizes) if (!(m > 0 && m <= 60)) throw new Error(`--params: millions of parameters, each in (0, 60], got ${args.params}`)
const HERE = fileURLToPath(new URL('..', import.meta.url))
const roots: { label: string; root: string }[] = [...(args.before === undefined ? [] : [{ label: 'before', root: path.resolve(args.before) }]), { label: 'this checkout', root: HERE }]
/** The goal at 50M (issue 10): weights in TF.js, gradients, the base kept for the delta and the delta being encoded are ~4×. */
const GOAL_PEAK_DELTAS = 5
const MiB = 1024 * 1024
const HUB_SEED_BYTE = 1
const hub = signerFromSeed(new Uint8Array(32).fill(HUB_SEED_BYTE))
const [site] = benchSites(1)
const SITE_PROCESS = fileURLToPath(new URL('./site-memory/site-process.ts', import.meta.url))
const STUDY_ID = 'bench-site-memory'

/** One round of one site: what it measures is the site, not learning. */
function studyWith(model: { kind: 'logreg' } | { kind: 'mlp'; hidden: number[] }) {
  return StudySpecSchema.parse({
    id: STUDY_ID,
    model,
    data: SYNTHETIC_SCHEMA,
    training: { optimizer: 'sgd', learningRate: 0.01, batchSize: 4, localSteps: 1 },
    strategy: { name: 'fedavg' },
    rounds: 1,
    minSites: 1,
    roundDeadlineMs: 3_600_000,
    evaluationDeadlineMs: 3_600_000,
    seed: 7,
  })
}

interface PhasePeaks {
  readonly evaluateBase: number
  readonly train: number
  readonly upload: number
  readonly evaluate: number
  readonly overall: number
}

interface RunResult {
  readonly checkout: string
  readonly millions: number
  readonly parameters: number
  readonly hidden: readonly number[]
  readonly deltaBytes: number
  readonly idleRssBytes: number
  /** Peak RSS above idle ÷ one delta, per phase; overall includes the kernel's high-water mark. */
  readonly peakAboveIdleDeltas: PhasePeaks
  /** Peak `arrayBuffers` above idle ÷ one delta. */
  readonly arrayBuffersAboveIdleDeltas: number
  readonly roundSeconds: number
}

async function runOne(root: { label: string; root: string }, millions: number, dir: string, csv: string): Promise<RunResult> {
  const hidden = hiddenFor(millions, inputWidth(studyWith({ kind: 'logreg' }).data))
  const study = studyWith({ kind: 'mlp', hidden })
  const shapes = modelShapes(study.model, inputWidth(study.data))
  const deltaBytes = encodedSize(shapes)
  const coordinator = await startCoordinatorChild({ study, sites: [{ id: site!.cohort.siteId, publicKey: toHex(site!.signer.publicKey) }], hubSeedByte: HUB_SEED_BYTE })
  const hubClient = new HubClient(coordinator.address)
  const stateDir = await mkdtemp(path.join(dir, 'site-'))
  const configFile = path.join(stateDir, 'site.json')
  await writeFile(
    configFile,
    JSON.stringify({
      siteId: site!.cohort.siteId,
      study: STUDY_ID,
      coordinator: coordinator.address,
      keyFile: 'unused.key',
      data: { file: csv, validationFraction: SITE_SPLIT.validationFraction, splitSeed: SITE_SPLIT.seed },
      backend: 'wasm',
      requestTimeoutMs: 120_000,
      reconnectTimeoutMs: 600_000,
      // No replica: its libp2p sync would add memory and timing noise that is not the model's.
      p2p: { enabled: false },
    }),
  )
  const init: SiteProcessInit = { root: root.root, configFile, seedHex: toHex(site!.seed) }
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SITE_PROCESS, JSON.stringify(init)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root.root })
  const lines = followEventLines(child.stdout)
  const { events } = lines
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
  const next = (test: (e: Record<string, unknown>) => boolean) =>
    Promise.race([lines.next(test), closed.then((code) => events.find(test) ?? Promise.reject(new Error(`the site process exited with ${code}: ${JSON.stringify(events.at(-1))}`)))])
  try {
    const idle = await next((e) => e['idle'] === true)
    const started = performance.now()
    await hubClient.startNextRound(hub)
    const finished = await next((e) => e['finished'] === true)
    if (finished['error'] !== null) throw new Error(`site: ${String(finished['error'])}`)
    const roundSeconds = (performance.now() - started) / 1000
    const refused = events.find((e) => e['refused'] === true)
    if (refused !== undefined) throw new Error(`site: update refused: ${String(refused['code'])} ${String(refused['message'])}`)
    const idleRss = idle['rssBytes'] as number
    const idleArrayBuffers = idle['arrayBuffersBytes'] as number
    const peakOf = (name: string, key = 'peakRssBytes') => events.find((e) => e['phase'] === name)![key] as number
    const above = (bytes: number) => (bytes - idleRss) / deltaBytes
    const phases = { evaluateBase: above(peakOf('evaluateBase')), train: above(peakOf('train')), upload: above(peakOf('upload')), evaluate: above(peakOf('evaluate')) }
    const overall = Math.max(phases.evaluateBase, phases.train, phases.upload, phases.evaluate, above(finished['hwmBytes'] as number))
    const arrayBuffers = Math.max(...['evaluateBase', 'train', 'upload', 'evaluate'].map((p) => peakOf(p, 'peakArrayBuffersBytes')))
    return {
      checkout: root.label,
      millions,
      parameters: parameterCount(shapes),
      hidden,
      deltaBytes,
      idleRssBytes: idleRss,
      peakAboveIdleDeltas: { ...phases, overall },
      arrayBuffersAboveIdleDeltas: (arrayBuffers - idleArrayBuffers) / deltaBytes,
      roundSeconds,
    }
  } finally {
    child.kill('SIGKILL')
    await closed
    hubClient.close()
    await coordinator.stop()
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-site-memory-'))
const progress = benchProgress(sizes.length * roots.length, 'bench:site-memory')
const results: RunResult[] = []
try {
  const [csv] = await writeCohorts(dir, [site!])
  for (const m of sizes)
    for (const r of roots) {
      results.push(await runOne(r, m, dir, csv!))
      progress.tick(`${m}M ${r.label}`)
    }
} finally {
  progress.stop()
  await rm(dir, { recursive: true, force: true })
}
const environment = benchEnvironment()
const x = (v: number) => `${v.toFixed(2)}×`
console.log('bench:site-memory: one round of one site agent in its own process (WASM TF.js, SGD, batch 4, 1 local step); memory = peak RSS above idle ÷ one delta')
console.log(`Node ${environment.node} · ${environment.cpu}`)
console.table(
  results.map((r) => ({
    checkout: r.checkout,
    params: `${r.millions}M`,
    'delta MiB': (r.deltaBytes / MiB).toFixed(1),
    'idle MiB': (r.idleRssBytes / MiB).toFixed(0),
    'mem eval base': x(r.peakAboveIdleDeltas.evaluateBase),
    'mem train': x(r.peakAboveIdleDeltas.train),
    'mem upload': x(r.peakAboveIdleDeltas.upload),
    'mem evaluate': x(r.peakAboveIdleDeltas.evaluate),
    'mem overall': x(r.peakAboveIdleDeltas.overall),
    arrayBuffers: x(r.arrayBuffersAboveIdleDeltas),
    'round s': r.roundSeconds.toFixed(1),
  })),
)
for (const r of results.filter((r) => r.millions === 50))
  console.log(`${r.checkout}, 50M: peak ${x(r.peakAboveIdleDeltas.overall)} one delta above idle: goal ≤ ${GOAL_PEAK_DELTAS}× ${r.peakAboveIdleDeltas.overall <= GOAL_PEAK_DELTAS ? 'met' : 'NOT met'}`)
const outDir = new URL('./results/', import.meta.url)
await mkdir(outDir, { recursive: true })
await writeFile(
  new URL('site-memory.json', outDir),
  stableJson({ bench: 'site-memory', date: new Date().toISOString(), environment, config: { sizes, before: args.before ?? null, goalPeakDeltas: GOAL_PEAK_DELTAS }, results }),
)
console.log('wrote bench/results/site-memory.json')
