/**
 * Site-level DP-FedAvg at the coordinator (McMahan et al. 2018), around an
 * averaging strategy (models/core/dp-spec.ts names which):
 *
 * 1. each accepted delta is clipped to L2 norm C (`boundNorms`, as the norm
 *    bound does; the clipped ones are logged with their norms);
 * 2. the clipped deltas are summed in float64 in site-id order, each with
 *    weight 1 (equal weights: a site's example count must not scale its
 *    influence beyond C);
 * 3. noise z_Δ·C·N(0, 1) per coordinate is added, the normals drawn from the
 *    round's private seed (models/core/gaussian-noise.ts), in the model's
 *    tensor order, element order;
 * 4. the noised sum is divided by the number of planned sites P (the fixed
 *    denominator: who failed to answer does not change the noise's scale
 *    relative to one site's contribution) and rounded once to float32;
 * 5. the inner strategy takes that average as its one reply (weight 1), so
 *    server learning rates and optimisers act on the private average only
 *    (post-processing costs no privacy).
 *
 * C is `dp.clipNorm` and z_Δ = z, unless adaptive clipping (Andrew et al.
 * 2021) is on: then C is server state (`dp/clipNorm`, a [1] tensor beside the
 * inner strategy's own), the next C is C·exp(−η(b̄ − γ)) with b̄ the noised
 * share of unclipped sites (its normal is the one after the deltas'), and
 * z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2).
 *
 * Pure: the seed comes in as `privateSeed`; without it the strategy refuses,
 * unless told the seed is withheld (`noiseWithheld`, the audit without the
 * seeds), when it aggregates without noise: see protocol/dp-audit.ts.
 */
import { READ_SLICE_BYTES, bytesReader } from '../../ledger/core/index.ts'
import {
  StrategyPreconditionError,
  encodedSize,
  encodeHeader,
  l2Norm,
  normalStream,
  portableExp,
  sortBySiteId,
  standardNormals,
  valueSlices,
  valuesFromBytes,
  valuesIntoBytes,
  type DpSpec,
  type Weights,
} from '../../models/core/index.ts'
import type { ServerState, Strategy, StreamedAggregateInit, StreamedOutcome } from '../strategy.ts'
import { boundNorms, boundNormsStreamed } from './norm-bound.ts'
import { StreamedMetrics } from './streamed-metrics.ts'

/** The site id under which the private average reaches the inner strategy. */
const DP_AVERAGE = '~dp-average'

/** The server-state tensor that carries the adaptive clip norm. */
export const DP_CLIP_STATE = 'dp/clipNorm'

/** The clip norm in `state` (adaptive clipping), else the spec's; and the rest of the state for the inner strategy. */
function splitState(state: ServerState | null, dp: DpSpec): { clipNorm: number; inner: ServerState | null } {
  const own = state?.tensors.find((t) => t.name === DP_CLIP_STATE)
  const rest = state?.tensors.filter((t) => t.name !== DP_CLIP_STATE) ?? []
  return { clipNorm: own?.values[0] ?? dp.clipNorm, inner: rest.length === 0 ? null : { tensors: rest } }
}

/** `inner` made site-level differentially private with `dp` (see the module doc). */
export function withSiteDp(inner: Strategy, dp: DpSpec): Strategy {
  const { aggregateStreamed: innerStreamed, ...rest } = inner
  const z = dp.noiseMultiplier
  const adaptive = dp.adaptiveClipping
  // The deltas' share of the noise when the clipped count takes the rest (Andrew et al. 2021, Theorem 1).
  const zDelta = adaptive === undefined ? z : (z ** -2 - (2 * adaptive.clippedCountStddev) ** -2) ** -0.5
  return {
    ...rest,
    parameters: {
      ...inner.parameters,
      dpClipNorm: dp.clipNorm,
      dpNoiseMultiplier: z,
      dpDelta: dp.delta,
      ...(adaptive === undefined ? {} : { dpTargetQuantile: adaptive.targetQuantile, dpClipLearningRate: adaptive.learningRate, dpClippedCountStddev: adaptive.clippedCountStddev }),
    },
    needsPrivateSeed: true,
    // Slice by slice where the inner strategy can, with the clip norm fixed (adaptive clipping keeps it in the state, read whole).
    ...(innerStreamed === undefined || adaptive !== undefined ? {} : { aggregateStreamed: (init: StreamedAggregateInit) => siteDpStreamed(init, innerStreamed.bind(inner), dp.clipNorm, zDelta) }),
    aggregateRound(init) {
      if (init.privateSeed === undefined && init.noiseWithheld !== true) throw new StrategyPreconditionError(`round ${init.round}: DP-FedAvg needs the round's private noise seed, and none was given`)
      if (init.replies.length === 0) return inner.aggregateRound(init)
      const { clipNorm: C, inner: innerState } = splitState(init.state, dp)
      const planned = Math.max(init.plannedSites ?? init.replies.length + init.failures.length, init.replies.length)
      const { replies, clipped } = boundNorms(init.replies, C)
      const sorted = sortBySiteId(replies)
      const template = init.global.tensors
      const total = template.reduce((n, t) => n + t.values.length, 0)
      // Withheld (an audit without the seeds): no noise, so everything but the model and what depends on it can be compared.
      const normals = init.privateSeed === undefined ? new Float64Array(total + 1) : standardNormals(init.privateSeed, total + 1)
      let at = 0
      const average: Weights = {
        tensors: template.map((t, k) => {
          const out = new Float32Array(t.values.length)
          for (let j = 0; j < out.length; j++) {
            let sum = 0
            for (const r of sorted) sum += r.delta.tensors[k]!.values[j]!
            out[j] = (sum + zDelta * C * normals[at++]!) / planned
          }
          return { name: t.name, shape: t.shape, values: out }
        }),
      }
      const outcome = inner.aggregateRound({ ...init, state: innerState, replies: [{ siteId: DP_AVERAGE, exampleCount: 1, delta: average }] })
      if (outcome.kind === 'none') return outcome
      let state = outcome.state
      if (adaptive !== undefined) {
        // b̄: the noised share of sites whose delta the clip left whole (Andrew et al. 2021, Algorithm 1).
        const unclipped = init.replies.length - clipped.length
        const share = (unclipped + adaptive.clippedCountStddev * normals[total]!) / planned
        const next = Math.fround(C * portableExp(-adaptive.learningRate * (share - adaptive.targetQuantile)))
        state = { tensors: [...(outcome.state?.tensors ?? []), { name: DP_CLIP_STATE, shape: [1], values: Float32Array.of(next) }] }
      }
      let clippedNormSum = 0
      for (const r of sorted) clippedNormSum += l2Norm(r.delta)
      return {
        ...outcome,
        state,
        clipped,
        metrics: dpMetrics(
          outcome.metrics,
          { sites: init.replies.length, failures: init.failures.length, meanDeltaNorm: clippedNormSum / sorted.length, clippedSites: clipped.length },
          C,
          zDelta,
          planned,
        ),
      }
    },
  }
}

