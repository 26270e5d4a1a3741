/**
 * Bench: what simultaneous uploads cost the coordinator (issue 10, item 7).
 * One small update alone (the baseline, same run), then N sites uploading at
 * the same moment, over real gRPC on 127.0.0.1 with the log in a temp dir.
 * Goal: N = 16 simultaneous uploads finish within 3× one.
 *
 * The coordinator runs in a process of its own (`support/coordinator-process.ts`),
 * as a hub with remote sites does: the clients' gRPC work is not charged to it
 * (on 2 cores they share the machine, not its event loop).
 *
 * Two cases, because the last upload of a round waits for the round's commit:
 * - `open round`: N sites upload into a round planned for N + 1, so no upload
 *   closes it (it closes at its deadline, after the timing). This is the
 *   figure the goal is about: the uploads alone.
 * - `closing round`: N sites upload into a round planned for exactly them, so
 *   the last one's acknowledgement waits for the aggregation and the commit
 *   entry; printed beside, not hidden in, the upload figure.
 * For each, the number of durable log appends the N uploads took (group
 * commit: concurrent accepts share one batch and one fsync).
 *
 * The transport floor, measured in the same trials: the same clients against
 * a bare gRPC server (`support/bare-upload-server.ts`) that acknowledges each
 * upload as soon as its bytes are in, with no admission, signature or log.
 * Its ratio is what grpc-js on these two cores costs before the coordinator
 * does anything; no coordinator can do better.
 *
 * The default delta is the logistic model's (102 bytes: stored inline in the
 * LevelDB batch); `--hidden 256` (an MLP with one hidden layer of 256, about
 * 4 KiB a unit) makes deltas large enough to be blob files, each written,
 * fsynced and renamed before the batch that names it.
 *
 * Usage: npm run bench:uploads [-- --sites 16] [-- --trials 7] [-- --hidden N] [-- --before DIR]
 * `--before DIR` times another checkout's coordinator (e.g. main's worktree)
 * in the same run, trial for trial interleaved with this one's.
 * Writes bench/results/uploads.json (uploads-mlp-N.json with --hidden N).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HubClient } from '../coordinator/index.ts'
import { INLINE_BLOB_MAX_BYTES, sha256, signerFromSeed, toHex } from '../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema } from '../models/index.ts'
import { signStatement } from '../protocol/index.ts'
import { CoordinatorClient, SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { startCoordinatorChild, type CoordinatorChild } from './support/coordinator-child.ts'
import type { SignedStatement } from '../protocol/index.ts'
import { benchEnvironment } from './support/environment.ts'
import { cpuMsOf } from './support/process-cpu.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const here = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({
  options: { sites: { type: 'string', default: '16' }, trials: { type: 'string', default: '7' }, hidden: { type: 'string' }, before: { type: 'string' } },
})
const sites = Number(args.sites)
const trials = Number(args.trials)
if (!Number.isInteger(sites) || sites < 2 || sites > 256) throw new Error(`--sites must be 2 to 256, got ${args.sites}`)
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${args.trials}`)
const hidden = args.hidden === undefined ? undefined : Number(args.hidden)
if (hidden !== undefined && !(Number.isInteger(hidden) && hidden >= 1 && hidden <= 65536)) throw new Error(`--hidden must be 1 to 65536, got ${args.hidden}`)
const GOAL_RATIO = 3
/** Rounds that no upload closes end at this deadline, after the uploads they time. */
const ROUND_DEADLINE_MS = 2000
const HUB_SEED_BYTE = 1

