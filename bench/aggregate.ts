/**
 * Bench: FedAvg of 20 site updates over 1M float32 parameters, the
 * coordinator's per-round aggregation cost.
 *
 * Measures `fedAvg` from models/core (sorted by siteId, float64 sums, one
 * rounding) against the straightforward TF.js formulation
 * `global + Σ n_i·Δ_i / N` on the auto-selected backend, in the same run,
 * over the same fixed-seed arrays. Throughput counts the delta bytes read
 * (20 × 4 MB); the TF.js time includes reading the result back (`dataSync`),
 * which is what the coordinator would need, but not uploading the inputs.
 *
 * Also reports the hash of both outputs and whether they are bit-identical:
 * TF.js sums in float32 and in its own order, so generally they are not,
 * which is why the audited path never uses it.
 *
 * Then one row per further strategy (server optimisers, norm bounding),
 * each through `createStrategy(spec).aggregateRound` as the coordinator
 * runs it, on the same updates; a server optimiser starts from the state
 * its own first round left (so its moments are non-zero), and its time
 * includes writing the new state.
 *
 * Usage: npm run bench:aggregate [-- --runs=N]   (default 15 timed runs after 2 warm-ups)
 * Writes bench/results/aggregate.json.
 */
import * as tf from '@tensorflow/tfjs'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { toHex } from '../ledger/index.ts'
import { fedAvg, hashWeights, initBackend, mulberry32, parameterCount, type StrategySpecInput, type TensorShape, type Weights, type WeightedUpdate } from '../models/index.ts'
import { StrategySpecSchema } from '../models/core/index.ts'
import { createStrategy, type ServerState } from '../protocol/index.ts'

const SITES = 20
const SEED = 20240601
const WARMUP_RUNS = 2
// 999 × 1000 + 1000 = exactly 1,000,000 parameters: one dense layer's kernel and bias.
const SHAPES: readonly TensorShape[] = [
  { name: 'hidden_0/kernel', shape: [999, 1000] },
  { name: 'hidden_0/bias', shape: [1000] },
]