/**
 * DP-FedAvg with a fixed clip norm C, a slice at a time: a first pass reads
 * each delta's norm (the clip scales); the second sums the clipped values in
 * site-id order, adds the noise from `normalStream` in the same tensor and
 * element order as the whole-model draw, divides by the planned sites, and
 * keeps each clipped delta's norm. The private average (one model, float32)
 * then goes to the inner strategy as its one reply, read slice by slice too.
 * The same model, state, clipped list and metrics as `aggregateRound`.
 */
function siteDpStreamed(init: StreamedAggregateInit, innerStreamed: NonNullable<Strategy['aggregateStreamed']>, C: number, zDelta: number): StreamedOutcome | undefined {
  if (init.privateSeed === undefined && init.noiseWithheld !== true) throw new StrategyPreconditionError(`round ${init.round}: DP-FedAvg needs the round's private noise seed, and none was given`)
  if (init.replies.length === 0) return innerStreamed(init)
  const { shapes, replies } = init
  const planned = Math.max(init.plannedSites ?? replies.length + init.failures.length, replies.length)
  const { norms, replies: bounded, clipped } = boundNormsStreamed(shapes, sortBySiteId(replies), C)
  // Withheld (an audit without the seeds): no noise, as in the whole-model path.
  const noise = init.privateSeed === undefined ? (n: number) => new Float64Array(n) : normalStream(init.privateSeed)
  const averageBytes = new Uint8Array(encodedSize(shapes))
  averageBytes.set(encodeHeader(shapes))
  // The bounded deltas' norms, for the commit's meanDeltaNorm (as the whole path takes it after the clip).
  const boundedNorms = new StreamedMetrics(bounded)
  for (const { count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    const deltas = bounded.map((r) => valuesFromBytes(r.delta.read(offset, 4 * n)))
    boundedNorms.addDeltas(deltas)
    const normals = noise(n)
    const out = new Float32Array(n)
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (const d of deltas) sum += d[j]!
      out[j] = (sum + zDelta * C * normals[j]!) / planned
    }
    valuesIntoBytes(averageBytes, offset, out)
  }
  const outcome = innerStreamed({ ...init, replies: [{ siteId: DP_AVERAGE, exampleCount: 1, delta: bytesReader(averageBytes) }] })
  if (outcome === undefined || outcome.kind === 'none') return outcome
  const meanDeltaNorm = boundedNorms.result(init.failures).metrics['meanDeltaNorm']!
  return {
    ...outcome,
    // The norms a round's rewards check are the uploads' own, before the clip (as the whole path's replies are).
    deltaNorms: norms,
    clipped,
    metrics: dpMetrics(outcome.metrics, { sites: replies.length, failures: init.failures.length, meanDeltaNorm, clippedSites: clipped.length }, C, zDelta, planned),
  }
}

/** The commit's metrics of a DP round: the inner strategy's, with the round's own counts and its privacy figures over them. */
function dpMetrics(
  inner: Readonly<Record<string, number>>,
  own: { readonly sites: number; readonly failures: number; readonly meanDeltaNorm: number; readonly clippedSites: number },
  C: number,
  zDelta: number,
  planned: number,
): Record<string, number> {
  return { ...inner, ...own, dpClipNorm: C, dpPlannedSites: planned, dpNoiseStddev: (zDelta * C) / planned }
}
