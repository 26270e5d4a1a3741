/**
 * Checks of a round's accepted updates before the strategy aggregates them
 * (`study.validation`, combinable with any strategy). Each update left out is
 * an `Exclusion` with its reason and the numbers that decided it; the
 * round-committed entry logs them, and the audit, re-running the decider,
 * recomputes each one (AUDIT_EXCLUSION_MISMATCH when the log differs).
 *
 * Checks, in this order; an update is left out for the first it fails:
 *
 * 1. `replayed-delta` (rejectDuplicates): its delta hash equals that of an
 *    update accepted in an earlier round (evidence: `firstRound`).
 * 2. `duplicate-delta` (rejectDuplicates): its delta bytes equal another
 *    update's in this round. Every copy is left out, since nothing tells the
 *    original from the copy (evidence: `copies`).
 * 3. `norm-outlier` (normZ): with the L2 norms ‖Δ_i‖ of all the round's
 *    accepted updates, `median` their median, `mad` the median of
 *    |‖Δ_i‖ − median|, the robust z-score is
 *        score_i = |‖Δ_i‖ − median| / (1.4826 · mad)
 *    (1.4826 makes the MAD estimate a standard deviation under normal noise),
 *    and an update with score_i > normZ is left out (evidence: `norm`,
 *    `median`, `mad`, `score`, `threshold`). It catches scaled updates and, on
 *    the low side, zero or near-zero ones (free riders). When mad is 0 (half
 *    the norms are equal) the score has no scale and the check leaves nothing out.
 * 4. `cosine-below-minimum` (minCosine): the cosine of Δ_i to the previous
 *    global update g (the round's base model minus its own parent, i.e. the
 *    newest committed step) is below the threshold (evidence: `cosine`,
 *    `threshold`). A zero delta has cosine 0. Skipped when there is no
 *    previous step (the first round) or it is zero.
 *
 * All sums are float64 in layout order; medians of an even count are the mean
 * of the two middle values. Pure.
 */
import { READ_SLICE_BYTES, toHex, type BlobReader } from '../ledger/core/index.ts'
import { sortBySiteId, valueSlices, valuesFromBytes, type TensorShape, type UpdateValidationSpec, type Weights } from '../models/core/index.ts'
import type { Exclusion } from './strategy.ts'

/** The normal-consistency constant of the MAD: 1 / Φ⁻¹(3/4). */
export const MAD_NORMAL_SCALE = 1.4826

export interface ValidationInit {
  readonly spec: UpdateValidationSpec
  /** The round's accepted updates (any order), each with the SHA-256 of its delta bytes. */
  readonly replies: readonly { readonly siteId: string; readonly delta: Weights; readonly deltaHash: Uint8Array }[]
  /** The newest committed step: the round's base model and that model's parent. Absent in the first round. */
  readonly previous?: { readonly model: Weights; readonly parent: Weights }
  /** Delta hashes (hex) accepted in earlier rounds, each with the first round it was accepted in. */
  readonly earlierDeltas: ReadonlyMap<string, number>
}

export interface ValidationResult {
  /** The sites whose updates pass, in site order. */
  readonly kept: readonly string[]
  /** The updates left out, in site order. */
  readonly exclusions: readonly Exclusion[]
}

function median(values: readonly number[]): number {
  const s = Float64Array.from(values).sort()
  const h = s.length >> 1
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2
}

function norm(w: Weights): number {
  let sum = 0
  for (const t of w.tensors) for (let j = 0; j < t.values.length; j++) sum += t.values[j]! * t.values[j]!
  return Math.sqrt(sum)
}

/** Δ·g and ‖g‖² with g = model − parent taken in float64 per element. */
function dotWithStep(delta: Weights, previous: NonNullable<ValidationInit['previous']>): { dot: number; stepSquare: number } {
  let dot = 0
  let stepSquare = 0
  delta.tensors.forEach((t, i) => {
    const m = previous.model.tensors[i]!.values
    const p = previous.parent.tensors[i]!.values
    for (let j = 0; j < t.values.length; j++) {
      const g = m[j]! - p[j]!
      dot += t.values[j]! * g
      stepSquare += g * g
    }
  })
  return { dot, stepSquare }
}

/**
 * What the checks read of one update: its delta hash, its L2 norm and, with
 * a previous step, its dot product with that step (each summed in float64 in
 * layout order). `validateStreamed` gathers these a slice at a time.
 */
export interface UpdateSummary {
  readonly siteId: string
  readonly deltaHash: Uint8Array
  readonly norm: number
  readonly dot?: number
}

