import { beforeAll, describe, expect, it } from 'vitest'
import {
  NonFiniteValueError,
  decodeWeights,
  decodeWeightsShared,
  encodeWeights,
  fedAvg,
  kernelFloat32Array,
  mulberry32,
  plainAggregationKernel,
  simdAggregationKernel,
  weightedMeanDelta,
  type SimdAggregationKernel,
  type Weights,
  type WeightedUpdate,
} from '../../../models/core/index.ts'

// The in-place and two-thread paths of the WebAssembly SIMD kernel against the plain-JS reference, bit for bit.

const CHUNK = 8192
/** The second thread's unit of work (aggregate-second-thread.ts): 4 chunks. */
const UNIT = 4 * CHUNK

function kernel(options: { twoThreadMinWork: number; workerOnly?: boolean }): SimdAggregationKernel {
  const k = simdAggregationKernel(options)
  if (k === null) throw new Error('WebAssembly SIMD kernel unavailable on this engine')
  return k
}
/** Shares any tensor longer than one unit with the worker, once it is up. */
const twoThreads = kernel({ twoThreadMinWork: 0 })
/** Leaves every unit of such a tensor to the worker, so its arithmetic is what gets compared. */
const workerOnly = kernel({ twoThreadMinWork: 0, workerOnly: true })
/** Never splits. */
const oneThread = kernel({ twoThreadMinWork: Number.POSITIVE_INFINITY })

/** Float32 values over many decades, both signs, with edge values sprinkled in. */
function randomValues(random: () => number, length: number): Float32Array {
  const edges = [0, -0, 1e-45, -1e-45, 1.1754942e-38, 1, -1, 3.4e30, -3.4e30, 0.1, 2 ** 24 + 1]
  return Float32Array.from({ length }, () => (random() < 0.05 ? edges[Math.floor(random() * edges.length)]! : (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6)))
}

const weights = (random: () => number, lengths: readonly number[]): Weights => ({
  tensors: lengths.map((n, i) => ({ name: `t${i}`, shape: [n], values: randomValues(random, n) })),
})

/** Updates whose deltas are decoded into the kernel's shared memory, as the commit path does. */
function sharedUpdates(random: () => number, sites: number, lengths: readonly number[]): WeightedUpdate[] {
  // Example counts up to past 2^40, where n·Δ is no longer exact in float64 and the summation order shows.
  const counts = [1, 2, 3, 7, 1000, 2 ** 28 - 1, 2 ** 40 + 3]
  return Array.from({ length: sites }, (_, i) => ({
    siteId: `site-${String.fromCharCode(97 + ((i * 11) % 26))}${i}`,
    delta: decodeWeightsShared(encodeWeights(weights(random, lengths))),
    exampleCount: counts[Math.floor(random() * counts.length)]! + i,
  }))
}

function differingBits(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const v = new Uint32Array(b.buffer, b.byteOffset, b.length)
  let differing = 0
  for (let j = 0; j < u.length; j++) if (u[j] !== v[j]) differing++
  return differing
}

const differingWeights = (a: Weights, b: Weights): number => a.tensors.reduce((sum, t, i) => sum + differingBits(t.values, b.tensors[i]!.values), 0)

