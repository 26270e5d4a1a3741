/**
 * protocol/update-validation.ts on hand-worked inputs. Expected numbers are
 * from test/unit/models/robust-aggregate.reference.py (1.4826 · 0.25 scales
 * the z-scores) or exact by construction.
 */
import { describe, expect, it } from 'vitest'
import { bytesReader, sha256, toHex } from '../../../ledger/core/index.ts'
import { UpdateValidationSchema, encodeWeights, type Weights } from '../../../models/core/index.ts'
import { validateStreamed, validateUpdates } from '../../../protocol/index.ts'

function vector(values: number[]): Weights {
  return { tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] }
}

/** Replies whose delta hash is the hash of the listed values' text (equal values: equal hash, as equal bytes would be). */
function replies(deltas: Record<string, number[]>) {
  return Object.entries(deltas).map(([siteId, d]) => ({ siteId, delta: vector(d), deltaHash: sha256(new TextEncoder().encode(d.join(','))) }))
}

const spec = (s: object) => UpdateValidationSchema.parse(s)

describe('validateUpdates', () => {
  it('leaves out a norm outlier by robust z-score against the round median (scaled update)', () => {
    // Prepare: norms 1, 1.25, 0.75, 1.5, 10 → median 1.25, MAD 0.25.
    const r = replies({ a: [1, 0], b: [0, 1.25], c: [0.75, 0], d: [0, -1.5], e: [10, 0] })
    // Execute
    const out = validateUpdates({ spec: spec({ normZ: 3 }), replies: r, earlierDeltas: new Map() })
    // Assert
    expect(out.kept).toEqual(['a', 'b', 'c', 'd'])
    expect(out.exclusions).toEqual([{ siteId: 'e', reason: 'norm-outlier', evidence: { norm: 10, median: 1.25, mad: 0.25, score: 23.607176581680832, threshold: 3 } }])
  })

  it('leaves out a zero update (free rider) on the low side', () => {
    // Prepare: norms 1, 1.25, 0.75, 1.5, 0 → median 1, MAD 0.25; the zero scores 2.697963037906381.
    const r = replies({ a: [1, 0], b: [0, 1.25], c: [0.75, 0], d: [0, -1.5], z: [0, 0] })
    // Execute
    const loose = validateUpdates({ spec: spec({ normZ: 3 }), replies: r, earlierDeltas: new Map() })
    const tight = validateUpdates({ spec: spec({ normZ: 2.5 }), replies: r, earlierDeltas: new Map() })
    // Assert
    expect(loose.exclusions).toEqual([])
    expect(tight.exclusions).toEqual([{ siteId: 'z', reason: 'norm-outlier', evidence: { norm: 0, median: 1, mad: 0.25, score: 2.697963037906381, threshold: 2.5 } }])
  })

  it('leaves nothing out by norm when the MAD is zero (half the norms equal: no scale)', () => {
    // Prepare
    const r = replies({ a: [1, 0], b: [0, 1], c: [-1, 0], d: [10, 0] })
    // Execute
    const out = validateUpdates({ spec: spec({ normZ: 1 }), replies: r, earlierDeltas: new Map() })
    // Assert
    expect(out.exclusions).toEqual([])
  })

  it('leaves out an update whose cosine to the previous global step is below the minimum; a zero update has cosine 0', () => {
    // Prepare: the previous step is [1, 0] − [0, 0].
    const r = replies({ a: [1, 1], flip: [-1, 0], zero: [0, 0] })
    const previous = { model: vector([1, 0]), parent: vector([0, 0]) }
    // Execute
    const atZero = validateUpdates({ spec: spec({ minCosine: 0 }), replies: r, previous, earlierDeltas: new Map() })
    const atTenth = validateUpdates({ spec: spec({ minCosine: 0.1 }), replies: r, previous, earlierDeltas: new Map() })
    const firstRound = validateUpdates({ spec: spec({ minCosine: 0.1 }), replies: r, earlierDeltas: new Map() })
    // Assert
    expect(atZero.exclusions).toEqual([{ siteId: 'flip', reason: 'cosine-below-minimum', evidence: { cosine: -1, threshold: 0 } }])
    expect(atTenth.kept).toEqual(['a'])
    expect(atTenth.exclusions.map((e) => [e.siteId, e.evidence.cosine])).toEqual([
      ['flip', -1],
      ['zero', 0],
    ])
    expect(firstRound.exclusions).toEqual([])
  })

  it('leaves out every copy of a byte-identical delta, and a replay of an earlier round, replay first', () => {
    // Prepare
    const r = replies({ a: [1, 2], b: [3, 4], c: [3, 4], old: [5, 6] })
    const earlier = new Map([[toHex(sha256(new TextEncoder().encode('5,6'))), 2]])
    // Execute
    const on = validateUpdates({ spec: spec({ rejectDuplicates: true, normZ: 0.001 }), replies: r, earlierDeltas: earlier })
    const off = validateUpdates({ spec: spec({}), replies: r, earlierDeltas: earlier })
    // Assert
    expect(on.exclusions.map((e) => [e.siteId, e.reason])[0]).toEqual(['a', 'norm-outlier'])
    expect(on.exclusions.slice(1)).toEqual([
      { siteId: 'b', reason: 'duplicate-delta', evidence: { copies: 2 } },
      { siteId: 'c', reason: 'duplicate-delta', evidence: { copies: 2 } },
      { siteId: 'old', reason: 'replayed-delta', evidence: { firstRound: 2 } },
    ])
    expect(off.exclusions).toEqual([])
  })
})

