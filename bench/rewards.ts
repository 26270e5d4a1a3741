/**
 * Bench: what contribution scoring and reward splitting cost the coordinator
 * at the end of a round, at 10 sites (exact Shapley: 2^10 = 1024 coalition
 * utilities) and 50 sites (GTG-Shapley), on a realistic round.
 *
 * The round: the synthetic cardiology schema (12 inputs) with an MLP
 * 12→16→1 (225 parameters). 50 hospitals with fixed-seed cohorts of
 * different size, case mix and population train 20 SGD steps each with TF.js
 * (`trainLocal`) from a parent that one warm-up FedAvg round over 10 of them
 * produced; their deltas are the round's updates. The hub's validation set is
 * 2,000 rows of a separate cohort. Utility = −log loss of the coalition's
 * FedAvg model on it, computed by `models/core` `predictProbabilitiesCore`
 * (plain float64, the audited path); nothing here times TF.js.
 *
 * Baselines in the same run: one utility evaluation (FedAvg of the
 * coalition + forward pass + log loss over 2,000 rows) at 10 and 50 sites,
 * and the `examples` method, which needs no utility at all. Also reported:
 * utility calls, permutations, GTG-Shapley's distance from exact Shapley at
 * 10 sites, the reward split of a pool, and a SHA-256 of each method's raw
 * scores (binary64 little-endian, site order) so two machines can compare
 * bits.
 *
 * Usage: npm run bench:rewards [-- --runs N]   (default 3 timed runs of each scoring method, medians)
 * Writes bench/results/rewards.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { sha256, toHex } from '../ledger/index.ts'
import {
  DataSchemaSchema,
  backendName,
  computeDelta,
  fedAvg,
  initBackend,
  initialWeights,
  inputWidth,
  parameterCount,
  portableLogLoss,
  predictProbabilitiesCore,
  trainLocal,
  type Dataset,
  type ModelSpec,
  type TrainingSpec,
  type Weights,
} from '../models/index.ts'
import { COHORT_COLUMNS, SYNTHETIC_SCHEMA, generateCohort, prepareSplits, type CohortInit, type RawTable } from '../site-agent/index.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'
import { contributionSeed, scoreContributions, splitRewardPool, type ContributionInit, type ContributionResult, type ContributionUpdate } from '../protocol/index.ts'

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' } } })
const RUNS = Number(args.runs)
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`)

const STUDY_SEED = 7
const ROUND = 2
const SEED = contributionSeed(STUDY_SEED, ROUND)
const SITES = 50
const EXACT_SITES = 10
const POOL = 1_000_000_000n
const MODEL: ModelSpec = { kind: 'mlp', hidden: [16], activation: 'relu' }
const TRAINING: TrainingSpec = { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localSteps: 20 }
const WARMUP: TrainingSpec = { ...TRAINING, localSteps: 40 }
const UTILITY_RUNS = 50
const schema = DataSchemaSchema.parse(SYNTHETIC_SCHEMA)
const width = inputWidth(schema)

/** An in-memory table of a synthetic cohort, cells as the CSV writer spells them. */
function cohortTable(init: CohortInit): RawTable {
  const rows = generateCohort(init).map((row) => COHORT_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c]))))
  return { columns: [...COHORT_COLUMNS], rows, sourcePath: `${init.siteId} (in memory)` }
}

/** Hospital i: 80 to 395 patients, prevalence 0.25 to 0.6, covariate shift −1.5 to 1.5. */
function siteCohort(i: number): CohortInit {
  return {
    siteId: `hospital-${String(i + 1).padStart(2, '0')}`,
    seed: 9001 + 131 * i,
    size: 80 + ((i * 37) % 22) * 15,
    prevalence: 0.25 + ((i * 3) % 8) * 0.05,
    shift: -1.5 + ((i * 7) % 11) * 0.3,
  }
}

/** Median and minimum of `runs` timed calls after `warmups` untimed ones (JIT). */
function time<T>(runs: number, run: () => T, warmups = 0): { medianMs: number; minMs: number; last: T } {
  const samples: number[] = []
  let last!: T
  for (let i = 0; i < warmups; i++) run()
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    last = run()
    samples.push(performance.now() - started)
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), last }
}

function scoresSha256(result: ContributionResult): string {
  const bytes = new Uint8Array(8 * result.scores.length)
  const view = new DataView(bytes.buffer)
  result.scores.forEach((s, i) => view.setFloat64(8 * i, s.raw, true))
  return toHex(sha256(bytes))
}

