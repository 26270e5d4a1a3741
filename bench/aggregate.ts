/**
 * Bench: FedAvg of 20 site updates over 1M float32 parameters, the
 * coordinator's per-round aggregation cost.
 *
 * Measures `fedAvg` from models/core (sorted by siteId, float64 sums, one
 * rounding) with its default kernel (WebAssembly SIMD) and with the plain-JS
 * kernel, against two baselines in the same run, over the same fixed-seed
 * arrays. The SIMD kernel runs three ways:
 *
 * - in place, two threads (the headline row): the deltas and the global
 *   model were decoded with `decodeWeightsShared`, as the coordinator's
 *   commit path does, so they already live in the kernel's shared memory;
 *   the kernel reads them there and the worker thread computes half of each
 *   large tensor. Decoding is NOT timed (it is the upload path's work, done
 *   once per update, as numpy's inputs are already arrays); the timed region
 *   is the aggregation only, output allocation included.
 * - in place, one thread: the same inputs, the worker not used.
 * - copied: the deltas are ordinary Float32Arrays, copied into the kernel
 *   chunk by chunk inside the timed region (the kernel before shared memory).
 *
 * Baselines:
 *
 * - numpy (bench/aggregate-numpy.py, spawned on the same bytes): in-place
 *   float32 FedAvg (`acc += n_i * d_i`, literally and with a reused
 *   temporary) and a float64, site-order one that should give our exact bytes
 *   (checked and reported). Without a Python that has numpy it prints how to
 *   install it and skips those rows.
 * - the straightforward TF.js formulation `global + Σ n_i·Δ_i / N` on the
 *   auto-selected backend; its time includes reading the result back
 *   (`dataSync`) but not uploading the inputs.
 *
 * Throughput counts the delta bytes read (20 × 4 MB). Reports each output's
 * hash and whether it is bit-identical to ours: float32 sums (numpy in place,
 * TF.js) generally are not, which is why the audited path never uses them.
 *
 * Then one row per further strategy (server optimisers, norm bounding),
 * each through `createStrategy(spec).aggregateRound` as the coordinator
 * runs it, on the same updates; a server optimiser starts from the state
 * its own first round left (so its moments are non-zero), and its time
 * includes writing the new state.
 *
 * The machine's load average is recorded at the start and end: on a shared
 * machine the medians move with it.
 *
 * Usage: npm run bench:aggregate [-- --runs=N]   (default 15 timed runs after 2 warm-ups)
 * Writes bench/results/aggregate.json.
 */
import * as tf from '@tensorflow/tfjs'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { toHex } from '../ledger/index.ts'
import {
  decodeWeightsShared,
  encodeWeights,
  fedAvg,
  hashWeights,
  initBackend,
  mulberry32,
  parameterCount,
  type StrategySpecInput,
  type TensorShape,
  type Weights,
  type WeightedUpdate,
} from '../models/index.ts'
import { StrategySpecSchema, defaultAggregationKernel, plainAggregationKernel, simdAggregationKernel } from '../models/core/index.ts'
import { NUMPY_FORMULATIONS, runNumpyFedAvg, type NumpyFormulation } from './support/numpy-fedavg.ts'
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

/** All of a model's values, flat in tensor order. */
function flat(w: Weights): Float32Array {
  const out = new Float32Array(parameterCount(w))
  let offset = 0
  for (const t of w.tensors) {
    out.set(t.values, offset)
    offset += t.values.length
  }
  return out
}

/** Flat values laid out as SHAPES. */
function unflat(values: Float32Array): Weights {
  let offset = 0
  return {
    tensors: SHAPES.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1)
      const t = { name: s.name, shape: s.shape, values: values.subarray(offset, offset + size) }
      offset += size
      return t
    }),
  }
}

