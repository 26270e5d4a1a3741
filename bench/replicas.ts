/**
 * Bench: do the sites' replicas of the log hold the whole log at the end of
 * a study, when each site is its own process? (issue 10, item 8: with 100
 * site processes, 61 replicas started and 10 held the full log.)
 *
 * Per scale (`replicas/federation.ts`): a coordinator in this process and n
 * site agents as separate processes, each with its own LevelDB replica
 * dialing the coordinator over libp2p on 127.0.0.1, run a small study
 * (an 8-unit MLP, two local steps, FedAvg). Per site: whether its replica
 * started, its final log length against the coordinator's, and the time
 * from the study's completion to the site's finish (its final sync); plus
 * the coordinator's libp2p connections and each process's peak RSS. The
 * baseline in the same run is the same study at a small scale (10 sites).
 *
 * Usage: npm run bench:replicas [-- --sites 100] [-- --baseline 10] [-- --rounds 3]
 * Writes bench/results/replicas.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { runReplicaScale, type ReplicaScaleRun } from './replicas/federation.ts'
import { printReplicaTables, summariseScale } from './replicas/report.ts'
import { MAX_SITES } from './round/cohorts.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const { values: args } = parseArgs({ options: { sites: { type: 'string', default: '100' }, baseline: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } })
const scales = [Number(args.baseline), Number(args.sites)]
const rounds = Number(args.rounds)
for (const n of scales) if (!Number.isInteger(n) || n < 1 || n > MAX_SITES) throw new Error(`--sites and --baseline: 1 to ${MAX_SITES}, got ${n}`)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a positive integer, got ${args.rounds}`)

const started = performance.now()
const loadBefore = loadavg()
// Per scale: each round's commit, then each site's report.
const progress = benchProgress(
  scales.reduce((a, n) => a + rounds + n, 0),
  'bench:replicas',
)
const runs: ReplicaScaleRun[] = []
for (const sites of scales) {
  runs.push(
    await runReplicaScale({
      sites,
      rounds,
      onRound: (r) => progress.tick(`${sites} sites: round ${r}/${rounds} committed`),
      onSite: (s) => progress.tick(`${sites} sites: ${s.site} ${s.fullLog ? 'full log' : `${s.entries} entries`}`),
    }),
  )
}
progress.stop()
const runtimeS = (performance.now() - started) / 1000
const loadAverage = { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) }
const environment = { ...benchEnvironment(), memoryBytes: totalmem(), loadAverage }
const summaries = runs.map(summariseScale)

console.log(`bench:replicas — ${rounds} rounds, one coordinator in this process and n site agents as separate processes, every replica on 127.0.0.1 (baseline: ${scales[0]} sites)`)
console.log(`Node ${environment.node} · ${environment.cpu} · runtime ${runtimeS.toFixed(1)} s · load average (1/5/15 min) ${loadAverage.before.join('/')} before, ${loadAverage.after.join('/')} after`)
printReplicaTables(runs, summaries)

const result = {
  bench: 'replicas',
  date: new Date().toISOString(),
  runtimeSeconds: runtimeS,
  environment,
  config: {
    scales,
    rounds,
    study: { model: { kind: 'mlp', hidden: [8] }, training: { localSteps: 2, batchSize: 32 }, strategy: 'fedavg', backend: 'cpu' },
    notes: [
      'Each site agent is its own Node process (bench/replicas/site-process.ts) with its own LevelDB replica; the coordinator runs in the bench process.',
      "catchUpMs: from the study's completion at the coordinator to the site's finish, its final sync included.",
      "fullLog: the site's verified replica holds exactly the coordinator's entries at the end.",
      'coordinatorConnections: libp2p connections of the coordinator replica, sampled every 250 ms, and at completion.',
    ],
  },
  results: runs.map((run, i) => ({ ...summaries[i], sitesDetail: run.results })),
}
const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
await writeFile(new URL('replicas.json', dir), stableJson(result))
console.log('wrote bench/results/replicas.json')
