/**
 * Bench: what one enrolled key, and anyone who can open a TCP connection, can
 * cost the coordinator (issue 10, item 4). The coordinator runs in a child
 * process (`support/coordinator-process.ts`) so its memory is read from
 * /proc/<pid>/status alone; the attacks (`abuse/attacks.ts`) run here, over
 * real gRPC, raw HTTP/2 and raw TCP on 127.0.0.1:
 * - 10,000 Tasks streams from one site's session: coordinator RSS growth
 *   (goal < 100 MB) and RoundStatus latency meanwhile (goal p99 < 200 ms);
 * - 1,000 Tasks calls that never send their request, 200 connections
 *   trickling the HTTP/2 preface at 1 byte/s, an upload trickling its delta
 *   at 1 byte/s: how long until the coordinator closes each (goal ≤ 30 s);
 * - 100 concurrent 4 MiB messages: RSS growth.
 * The baseline, in the same run, is the same RoundStatus latency and the
 * coordinator's RSS with no attack.
 *
 * Usage: npm run bench:abuse [-- --streams 10000] [-- --root DIR]
 * `--root` runs another checkout's coordinator (e.g. main's worktree, for a
 * before/after); the attacks and the measuring stay this checkout's.
 * Writes bench/results/abuse.json (only for this checkout's coordinator).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HubClient } from '../coordinator/index.ts'
import { sha256, signerFromSeed, toHex } from '../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema } from '../models/index.ts'
import { signStatement } from '../protocol/index.ts'
import { SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { bigMessages, probeLatency, silentStreams, taskStreams, tricklePreface, trickleUpload, watchPeak } from './abuse/attacks.ts'
import type { CoordinatorProcessInit } from './support/coordinator-process.ts'
import { ownClient } from './support/own-client.ts'
import { memoryOf } from './support/process-memory.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const here = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({ options: { streams: { type: 'string', default: '10000' }, root: { type: 'string', default: here } } })
const streams = Number(args.streams)
if (!Number.isInteger(streams) || streams < 2) throw new Error(`--streams must be an integer ≥ 2, got ${args.streams}`)
const ownCoordinator = args.root === here
const RSS_GOAL_MB = 100
const LATENCY_GOAL_MS = 200
const CLOSE_GOAL_MS = 30_000
/** How long the bench waits for the coordinator to close an attack before it reports it as still open. */
const CAP_MS = 40_000
const MB = 1024 * 1024

const study = StudySpecSchema.parse({
  id: 'bench-abuse',
  model: { kind: 'logreg' },
  data: SYNTHETIC_SCHEMA,
  training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 1 },
  strategy: { name: 'fedavg' },
  rounds: 10,
  minSites: 1,
  roundDeadlineMs: 600_000,
})
const signers = [10, 11].map((n) => signerFromSeed(new Uint8Array(32).fill(n)))
const ids = ['site-a', 'site-b']
const HUB_SEED = 1
const hub = signerFromSeed(new Uint8Array(32).fill(HUB_SEED))

async function startChild(): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const init: CoordinatorProcessInit = { root: args.root, study, sites: ids.map((id, i) => ({ id, publicKey: toHex(signers[i]!.publicKey) })), hubSeedByte: HUB_SEED }
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/coordinator-process.ts', import.meta.url)), JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`the coordinator process exited with ${code} before listening`)))
  })
  const { port } = JSON.parse(line) as { port: number }
  return {
    pid: child.pid!,
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.stdin.end()
      }),
  }
}