const round1 = (load: readonly number[]): number[] => load.map((l) => +l.toFixed(2))

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
  // The same values, decoded into the kernel's shared memory as the commit path decodes them (not timed).
  const sharedGlobal = decodeWeightsShared(encodeWeights(global))
  const sharedUpdates: WeightedUpdate[] = updates.map((u) => ({ ...u, delta: decodeWeightsShared(encodeWeights(u.delta)) }))

  const loadAtStart = round1(loadavg())
  const kernel = defaultAggregationKernel()
  const oneThread = simdAggregationKernel({ twoThreadMinWork: Number.POSITIVE_INFINITY })
  // The worker boots asynchronously on first use; wait for it so every timed run can use it.
  const simd = simdAggregationKernel()
  for (let i = 0; i < 500 && simd !== null && !simd.secondThreadReady(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const threads = simd?.fedAvgValues(sharedGlobal.tensors[0]!.values, sharedUpdates, 0, 1, 1).threads ?? 1

  // Ours: the default kernel in place (two threads when up), in place on one thread, copied, and the plain-JS kernel.
  let ours: Weights = global
  const oursTiming = time(runs, deltaBytes, () => {
    ours = fedAvg(sharedGlobal, sharedUpdates, 1, kernel)
  })
  // How much of the big tensor the worker computed, over a few untimed calls (it claims less when the machine is busy).
  const shares = Array.from({ length: 5 }, () => simd?.fedAvgValues(sharedGlobal.tensors[0]!.values, sharedUpdates, 0, 1, 1).workerShare ?? 0)
  const workerShare = shares.reduce((a, b) => a + b, 0) / shares.length
  let oursOneThread: Weights = global
  const oneThreadTiming = time(runs, deltaBytes, () => {
    oursOneThread = fedAvg(sharedGlobal, sharedUpdates, 1, oneThread ?? kernel)
  })
  let oursCopied: Weights = global
  const copiedTiming = time(runs, deltaBytes, () => {
    oursCopied = fedAvg(global, updates, 1, kernel)
  })
  let oursPlain: Weights = global
  const plainTiming = time(runs, deltaBytes, () => {
    oursPlain = fedAvg(global, updates, 1, plainAggregationKernel)
  })
  const oursHash = toHex(hashWeights(ours))
  const oneThreadHash = toHex(hashWeights(oursOneThread))
  const copiedHash = toHex(hashWeights(oursCopied))
  const plainHash = toHex(hashWeights(oursPlain))

  // numpy, same bytes, same (siteId) order, in a child process while this one idles.
  const numpy = runNumpyFedAvg({
    global: flat(global),
    deltas: updates.map((u) => flat(u.delta)),
    counts: updates.map((u) => u.exampleCount),
    runs,
    warmupRuns: WARMUP_RUNS,
  })
  const numpyRows =
    'skipped' in numpy
      ? []
      : NUMPY_FORMULATIONS.map((name: NumpyFormulation) => {
          const t = numpy.timings[name]
          const model = unflat(numpy.outputs[name])
          return {
            name,
            timing: { ...t, gbPerSecond: deltaBytes / (t.medianMs / 1000) / 1e9 },
            sha256: toHex(hashWeights(model)),
            ...compare(ours, model),
          }
        })
  const numpyF32 = numpyRows.find((r) => r.name === 'f32-inplace')
  const numpyF32Best = numpyRows.reduce<(typeof numpyRows)[number] | undefined>(
    (best, r) => (r.name.startsWith('f32') && (best === undefined || r.timing.medianMs < best.timing.medianMs) ? r : best),
    undefined,
  )
  const numpyF64 = numpyRows.find((r) => r.name === 'f64-site-order')

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
    const first = strategy.aggregateRound({ round: 1, global: sharedGlobal, replies: sharedUpdates, failures: [], state: null, seed: 0, ...context })
    const state: ServerState | null = first.kind === 'model' ? first.state : null
    let model: Weights = global
    const timing = time(runs, deltaBytes, () => {
      const out = strategy.aggregateRound({ round: 2, global: sharedGlobal, replies: sharedUpdates, failures: [], state, seed: 0, ...context })
      if (out.kind === 'model') model = out.weights
    })
    return { label, name: strategy.name, timing, sha256: toHex(hashWeights(model)) }
  })

  const tfHash = toHex(hashWeights(theirs))
  const { differing, maxAbsDiff } = compare(ours, theirs)
  const loadAtEnd = round1(loadavg())
  const environment = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    tfBackend: backend,
    aggregationKernel: kernel.name,
    aggregationThreads: threads,
    workerShareOfLargestTensor: workerShare,
    ...('skipped' in numpy ? { numpy: null, numpySkipped: numpy.skipped } : { python: numpy.python, pythonVersion: numpy.pythonVersion, numpy: numpy.numpy }),
    loadAverage1m5m15m: { atStart: loadAtStart, atEnd: loadAtEnd },
  }
  const ratio = (row: { timing: { medianMs: number } } | undefined): number | null => (row === undefined ? null : oursTiming.medianMs / row.timing.medianMs)

  console.log(`FedAvg bench: ${SITES} updates × ${parameters.toLocaleString('en-US')} float32 parameters, ${runs} runs (median), seed ${SEED}`)
  console.log(`Node ${environment.node} · ${environment.cpu} · ${environment.cores} cores · TF.js backend ${backend} · load average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}`)
  if ('skipped' in numpy) console.log(`numpy rows skipped: ${numpy.skipped}`)
  else console.log(`numpy ${numpy.numpy} on ${numpy.python} (Python ${numpy.pythonVersion})`)
  console.table([
    {
      implementation: `models/core fedAvg, ${kernel.name} in place, ${threads} thread${threads === 1 ? '' : 's'} (float64, sorted)`,
      'median ms': +oursTiming.medianMs.toFixed(2),
      'min ms': +oursTiming.minMs.toFixed(2),
      'GB/s': +oursTiming.gbPerSecond.toFixed(2),
      sha256: oursHash.slice(0, 16),
    },
    {
      implementation: `models/core fedAvg, ${kernel.name} in place, 1 thread`,
      'median ms': +oneThreadTiming.medianMs.toFixed(2),
      'min ms': +oneThreadTiming.minMs.toFixed(2),
      'GB/s': +oneThreadTiming.gbPerSecond.toFixed(2),
      sha256: oneThreadHash.slice(0, 16),
    },
    {
      implementation: `models/core fedAvg, ${kernel.name} copied in, 1 thread`,
      'median ms': +copiedTiming.medianMs.toFixed(2),
      'min ms': +copiedTiming.minMs.toFixed(2),
      'GB/s': +copiedTiming.gbPerSecond.toFixed(2),
      sha256: copiedHash.slice(0, 16),
    },
    {
      implementation: 'models/core fedAvg, plain JS (float64, sorted)',
      'median ms': +plainTiming.medianMs.toFixed(2),
      'min ms': +plainTiming.minMs.toFixed(2),
      'GB/s': +plainTiming.gbPerSecond.toFixed(2),
      sha256: plainHash.slice(0, 16),
    },
    ...numpyRows.map((r) => ({
      implementation: `numpy ${r.name}`,
      'median ms': +r.timing.medianMs.toFixed(2),
      'min ms': +r.timing.minMs.toFixed(2),
      'GB/s': +r.timing.gbPerSecond.toFixed(2),
      sha256: r.sha256.slice(0, 16),
    })),
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
  console.log(`second thread: ${threads === 2 ? `up, computed ${(100 * workerShare).toFixed(0)} % of the 999,000-value tensor (mean of 5 untimed calls)` : 'not used'}`)
  console.log('timed: the aggregation only (fedAvg call, output allocation included); not timed: decoding the inputs into shared memory (the upload path does it once per update)')
  console.log(`bit-identical to the two-thread in-place row: one thread in place ${oneThreadHash === oursHash}, copied ${copiedHash === oursHash}, plain JS ${plainHash === oursHash}`)
  for (const r of numpyRows) {
    console.log(`numpy ${r.name} bit-identical: ${r.sha256 === oursHash} (${r.differing.toLocaleString('en-US')} values differ, max |diff| ${r.maxAbsDiff.toExponential(3)})`)
  }
  if (numpyF32 !== undefined && numpyF32Best !== undefined) {
    console.log(
      `ours (in place, ${threads} thread${threads === 1 ? '' : 's'}) / numpy in-place float32: ${ratio(numpyF32)!.toFixed(2)} (literal \`acc += n*d\`; one thread ${(oneThreadTiming.medianMs / numpyF32.timing.medianMs).toFixed(2)}, copied ${(copiedTiming.medianMs / numpyF32.timing.medianMs).toFixed(2)}), ${ratio(numpyF32Best)!.toFixed(2)} (fastest float32, ${numpyF32Best.name}); ours / numpy float64: ${ratio(numpyF64)!.toFixed(2)}`,
    )
  }
  console.log(`TF.js bit-identical: ${oursHash === tfHash} (${differing.toLocaleString('en-US')} of ${parameters.toLocaleString('en-US')} values differ, max |diff| ${maxAbsDiff.toExponential(3)})`)

  const result = {
    bench: 'aggregate',
    date: new Date().toISOString(),
    environment,
    workload: { sites: SITES, parameters, shapes: SHAPES, seed: SEED, runs, warmupRuns: WARMUP_RUNS, deltaBytes },
    results: [
      { implementation: 'fedAvg', kernel: kernel.name, inputs: 'in place (decodeWeightsShared)', threads, ...oursTiming, sha256: oursHash },
      { implementation: 'fedAvg', kernel: kernel.name, inputs: 'in place (decodeWeightsShared)', threads: 1, ...oneThreadTiming, sha256: oneThreadHash, bitIdentical: oneThreadHash === oursHash },
      { implementation: 'fedAvg', kernel: kernel.name, inputs: 'copied in per chunk', threads: 1, ...copiedTiming, sha256: copiedHash, bitIdentical: copiedHash === oursHash },
      { implementation: 'fedAvg', kernel: plainAggregationKernel.name, ...plainTiming, sha256: plainHash, bitIdentical: plainHash === oursHash },
      ...numpyRows.map((r) => ({ implementation: `numpy-${r.name}`, ...r.timing, sha256: r.sha256, bitIdentical: r.sha256 === oursHash, differingValues: r.differing, maxAbsDiff: r.maxAbsDiff })),
      { implementation: `tfjs-${backend}`, ...tfTiming, sha256: tfHash },
      ...strategyRows.map((r) => ({ implementation: r.label, strategy: r.name, ...r.timing, sha256: r.sha256, vsFedAvg: r.timing.medianMs / oursTiming.medianMs })),
    ],
    timed: 'the aggregation only (the fedAvg call, output allocation included); decoding into shared memory is not timed',
    bitIdentical: oursHash === tfHash,
    differingValues: differing,
    maxAbsDiff,
    speedup: tfTiming.medianMs / oursTiming.medianMs,
    speedupOverPlainJs: plainTiming.medianMs / oursTiming.medianMs,
    // Ours / numpy: below 1 means ours took less time. Null when numpy was skipped.
    ratioToNumpy: {
      f32InPlace: ratio(numpyF32),
      f32Fastest: ratio(numpyF32Best),
      f64SiteOrder: ratio(numpyF64),
      // The same ratio for the other two SIMD rows.
      f32InPlaceOneThread: numpyF32 === undefined ? null : oneThreadTiming.medianMs / numpyF32.timing.medianMs,
      f32InPlaceCopied: numpyF32 === undefined ? null : copiedTiming.medianMs / numpyF32.timing.medianMs,
    },
    numpyF64BitIdentical: numpyF64 === undefined ? null : numpyF64.sha256 === oursHash,
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}aggregate.json`, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${dir}aggregate.json`)
}

await main()