const progress = benchProgress(SITES + 10 + 8, 'bench:rewards')
const started = performance.now()
// Other work on the machine shows up in every number here; recorded so a noisy run can be recognised.
const loadBefore = loadavg()
await initBackend()

// The hub's validation set: 2,000 rows of its own cohort (stratified 80 % of 2,500).
const hub = prepareSplits(cohortTable({ siteId: 'hub-validation', seed: 4242, size: 2500, prevalence: 0.45, shift: 0.2 }), schema, { kind: 'fraction', validationFraction: 0.8, seed: 1 })
const validation: Dataset = hub.validation

// The sites' train splits, then a warm-up round so the measured round starts from a trained parent.
const siteData = Array.from({ length: SITES }, (_, i) => ({
  cohort: siteCohort(i),
  data: prepareSplits(cohortTable(siteCohort(i)), schema, { kind: 'fraction', validationFraction: 0.2, seed: i }).train,
}))
const initial = initialWeights(MODEL, width, STUDY_SEED)
const warmup: ContributionUpdate[] = []
for (const { cohort, data } of siteData.slice(0, 10)) {
  const trained = await trainLocal({ model: MODEL, training: WARMUP, global: initial, data, seed: cohort.seed })
  warmup.push({ siteId: cohort.siteId, delta: computeDelta(trained.weights, initial), exampleCount: data.count })
  progress.tick(`warm-up ${cohort.siteId}`)
}
const parent = fedAvg(initial, warmup)
const updates: ContributionUpdate[] = []
for (const { cohort, data } of siteData) {
  const trained = await trainLocal({ model: MODEL, training: TRAINING, global: parent, data, seed: cohort.seed + ROUND })
  updates.push({ siteId: cohort.siteId, delta: computeDelta(trained.weights, parent), exampleCount: data.count })
  progress.tick(`train ${cohort.siteId}`)
}

const utility = { kind: 'validation' as const, model: MODEL, parent, validation }
const negLogLoss = (weights: Weights) => -portableLogLoss(predictProbabilitiesCore(MODEL, weights, validation), validation.labels)

// Baselines: one utility evaluation, as scoreContributions does it, at both scales; the examples method.
const forwardOnly = time(UTILITY_RUNS, () => negLogLoss(parent), 10)
const utility10 = time(UTILITY_RUNS, () => negLogLoss(fedAvg(parent, updates.slice(0, EXACT_SITES))), 10)
const utility50 = time(UTILITY_RUNS, () => negLogLoss(fedAvg(parent, updates)), 10)
progress.tick('baselines')

interface Case {
  readonly name: string
  readonly sites: number
  readonly init: ContributionInit
  readonly runs: number
}
const cases: Case[] = [
  { name: 'examples', sites: EXACT_SITES, init: { method: 'examples', updates: updates.slice(0, EXACT_SITES), seed: SEED }, runs: 100 },
  { name: 'leave-one-out', sites: EXACT_SITES, init: { method: 'leave-one-out', updates: updates.slice(0, EXACT_SITES), utility, seed: SEED }, runs: RUNS },
  { name: 'shapley (exact)', sites: EXACT_SITES, init: { method: 'shapley', updates: updates.slice(0, EXACT_SITES), utility, seed: SEED }, runs: RUNS },
  { name: 'gtg-shapley', sites: EXACT_SITES, init: { method: 'gtg-shapley', updates: updates.slice(0, EXACT_SITES), utility, seed: SEED }, runs: RUNS },
  { name: 'examples', sites: SITES, init: { method: 'examples', updates, seed: SEED }, runs: 100 },
  { name: 'leave-one-out', sites: SITES, init: { method: 'leave-one-out', updates, utility, seed: SEED }, runs: RUNS },
  { name: 'gtg-shapley', sites: SITES, init: { method: 'gtg-shapley', updates, utility, seed: SEED }, runs: RUNS },
]
const measured = cases.map((c) => {
  const t = time(c.runs, () => scoreContributions(c.init), c.init.method === 'examples' ? 10 : 0)
  progress.tick(`${c.name} at ${c.sites} sites`)
  return { ...c, ...t }
})
progress.stop()

// GTG-Shapley against exact Shapley on the same 10 sites.
const exact10 = measured[2]!.last.scores.map((s) => s.raw)
const gtg10 = measured[3]!.last.scores.map((s) => s.raw)
const sumAbs = exact10.reduce((a, v) => a + Math.abs(v), 0)
const maxAbsError = Math.max(...gtg10.map((v, i) => Math.abs(v - exact10[i]!)))
const argmax = (xs: readonly number[]) => xs.indexOf(Math.max(...xs))

