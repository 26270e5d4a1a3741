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
import { l2Norm, sortBySiteId, type Weights } from '../../models/core/index.ts'
import type { ClippedUpdate, SiteReply, Strategy } from '../strategy.ts'

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
 * `inner` with every reply's delta bounded to norm `clipNorm` first. It
 * drops `aggregateStreamed`: a norm is known only after a whole delta was read.
 */
export function withNormBound(inner: Strategy, clipNorm: number): Strategy {
  const { aggregateStreamed: _streamed, ...rest } = inner
  return {
    ...rest,
    parameters: { ...inner.parameters, clipNorm },
    aggregateRound(init) {
      const { replies, clipped } = boundNorms(init.replies, clipNorm)
      const outcome = inner.aggregateRound({ ...init, replies })
      if (outcome.kind === 'none') return outcome
      return { ...outcome, clipped, metrics: { ...outcome.metrics, clippedSites: clipped.length } }
    },
  }
}