/** Starts the worker and waits (without blocking the event loop) until it is up. */
async function secondThreadUp(): Promise<void> {
  for (let i = 0; i < 1000 && !twoThreads.secondThreadReady(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (!twoThreads.secondThreadReady()) throw new Error('the aggregation worker did not start within 10 s')
}

describe('aggregation kernel: in place and on two threads', () => {
  beforeAll(secondThreadUp)

  it('decodeWeightsShared gives the values decodeWeights gives, in memory the kernel reads in place', () => {
    // Prepare
    const random = mulberry32(5)
    const w = weights(random, [3, CHUNK + 1, 1])
    const bytes = encodeWeights(w)
    // Execute
    const shared = decodeWeightsShared(bytes, [
      { name: 't0', shape: [3] },
      { name: 't1', shape: [CHUNK + 1] },
      { name: 't2', shape: [1] },
    ])
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta: shared, exampleCount: 3 }]
    const out = oneThread.fedAvgValues(w.tensors[1]!.values, updates, 1, 1, 3)
    // Assert
    expect(differingWeights(shared, decodeWeights(bytes))).toBe(0)
    expect(shared.tensors[0]!.values.buffer).not.toBe(bytes.buffer)
    expect(out.inPlace).toBe(true)
  })

  // Sizes off the unit, the chunk and the 8-value step; one site, many sites (past the 8-site group), tensors of size 1.
  const cases = [
    { sites: 1, lengths: [1, 2 * UNIT + 1, 3] },
    { sites: 2, lengths: [UNIT + 1] },
    { sites: 3, lengths: [2 * UNIT - 1, 1, 7] },
    { sites: 9, lengths: [3 * UNIT + CHUNK + 5, 1] },
    { sites: 40, lengths: [UNIT + 3, 1] },
    { sites: 5, lengths: [1, 1, 1] },
  ]

  it.each(cases)('fedAvg: shared with the worker, worker only, one thread in place, copied and plain JS give the same bytes ($sites sites, lengths $lengths)', ({ sites, lengths }) => {
    // Prepare
    const random = mulberry32(sites * 31 + lengths.length)
    const global = weights(random, lengths)
    const sharedGlobal = decodeWeightsShared(encodeWeights(global))
    const updates = sharedUpdates(random, sites, lengths)
    const copied = updates.map((u) => ({ ...u, delta: decodeWeights(encodeWeights(u.delta)) }))
    for (const lr of [1, 0.37]) {
      // Execute
      const plain = fedAvg(global, updates, lr, plainAggregationKernel)
      const paths = [fedAvg(global, updates, lr, twoThreads), fedAvg(sharedGlobal, updates, lr, twoThreads), fedAvg(global, updates, lr, oneThread), fedAvg(global, copied, lr, twoThreads)]
      // Assert
      for (const w of paths) expect(differingWeights(w, plain)).toBe(0)
    }
  })

  it('shares a tensor longer than a unit with the worker, and not one of a unit or when told not to', () => {
    // Prepare
    const random = mulberry32(11)
    const updates = sharedUpdates(random, 3, [UNIT + 1, UNIT])
    const global = weights(random, [UNIT + 1, UNIT])
    // Execute
    const long = twoThreads.fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 10)
    const theirs = workerOnly.fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 10)
    const short = twoThreads.fedAvgValues(global.tensors[1]!.values, updates, 1, 1, 10)
    const told = oneThread.fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 10)
    const copied = twoThreads.fedAvgValues(
      global.tensors[0]!.values,
      updates.map((u) => ({ ...u, delta: decodeWeights(encodeWeights(u.delta)) })),
      0,
      1,
      10,
    )
    // Assert
    expect([long.threads, long.inPlace]).toEqual([2, true])
    expect([theirs.threads, theirs.workerShare]).toEqual([2, 1])
    expect(differingBits(theirs.values, told.values)).toBe(0)
    expect([short.threads, short.inPlace]).toEqual([1, true])
    expect([told.threads, told.inPlace]).toEqual([1, true])
    expect([copied.threads, copied.inPlace]).toEqual([1, false])
    expect(differingBits(long.values, told.values)).toBe(0)
    expect(differingBits(long.values, copied.values)).toBe(0)
  })

  it('weightedMeanDelta in place equals plain JS bit for bit', () => {
    // Prepare
    const random = mulberry32(17)
    const lengths = [2 * UNIT + 9, 1]
    const updates = sharedUpdates(random, 10, lengths)
    const shapes = lengths.map((n, i) => ({ name: `t${i}`, shape: [n] }))
    // Execute
    const plain = weightedMeanDelta(shapes, updates, plainAggregationKernel)
    const fast = weightedMeanDelta(shapes, updates, twoThreads)
    // Assert
    expect(differingWeights(fast, plain)).toBe(0)
  })

  it("refuses a result past the float32 range in the worker's half, naming the index", () => {
    // Prepare: 3e38 + 3e38·2/2 rounds to +Infinity in float32, in the second half (computed by the worker).
    const size = 2 * UNIT + 3
    const index = 2 * UNIT + 1
    const global: Weights = { tensors: [{ name: 'w', shape: [size], values: new Float32Array(size) }] }
    global.tensors[0]!.values[index] = 3e38
    const values = kernelFloat32Array(size)
    values.fill(0)
    values[index] = 3e38
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta: { tensors: [{ name: 'w', shape: [size], values }] }, exampleCount: 2 }]
    // Execute
    const raw = workerOnly.fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 2)
    let err: unknown
    try {
      fedAvg(global, updates, 1, workerOnly)
    } catch (e) {
      err = e
    }
    // Assert
    expect([raw.workerShare, raw.provedFinite]).toEqual([1, false])
    expect(err).toBeInstanceOf(NonFiniteValueError)
    expect((err as NonFiniteValueError).index).toBe(index)
  })

  it('keeps each result its own: a later aggregation does not change an earlier output', () => {
    // Prepare
    const random = mulberry32(23)
    const lengths = [UNIT + 17]
    const first = sharedUpdates(random, 4, lengths)
    const second = sharedUpdates(random, 4, lengths)
    const global = weights(random, lengths)
    const before = fedAvg(global, first, 1, twoThreads)
    const snapshot = Float32Array.from(before.tensors[0]!.values)
    // Execute
    const after = fedAvg(global, second, 1, twoThreads)
    // Assert
    expect(differingBits(before.tensors[0]!.values, snapshot)).toBe(0)
    expect(differingBits(after.tensors[0]!.values, snapshot)).toBeGreaterThan(0)
  })

  it('keeps earlier arrays intact and in place while later ones grow the shared memory', () => {
    // Prepare: 6 × 4 MiB outgrows the first heap growth (16 MiB), so later arrays live in a grown memory.
    const length = 1 << 20
    const arrays = Array.from({ length: 6 }, (_, i) => {
      const a = kernelFloat32Array(length)
      a.fill(i + 0.5)
      return a
    })
    // Execute
    const global = new Float32Array(length)
    const out = twoThreads.fedAvgValues(
      global,
      arrays.map((a, i) => ({ siteId: `s${i}`, delta: { tensors: [{ name: 'w', shape: [length], values: a }] }, exampleCount: 1 })),
      0,
      1,
      6,
    )
    // Assert: no array overwrote another, all are read in place, and the mean of 0.5 … 5.5 is 3.
    arrays.forEach((a, i) => {
      expect(a.every((v) => v === i + 0.5)).toBe(true)
    })
    expect(out.inPlace).toBe(true)
    expect(out.values.every((v) => v === 3)).toBe(true)
  })
})