const study = StudySpecSchema.parse({
  id: 'bench-uploads',
  model: hidden === undefined ? { kind: 'logreg' } : { kind: 'mlp', hidden: [hidden] },
  data: SYNTHETIC_SCHEMA,
  training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 1 },
  strategy: { name: 'fedavg' },
  rounds: 1000,
  minSites: 1,
  roundDeadlineMs: ROUND_DEADLINE_MS,
})
const shapes = modelShapes(study.model, inputWidth(study.data))
const delta = encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.001) })) })
const signers = Array.from({ length: sites + 1 }, (_, i) => signerFromSeed(new Uint8Array(32).fill(10 + i)))
const ids = signers.map((_, i) => `site-${String(i).padStart(3, '0')}`)
const hub = signerFromSeed(new Uint8Array(32).fill(HUB_SEED_BYTE))

/** A coordinator whose study enrols `enrolled` sites, with one client per site on its own connection. */
interface Federation {
  readonly child: CoordinatorChild
  readonly hub: HubClient
  readonly clients: CoordinatorClient[]
  round: number
}

async function startFederation(root: string, enrolled: number): Promise<Federation> {
  const child = await startCoordinatorChild({
    root,
    study,
    sites: ids.slice(0, enrolled).map((id, i) => ({ id, publicKey: toHex(signers[i]!.publicKey) })),
    hubSeedByte: HUB_SEED_BYTE,
  })
  return { child, hub: new HubClient(child.address), clients: ids.slice(0, enrolled).map(() => new CoordinatorClient(child.address)), round: 0 }
}

async function stopFederation(f: Federation): Promise<void> {
  for (const c of f.clients) c.close()
  f.hub.close()
  await f.child.stop()
}

/** Waits for the federation's current round to close, opens the next one, and returns it with its base model. */
async function openRound(f: Federation): Promise<{ round: number; base: Uint8Array }> {
  if (f.round > 0) {
    const r = f.round
    await f.child.next((e) => (e['committed'] === true || e['abandoned'] === true) && e['round'] === r)
  }
  const opened = await f.hub.startNextRound(hub)
  f.round = Number(opened.round)
  return { round: f.round, base: new Uint8Array(opened.baseModelHash) }
}

interface Sample {
  readonly ms: number
  /** CPU the coordinator process used meanwhile (all its threads). */
  readonly cpuMs: number
  /** Durable appends of the log while the uploads were in flight. */
  readonly appends: number
}

/** Opens a round and times `count` sites uploading at once; counts the durable appends they took. */
async function timeUploads(f: Federation, count: number): Promise<Sample> {
  const { round, base } = await openRound(f)
  const envelopes = Array.from({ length: count }, (_, i) =>
    signStatement(signers[i]!, {
      t: 'update',
      study: study.id,
      round,
      site: ids[i]!,
      base,
      delta: sha256(delta),
      size: delta.length,
      examples: 50,
      metrics: { trainLoss: 0.5 },
      nonce: new Uint8Array(16).fill(round & 0xff).map((b, k) => (k === 0 ? i : b)),
      time: Date.now(),
    }),
  )
  let appends = 0
  const unfollow = f.child.follow((e) => {
    if (e['appended'] === true) appends++
  })
  const cpu0 = cpuMsOf(f.child.pid)
  const t0 = performance.now()
  await Promise.all(envelopes.map((e, i) => f.clients[i]!.uploadUpdate(e, delta)))
  const ms = performance.now() - t0
  const cpuMs = cpuMsOf(f.child.pid) - cpu0
  // The child's lines about the last append may trail its acknowledgement: read them before counting.
  await new Promise((r) => setTimeout(r, 50))
  unfollow()
  return { ms, cpuMs, appends }
}

/** A bare gRPC server with one client per site: the transport floor. */
interface Floor {
  readonly child: CoordinatorChild
  readonly clients: CoordinatorClient[]
  readonly envelopes: SignedStatement[]
}

async function startFloor(): Promise<Floor> {
  const child = await startCoordinatorChild({ study, sites: [], hubSeedByte: HUB_SEED_BYTE }, new URL('./support/bare-upload-server.ts', import.meta.url))
  // The bare server reads no envelope: any signed one of the right size will do.
  const envelopes = ids.map((site, i) =>
    signStatement(signers[i]!, {
      t: 'update',
      study: study.id,
      round: 1,
      site,
      base: new Uint8Array(32),
      delta: sha256(delta),
      size: delta.length,
      examples: 50,
      metrics: { trainLoss: 0.5 },
      nonce: new Uint8Array(16).fill(i),
      time: Date.now(),
    }),
  )
  return { child, clients: ids.map(() => new CoordinatorClient(child.address)), envelopes }
}