const pct = (values: readonly number[], p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const latency = (samples: number[]) => ({ calls: samples.length, p50Ms: pct(samples, 50), p99Ms: pct(samples, 99), maxMs: Math.max(...samples) })
/** Close times: how many were refused at once (within 1 s, against deadlines of several), the median and the slowest of the rest, and how many outlived the cap. */
const closing = (times: number[]) => {
  const held = times.filter((t) => t >= 1000)
  return {
    count: times.length,
    refusedAtOnce: times.length - held.length,
    medianMs: median(held.filter(Number.isFinite)),
    maxMs: Math.max(...times),
    stillOpen: times.filter((t) => !Number.isFinite(t)).length,
  }
}

const progress = benchProgress(7, 'bench:abuse')
const child = await startChild()
const address = `127.0.0.1:${child.port}`
const results: Record<string, unknown> = {}
try {
  // Baseline: the coordinator idle, then answering RoundStatus with nothing else going on.
  const idle = memoryOf(child.pid)
  let probe = probeLatency(address)
  await new Promise((r) => setTimeout(r, 3000))
  results['baseline'] = { rssMB: idle.rssBytes / MB, latency: latency(await probe.stop()) }
  progress.tick('baseline')

  // 10,000 Tasks streams from one key.
  const client = ownClient(address)
  const hello = signStatement(signers[0]!, { t: 'hello', study: study.id, site: ids[0]!, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
  const session = await new Promise<Uint8Array>((resolve, reject) => client.Hello({ hello }, (err, r) => (err || !r ? reject(err) : resolve(new Uint8Array(r.sessionToken)))))
  const before = memoryOf(child.pid).rssBytes
  let peak = watchPeak(child.pid)
  probe = probeLatency(address)
  const tasks = await taskStreams(client, session, streams, 32, (n) => progress.tick(`${n} task streams`))
  results['taskStreams'] = { streams, ended: tasks.ended, seconds: tasks.ms / 1000, rssGrowthMB: (peak.stop() - before) / MB, latency: latency(await probe.stop()) }
  client.close()
  progress.tick('task streams')

  // Calls that never send, and connections that trickle the preface, at the same time; the honest probe meanwhile.
  probe = probeLatency(address)
  const [silent, preface] = await Promise.all([silentStreams(address, 1000, 32, CAP_MS), tricklePreface(child.port, 200, CAP_MS)])
  results['silentStreams'] = closing(silent)
  results['tricklePreface'] = closing(preface)
  results['duringSlowAttacks'] = { latency: latency(await probe.stop()) }
  progress.tick('silent streams, trickled preface')

  // An upload trickling its delta at 1 byte/s, into an open round.
  const hubClient = new HubClient(address)
  const opened = await hubClient.startNextRound(hub)
  hubClient.close()
  const shapes = modelShapes(study.model, inputWidth(study.data))
  const delta = encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.001) })) })
  const envelope = signStatement(signers[1]!, {
    t: 'update',
    study: study.id,
    round: Number(opened.round),
    site: ids[1]!,
    base: new Uint8Array(opened.baseModelHash),
    delta: sha256(delta),
    size: delta.length,
    examples: 50,
    metrics: { trainLoss: 0.5 },
    nonce: new Uint8Array(randomBytes(16)),
    time: Date.now(),
  })
  const uploader = ownClient(address)
  const upload = await trickleUpload(uploader, envelope, delta, CAP_MS)
  uploader.close()
  results['trickleUpload'] = { closedAfterMs: upload.ms, code: upload.code }
  progress.tick('trickled upload')

  // 100 concurrent 4 MiB messages over 4 connections.
  const beforeBig = memoryOf(child.pid).rssBytes
  peak = watchPeak(child.pid)
  const codes = await bigMessages(address, 100, 4 * MB, 4)
  results['bigMessages'] = {
    messages: 100,
    bytes: 4 * MB,
    rssGrowthMB: (peak.stop() - beforeBig) / MB,
    codes: Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length])),
  }
  results['coordinatorPeakRssMB'] = memoryOf(child.pid).hwmBytes / MB
  progress.tick('big messages')
} finally {
  progress.stop()
  await child.stop()
}

