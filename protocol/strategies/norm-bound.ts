/**
 * Norm bounding (Sun et al. 2019, "Can you really backdoor federated
 * learning?"): before any strategy aggregates, each delta whose L2 norm
 * exceeds the bound M is scaled down to norm M. The aggregate then runs on
 * the bounded deltas exactly as it would on uploads, and each bounded delta
 * is reported, with its original norm, in the commit's `clipped` list.
 *
 * Arithmetic: ‖Δ‖ is `l2Norm` (float64 sum of squares in element order, one
 * square root); scale = M / ‖Δ‖ in float64; each value becomes
 * fround(Δ[j] · scale), one rounding per value. A delta with ‖Δ‖ <= M is
 * passed on untouched (the same object), so a bound no delta reaches
 * changes no bit of the model.
 */
import type { BlobReader } from '../../ledger/core/index.ts'
import { InvalidModelInputError, encodeHeader, l2Norm, sortBySiteId, valuesFromBytes, type TensorShape, type Weights } from '../../models/core/index.ts'
import type { ClippedUpdate, SiteReply, Strategy, StreamedAggregateInit, StreamedOutcome } from '../strategy.ts'
import { streamedNorms } from './streamed-metrics.ts'

function scaled(delta: Weights, scale: number): Weights {
  return {
    tensors: delta.tensors.map((t) => {
      const v = t.values
      const out = new Float32Array(v.length)
      for (let j = 0; j < v.length; j++) out[j] = v[j]! * scale
      return { name: t.name, shape: t.shape, values: out }
    }),
  }
}

/** `replies` with every delta bounded to norm `clipNorm`, and the ones that were, in site-id order. */
export function boundNorms(replies: readonly SiteReply[], clipNorm: number): { replies: SiteReply[]; clipped: ClippedUpdate[] } {
  const clipped: ClippedUpdate[] = []
  const out = replies.map((r) => {
    const norm = l2Norm(r.delta)
    if (norm <= clipNorm) return r
    const scale = clipNorm / norm
    clipped.push({ siteId: r.siteId, norm, scale })
    return { ...r, delta: scaled(r.delta, scale) }
  })
  return { replies: out, clipped: sortBySiteId(clipped) }
}

/**
 * A delta's reader whose values come out multiplied by `scale`, each rounded
 * once to float32 as `scaled` rounds them. Reads must be of whole values past
 * the header (as a slice-by-slice aggregation reads).
 */
function scaledReader(delta: BlobReader, scale: number, headerBytes: number): BlobReader {
  return {
    size: delta.size,
    read(offset, length) {
      if (offset < headerBytes || (offset - headerBytes) % 4 !== 0 || length % 4 !== 0)
        throw new InvalidModelInputError(`a scaled delta is read by whole values past its header, not ${length} bytes at ${offset}`)
      const v = valuesFromBytes(delta.read(offset, length))
      for (let j = 0; j < v.length; j++) v[j] = v[j]! * scale
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    },
  }
}

/**
 * `boundNorms` for deltas read slice by slice: a first pass reads each
 * delta's norm; each delta over `clipNorm` is then handed on as a reader that
 * scales what it reads. Also returns the norms (the uploads' own, before the
 * bound), and the bounded ones in site-id order.
 */
export function boundNormsStreamed<R extends { readonly siteId: string; readonly delta: BlobReader }>(
  shapes: readonly TensorShape[],
  replies: readonly R[],
  clipNorm: number,
): { norms: Map<string, number>; replies: R[]; clipped: ClippedUpdate[] } {
  const norms = streamedNorms(shapes, replies)
  const headerBytes = encodeHeader(shapes).length
  const clipped: ClippedUpdate[] = []
  const out = replies.map((r) => {
    const norm = norms.get(r.siteId)!
    if (norm <= clipNorm) return r
    const scale = clipNorm / norm
    clipped.push({ siteId: r.siteId, norm, scale })
    return { ...r, delta: scaledReader(r.delta, scale, headerBytes) }
  })
  return { norms, replies: out, clipped: sortBySiteId(clipped) }
}

/**
 * `inner` with every reply's delta bounded to norm `clipNorm` first. Slice by
 * slice when `inner` can: a first pass reads each delta's norm, the second
 * hands `inner` the bounded deltas as readers that scale what they read.
 */
export function withNormBound(inner: Strategy, clipNorm: number): Strategy {
  const { aggregateStreamed: innerStreamed, ...rest } = inner
  return {
    ...rest,
    parameters: { ...inner.parameters, clipNorm },
    aggregateRound(init) {
      const { replies, clipped } = boundNorms(init.replies, clipNorm)
      const outcome = inner.aggregateRound({ ...init, replies })
      if (outcome.kind === 'none') return outcome
      return { ...outcome, clipped, metrics: { ...outcome.metrics, clippedSites: clipped.length } }
    },
    ...(innerStreamed === undefined
      ? {}
      : {
          aggregateStreamed(init: StreamedAggregateInit): StreamedOutcome | undefined {
            const { norms, replies, clipped } = boundNormsStreamed(init.shapes, init.replies, clipNorm)
            const outcome = innerStreamed.call(inner, { ...init, replies })
            if (outcome === undefined || outcome.kind === 'none') return outcome
            // The norms a round's rewards check are the uploads' own, before any bound (as the whole path's replies are).
            return { ...outcome, deltaNorms: norms, clipped, metrics: { ...outcome.metrics, clippedSites: clipped.length } }
          },
        }),
  }
}
