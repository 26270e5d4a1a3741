/**
 * The DP-SGD claim: what a site that trained with patient-level DP-SGD says
 * about it in its signed update envelope, under `ext.dpSgd` (statements.ts
 * reserves `ext` for such features). Canonical CBOR map:
 *
 *     { q, noiseMultiplier, clipNorm, steps, delta, epsilon }
 *
 * - `q`: the Poisson sampling rate of each step (batchSize / training rows).
 * - `noiseMultiplier` σ, `clipNorm` C: each example's gradient clipped to C,
 *   noise N(0, (σC)²) per coordinate on the sum.
 * - `steps`: the round's DP-SGD steps (its `localSteps`).
 * - `delta`, `epsilon`: the site's own (ε, δ) account after this round,
 *   over every round it trained in with DP-SGD (its accountant may count
 *   rounds the log does not show: other studies, updates that never
 *   arrived), never less than this study's logged claims give.
 *
 * That last property is what the audit checks (dp-sgd-audit.ts).
 *
 * An envelope without `ext.dpSgd` is an update trained without DP-SGD; old
 * envelopes verify as before. Pure.
 */
import { z } from 'zod'
import type { CanonicalValue } from '../ledger/core/index.ts'

/** The key of the DP-SGD claim in an update envelope's `ext` map. */
export const DP_SGD_EXT_KEY = 'dpSgd'

const finite = z.number().refine(Number.isFinite, 'must be finite')

const DpSgdClaimSchema = z.strictObject({
  q: finite.gt(0).max(1),
  noiseMultiplier: finite.gt(0),
  clipNorm: finite.gt(0),
  steps: z.number().int().positive(),
  delta: finite.gt(0).lt(1),
  epsilon: finite.min(0),
})

/** What an update says of its DP-SGD training; see the module doc. */
export type DpSgdClaim = z.infer<typeof DpSgdClaimSchema>

/** The claim as the canonical value `ext.dpSgd` carries (a plain map). */
export function encodeDpSgdClaim(claim: DpSgdClaim): CanonicalValue {
  const { q, noiseMultiplier, clipNorm, steps, delta, epsilon } = DpSgdClaimSchema.parse(claim)
  return { q, noiseMultiplier, clipNorm, steps, delta, epsilon }
}

/**
 * What an envelope's `ext` says of DP-SGD: undefined when it carries no
 * claim, `{ claim }`, or `{ invalid }` (why) when `ext.dpSgd` is not a
 * well-formed claim. Never throws.
 */
export function dpSgdClaimOf(ext: { readonly [key: string]: CanonicalValue } | undefined): { readonly claim: DpSgdClaim } | { readonly invalid: string } | undefined {
  if (ext === undefined || !Object.hasOwn(ext, DP_SGD_EXT_KEY)) return undefined
  const parsed = DpSgdClaimSchema.safeParse(ext[DP_SGD_EXT_KEY])
  if (parsed.success) return { claim: parsed.data }
  return { invalid: parsed.error.issues.map((i) => `${i.path.join('.') || 'dpSgd'}: ${i.message}`).join('; ') }
}
