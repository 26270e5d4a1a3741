/**
 * Bench: what simultaneous uploads cost the coordinator. One small update
 * alone (the baseline, same run), then N sites uploading at the same moment
 * into one open round, over real gRPC on 127.0.0.1 with the LevelDB log in a
 * temp dir. Goal (issue 10): 16 simultaneous uploads finish within 3× one.
 *
 * Usage: npm run bench:uploads [-- --sites 16] [-- --trials 5]
 * Writes bench/results/uploads.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { HubClient, parseHubConfig, startCoordinator } from '../coordinator/index.ts'
import { sha256, signerFromSeed, toHex } from '../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema } from '../models/index.ts'
import { signStatement } from '../protocol/index.ts'
import { CoordinatorClient, SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const { values: args } = parseArgs({ options: { sites: { type: 'string', default: '16' }, trials: { type: 'string', default: '5' } } })
const sites = Number(args.sites)
const trials = Number(args.trials)
if (!Number.isInteger(sites) || sites < 2 || sites > 256) throw new Error(`--sites must be 2 to 256, got ${args.sites}`)
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${args.trials}`)
const GOAL_RATIO = 3
const ROUND_DEADLINE_MS = 3000

const study = StudySpecSchema.parse({
  id: 'bench-uploads',
  model: { kind: 'logreg' },
  data: SYNTHETIC_SCHEMA,
  training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 1 },
  strategy: { name: 'fedavg' },
  rounds: 1000,
  minSites: 1,
  // Rounds close at their deadline (one site never uploads), well after the uploads they time.
  roundDeadlineMs: ROUND_DEADLINE_MS,
})
const shapes = modelShapes(study.model, inputWidth(study.data))
const delta = encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.001) })) })
// One more site than uploads, so no round closes while they are timed.
const signers = Array.from({ length: sites + 1 }, (_, i) => signerFromSeed(new Uint8Array(32).fill(10 + i)))
const ids = signers.map((_, i) => `site-${String(i).padStart(3, '0')}`)
const hub = signerFromSeed(new Uint8Array(32).fill(1))

/** Opens a fresh round and times `count` sites uploading at once; returns the wall time in ms. */
async function timeUploads(count: number, base: Uint8Array, round: number, clients: CoordinatorClient[]): Promise<number> {
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
  const t0 = performance.now()
  await Promise.all(envelopes.map((e, i) => clients[i]!.uploadUpdate(e, delta)))
  return performance.now() - t0
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-uploads-'))
const config = parseHubConfig(
  {
    study,
    listen: '127.0.0.1:0',
    dataDir: path.join(dir, 'ledger'),
    keyFile: path.join(dir, 'unused.key'),
    sites: ids.map((id, i) => ({ id, publicKey: toHex(signers[i]!.publicKey) })),
    p2p: { enabled: false },
  },
  'bench hub config',
  dir,
)
const coordinator = await startCoordinator(config, { signer: hub, logger: pino({ level: 'silent' }) })
const hubClient = new HubClient(coordinator.address)
const clients = ids.map(() => new CoordinatorClient(coordinator.address))
const progress = benchProgress(2 * trials, 'bench:uploads')
const one: number[] = []
const many: number[] = []
try {
  // Each measurement in its own round; a warm-up round first. A round closes at its deadline.
  const closed = (round: number) =>
    new Promise<void>((resolve) => {
      const done = (r: number) => r === round && resolve()
      coordinator.on('round-committed', done)
      coordinator.on('round-abandoned', done)
    })
  let current = 0
  const open = async () => {
    if (current > 0) await closed(current)
    const r = await hubClient.startNextRound(hub)
    current = Number(r.round)
    return { round: current, base: new Uint8Array(r.baseModelHash) }
  }
  let r = await open()
  await timeUploads(sites, r.base, r.round, clients)
  for (let t = 0; t < trials; t++) {
    r = await open()
    one.push(await timeUploads(1, r.base, r.round, clients))
    progress.tick(`trial ${t + 1}: one upload`)
    r = await open()
    many.push(await timeUploads(sites, r.base, r.round, clients))
    progress.tick(`trial ${t + 1}: ${sites} uploads`)
  }
} finally {
  progress.stop()
  for (const c of clients) c.close()
  hubClient.close()
  await coordinator.close()
  await rm(dir, { recursive: true, force: true })
}

const oneMs = median(one)
const manyMs = median(many)
const ratio = manyMs / oneMs
const environment = benchEnvironment()
console.log(`bench:uploads: ${sites} sites uploading at once vs one upload (baseline, same run); ${trials} trials each, medians; delta ${delta.length} bytes (logreg)`)
console.log(`Node ${environment.node} · ${environment.cpu}`)
console.table([
  { case: 'one upload (baseline)', 'median ms': oneMs.toFixed(1), trials: one.map((x) => x.toFixed(0)).join(' ') },
  { case: `${sites} simultaneous uploads`, 'median ms': manyMs.toFixed(1), trials: many.map((x) => x.toFixed(0)).join(' ') },
])
console.log(`${sites} simultaneous uploads take ${ratio.toFixed(1)}× one upload (goal ≤ ${GOAL_RATIO}×: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'})`)
const outDir = new URL('./results/', import.meta.url)
await mkdir(outDir, { recursive: true })
await writeFile(
  new URL('uploads.json', outDir),
  stableJson({
    bench: 'uploads',
    date: new Date().toISOString(),
    environment,
    config: { sites, trials, deltaBytes: delta.length, goalRatio: GOAL_RATIO },
    results: { oneMs: one, manyMs: many, oneMedianMs: oneMs, manyMedianMs: manyMs, ratio },
  }),
)
console.log('wrote bench/results/uploads.json')