describe('validateStreamed', () => {
  /** Fixed-seed float32 values of varied magnitude, so a different summation order would show in the last bits. */
  function values(n: number, seed: number, scale = 1): Float32Array {
    let x = seed >>> 0
    const out = new Float32Array(n)
    for (let j = 0; j < n; j++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      out[j] = (x / 2 ** 32 - 0.45) * 10 ** ((x % 5) - 2) * scale
    }
    return out
  }
  // One tensor longer than a read slice (1M values), so slices meet inside it, and a small one.
  const shapes = [
    { name: 'dense/kernel', shape: [1_050_001] },
    { name: 'out/bias', shape: [3] },
  ]
  const model = (seed: number, scale = 1): Weights => ({ tensors: shapes.map((s, i) => ({ name: s.name, shape: s.shape, values: values(s.shape[0]!, seed * 7 + i, scale) })) })

  it('gives the same kept sites, exclusions and evidence as validateUpdates, bit for bit', () => {
    // Prepare: six sites, one scaled ×40, one a copy of another, one replaying an earlier delta; a previous step for the cosine.
    const deltas: Record<string, Weights> = { 'site-a': model(1), 'site-b': model(2), 'site-c': model(3, 40), 'site-d': model(4), 'site-e': model(2), 'site-f': model(6) }
    const hashOf = (w: Weights) => sha256(encodeWeights(w))
    const earlier = new Map([[toHex(hashOf(deltas['site-f']!)), 2]])
    const previous = { model: model(10), parent: model(11) }
    const s = spec({ normZ: 3, minCosine: -0.001, rejectDuplicates: true })
    // Execute
    const whole = validateUpdates({ spec: s, replies: Object.entries(deltas).map(([siteId, delta]) => ({ siteId, delta, deltaHash: hashOf(delta) })), previous, earlierDeltas: earlier })
    const streamed = validateStreamed({
      spec: s,
      shapes,
      replies: Object.entries(deltas).map(([siteId, delta]) => ({ siteId, delta: bytesReader(encodeWeights(delta)), deltaHash: hashOf(delta) })),
      previous: { model: bytesReader(encodeWeights(previous.model)), parent: bytesReader(encodeWeights(previous.parent)) },
      earlierDeltas: earlier,
    })
    // Assert
    expect(whole.exclusions.map((e) => e.reason).sort()).toEqual(['duplicate-delta', 'duplicate-delta', 'norm-outlier', 'norm-outlier', 'replayed-delta'])
    expect(streamed).toEqual(whole)
  })

  it('leaves out by cosine as validateUpdates does, with the same cosine to the last bit', () => {
    // Prepare: a delta against the previous step (negated step) and one along it.
    const previous = { model: model(10), parent: model(11) }
    const step: Weights = { tensors: previous.model.tensors.map((t, i) => ({ ...t, values: t.values.map((v, j) => v - previous.parent.tensors[i]!.values[j]!) })) }
    const against: Weights = { tensors: step.tensors.map((t) => ({ ...t, values: t.values.map((v) => -v) })) }
    const deltas: Record<string, Weights> = { along: step, against, other: model(5) }
    const hashOf = (w: Weights) => sha256(encodeWeights(w))
    const s = spec({ minCosine: 0 })
    // Execute
    const whole = validateUpdates({ spec: s, replies: Object.entries(deltas).map(([siteId, delta]) => ({ siteId, delta, deltaHash: hashOf(delta) })), previous, earlierDeltas: new Map() })
    const streamed = validateStreamed({
      spec: s,
      shapes,
      replies: Object.entries(deltas).map(([siteId, delta]) => ({ siteId, delta: bytesReader(encodeWeights(delta)), deltaHash: hashOf(delta) })),
      previous: { model: bytesReader(encodeWeights(previous.model)), parent: bytesReader(encodeWeights(previous.parent)) },
      earlierDeltas: new Map(),
    })
    // Assert
    expect(whole.exclusions.some((e) => e.siteId === 'against' && e.reason === 'cosine-below-minimum')).toBe(true)
    expect(streamed).toEqual(whole)
  })
})
