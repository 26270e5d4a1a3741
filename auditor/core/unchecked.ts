/**
 * What an audit of a participant's replica could not check, in words. Such a
 * replica holds every entry but only the blobs its holder may read under the
 * study's policy (protocol's replica-access rules): a site sees the models
 * and its own deltas, never another site's delta, the hub's validation set or
 * the strategy's state. A round whose inputs it cannot read is folded as
 * logged (its entries, signatures and envelopes checked, its model taken by
 * hash) and named here, with which inputs were missing and why, so that a
 * partial verdict says exactly what it did not check.
 *
 * Pure: the folded state and what the replay met in, sentences out.
 */
import { equalBytes, toHex } from '../../ledger/core/index.ts'
import { compareSiteIds, mayFetch, replicaReader, type StudyState } from '../../protocol/index.ts'

/** Why a blob the replay needed was not at hand. */
export type UnavailableReason = 'not-visible' | 'not-held' | 'fetch-failed'

/** A blob the replay needed and could not read. */
export interface UnavailableBlob {
  readonly hash: Uint8Array
  /** What it is, for messages: `the delta of site "b"`, `the hub's validation set`. */
  readonly what: string
  readonly reason: UnavailableReason
  /** With `fetch-failed`: the error, as `CODE: message`. */
  readonly detail?: string
}

/** Who holds the replica, in words: `site "a"`, `the hub`, `auditor 1f2e…`, or a key that is no participant. */
export function holderName(state: StudyState, coordinatorKey: Uint8Array, holderKey: Uint8Array): string {
  const reader = replicaReader(state, coordinatorKey, holderKey)
  const key = `${toHex(holderKey).slice(0, 16)}…`
  if (reader === undefined) return `key ${key} (no participant of the study)`
  if (reader.role === 'site') return `site "${reader.site}"`
  return reader.role === 'hub' ? 'the hub' : reader.role === 'auditor' ? `auditor ${key}` : 'the coordinator'
}

/** `is not visible to site "a"`, `is not in this replica and was not fetched`, `could not be fetched (CODE: …)`. */
export function unavailablePhrase(blob: UnavailableBlob, holder: string): string {
  switch (blob.reason) {
    case 'not-visible':
      return `is not visible to ${holder}`
    case 'not-held':
      return 'is not in this replica and was not fetched'
    case 'fetch-failed':
      return `could not be fetched (${blob.detail ?? 'no reason given'})`
  }
}

/** What a round's aggregation read besides its parent model: every input's delta, the strategy's state before it, the validation set of gain rewards. */
function roundInputs(state: StudyState, round: number): { deltas: { site: string; delta: Uint8Array }[]; others: { what: string; hash: Uint8Array }[] } {
  const r = state.rounds.get(round)!
  const deltas = (r.commit ? r.commit.body.inputs.map((i) => ({ site: i.site, delta: i.delta })) : [...r.accepted.values()].map((a) => ({ site: a.site, delta: a.delta }))).sort((a, b) =>
    compareSiteIds(a.site, b.site),
  )
  const others: { what: string; hash: Uint8Array }[] = []
  const earlier = [...state.rounds.values()].filter((x) => x.round < round && x.commit !== undefined).sort((a, b) => b.round - a.round)[0]
  const strategyState = earlier?.commit?.body.state
  if (r.commit && strategyState !== undefined) others.push({ what: "the strategy's state", hash: strategyState })
  const gain = state.study.rewards !== undefined && state.study.rewards.method !== 'examples'
  if (r.commit && gain && state.validation !== undefined) others.push({ what: "the hub's validation set", hash: state.validation })
  return { deltas, others }
}

function sites(list: readonly string[]): string {
  return list.map((s) => `"${s}"`).join(', ')
}

/**
 * One sentence per round the replay folded as logged for want of blobs
 * (`rounds`: what it met there), then one per other blob it could not check
 * (`notes`), e.g. `round 2: aggregation not re-derived (model taken by hash):
 * 2 of 3 deltas are not visible to site "a" (sites "b", "c"); site "a"'s own
 * update and delta checked`.
 */
export function describeUnchecked(init: {
  readonly state: StudyState
  readonly coordinatorKey: Uint8Array
  readonly holderKey: Uint8Array
  readonly rounds: ReadonlyMap<number, readonly UnavailableBlob[]>
  readonly notes: readonly UnavailableBlob[]
}): string[] {
  const { state, coordinatorKey, holderKey } = init
  const holder = holderName(state, coordinatorKey, holderKey)
  const reader = replicaReader(state, coordinatorKey, holderKey)
  const out: string[] = []
  for (const round of [...init.rounds.keys()].sort((a, b) => a - b)) {
    const met = init.rounds.get(round)!
    const r = state.rounds.get(round)
    if (r === undefined) continue
    const { deltas, others } = roundInputs(state, round)
    const parts: string[] = []
    // What the study's policy keeps from the holder: named whether or not the replay got as far as asking for it.
    const hidden = deltas.filter((d) => !mayFetch(reader, { site: d.site }))
    if (hidden.length > 0)
      parts.push(
        `${hidden.length} of ${deltas.length} deltas ${hidden.length === 1 ? 'is' : 'are'} not visible to ${holder} (${hidden.length === 1 ? 'site' : 'sites'} ${sites(hidden.map((d) => d.site))})`,
      )
    for (const o of others) if (!mayFetch(reader, 'coordinator-and-auditors')) parts.push(`${o.what} is not visible to ${holder}`)
    // What the holder may read but the replay could not get.
    for (const blob of met) {
      if (blob.reason === 'not-visible') continue
      parts.push(`${blob.what} ${unavailablePhrase(blob, holder)}`)
    }
    if (parts.length === 0) parts.push(...met.map((b) => `${b.what} ${unavailablePhrase(b, holder)}`))
    const own = reader?.role === 'site' ? deltas.find((d) => d.site === reader.site) : undefined
    if (own !== undefined && !met.some((b) => equalBytes(b.hash, own.delta))) parts.push(`site "${own.site}"'s own update and delta checked`)
    const head = r.commit
      ? `aggregation not re-derived (model taken by hash${r.rewards === undefined ? '' : ', rewards not recomputed'})`
      : r.status === 'abandoned' || r.status === 'aborted'
        ? `${r.status}; deltas not checked`
        : 'deltas not checked'
    out.push(`round ${round}: ${head}: ${parts.join('; ')}`)
  }
  for (const blob of init.notes) out.push(`${blob.what} ${unavailablePhrase(blob, holder)}: the study names it by hash, unchecked`)
  return out
}
