/**
 * Replaying one round: whether it was allowed to close the way it did, which
 * updates went into it, and whether its model re-derives bit for bit.
 *
 * The re-derivation calls `deriveRoundModel` from coordinator/core, the one
 * function the coordinator committed with (strategy from models/core, updates
 * sorted by site id, sums in float64, one rounding to float32). So a replay
 * can only disagree with the log if the logged inputs, parent, strategy or
 * model do.
 *
 * Pure: no I/O. Blobs are fetched, re-hashed and decoded by the shell
 * (replay.ts) before they reach these functions.
 */
import { equalBytes } from '../../ledger/core/index.ts'
import type { StrategySpec, Weights, WeightedUpdate } from '../../models/core/index.ts'
import { AuditMetricsMismatchError, AuditModelMismatchError, AuditStateInvalidError, entryLabel, hex } from '../errors.ts'
import { ENTRY_KINDS, decideClose, deriveRoundModel, type DerivedModel, type RoundAbandonedBody, type RoundCommittedBody, type RoundRecord } from '../../protocol/index.ts'

/**
 * The closing rule of `decideClose`, without its clock: a round may be
 * committed only with updates from every enrolled site or at least
 * `minSites` of them, and abandoned only with fewer than both (the deadline
 * itself is the coordinator's clock, which the log records but does not order).
 * Requires `round` as it was before the closing record applied.
 */
export function checkRoundClose(
  seq: number,
  round: RoundRecord,
  enrolledSites: number,
  minSites: number,
  body: { readonly kind: 'round-committed'; readonly body: RoundCommittedBody } | { readonly kind: 'round-abandoned'; readonly body: RoundAbandonedBody },
): void {
  const at = entryLabel(seq, body.kind)
  const accepted = round.accepted.size
  const decision = decideClose({ ...round, status: 'collecting' }, enrolledSites, minSites, Number.POSITIVE_INFINITY)
  if (body.kind === ENTRY_KINDS.ROUND_COMMITTED) {
    if (decision.action !== 'aggregate') {
      throw new AuditStateInvalidError(`${at}: round ${round.round} committed with ${accepted} accepted updates, the study needs ${minSites} (or all ${enrolledSites} enrolled sites)`, seq)
    }
    return
  }
  if (body.body.accepted !== accepted) throw new AuditStateInvalidError(`${at}: round ${round.round} abandoned with ${body.body.accepted} accepted updates, the log accepted ${accepted}`, seq)
  if (decision.action !== 'abandon') {
    throw new AuditStateInvalidError(`${at}: round ${round.round} abandoned with ${accepted} accepted updates, enough to aggregate (the study needs ${minSites})`, seq)
  }
}

/**
 * The updates a commit aggregates, in its input order: every accepted update
 * of the round and nothing else (the fold already checked that each input
 * repeats its accepted update's delta hash and example count; this adds the
 * envelope hash and that none was left out). Requires the commit applied and
 * `deltas` to hold the decoded delta of every accepted site.
 */
export function commitUpdates(seq: number, round: RoundRecord, body: RoundCommittedBody, deltas: ReadonlyMap<string, Weights>): WeightedUpdate[] {
  const at = entryLabel(seq, ENTRY_KINDS.ROUND_COMMITTED)
  const inputs = new Set(body.inputs.map((i) => i.site))
  for (const acc of round.accepted.values()) {
    if (!inputs.has(acc.site)) throw new AuditStateInvalidError(`${at}: round ${body.round} leaves out the update of "${acc.site}" accepted at entry ${acc.seq}`, seq)
  }
  return body.inputs.map((input) => {
    const acc = round.accepted.get(input.site)!
    if (!equalBytes(acc.envelopeHash, input.envelope)) {
      throw new AuditStateInvalidError(`${at}: input from "${input.site}" names envelope ${hex(input.envelope)}, the update accepted at entry ${acc.seq} has ${hex(acc.envelopeHash)}`, seq)
    }
    return { siteId: input.site, exampleCount: input.examples, delta: deltas.get(input.site)! }
  })
}

/**
 * Re-runs the round with `deriveRoundModel(strategy, round, parent, updates)`
 * and requires the logged model hash and the logged aggregation metrics
 * (every metric the strategy reports) to be the re-derived ones.
 * Returns the re-derived model. Throws the models core's errors when it
 * refuses the inputs (the caller names those), else `AuditError`s.
 */
export function rederiveRound(seq: number, strategy: StrategySpec, body: RoundCommittedBody, parent: Weights, updates: readonly WeightedUpdate[]): DerivedModel {
  const at = `${entryLabel(seq, ENTRY_KINDS.ROUND_COMMITTED)}: round ${body.round}`
  const derived = deriveRoundModel(strategy, body.round, parent, updates)
  if (derived === null) throw new AuditStateInvalidError(`${at}: committed without inputs, nothing to aggregate`, seq)
  if (!equalBytes(derived.hash, body.model)) {
    throw new AuditModelMismatchError(
      `${at}: model is ${hex(body.model)}, re-deriving it from the parent and ${updates.length} logged deltas gives ${hex(derived.hash)}`,
      seq,
      body.round,
      body.model,
      derived.hash,
    )
  }
  for (const [metric, value] of Object.entries(derived.metrics)) {
    const logged = body.metrics[metric]
    if (logged !== value) {
      throw new AuditMetricsMismatchError(`${at}: metric "${metric}" is ${logged ?? 'missing'}, re-derived ${value}`, seq, metric, logged ?? 'missing', value)
    }
  }
  return derived
}