const environment = benchEnvironment()
const r = results as {
  baseline: { rssMB: number; latency: ReturnType<typeof latency> }
  taskStreams: { streams: number; seconds: number; rssGrowthMB: number; latency: ReturnType<typeof latency> }
  silentStreams: ReturnType<typeof closing>
  tricklePreface: ReturnType<typeof closing>
  duringSlowAttacks: { latency: ReturnType<typeof latency> }
  trickleUpload: { closedAfterMs: number; code: string }
  bigMessages: { rssGrowthMB: number; codes: Record<string, number> }
}
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : `> ${CAP_MS / 1000} s`)
const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : `open after ${CAP_MS / 1000} s`)
console.log(`bench:abuse: attacks on a coordinator in its own process (${ownCoordinator ? 'this checkout' : args.root}), 127.0.0.1; baseline measured in the same run`)
console.log(`Node ${environment.node} · ${environment.cpu}`)
console.table([
  {
    case: 'baseline: idle, RoundStatus alone',
    'RSS growth MB': `${f(r.baseline.rssMB)} (RSS)`,
    'RoundStatus p50 / p99 ms': `${f(r.baseline.latency.p50Ms, 1)} / ${f(r.baseline.latency.p99Ms, 1)}`,
    'closed after': '',
  },
  {
    case: `${r.taskStreams.streams} Tasks streams, one key`,
    'RSS growth MB': f(r.taskStreams.rssGrowthMB),
    'RoundStatus p50 / p99 ms': `${f(r.taskStreams.latency.p50Ms, 1)} / ${f(r.taskStreams.latency.p99Ms, 1)}`,
    'closed after': `${r.taskStreams.seconds.toFixed(1)} s to open all`,
  },
  {
    case: '1000 calls that never send',
    'RSS growth MB': '',
    'RoundStatus p50 / p99 ms': `${f(r.duringSlowAttacks.latency.p50Ms, 1)} / ${f(r.duringSlowAttacks.latency.p99Ms, 1)}`,
    'closed after': `median ${s(r.silentStreams.medianMs)}, last ${s(r.silentStreams.maxMs)} (${r.silentStreams.refusedAtOnce} refused at once)`,
  },
  {
    case: '200 connections trickling the preface',
    'RSS growth MB': '',
    'RoundStatus p50 / p99 ms': '(same)',
    'closed after': `median ${s(r.tricklePreface.medianMs)}, last ${s(r.tricklePreface.maxMs)} (${r.tricklePreface.refusedAtOnce} refused at once)`,
  },
  { case: 'upload at 1 byte/s', 'RSS growth MB': '', 'RoundStatus p50 / p99 ms': '', 'closed after': `${s(r.trickleUpload.closedAfterMs)} (${r.trickleUpload.code})` },
  { case: '100 concurrent 4 MiB messages', 'RSS growth MB': f(r.bigMessages.rssGrowthMB), 'RoundStatus p50 / p99 ms': '', 'closed after': JSON.stringify(r.bigMessages.codes) },
])
const slowest = Math.max(r.silentStreams.maxMs, r.tricklePreface.maxMs, r.trickleUpload.closedAfterMs)
const p99 = Math.max(r.taskStreams.latency.p99Ms, r.duringSlowAttacks.latency.p99Ms)
console.log(
  `goals: RSS growth under ${streams} streams < ${RSS_GOAL_MB} MB: ${r.taskStreams.rssGrowthMB < RSS_GOAL_MB ? 'met' : 'NOT met'}; RoundStatus p99 under attack < ${LATENCY_GOAL_MS} ms: ${p99 < LATENCY_GOAL_MS ? 'met' : 'NOT met'}; every slow client closed within ${CLOSE_GOAL_MS / 1000} s: ${slowest <= CLOSE_GOAL_MS ? 'met' : 'NOT met'}`,
)
if (ownCoordinator) {
  const outDir = new URL('./results/', import.meta.url)
  await mkdir(outDir, { recursive: true })
  const finite = (v: unknown): unknown =>
    typeof v === 'number' && !Number.isFinite(v)
      ? null
      : Array.isArray(v)
        ? v.map(finite)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, finite(x)]))
          : v
  await writeFile(
    new URL('abuse.json', outDir),
    stableJson({ environment, goals: { rssGrowthMB: RSS_GOAL_MB, latencyP99Ms: LATENCY_GOAL_MS, closeMs: CLOSE_GOAL_MS }, capMs: CAP_MS, results: finite(results) }),
  )
  console.log('wrote bench/results/abuse.json')
}