// The 50-site GTG scores into a pool.
const gtg50 = measured[6]!.last
const split = time(100, () => splitRewardPool(POOL, gtg50.scores))
const runtimeS = (performance.now() - started) / 1000

const loadAverage = { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) }
const environment = { ...benchEnvironment(), tfBackend: backendName() ?? 'unknown', loadAverage }
const params = parameterCount(parent)
console.log(`bench:rewards — MLP ${width}→16→1 (${params} parameters), validation ${validation.count} rows, round ${ROUND} (seed ${SEED}), medians`)
console.log(
  `Node ${environment.node} · ${environment.cpu} · training backend ${environment.tfBackend} (not timed) · runtime ${runtimeS.toFixed(1)} s · ` +
    `load average (1/5/15 min) ${loadAverage.before.join('/')} before, ${loadAverage.after.join('/')} after`,
)
console.table([
  { measure: 'baseline: forward pass + log loss (parent)', sites: '—', 'median ms': +forwardOnly.medianMs.toFixed(3) },
  { measure: 'baseline: one utility (FedAvg + forward + loss)', sites: EXACT_SITES, 'median ms': +utility10.medianMs.toFixed(3) },
  { measure: 'baseline: one utility (FedAvg + forward + loss)', sites: SITES, 'median ms': +utility50.medianMs.toFixed(3) },
])
console.table(
  measured.map((m) => ({
    method: m.name,
    sites: m.sites,
    'median ms': +m.medianMs.toFixed(2),
    runs: m.runs,
    'utility calls': m.last.utilityCalls,
    permutations: m.last.permutations,
    converged: m.last.converged ?? '—',
    'ms / utility': m.last.utilityCalls === 0 ? '—' : +(m.medianMs / m.last.utilityCalls).toFixed(3),
    'scores sha256': scoresSha256(m.last).slice(0, 12),
  })),
)
console.log(
  `GTG-Shapley vs exact at ${EXACT_SITES} sites: max |error| ${maxAbsError.toExponential(3)} = ${((100 * maxAbsError) / sumAbs).toFixed(1)} % of Σ|φ|; ` +
    `top site ${updates[argmax(gtg10)]!.siteId} (exact: ${updates[argmax(exact10)]!.siteId}); ${measured[3]!.last.utilityCalls} vs 1024 utilities`,
)
console.log(
  `reward split of ${POOL} units over ${SITES} GTG scores: ${split.medianMs.toFixed(3)} ms; ` +
    `${gtg50.scores.filter((s) => s.payable > 0).length} sites paid, ${gtg50.scores.filter((s) => s.reason === 'negative-value').length} negative, unallocated ${split.last.unallocated}`,
)

const result = {
  bench: 'rewards',
  date: new Date().toISOString(),
  environment,
  workload: {
    model: { ...MODEL, inputs: width, parameters: params },
    validationRows: validation.count,
    sites: SITES,
    exactSites: EXACT_SITES,
    training: TRAINING,
    warmup: { sites: 10, training: WARMUP },
    studySeed: STUDY_SEED,
    round: ROUND,
    contributionSeed: SEED,
    metric: 'neg-log-loss',
    runs: RUNS,
  },
  baselines: {
    forwardPassMs: forwardOnly.medianMs,
    utilityMs: { [EXACT_SITES]: utility10.medianMs, [SITES]: utility50.medianMs },
  },
  results: measured.map((m) => ({
    method: m.init.method,
    sites: m.sites,
    medianMs: m.medianMs,
    minMs: m.minMs,
    runs: m.runs,
    utilityCalls: m.last.utilityCalls,
    permutations: m.last.permutations,
    converged: m.last.converged,
    params: m.last.params,
    gain: m.last.gain,
    scoresSha256: scoresSha256(m.last),
  })),
  gtgVsExact: { sites: EXACT_SITES, maxAbsError, relativeToSumAbs: maxAbsError / sumAbs, sameTopSite: argmax(gtg10) === argmax(exact10) },
  rewardSplit: {
    pool: POOL.toString(),
    sites: SITES,
    medianMs: split.medianMs,
    paidSites: split.last.allocations.filter((a) => a.amount > 0n).length,
    unallocated: split.last.unallocated.toString(),
  },
  runtimeS,
}
const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
await writeFile(new URL('rewards.json', dir), stableJson(result), 'utf8')
console.log(`wrote ${new URL('rewards.json', dir).pathname}`)
