import { describe, expect, it } from 'vitest'
import {
  NonFiniteValueError,
  defaultAggregationKernel,
  fedAvg,
  mulberry32,
  plainAggregationKernel,
  simdAggregationKernel,
  weightedMeanDelta,
  type AggregationKernel,
  type Weights,
  type WeightedUpdate,
} from '../../../models/core/index.ts'

/** Node 20 has WebAssembly SIMD; if this fails, the fast path silently fell back to plain JS. */
function simd(): AggregationKernel {
  const kernel = simdAggregationKernel()
  if (kernel === null) throw new Error('WebAssembly SIMD kernel unavailable on this engine')
  return kernel
}

/** Float32 values over many decades, both signs, with NaN-free edge values sprinkled in. */
function randomValues(random: () => number, length: number): Float32Array {
  const edges = [0, -0, 1e-45, -1e-45, 1.1754942e-38, 2 ** -126, 1, -1, 3.4e30, -3.4e30, 0.1, 2 ** 24 + 1]
  return Float32Array.from({ length }, () => (random() < 0.05 ? edges[Math.floor(random() * edges.length)]! : (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6)))
}

function weights(random: () => number, lengths: readonly number[]): Weights {
  return { tensors: lengths.map((n, i) => ({ name: `t${i}`, shape: [n], values: randomValues(random, n) })) }
}

function randomUpdates(random: () => number, sites: number, lengths: readonly number[]): WeightedUpdate[] {
  // Example counts from 1 to past 2^40, where n·Δ is no longer exact in float64 and the rounding order shows.
  const counts = [1, 2, 3, 7, 1000, 2 ** 28 - 1, 2 ** 40 + 3]
  return Array.from({ length: sites }, (_, i) => ({
    siteId: `site-${String.fromCharCode(97 + ((i * 11) % 26))}${i}`,
    delta: weights(random, lengths),
    exampleCount: counts[Math.floor(random() * counts.length)]! + i,
  }))
}

/** How many values differ in their bits (a count, so a failure reports a number rather than megabytes of diff). */
function differingBits(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const v = new Uint32Array(b.buffer, b.byteOffset, b.length)
  let differing = 0
  for (let j = 0; j < u.length; j++) if (u[j] !== v[j]) differing++
  return differing
}

const differingWeights = (a: Weights, b: Weights): number => a.tensors.reduce((sum, t, i) => sum + differingBits(t.values, b.tensors[i]!.values), 0)