/** Times `count` uploads at once against the bare server. */
async function timeFloor(f: Floor, count: number): Promise<Sample> {
  const cpu0 = cpuMsOf(f.child.pid)
  const t0 = performance.now()
  await Promise.all(f.envelopes.slice(0, count).map((e, i) => f.clients[i]!.uploadUpdate(e, delta)))
  return { ms: performance.now() - t0, cpuMs: cpuMsOf(f.child.pid) - cpu0, appends: 0 }
}

interface CaseResults {
  one: Sample[]
  openRound: Sample[]
  closingRound: Sample[]
}

const roots = [{ label: 'this checkout', root: here }, ...(args.before === undefined ? [] : [{ label: `before (${args.before})`, root: args.before }])]
const progress = benchProgress(roots.length * (3 * trials + 1) + 2 * trials + 1, 'bench:uploads')
const floorResults: { one: Sample[]; many: Sample[] } = { one: [], many: [] }
let floor: Floor | undefined
const results = new Map<string, CaseResults>(roots.map((r) => [r.label, { one: [], openRound: [], closingRound: [] }]))
const federations: { label: string; open: Federation; closing: Federation }[] = []
try {
  for (const r of roots) {
    // `open`: one site more than upload, so no upload closes a round; `closing`: exactly the sites that upload.
    const fed = { label: r.label, open: await startFederation(r.root, sites + 1), closing: await startFederation(r.root, sites) }
    federations.push(fed)
    // Warm-up: connections, JIT, the log's first appends.
    await timeUploads(fed.open, sites)
    await timeUploads(fed.closing, sites)
    progress.tick(`${r.label}: warm-up`)
  }
  floor = await startFloor()
  await timeFloor(floor, sites)
  progress.tick('transport floor: warm-up')
  for (let t = 0; t < trials; t++) {
    for (const fed of federations) {
      const out = results.get(fed.label)!
      out.one.push(await timeUploads(fed.open, 1))
      progress.tick(`${fed.label} trial ${t + 1}: one upload`)
      out.openRound.push(await timeUploads(fed.open, sites))
      progress.tick(`${fed.label} trial ${t + 1}: ${sites} uploads, open round`)
      out.closingRound.push(await timeUploads(fed.closing, sites))
      progress.tick(`${fed.label} trial ${t + 1}: ${sites} uploads, closing round`)
    }
    floorResults.one.push(await timeFloor(floor, 1))
    progress.tick(`transport floor trial ${t + 1}: one upload`)
    floorResults.many.push(await timeFloor(floor, sites))
    progress.tick(`transport floor trial ${t + 1}: ${sites} uploads`)
  }
} finally {
  progress.stop()
  for (const fed of federations) await Promise.all([stopFederation(fed.open), stopFederation(fed.closing)])
  if (floor !== undefined) {
    for (const c of floor.clients) c.close()
    await floor.child.stop()
  }
}

