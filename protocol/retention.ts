/**
 * The study's retention of sites' deltas (`retention.deltaRounds` in the
 * spec): a closed round's deltas may be deleted once that many later rounds
 * have committed. One rule for both sides: the coordinator prunes by it, and
 * the audit accepts a missing delta only where it allows one (reporting the
 * round as hash-only), so a delta lost any other way still fails the audit.
 * Pure.
 */
import { toHex } from '../ledger/core/index.ts'
import type { StudyState } from './study-state.ts'

/** True when `round`'s deltas may be gone under the study's retention, given the rounds committed in `state`. */
export function deltasPastRetention(state: StudyState, round: number): boolean {
  const keep = state.created ? state.study.retention?.deltaRounds : undefined
  if (keep === undefined) return false
  const r = state.rounds.get(round)
  if (r === undefined || r.status === 'collecting') return false
  let later = 0
  for (const other of state.rounds.values()) if (other.round > round && other.status === 'committed') later++
  return later >= keep
}

/**
 * The delta hashes the coordinator may delete now: those of rounds past
 * retention, except any a round still within retention also names (identical
 * bytes from two rounds are one blob).
 */
export function prunableDeltas(state: StudyState): Uint8Array[] {
  const kept = new Set<string>()
  const past = new Map<string, Uint8Array>()
  for (const r of state.rounds.values()) {
    const prune = deltasPastRetention(state, r.round)
    for (const a of r.accepted.values()) {
      if (prune) past.set(toHex(a.delta), a.delta)
      else kept.add(toHex(a.delta))
    }
  }
  return [...past].filter(([hex]) => !kept.has(hex)).map(([, hash]) => hash)
}
