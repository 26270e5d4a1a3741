/**
 * Bench: where a round's time goes — local training, upload, the
 * coordinator's verification, aggregation and durable logging — at 4 and 16
 * sites, and the coordinator's share of the round (goal ≤ 5 %).
 *
 * Each scale is a real federation in this one process: the coordinator on
 * 127.0.0.1:0 over real gRPC with its LevelDB log in a temp dir, and n site
 * agents on fixed-seed synthetic cohorts training a 64-64 MLP with TF.js
 * (`round/federation.ts`). Per round:
 * - wall: `round-opened` to `round-committed` at the coordinator;
 * - train: Σ (and max) of the sites' `trained.durationMs`. The agents share
 *   this process's event loop, so their training runs one after another and
 *   the round's wall time holds the sum, not the max;
 * - upload: Σ of the sites' upload RPC times minus the coordinator's phases
 *   inside them (an RPC returns after its verify + log; the last one after
 *   the aggregate and commit log too);
 * - verify, aggregate, log: the coordinator's `timing` events;
 * - coordinator overhead: (verify + aggregate + log) / wall.
 * The baseline in the same run (`round/baseline.ts`): bare `trainLocal` site
 * after site and bare `fedAvg` on the same deltas, without RPC, checks or log.
 *
 * Each scale runs twice, over plaintext loopback gRPC and over mutual TLS with
 * a study CA, and the TLS table shows what TLS adds to a round.
 *
 * Up to 1,000 sites (`round/cohorts.ts`). Every agent shares this one
 * event loop, so the sites' call deadlines grow with their number
 * (`sharedLoopDeadlineMs`), and so do the study's round and evaluation
 * deadlines and the coordinator's deadline to authenticate and keepalive
 * ping timeout; each scale reports its reconnects (sites that said hello
 * again after a missed deadline or a dropped stream), whose goal is 0.
 * Today a round of more than about 570 sites cannot commit and one of more
 * than about 690 cannot open (their log entries would pass 64 KiB): the run
 * stops with the coordinator's refusal (see README, Benchmarks).
 *
 * Usage: npm run bench:round [-- --rounds N] [-- --sites 4,16] [-- --transport plaintext,tls]
 *        [-- --out round-1000.json] [-- --request-timeout-ms MS]
 * Writes bench/results/round.json, or the file `--out` names: runs at other
 * scales than the default go to their own file (e.g. `--sites 1000 --rounds 2
 * --transport plaintext --out round-1000.json`). `--request-timeout-ms` fixes
 * the sites' call deadline instead (10000 reproduces the fixed deadline of
 * old). Medians skip round 1 (warm-up).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { TRAIN_YIELD_INTERVAL_MS, backendName, encodedSize, inputWidth, modelShapes, parameterCount, StudySpecSchema, type StudySpecInput } from '../models/index.ts'
import { SYNTHETIC_SCHEMA } from '../site-agent/index.ts'
import { measureBaseline } from './round/baseline.ts'
import { MAX_SITES, benchSites } from './round/cohorts.ts'
import { runScale, sharedLoopDeadlineMs } from './round/federation.ts'
import { OVERHEAD_GOAL_PCT, WARMUP_ROUNDS, printTables, printTlsCosts, roundNumbers, summarise, tlsCosts, type ScaleSummary, type Transport } from './round/report.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    sites: { type: 'string', default: '4,16' },
    transport: { type: 'string', default: 'plaintext,tls' },
    out: { type: 'string', default: 'round.json' },
    'request-timeout-ms': { type: 'string' },
  },
})
if (!/^[\w.-]+\.json$/.test(args.out)) throw new Error(`--out: a file name in bench/results ending in .json, got ${args.out}`)
const fixedTimeoutMs = args['request-timeout-ms'] === undefined ? undefined : Number(args['request-timeout-ms'])
if (fixedTimeoutMs !== undefined && !(Number.isInteger(fixedTimeoutMs) && fixedTimeoutMs > 0)) throw new Error(`--request-timeout-ms: a positive integer, got ${args['request-timeout-ms']}`)
const rounds = Number(args.rounds)
const scales = args.sites.split(',').map(Number)
if (!Number.isInteger(rounds) || rounds <= WARMUP_ROUNDS) throw new Error(`--rounds must be an integer > ${WARMUP_ROUNDS}, got ${args.rounds}`)
const transports = args.transport.split(',') as Transport[]
if (transports.length === 0 || transports.some((t) => t !== 'plaintext' && t !== 'tls')) throw new Error(`--transport: plaintext, tls or both, comma-separated; got ${args.transport}`)
for (const n of scales) if (!Number.isInteger(n) || n < 1 || n > MAX_SITES) throw new Error(`--sites: each scale must be 1 to ${MAX_SITES}, got ${args.sites}`)

/** The study at `sites` sites: its round and evaluation deadlines grow with the sites sharing this loop, as their calls' do. */
const studyAt = (sites: number): Omit<StudySpecInput, 'minSites'> => ({
  ...study,
  roundDeadlineMs: (study.roundDeadlineMs * sharedLoopDeadlineMs(sites)) / sharedLoopDeadlineMs(1),
  evaluationDeadlineMs: (study.evaluationDeadlineMs * sharedLoopDeadlineMs(sites)) / sharedLoopDeadlineMs(1),
})
const study = {
  id: 'bench-round',
  model: { kind: 'mlp', hidden: [64, 64] },
  data: SYNTHETIC_SCHEMA,
  training: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localSteps: 20 },
  strategy: { name: 'fedavg' },
  rounds,
  roundDeadlineMs: 300_000,
  evaluationDeadlineMs: 300_000,
  seed: 7,
} satisfies Omit<StudySpecInput, 'minSites'>
const spec = StudySpecSchema.parse({ ...study, minSites: 1 })
const shapes = modelShapes(spec.model, inputWidth(spec.data))

