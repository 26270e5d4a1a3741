/**
 * protocol/update-validation.ts on hand-worked inputs. Expected numbers are
 * from test/unit/models/robust-aggregate.reference.py (1.4826 · 0.25 scales
 * the z-scores) or exact by construction.
 */
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../../ledger/core/index.ts'
import { UpdateValidationSchema, type Weights } from '../../../models/core/index.ts'
import { validateUpdates } from '../../../protocol/index.ts'

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