const ms = (s: readonly Sample[]) => median(s.map((x) => x.ms))
const environment = benchEnvironment()
console.log(
  `bench:uploads: ${sites} sites uploading at once vs one upload (baseline, same run); coordinator in its own process; ${trials} trials each, medians; delta ${delta.length} bytes (${hidden === undefined ? 'logreg' : `mlp [${hidden}]`}, ${delta.length > INLINE_BLOB_MAX_BYTES ? 'a blob file each' : 'inline in the log batch'})`,
)
console.log(`Node ${environment.node} · ${environment.cpu}`)
const summary: Record<string, unknown> = {}
for (const [label, r] of results) {
  const oneMs = ms(r.one)
  const openMs = ms(r.openRound)
  const closingMs = ms(r.closingRound)
  const row = (name: string, s: Sample[], m: number) => ({
    coordinator: label,
    case: name,
    'median ms': m.toFixed(1),
    '× one': (m / oneMs).toFixed(1),
    'coordinator CPU ms': median(s.map((x) => x.cpuMs)).toFixed(1),
    'durable appends': median(s.map((x) => x.appends)),
    trials: s.map((x) => x.ms.toFixed(0)).join(' '),
  })
  console.table([
    row('one upload (baseline)', r.one, oneMs),
    row(`${sites} simultaneous, open round`, r.openRound, openMs),
    row(`${sites} simultaneous, the last closes the round (commit included)`, r.closingRound, closingMs),
  ])
  const ratio = openMs / oneMs
  console.log(
    `${label}: ${sites} simultaneous uploads take ${ratio.toFixed(1)}× one upload (goal ≤ ${GOAL_RATIO}×: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}); with the round's commit ${(closingMs / oneMs).toFixed(1)}×`,
  )
  summary[label] = {
    oneMs: r.one.map((x) => x.ms),
    openRoundMs: r.openRound.map((x) => x.ms),
    closingRoundMs: r.closingRound.map((x) => x.ms),
    oneCpuMs: r.one.map((x) => x.cpuMs),
    openRoundCpuMs: r.openRound.map((x) => x.cpuMs),
    closingRoundCpuMs: r.closingRound.map((x) => x.cpuMs),
    openRoundAppends: r.openRound.map((x) => x.appends),
    closingRoundAppends: r.closingRound.map((x) => x.appends),
    oneMedianMs: oneMs,
    openRoundMedianMs: openMs,
    closingRoundMedianMs: closingMs,
    ratio,
    closingRatio: closingMs / oneMs,
  }
}
const floorOneMs = ms(floorResults.one)
const floorManyMs = ms(floorResults.many)
console.table([
  { server: 'bare gRPC (no admission, no log)', case: 'one upload', 'median ms': floorOneMs.toFixed(1), '× one': '1.0', 'server CPU ms': median(floorResults.one.map((x) => x.cpuMs)).toFixed(1) },
  {
    server: 'bare gRPC (no admission, no log)',
    case: `${sites} simultaneous`,
    'median ms': floorManyMs.toFixed(1),
    '× one': (floorManyMs / floorOneMs).toFixed(1),
    'server CPU ms': median(floorResults.many.map((x) => x.cpuMs)).toFixed(1),
  },
])
console.log(
  `transport floor: ${sites} simultaneous uploads to a server that does nothing take ${(floorManyMs / floorOneMs).toFixed(1)}× one (${floorManyMs.toFixed(1)} ms vs ${floorOneMs.toFixed(1)} ms)`,
)
summary['transport floor'] = {
  oneMs: floorResults.one.map((x) => x.ms),
  manyMs: floorResults.many.map((x) => x.ms),
  oneCpuMs: floorResults.one.map((x) => x.cpuMs),
  manyCpuMs: floorResults.many.map((x) => x.cpuMs),
  oneMedianMs: floorOneMs,
  manyMedianMs: floorManyMs,
  ratio: floorManyMs / floorOneMs,
}
const outDir = new URL('./results/', import.meta.url)
await mkdir(outDir, { recursive: true })
await writeFile(
  new URL(hidden === undefined ? 'uploads.json' : `uploads-mlp-${hidden}.json`, outDir),
  stableJson({
    bench: 'uploads',
    date: new Date().toISOString(),
    environment,
    config: { sites, trials, model: study.model, deltaBytes: delta.length, goalRatio: GOAL_RATIO, coordinatorInOwnProcess: true, ...(args.before === undefined ? {} : { before: args.before }) },
    results: summary,
  }),
)
console.log(`wrote bench/results/${hidden === undefined ? 'uploads.json' : `uploads-mlp-${hidden}.json`}`)