const started = performance.now()
// Other work on the machine shows up in every number here; recorded so a noisy run can be recognised.
const loadBefore = loadavg()
// Per scale: the federation's rounds, then the same rounds again bare.
const progress = benchProgress(2 * rounds * scales.length * transports.length, 'bench:round')
const summaries: ScaleSummary[] = []
for (const sites of scales)
  for (const transport of transports) {
    const run = await runScale({
      sites,
      tls: transport === 'tls',
      study: studyAt(sites),
      requestTimeoutMs: fixedTimeoutMs,
      onRound: (r) => progress.tick(`${sites} sites ${transport}, round ${r}/${rounds}`),
    })
    try {
      const baseline = await measureBaseline(run, (r) => progress.tick(`${sites} sites ${transport}, baseline round ${r}/${rounds}`))
      summaries.push(
        summarise(
          sites,
          transport,
          parameterCount(shapes),
          encodedSize(shapes),
          run.rounds.map((e, i) => roundNumbers(e, baseline[i]!)),
          { reconnects: run.reconnects, requestTimeoutMs: run.requestTimeoutMs, reconnectReasons: run.reconnectReasons, connections: run.connections },
        ),
      )
    } finally {
      await run.close()
    }
  }
progress.stop()
const runtimeS = (performance.now() - started) / 1000