/** The updates of a round that pass `spec`, and the exclusions of the rest. */
export function validateUpdates({ spec, replies, previous, earlierDeltas }: ValidationInit): ValidationResult {
  let stepSquare: number | undefined
  const summaries = replies.map((r): UpdateSummary => {
    if (spec.minCosine === undefined || previous === undefined) return { siteId: r.siteId, deltaHash: r.deltaHash, norm: norm(r.delta) }
    const d = dotWithStep(r.delta, previous)
    stepSquare = d.stepSquare
    return { siteId: r.siteId, deltaHash: r.deltaHash, norm: norm(r.delta), dot: d.dot }
  })
  return validateSummaries(spec, summaries, stepSquare, earlierDeltas)
}

/**
 * The checks over summaries: `stepSquare` is ‖g‖² of the previous step
 * (undefined when there is none or minCosine is off), each summary's `dot`
 * then its Δ·g.
 */
export function validateSummaries(spec: UpdateValidationSpec, summaries: readonly UpdateSummary[], stepSquare: number | undefined, earlierDeltas: ReadonlyMap<string, number>): ValidationResult {
  const sorted = sortBySiteId(summaries)
  const hashes = sorted.map((r) => toHex(r.deltaHash))
  const copies = new Map<string, number>()
  for (const h of hashes) copies.set(h, (copies.get(h) ?? 0) + 1)
  const norms = sorted.map((r) => r.norm)
  const med = norms.length > 0 ? median(norms) : 0
  const mad = norms.length > 0 ? median(norms.map((n) => Math.abs(n - med))) : 0

  const kept: string[] = []
  const exclusions: Exclusion[] = []
  sorted.forEach((r, i) => {
    const exclusion = firstFailure(i)
    if (exclusion === undefined) kept.push(r.siteId)
    else exclusions.push(exclusion)
  })
  return { kept, exclusions }

  function firstFailure(i: number): Exclusion | undefined {
    const siteId = sorted[i]!.siteId
    const hash = hashes[i]!
    if (spec.rejectDuplicates) {
      const firstRound = earlierDeltas.get(hash)
      if (firstRound !== undefined) return { siteId, reason: 'replayed-delta', evidence: { firstRound } }
      const n = copies.get(hash)!
      if (n > 1) return { siteId, reason: 'duplicate-delta', evidence: { copies: n } }
    }
    if (spec.normZ !== undefined && mad > 0) {
      const score = Math.abs(norms[i]! - med) / (MAD_NORMAL_SCALE * mad)
      if (score > spec.normZ) return { siteId, reason: 'norm-outlier', evidence: { norm: norms[i]!, median: med, mad, score, threshold: spec.normZ } }
    }
    const dot = sorted[i]!.dot
    if (spec.minCosine !== undefined && stepSquare !== undefined && dot !== undefined) {
      if (stepSquare > 0) {
        const cosine = norms[i]! === 0 ? 0 : dot / (norms[i]! * Math.sqrt(stepSquare))
        if (cosine < spec.minCosine) return { siteId, reason: 'cosine-below-minimum', evidence: { cosine, threshold: spec.minCosine } }
      }
    }
    return undefined
  }
}

/**
 * `validateUpdates` reading every delta (and the previous step's two models)
 * a slice at a time: the same sums in the same order, so the same exclusions
 * and evidence, with one slice of each in memory.
 */
export function validateStreamed(init: {
  readonly spec: UpdateValidationSpec
  readonly shapes: readonly TensorShape[]
  readonly replies: readonly { readonly siteId: string; readonly delta: BlobReader; readonly deltaHash: Uint8Array }[]
  readonly previous?: { readonly model: BlobReader; readonly parent: BlobReader }
  readonly earlierDeltas: ReadonlyMap<string, number>
}): ValidationResult {
  const { spec, shapes, replies, previous, earlierDeltas } = init
  const withStep = spec.minCosine !== undefined && previous !== undefined
  const squares = new Float64Array(replies.length)
  const dots = new Float64Array(replies.length)
  let stepSquare = 0
  for (const { count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    const m = withStep ? valuesFromBytes(previous!.model.read(offset, 4 * n)) : undefined
    const p = withStep ? valuesFromBytes(previous!.parent.read(offset, 4 * n)) : undefined
    const g = m === undefined ? undefined : new Float64Array(n)
    if (g !== undefined)
      for (let j = 0; j < n; j++) {
        g[j] = m![j]! - p![j]!
        stepSquare += g[j]! * g[j]!
      }
    replies.forEach((r, i) => {
      const d = valuesFromBytes(r.delta.read(offset, 4 * n))
      let sum = squares[i]!
      for (let j = 0; j < n; j++) sum += d[j]! * d[j]!
      squares[i] = sum
      if (g !== undefined) {
        let dot = dots[i]!
        for (let j = 0; j < n; j++) dot += d[j]! * g[j]!
        dots[i] = dot
      }
    })
  }
  const summaries = replies.map((r, i) => ({ siteId: r.siteId, deltaHash: r.deltaHash, norm: Math.sqrt(squares[i]!), ...(withStep ? { dot: dots[i]! } : {}) }))
  return validateSummaries(spec, summaries, withStep ? stepSquare : undefined, earlierDeltas)
}
