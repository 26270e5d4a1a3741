/**
 * Bench: what model size costs the coordinator. For 1M, 10M and 50M
 * parameters (an MLP of the study's synthetic schema), one round with 4
 * sites, over real gRPC on 127.0.0.1, the coordinator in a process of its
 * own with its LevelDB log in a temp dir:
 * - download: the 4 sites fetch the base model at once (MiB/s);
 * - upload + commit: the 4 sites upload signed deltas at once; the last one
 *   closes the round (MiB/s of delta bytes, and the coordinator's aggregate
 *   and log time for the commit);
 * - 56 downloads: 56 connections fetch the new model at once; all must finish;
 * - the coordinator's peak resident memory above idle in each phase, as a
 *   multiple of one delta (goal: < 3×).
 * Sites here do not train: their deltas are synthetic, so the figures are the
 * coordinator's alone. Baseline, same run: bare `fedAvg` on the same deltas in
 * this process (time, and memory above its start as a multiple of a delta),
 * and SHA-256 over one delta (the least work per byte a checked transfer does).
 *
 * `--defended` runs the same round as a hardened study would: FedAdam with
 * a hub-side clipNorm, update validation (normZ, rejectDuplicates) and
 * rewards paid by examples, all of which the commit now reads slice by
 * slice; it writes model-size-defended.json.
 *
 * Usage: npm run bench:model-size [-- --params 1,10,50] [-- --downloads 56] [-- --defended]
 * (millions of parameters). Writes bench/results/model-size.json.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { HubClient } from '../coordinator/index.ts'
import { sha256, signerFromSeed, toHex } from '../ledger/index.ts'
import { decodeWeights, encodedSize, encodeWeights, fedAvg, inputWidth, modelShapes, parameterCount, sizeOfShape, StudySpecSchema, type TensorShape } from '../models/index.ts'
import { signStatement } from '../protocol/index.ts'
import { CoordinatorClient, SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { rssOf, RssSampler } from './model-size/rss.ts'
import { startCoordinatorChild } from './support/coordinator-child.ts'
import type { CoordinatorProcessInit } from './support/coordinator-process.ts'
import { ownClient } from './support/own-client.ts'
import { memoryOf } from './support/process-memory.ts'
import { benchEnvironment } from './support/environment.ts'
import { hiddenFor } from './support/mlp-width.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const { values: args } = parseArgs({
  options: { params: { type: 'string', default: '1,10,50' }, downloads: { type: 'string', default: '56' }, defended: { type: 'boolean', default: false } },
})
/** With --defended: what a hardened study adds to the plain FedAvg one (see the module doc). */
const DEFENDED = {
  strategy: { name: 'fedadam', clipNorm: 1e6 },
  validation: { normZ: 3, rejectDuplicates: true },
  rewards: { poolPerRound: '1000', method: 'examples' },
}
const resultsFile = args.defended ? 'model-size-defended.json' : 'model-size.json'
const sizes = args.params.split(',').map(Number)
const downloads = Number(args.downloads)
for (const m of sizes) if (!(m > 0 && m <= 60)) throw new Error(`--params: millions of parameters, each in (0, 60], got ${args.params}`)
if (!Number.isInteger(downloads) || downloads < 1) throw new Error(`--downloads must be a positive integer, got ${args.downloads}`)
const SITES = 4
const GOAL_PEAK_DELTAS = 3
const MiB = 1024 * 1024
const HUB_SEED_BYTE = 1
const hub = signerFromSeed(new Uint8Array(32).fill(HUB_SEED_BYTE))
const signers = Array.from({ length: SITES }, (_, i) => signerFromSeed(new Uint8Array(32).fill(20 + i)))
const ids = signers.map((_, i) => `site-${i}`)

/** The bench's study with `model`: 4 sites, one round that closes when all have uploaded. */
function studyWith(model: { kind: 'logreg' } | { kind: 'mlp'; hidden: number[] }) {
  return StudySpecSchema.parse({
    id: 'bench-model-size',
    model,
    data: SYNTHETIC_SCHEMA,
    training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 1 },
    strategy: { name: 'fedavg' },
    rounds: 2,
    minSites: SITES,
    roundDeadlineMs: 3_600_000,
    ...(args.defended ? DEFENDED : {}),
  })
}

/** A delta of the model's layout, every value `v` (distinct per site, so the mean is real work). */
function syntheticDelta(shapes: readonly TensorShape[], v: number): Uint8Array {
  return encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(v) })) })
}

/** Streams a model and checks its hash without keeping it (the bench holds 56 at once). */
function download(address: string, token: Uint8Array, model: Uint8Array): Promise<number> {
  // Its own connection, as a site's own process would have (grpc-js otherwise shares one per address).
  const client = ownClient(address)
  return new Promise<number>((resolve, reject) => {
    const call = client.DownloadModel({ sessionToken: token, modelHash: model })
    const hash = createHash('sha256')
    let bytes = 0
    call.on('data', (chunk: { data: Buffer }) => {
      hash.update(chunk.data)
      bytes += chunk.data.length
    })
    call.on('error', reject)
    call.on('end', () => (toHex(new Uint8Array(hash.digest())) === toHex(model) ? resolve(bytes) : reject(new Error('downloaded model does not hash to its name'))))
  }).finally(() => client.close())
}