function parseRuns(argv: readonly string[]): number {
  const arg = argv.find((a) => a.startsWith('--runs='))
  const runs = arg === undefined ? 15 : Number(arg.slice('--runs='.length))
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${arg}`)
  return runs
}

function randomWeights(random: () => number, scale: number): Weights {
  return {
    tensors: SHAPES.map((s) => {
      const values = new Float32Array(s.shape.reduce((a, b) => a * b, 1))
      for (let j = 0; j < values.length; j++) values[j] = scale * (2 * random() - 1)
      return { name: s.name, shape: s.shape, values }
    }),
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Timing {
  readonly medianMs: number
  readonly minMs: number
  readonly maxMs: number
  readonly gbPerSecond: number
}

function time(runs: number, bytesRead: number, run: () => void): Timing {
  for (let i = 0; i < WARMUP_RUNS; i++) run()
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    run()
    samples.push(performance.now() - started)
  }
  const medianMs = median(samples)
  return { medianMs, minMs: Math.min(...samples), maxMs: Math.max(...samples), gbPerSecond: bytesRead / (medianMs / 1000) / 1e9 }
}

/** The straightforward TF.js FedAvg: float32 ops, inputs already on the device. */
function tfjsFedAvg(global: readonly tf.Tensor[], deltas: readonly (readonly tf.Tensor[])[], counts: readonly number[]): Weights {
  const total = counts.reduce((a, b) => a + b, 0)
  return {
    tensors: SHAPES.map((s, t) => {
      const out = tf.tidy(() => {
        let acc = tf.mul(deltas[0]![t]!, counts[0]!)
        for (let i = 1; i < deltas.length; i++) acc = tf.add(acc, tf.mul(deltas[i]![t]!, counts[i]!))
        return tf.add(global[t]!, tf.div(acc, total))
      })
      const values = new Float32Array(out.dataSync())
      out.dispose()
      return { name: s.name, shape: s.shape, values }
    }),
  }
}

function compare(a: Weights, b: Weights): { differing: number; maxAbsDiff: number } {
  let differing = 0
  let maxAbsDiff = 0
  a.tensors.forEach((t, i) => {
    const u = t.values
    const v = b.tensors[i]!.values
    for (let j = 0; j < u.length; j++) {
      if (Object.is(u[j], v[j])) continue
      differing++
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(u[j]! - v[j]!))
    }
  })
  return { differing, maxAbsDiff }
}

async function main(): Promise<void> {
  const runs = parseRuns(process.argv.slice(2))
  const random = mulberry32(SEED)
  const global = randomWeights(random, 0.05)
  const updates: WeightedUpdate[] = Array.from({ length: SITES }, (_, i) => ({
    siteId: `site-${String(i).padStart(2, '0')}`,
    delta: randomWeights(random, 0.001),
    exampleCount: 50 + ((i * 37) % 400),
  }))
  const parameters = parameterCount(global)
  const deltaBytes = SITES * parameters * 4

  // Ours.
  let ours: Weights = global
  const oursTiming = time(runs, deltaBytes, () => {
    ours = fedAvg(global, updates)
  })

  // TF.js, same arrays, same (siteId) order.
  const backend = await initBackend('auto')
  const globalTensors = global.tensors.map((t) => tf.tensor(t.values, [...t.shape]))
  const deltaTensors = updates.map((u) => u.delta.tensors.map((t) => tf.tensor(t.values, [...t.shape])))
  const counts = updates.map((u) => u.exampleCount)
  let theirs: Weights = global
  const tfTiming = time(runs, deltaBytes, () => {
    theirs = tfjsFedAvg(globalTensors, deltaTensors, counts)
  })
  tf.dispose([...globalTensors, ...deltaTensors.flat()])

  // Every further strategy, as the decider drives it.
  const strategies: { label: string; spec: StrategySpecInput }[] = [
    { label: 'fedavg strategy (with its metrics)', spec: { name: 'fedavg' } },
    { label: 'fedavgm (μ 0.9)', spec: { name: 'fedavgm', serverMomentum: 0.9 } },
    { label: 'fedadagrad', spec: { name: 'fedadagrad' } },
    { label: 'fedadam', spec: { name: 'fedadam' } },
    { label: 'fedyogi', spec: { name: 'fedyogi' } },
    { label: 'scaffold (c as state)', spec: { name: 'scaffold' } },
    { label: 'fedavg + clipNorm', spec: { name: 'fedavg', clipNorm: 0.5 } },
  ]
  // What the decider gives every aggregation beside the replies (SCAFFOLD's K, η_l and N).
  const context = { training: { optimizer: 'sgd' as const, learningRate: 0.01, batchSize: 32, localSteps: 10 }, siteCount: SITES }
  const strategyRows = strategies.map(({ label, spec }) => {
    const strategy = createStrategy(StrategySpecSchema.parse(spec))
    const first = strategy.aggregateRound({ round: 1, global, replies: updates, failures: [], state: null, seed: 0, ...context })
    const state: ServerState | null = first.kind === 'model' ? first.state : null
    let model: Weights = global
    const timing = time(runs, deltaBytes, () => {
      const out = strategy.aggregateRound({ round: 2, global, replies: updates, failures: [], state, seed: 0, ...context })
      if (out.kind === 'model') model = out.weights
    })
    return { label, name: strategy.name, timing, sha256: toHex(hashWeights(model)) }
  })

  const oursHash = toHex(hashWeights(ours))
  const tfHash = toHex(hashWeights(theirs))
  const { differing, maxAbsDiff } = compare(ours, theirs)
  const environment = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, tfBackend: backend }

  console.log(`FedAvg bench: ${SITES} updates × ${parameters.toLocaleString('en-US')} float32 parameters, ${runs} runs (median), seed ${SEED}`)
  console.log(`Node ${environment.node} · ${environment.cpu} · ${environment.cores} cores · TF.js backend ${backend}`)
  console.table([
    {
      implementation: 'models/core fedAvg (float64, sorted)',
      'median ms': +oursTiming.medianMs.toFixed(2),
      'min ms': +oursTiming.minMs.toFixed(2),
      'GB/s': +oursTiming.gbPerSecond.toFixed(2),
      sha256: oursHash.slice(0, 16),
    },
    {
      implementation: `TF.js ${backend} (float32)`,
      'median ms': +tfTiming.medianMs.toFixed(2),
      'min ms': +tfTiming.minMs.toFixed(2),
      'GB/s': +tfTiming.gbPerSecond.toFixed(2),
      sha256: tfHash.slice(0, 16),
    },
    ...strategyRows.map((r) => ({
      implementation: `models/core ${r.label}`,
      'median ms': +r.timing.medianMs.toFixed(2),
      'min ms': +r.timing.minMs.toFixed(2),
      'GB/s': +r.timing.gbPerSecond.toFixed(2),
      sha256: r.sha256.slice(0, 16),
    })),
  ])
  console.log(`bit-identical: ${oursHash === tfHash} (${differing.toLocaleString('en-US')} of ${parameters.toLocaleString('en-US')} values differ, max |diff| ${maxAbsDiff.toExponential(3)})`)

  const result = {
    bench: 'aggregate',
    date: new Date().toISOString(),
    environment,
    workload: { sites: SITES, parameters, shapes: SHAPES, seed: SEED, runs, warmupRuns: WARMUP_RUNS, deltaBytes },
    results: [
      { implementation: 'fedAvg', ...oursTiming, sha256: oursHash },
      { implementation: `tfjs-${backend}`, ...tfTiming, sha256: tfHash },
      ...strategyRows.map((r) => ({ implementation: r.label, strategy: r.name, ...r.timing, sha256: r.sha256, vsFedAvg: r.timing.medianMs / oursTiming.medianMs })),
    ],
    bitIdentical: oursHash === tfHash,
    differingValues: differing,
    maxAbsDiff,
    speedup: tfTiming.medianMs / oursTiming.medianMs,
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}aggregate.json`, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${dir}aggregate.json`)
}

await main()
