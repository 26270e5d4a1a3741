/**
 * Bench: the cost of secure aggregation (protocol/secagg/) against plain
 * FedAvg, at 10 and 50 sites × 100k and 1M parameters, with 0 and 10%
 * dropouts (sites that share their keys, then send no masked input).
 *
 * Per configuration it plays one real round per dropout level, every site
 * with its own session and `nacl.randomBytes`, and measures:
 *
 * - site time, median over the sites: keys + shares (session, advertise,
 *   shareKeys), and quantize + mask (quantizeDelta + maskInput);
 * - server time, median of `--runs` timed runs after one warm-up: unmaskSum
 *   (rebuild the secrets, sum, remove the masks) + dequantizeSum, on the same
 *   inputs (it is pure, so repeating it is exact); against `fedAvg` from
 *   models/core over the same float32 deltas, timed the same way;
 * - bytes per site (payload only, no gRPC/protobuf framing): sent = keys,
 *   share boxes, b commitment, masked input, reveals (share + site id + kind);
 *   received = the other sites' keys and ids, the boxes of its neighbours,
 *   the survivor list. A plain upload sends the float32 delta (4 bytes per
 *   parameter); both receive the global model, not counted.
 * - the largest |difference| between the secure average (Σ w·x / Σ w,
 *   w = examples/maxWeight) and fedAvg's, which is the quantization error.
 *
 * The 50-site rows run both SecAgg's complete graph (k = 49) and SecAgg+'s
 * sparse one (numShares 0.3 → k = 15). The machine's load average is
 * recorded: on a shared machine the times move with it.
 *
 * Usage: npm run bench:secagg [-- --runs=N] [-- --quick]   (default 3 runs; --quick: 10 sites × 100k only, nothing written)
 * Writes bench/results/secagg.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { SecAggSpecSchema, fedAvg, mulberry32, resolveSecAggParams, type SecAggParams, type SecAggSpecInput, type Weights } from '../models/core/index.ts'
import { SiteSecAggSession, dequantizeSum, quantizeDelta, unmaskSum, weightRatio, type SecAggPublicKeys, type SecAggReveal } from '../protocol/index.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'

const SEED = 20261206
const GRAPH_SEED = 77
const STUDY = 'bench-secagg'

interface Config {
  readonly sites: number
  readonly parameters: number
  readonly graph: string
  readonly spec: SecAggSpecInput
}

function configs(quick: boolean): Config[] {
  const out: Config[] = []
  for (const parameters of quick ? [100_000] : [100_000, 1_000_000]) {
    out.push({ sites: 10, parameters, graph: 'complete', spec: {} })
    if (quick) continue
    out.push({ sites: 50, parameters, graph: 'complete', spec: {} })
    out.push({ sites: 50, parameters, graph: 'SecAgg+ 0.3', spec: { numShares: 0.3 } })
  }
  return out
}

function parseArgs(argv: readonly string[]): { runs: number; quick: boolean } {
  const arg = argv.find((a) => a.startsWith('--runs='))
  const runs = arg === undefined ? 3 : Number(arg.slice('--runs='.length))
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${arg}`)
  return { runs, quick: argv.includes('--quick') }
}

function timeRuns(runs: number, run: () => void): number {
  run()
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    run()
    samples.push(performance.now() - started)
  }
  return median(samples)
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

interface Site {
  readonly id: string
  readonly delta: Float32Array
  readonly examples: number
}

interface PlayedRound {
  readonly siteKeysSharesMs: number
  readonly siteQuantizeMaskMs: number
  readonly siteRevealMs: number
  readonly serverMs: number
  readonly sentBytes: number
  readonly receivedBytes: number
  readonly average: Float64Array
}

/** One round with `dropped` sites leaving after sharing; site costs are medians over the sites, server cost over `runs`. */
async function playRound(sites: readonly Site[], params: SecAggParams, dropped: ReadonlySet<string>, runs: number): Promise<PlayedRound> {
  const keysMs: number[] = []
  const sessions = new Map<string, SiteSecAggSession>()
  const keys = new Map<string, SecAggPublicKeys>()
  for (const s of sites) {
    const started = performance.now()
    const session = new SiteSecAggSession({ study: STUDY, round: 1, site: s.id, seed: GRAPH_SEED, params })
    keys.set(s.id, session.advertise())
    sessions.set(s.id, session)
    keysMs.push(performance.now() - started)
  }
  const inbox = new Map(sites.map((s) => [s.id, new Map<string, Uint8Array>()]))
  const bCommits = new Map<string, Uint8Array>()
  const sent = new Map(sites.map((s) => [s.id, 64 + 32]))
  const received = new Map(sites.map((s) => [s.id, sites.filter((o) => o.id !== s.id).reduce((acc, o) => acc + 64 + utf8(o.id), 0)]))
  for (const [i, s] of sites.entries()) {
    const started = performance.now()
    const { shares, bCommit } = await sessions.get(s.id)!.shareKeys(keys)
    keysMs[i]! += performance.now() - started
    bCommits.set(s.id, bCommit)
    for (const { to, box } of shares) {
      inbox.get(to)!.set(s.id, box)
      sent.set(s.id, sent.get(s.id)! + box.length + utf8(to))
      received.set(to, received.get(to)! + box.length + utf8(s.id))
    }
  }
  for (const s of sites) sessions.get(s.id)!.receiveShares(inbox.get(s.id)!)

  const maskMs: number[] = []
  const masked = new Map<string, Uint32Array>()
  const survivors = sites.filter((s) => !dropped.has(s.id))
  for (const s of survivors) {
    const started = performance.now()
    const quantized = quantizeDelta(s.delta, weightRatio(s.examples, params.maxWeight), params)
    masked.set(s.id, sessions.get(s.id)!.maskInput(quantized))
    maskMs.push(performance.now() - started)
    sent.set(s.id, sent.get(s.id)! + quantized.length * 4)
  }
  const survivorIds = survivors.map((s) => s.id)
  const revealMs: number[] = []
  const reveals = new Map<string, SecAggReveal[]>()
  for (const s of survivors) {
    const started = performance.now()
    const r = sessions.get(s.id)!.revealShares(survivorIds)
    revealMs.push(performance.now() - started)
    reveals.set(s.id, r)
    received.set(s.id, received.get(s.id)! + survivorIds.reduce((acc, id) => acc + utf8(id), 0))
    sent.set(s.id, sent.get(s.id)! + r.reduce((acc, x) => acc + x.share.length + utf8(x.of) + 1, 0))
  }

  let sum: Float64Array = new Float64Array(0)
  const serverMs = timeRuns(runs, () => {
    const words = unmaskSum({ study: STUDY, round: 1, seed: GRAPH_SEED, params, keys, bCommits, sharedBy: sites.map((s) => s.id), survivors: survivorIds, reveals, masked: (id) => masked.get(id)! })
    sum = dequantizeSum(words, params)
  })
  const totalWeight = survivors.reduce((acc, s) => acc + weightRatio(s.examples, params.maxWeight), 0)
  const average = sum.map((v) => v / totalWeight)
  const survivorSent = survivors.map((s) => sent.get(s.id)!)
  const survivorReceived = survivors.map((s) => received.get(s.id)!)
  return {
    siteKeysSharesMs: median(keysMs),
    siteQuantizeMaskMs: median(maskMs),
    siteRevealMs: median(revealMs),
    serverMs,
    sentBytes: median(survivorSent),
    receivedBytes: median(survivorReceived),
    average,
  }
}