interface SizeResult {
  readonly millions: number
  readonly parameters: number
  readonly deltaBytes: number
  readonly idleRssBytes: number
  readonly downloadMiBps: number
  readonly uploadMiBps: number
  readonly commitMs: { readonly aggregate: number; readonly log: number }
  readonly manyDownloads: { readonly ok: number; readonly failed: number; readonly seconds: number; readonly MiBps: number; readonly firstError?: string }
  readonly peakAboveIdleDeltas: { readonly download: number; readonly uploadCommit: number; readonly manyDownloads: number; readonly overall: number }
  readonly baseline: { readonly fedAvgMs: number; readonly fedAvgAboveStartDeltas: number; readonly sha256MiBps: number }
}

async function runSize(millions: number, tick: (label: string) => void): Promise<SizeResult> {
  const hidden = hiddenFor(millions, inputWidth(studyWith({ kind: 'logreg' }).data))
  const study = studyWith({ kind: 'mlp', hidden })
  const shapes = modelShapes(study.model, inputWidth(study.data))
  const deltaBytes = encodedSize(shapes)
  const init: CoordinatorProcessInit = { study, sites: ids.map((id, i) => ({ id, publicKey: toHex(signers[i]!.publicKey) })), hubSeedByte: HUB_SEED_BYTE }
  const child = await startCoordinatorChild(init)
  const { events, next } = child
  const sampler = new RssSampler(child.pid)
  const clients = ids.map(() => undefined as CoordinatorClient | undefined)
  let hubClient: HubClient | undefined
  try {
    const { address } = child
    await new Promise((r) => setTimeout(r, 500))
    const idle = rssOf(child.pid)
    tick(`${millions}M: started`)
    hubClient = new HubClient(address)
    const tokens: Uint8Array[] = []
    for (let i = 0; i < SITES; i++) {
      const c = new CoordinatorClient(address)
      clients[i] = c
      const res = await c.hello(signStatement(signers[i]!, { t: 'hello', study: study.id, site: ids[i]!, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
      tokens.push(new Uint8Array(res.sessionToken))
    }
    const opened = await hubClient.startNextRound(hub)
    const base = new Uint8Array(opened.baseModelHash)

    sampler.reset()
    let t0 = performance.now()
    await Promise.all(tokens.map((t) => download(address, t, base)))
    const downloadMiBps = (SITES * deltaBytes) / MiB / ((performance.now() - t0) / 1000)
    const peakDownload = sampler.peak() - idle
    tick(`${millions}M: downloads`)

    const deltas = signers.map((_, i) => syntheticDelta(shapes, (i + 1) * 1e-4))
    const envelopes = deltas.map((d, i) =>
      signStatement(signers[i]!, {
        t: 'update',
        study: study.id,
        round: Number(opened.round),
        site: ids[i]!,
        base,
        delta: sha256(d),
        size: d.length,
        examples: 10 * (i + 1),
        metrics: { trainLoss: 0.5 },
        nonce: new Uint8Array(randomBytes(16)),
        time: Date.now(),
      }),
    )
    sampler.reset()
    t0 = performance.now()
    const committed = next((e) => e['committed'] === true && e['round'] === Number(opened.round))
    await Promise.all(envelopes.map((e, i) => clients[i]!.uploadUpdate(e, deltas[i]!, 3_600_000)))
    const uploadSeconds = (performance.now() - t0) / 1000
    await committed
    const peakUpload = sampler.peak() - idle
    const timing = (phase: string) => events.filter((e) => e['timing'] === true && e['round'] === Number(opened.round) && e['phase'] === phase).reduce((s, e) => s + (e['ms'] as number), 0)
    const aggregateMs = timing('aggregate')
    const logMs = timing('log')
    tick(`${millions}M: uploads and commit`)

    const status = await hubClient.status()
    const model = new Uint8Array(status.rounds.find((r) => r.round === opened.round)!.modelHash)
    sampler.reset()
    t0 = performance.now()
    const results = await Promise.allSettled(Array.from({ length: downloads }, (_, k) => download(address, tokens[k % SITES]!, model)))
    const manySeconds = (performance.now() - t0) / 1000
    const peakMany = sampler.peak() - idle
    const ok = results.filter((r) => r.status === 'fulfilled').length
    const firstError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as Error | undefined
    tick(`${millions}M: ${downloads} downloads`)

    // Baseline: the same aggregation in memory, and the cheapest checked pass over the bytes.
    const rssStart = process.memoryUsage().rss
    let baselinePeak = rssStart
    const probe = setInterval(() => (baselinePeak = Math.max(baselinePeak, process.memoryUsage().rss)), 5)
    const parent = decodeWeights(syntheticDelta(shapes, 0), shapes)
    const b0 = performance.now()
    fedAvg(
      parent,
      deltas.map((d, i) => ({ siteId: ids[i]!, exampleCount: 10 * (i + 1), delta: decodeWeights(d, shapes) })),
    )
    const fedAvgMs = performance.now() - b0
    clearInterval(probe)
    baselinePeak = Math.max(baselinePeak, process.memoryUsage().rss)
    const h0 = performance.now()
    sha256(deltas[0]!)
    const sha256MiBps = deltaBytes / MiB / ((performance.now() - h0) / 1000)
    tick(`${millions}M: baseline`)
    const hwm = memoryOf(child.pid).hwmBytes
    // The kernel's own high-water mark, unless the process is gone (then the sampled peak).
    const overall = (hwm === 0 ? sampler.peak() : hwm) - idle
    return {
      millions,
      parameters: parameterCount(shapes),
      deltaBytes,
      idleRssBytes: idle,
      downloadMiBps,
      uploadMiBps: (SITES * deltaBytes) / MiB / uploadSeconds,
      commitMs: { aggregate: aggregateMs, log: logMs },
      manyDownloads: { ok, failed: downloads - ok, seconds: manySeconds, MiBps: (ok * deltaBytes) / MiB / manySeconds, ...(firstError === undefined ? {} : { firstError: firstError.message }) },
      peakAboveIdleDeltas: { download: peakDownload / deltaBytes, uploadCommit: peakUpload / deltaBytes, manyDownloads: peakMany / deltaBytes, overall: overall / deltaBytes },
      baseline: { fedAvgMs, fedAvgAboveStartDeltas: (baselinePeak - rssStart) / deltaBytes, sha256MiBps },
    }
  } finally {
    sampler.stop()
    for (const c of clients) c?.close()
    hubClient?.close()
    await child.stop()
  }
}

const progress = benchProgress(sizes.length * 5, 'bench:model-size')
const results: SizeResult[] = []
try {
  for (const m of sizes) results.push(await runSize(m, (label) => progress.tick(label)))
} finally {
  progress.stop()
}
const environment = benchEnvironment()
const x = (v: number) => `${v.toFixed(2)}×`
console.log(
  `bench:model-size: one round, ${SITES} sites, synthetic deltas, ${args.defended ? 'FedAdam + clipNorm + validation + examples rewards' : 'FedAvg'}, coordinator in its own process; memory = peak RSS above idle ÷ one delta (goal < ${GOAL_PEAK_DELTAS}×)`,
)
console.log(`Node ${environment.node} · ${environment.cpu}`)
console.table(
  results.map((r) => ({
    params: `${r.millions}M`,
    'delta MiB': (r.deltaBytes / MiB).toFixed(0),
    'download MiB/s': r.downloadMiBps.toFixed(0),
    'upload MiB/s': r.uploadMiBps.toFixed(0),
    'commit ms (agg+log)': `${r.commitMs.aggregate.toFixed(0)}+${r.commitMs.log.toFixed(0)}`,
    [`${downloads} downloads`]: `${r.manyDownloads.ok}/${downloads} in ${r.manyDownloads.seconds.toFixed(1)} s`,
    'mem download': x(r.peakAboveIdleDeltas.download),
    'mem upload+commit': x(r.peakAboveIdleDeltas.uploadCommit),
    [`mem ${downloads} dl`]: x(r.peakAboveIdleDeltas.manyDownloads),
    'mem overall': x(r.peakAboveIdleDeltas.overall),
  })),
)
console.log('baseline (same run, this process):')
console.table(
  results.map((r) => ({
    params: `${r.millions}M`,
    'bare fedAvg ms': r.baseline.fedAvgMs.toFixed(0),
    'bare fedAvg mem': x(r.baseline.fedAvgAboveStartDeltas),
    'sha256 MiB/s': r.baseline.sha256MiBps.toFixed(0),
  })),
)
for (const r of results) {
  const met = r.peakAboveIdleDeltas.overall < GOAL_PEAK_DELTAS && r.manyDownloads.failed === 0
  console.log(
    `${r.millions}M: peak ${x(r.peakAboveIdleDeltas.overall)} one delta above idle, ${r.manyDownloads.ok}/${downloads} downloads: goal ${met ? 'met' : 'NOT met'}${r.manyDownloads.firstError ? ` (first failure: ${r.manyDownloads.firstError})` : ''}`,
  )
}
const outDir = new URL('./results/', import.meta.url)
await mkdir(outDir, { recursive: true })
await writeFile(
  new URL(resultsFile, outDir),
  stableJson({
    bench: 'model-size',
    date: new Date().toISOString(),
    environment,
    config: { sizes, sites: SITES, downloads, goalPeakDeltas: GOAL_PEAK_DELTAS, ...(args.defended ? { defended: DEFENDED } : {}) },
    results,
  }),
)
console.log(`wrote bench/results/${resultsFile}`)
