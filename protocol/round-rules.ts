/**
 * When a round closes, and its public seed. The decider (decider.ts) applies
 * these; the model itself is derived in round-close.ts.
 */
import { sha256 } from '../ledger/core/index.ts'

export type CloseDecision = { readonly action: 'wait' } | { readonly action: 'aggregate' } | { readonly action: 'abandon'; readonly reason: string }

/**
 * A collecting round with `accepted` updates out of `planned` sites
 * aggregates as soon as every planned site has one; at its deadline it
 * aggregates with what it has if that reaches `minSites`, and is abandoned
 * otherwise. `declined` planned sites refused their task (task-declined):
 * the round does not wait for them, so once every other planned site sent
 * its update it closes at once, aggregating when that reaches `minSites`.
 */
export function decideClose(accepted: number, planned: number, deadlineMs: number, minSites: number, nowMs: number, declined = 0): CloseDecision {
  if (declined > 0 && accepted + declined >= planned) {
    if (accepted >= minSites) return { action: 'aggregate' }
    return { action: 'abandon', reason: `every planned site answered: ${accepted} accepted updates and ${declined} declined, the study needs ${minSites}` }
  }
  if (accepted >= planned) return { action: 'aggregate' }
  if (nowMs < deadlineMs) return { action: 'wait' }
  if (accepted >= minSites) return { action: 'aggregate' }
  return { action: 'abandon', reason: `deadline passed with ${accepted} accepted updates, the study needs ${minSites}` }
}

/** A round's seed for the sites' local batch order: first 4 bytes of SHA-256("round-seed", study seed, round). */
export function roundSeed(studySeed: number, round: number): number {
  const digest = sha256(new TextEncoder().encode(`fedlineage/round-seed/${studySeed}/${round}`))
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0
}