function asWeights(values: Float32Array): Weights {
  return { tensors: [{ name: 'dense/kernel', shape: [values.length], values }] }
}

async function main(): Promise<void> {
  const { runs, quick } = parseArgs(process.argv.slice(2))
  const environment = benchEnvironment()
  const loadAtStart = loadavg().map((l) => +l.toFixed(2))
  const plan = configs(quick)
  const progress = benchProgress(plan.length * 2, 'secagg')
  const rows = []
  for (const config of plan) {
    const random = mulberry32(SEED + config.sites + config.parameters)
    const sites: Site[] = Array.from({ length: config.sites }, (_, i) => ({
      id: `site-${String(i).padStart(2, '0')}`,
      delta: Float32Array.from({ length: config.parameters }, () => 0.02 * random() - 0.01),
      examples: 50 + ((i * 37) % 900),
    }))
    const params = resolveSecAggParams(SecAggSpecSchema.parse(config.spec), config.sites)
    const zero = asWeights(new Float32Array(config.parameters))
    const updates = sites.map((s) => ({ siteId: s.id, exampleCount: s.examples, delta: asWeights(s.delta) }))
    for (const dropFraction of [0, 0.1]) {
      const dropCount = Math.round(dropFraction * config.sites)
      // Spread the dropouts over the sorted ids (every 10th site), as unrelated failures would be.
      const dropped = new Set(
        sites
          .filter((_, i) => dropCount > 0 && i % Math.floor(config.sites / dropCount) === 0)
          .slice(0, dropCount)
          .map((s) => s.id),
      )
      progress.tick(`${config.sites} sites × ${config.parameters} (${config.graph}), ${dropped.size} dropped`)
      const survivors = updates.filter((u) => !dropped.has(u.siteId))
      let plain: Weights = zero
      const plainMs = timeRuns(runs, () => {
        plain = fedAvg(zero, survivors)
      })
      const played = await playRound(sites, params, dropped, runs)
      const plainValues = plain.tensors[0]!.values
      let maxAbsDiff = 0
      for (let i = 0; i < plainValues.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(played.average[i]! - plainValues[i]!))
      rows.push({
        sites: config.sites,
        parameters: config.parameters,
        graph: config.graph,
        k: params.k,
        t: params.t,
        dropped: dropped.size,
        siteKeysSharesMs: played.siteKeysSharesMs,
        siteQuantizeMaskMs: played.siteQuantizeMaskMs,
        siteRevealMs: played.siteRevealMs,
        serverSecAggMs: played.serverMs,
        serverPlainFedAvgMs: plainMs,
        serverOverhead: played.serverMs / plainMs,
        sentBytesPerSite: played.sentBytes,
        receivedBytesPerSite: played.receivedBytes,
        plainUploadBytes: config.parameters * 4,
        uploadOverhead: played.sentBytes / (config.parameters * 4),
        maxAbsDiffFromFedAvg: maxAbsDiff,
      })
    }
  }
  progress.stop()
  const loadAtEnd = loadavg().map((l) => +l.toFixed(2))

  console.log(`Secure aggregation bench: ${runs} timed server runs (median), seed ${SEED}`)
  console.log(`Node ${environment.node} · ${environment.cpu} · load average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}`)
  const kib = (b: number) => +(b / 1024).toFixed(1)
  console.table(
    rows.map((r) => ({
      sites: r.sites,
      params: r.parameters.toLocaleString('en-US'),
      graph: `${r.graph} k=${r.k} t=${r.t}`,
      dropped: r.dropped,
      'site keys+shares ms': +r.siteKeysSharesMs.toFixed(1),
      'site quantize+mask ms': +r.siteQuantizeMaskMs.toFixed(1),
      'server secagg ms': +r.serverSecAggMs.toFixed(1),
      'server fedAvg ms': +r.serverPlainFedAvgMs.toFixed(1),
      'server ×': +r.serverOverhead.toFixed(1),
      'sent KiB/site': kib(r.sentBytesPerSite),
      'plain KiB': kib(r.plainUploadBytes),
      'received KiB/site': kib(r.receivedBytesPerSite),
      'max |Δ| vs fedAvg': r.maxAbsDiffFromFedAvg.toExponential(1),
    })),
  )

  const result = {
    bench: 'secagg',
    date: new Date().toISOString(),
    environment: { ...environment, loadAverage1m5m15m: { atStart: loadAtStart, atEnd: loadAtEnd } },
    workload: { seed: SEED, graphSeed: GRAPH_SEED, runs, warmupRuns: 1, quick, deltaRange: [-0.01, 0.01], examples: '50 + (i·37 mod 900)', dropouts: 'after sharing, every n/drops-th site' },
    results: rows,
  }
  if (quick) return console.log('--quick: results not written')
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}secagg.json`, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${dir}secagg.json`)
}

await main()
