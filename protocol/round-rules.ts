/**
 * When a round closes, and how a round's model is derived from its inputs.
 * `deriveRoundModel` is the one function that turns a parent model and the
 * accepted deltas into the next model; the coordinator commits with it and the
 * auditor replays with it, so a replay can only differ if the inputs differ.
 */
import { createStrategy } from './strategy.ts'
import { hashWeights, type StrategySpec, type Weights, type WeightedUpdate } from '../models/core/index.ts'
import { sha256 } from '../ledger/core/index.ts'
import { type RoundRecord } from './study-state.ts'

export type CloseDecision = { readonly action: 'wait' } | { readonly action: 'aggregate' } | { readonly action: 'abandon'; readonly reason: string }

/**
 * Requires `round.status === 'collecting'`. A round aggregates as soon as every
 * enrolled site has an accepted update; at its deadline it aggregates with
 * what it has if that reaches `minSites`, and is abandoned otherwise.
 */
export function decideClose(round: RoundRecord, enrolledSites: number, minSites: number, nowMs: number): CloseDecision {
  const accepted = round.accepted.size
  if (accepted >= enrolledSites) return { action: 'aggregate' }
  if (nowMs < round.deadlineMs) return { action: 'wait' }
  if (accepted >= minSites) return { action: 'aggregate' }
  return { action: 'abandon', reason: `deadline passed with ${accepted} accepted updates, the study needs ${minSites}` }
}

/** A round's seed for the sites' local batch order: first 4 bytes of SHA-256("round-seed", study seed, round). */
export function roundSeed(studySeed: number, round: number): number {
  const digest = sha256(new TextEncoder().encode(`fedlineage/round-seed/${studySeed}/${round}`))
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0
}

export interface DerivedModel {
  readonly weights: Weights
  readonly hash: Uint8Array
  readonly metrics: Readonly<Record<string, number>>
  readonly strategy: { readonly name: string; readonly params: Readonly<Record<string, number | string | boolean>> }
}

/**
 * Derives round `round`'s model from its parent and accepted updates with the
 * study's strategy. Deterministic: the strategy sorts by site id and sums in
 * Float64, so every machine gets the same bytes and hash.
 * Returns null when there is nothing to aggregate.
 */
export function deriveRoundModel(spec: StrategySpec, round: number, parent: Weights, updates: readonly WeightedUpdate[]): DerivedModel | null {
  const strategy = createStrategy(spec)
  const result = strategy.aggregateRound(round, parent, updates, [])
  if (!result) return null
  return {
    weights: result.weights,
    hash: hashWeights(result.weights),
    metrics: result.metrics,
    strategy: { name: strategy.name, params: strategy.parameters },
  }
}