const loadAverage = { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) }
const environment = { ...benchEnvironment(), tfBackend: backendName() ?? 'unknown', loadAverage }
console.log(`bench:round — ${rounds} rounds per scale, medians over rounds ${WARMUP_ROUNDS + 1}-${rounds} (round 1 is warm-up), MLP 64-64, sgd, batch 32, 20 local steps, FedAvg`)
console.log(
  `Node ${environment.node} · ${environment.cpu} · TF.js backend ${environment.tfBackend} · runtime ${runtimeS.toFixed(1)} s · load average (1/5/15 min) ${loadAverage.before.join('/')} before, ${loadAverage.after.join('/')} after`,
)
console.log('All sites run in this process: train is the sum of sequentially executed site training (max in brackets), and the round wall time contains that sum.')
printTables(summaries)
const costs = tlsCosts(summaries)
printTlsCosts(costs)
for (const s of summaries) {
  const m = s.median
  console.log(
    `${s.sites} sites ${s.transport}: ${s.reconnects} reconnects (call deadline ${s.requestTimeoutMs / 1000} s); coordinator ${m.coordinatorMs.toFixed(1)} ms of ${m.wallMs.toFixed(0)} ms (${m.overheadPct.toFixed(2)} %, goal ≤ ${OVERHEAD_GOAL_PCT} % ${s.goalMet ? 'met' : 'NOT met'}): ` +
      `verify ${m.verifyMs.toFixed(1)}, aggregate ${m.aggregateMs.toFixed(1)} (bare fedAvg ${m.bareFedAvgMs.toFixed(2)}), ` +
      `log ${m.logMs.toFixed(1)} (${s.sites} update appends ${m.logUpdatesMs.toFixed(1)} = ${(m.logUpdatesMs / s.sites).toFixed(2)} each, commit ${m.logCommitMs.toFixed(1)})`,
  )
  if (s.reconnects > 0)
    console.log(
      `  reconnects by reason: ${Object.entries(s.reconnectReasons ?? {})
        .map(([why, n]) => `${n}× ${why}`)
        .join('; ')}`,
    )
  if (s.connections !== undefined)
    console.log(`  coordinator connections: ${s.connections.open} open at the end, ${s.connections.refused} refused at a cap, ${s.connections.timedOut} closed for sending no request in time`)
  if (m.trainSumMs > m.bareTrainSumMs * 1.2)
    console.log(
      `  note: in-federation train Σ ${m.trainSumMs.toFixed(0)} ms vs bare ${m.bareTrainSumMs.toFixed(0)} ms — a site's trainLocal yields to the event loop (every ${TRAIN_YIELD_INTERVAL_MS} ms and when reading its loss), ` +
        "so other sites' training and RPCs run inside its measured duration; the bare figure is the clean sequential sum.",
    )
}

const result = {
  bench: 'round',
  date: new Date().toISOString(),
  runtimeSeconds: runtimeS,
  environment,
  config: {
    rounds,
    warmupRounds: WARMUP_ROUNDS,
    scales,
    transports,
    overheadGoalPct: OVERHEAD_GOAL_PCT,
    requestTimeoutMs: fixedTimeoutMs ?? 'sharedLoopDeadlineMs: 10 s per 16 sites in the process',
    study: { model: spec.model, training: spec.training, strategy: spec.strategy, seed: spec.seed },
    sites: benchSites(Math.max(...scales)).map((s) => s.cohort),
    notes: [
      'All site agents and the coordinator run in one Node process: train is the sum of sequentially executed site training, and wall contains it.',
      "trainSumMs comes from the sites' trained.durationMs; a site's training yields to the event loop, so it can include other sites' interleaved work (then it exceeds bareTrainSumMs, the clean sequential sum).",
      'upload = Σ upload RPC time as the sites saw it minus the coordinator phases inside those RPCs; it includes gRPC, queueing and event-loop contention with in-process training.',
      'overheadPct = (verify + aggregate + log) / wall. tailMs = verify + log of the last update, aggregate and commit log (what no site training overlaps); parallelOverheadPct = tail / (max train + tail).',
      'Baseline (bare*) on the same rounds: trainLocal per site one after another, fedAvg once per round on the logged deltas; addedMs = coordinator time - bare fedAvg.',
      'Medians per metric over rounds after the warm-up, each taken separately.',
      "reconnects: the sites' reconnecting events over the whole run, warm-up included (a new hello after a missed call deadline or a dropped task stream).",
    ],
  },
  results: summaries,
  tlsCost: costs,
}
const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
await writeFile(new URL(args.out, dir), stableJson(result))
console.log(`wrote bench/results/${args.out}`)