describe('aggregation kernels', () => {
  it('uses WebAssembly SIMD by default on Node', () => {
    // Execute
    const kernel = defaultAggregationKernel()
    // Assert
    expect(kernel.name).toBe('wasm-simd')
    expect(simd().name).toBe('wasm-simd')
  })

  // Lengths straddle the 4- and 8-value loop steps and the 8192-value chunk; site counts straddle the 8-site group.
  const cases = [
    { sites: 1, lengths: [1, 2, 3] },
    { sites: 3, lengths: [5, 7, 9, 15, 17] },
    { sites: 8, lengths: [8191, 8192, 8193] },
    { sites: 9, lengths: [1, 2 * 8192 + 5] },
    { sites: 17, lengths: [1003, 31] },
    { sites: 64, lengths: [777] },
  ]

  it.each(cases)('fedAvg: WASM SIMD equals plain JS bit for bit ($sites sites, lengths $lengths)', ({ sites, lengths }) => {
    // Prepare
    const random = mulberry32(sites * 1000 + lengths.length)
    const global = weights(random, lengths)
    const updates = randomUpdates(random, sites, lengths)
    for (const lr of [1, 0.37]) {
      // Execute
      const plain = fedAvg(global, updates, lr, plainAggregationKernel)
      const fast = fedAvg(global, updates, lr, simd())
      // Assert
      expect(differingWeights(fast, plain)).toBe(0)
    }
  })

  it.each(cases)('weightedMeanDelta: WASM SIMD equals plain JS bit for bit ($sites sites)', ({ sites, lengths }) => {
    // Prepare
    const random = mulberry32(7 + sites)
    const updates = randomUpdates(random, sites, lengths)
    const shapes = lengths.map((n, i) => ({ name: `t${i}`, shape: [n] }))
    // Execute
    const plain = weightedMeanDelta(shapes, updates, plainAggregationKernel)
    const fast = weightedMeanDelta(shapes, updates, simd())
    // Assert
    expect(differingWeights(fast, plain)).toBe(0)
  })

  it('follows the site order on inputs where the order changes the bytes', () => {
    // Prepare: per value, the first site adds x ≈ ±1e16 and the second −x, the others small values:
    // in site order x − x = 0 exactly and the small sum survives; in reverse, x absorbs the small sum's
    // low bits before −x cancels it.
    const size = 2 * 8192 + 3
    const sites = 20
    const random = mulberry32(99)
    const big = Float32Array.from({ length: size }, () => (random() - 0.5) * 2e16)
    const updates: WeightedUpdate[] = Array.from({ length: sites }, (_, i) => ({
      siteId: `site-${String(i).padStart(2, '0')}`,
      delta: {
        tensors: [
          {
            name: 'w',
            shape: [size],
            values: i === 0 ? big : i === 1 ? big.map((x) => -x) : Float32Array.from({ length: size }, () => (random() - 0.5) * 20),
          },
        ],
      },
      exampleCount: 1,
    }))
    const global = new Float32Array(size)
    // Execute
    const plain = plainAggregationKernel.fedAvgValues(global, updates, 0, 1, sites).values
    const reversed = plainAggregationKernel.fedAvgValues(global, [...updates].reverse(), 0, 1, sites).values
    const fast = simd().fedAvgValues(global, updates, 0, 1, sites).values
    // Assert: the inputs are order-sensitive, and SIMD keeps the order.
    expect(differingBits(reversed, plain)).toBeGreaterThan(size / 10)
    expect(differingBits(fast, plain)).toBe(0)
  })

  it('keeps the sign of zero as the plain path does (+0 accumulator start)', () => {
    // Prepare: every delta is −0, the global is −0 and +0; plain gives +0 (0 + −0 = +0).
    const zeros = (v: number): Weights => ({ tensors: [{ name: 'z', shape: [6], values: new Float32Array(6).fill(v) }] })
    const updates: WeightedUpdate[] = [
      { siteId: 'a', delta: zeros(-0), exampleCount: 2 },
      { siteId: 'b', delta: zeros(-0), exampleCount: 5 },
    ]
    // Execute
    const plain = fedAvg(zeros(-0), updates, 1, plainAggregationKernel)
    const fast = fedAvg(zeros(-0), updates, 1, simd())
    // Assert
    expect(Object.is(plain.tensors[0]!.values[0], 0)).toBe(true)
    expect(differingWeights(fast, plain)).toBe(0)
  })

  it.each([
    { size: 8200, index: 8192, where: 'first value of the second chunk' },
    { size: 8195, index: 8194, where: 'last value of a chunk padded to the loop step' },
  ])('refuses a result past the float32 range on both paths, naming the same index ($where)', ({ size, index }) => {
    // Prepare: 3e38 + 3e38·2/2 rounds to +Infinity in float32.
    const global: Weights = { tensors: [{ name: 'w', shape: [size], values: new Float32Array(size) }] }
    global.tensors[0]!.values[index] = 3e38
    const delta: Weights = { tensors: [{ name: 'w', shape: [size], values: new Float32Array(size) }] }
    delta.tensors[0]!.values[index] = 3e38
    const updates: WeightedUpdate[] = [{ siteId: 'a', delta, exampleCount: 2 }]
    // Execute
    const errors = [plainAggregationKernel, simd()].map((kernel) => {
      try {
        fedAvg(global, updates, 1, kernel)
        return null
      } catch (err) {
        return err
      }
    })
    // Assert
    for (const err of errors) {
      expect(err).toBeInstanceOf(NonFiniteValueError)
      expect((err as NonFiniteValueError).index).toBe(index)
    }
  })

  it('reports a finite result as proved finite from the SIMD kernel, so fedAvg skips the second scan', () => {
    // Prepare
    const random = mulberry32(3)
    const global = weights(random, [8195])
    const updates = randomUpdates(random, 3, [8195])
    // Execute
    const out = simd().fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 10)
    const plain = plainAggregationKernel.fedAvgValues(global.tensors[0]!.values, updates, 0, 1, 10)
    // Assert: the plain kernel leaves the check to its caller.
    expect(out.provedFinite).toBe(true)
    expect(plain.provedFinite).toBe(false)
  })
})
