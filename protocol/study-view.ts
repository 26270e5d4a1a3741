/**
 * One reading of a study state for people: the study, its sites, each
 * round with every site's part in it, the model lineage, refusals by code
 * and rewards, as plain JSON (hashes and keys as lowercase hex, credits as
 * decimal strings). The coordinator's dashboard serves it live and the
 * auditor's HTML report embeds the one its replay folded, so the two show
 * the same log the same way. It adds nothing the log does not say.
 *
 * Pure: a state in, a value out.
 */
import { toHex } from '../ledger/core/index.ts'
import { specHash } from './site-control.ts'
import { compareSiteIds, type RoundRecord, type RoundStatus, type StudyState } from './study-state.ts'

/** The metrics a site's evaluation report carries (site-agent/agent.ts), in the order charts show them. */
export const EVALUATION_METRICS = ['loss', 'accuracy', 'auc'] as const

export interface StudyView {
  readonly study: {
    readonly id: string
    readonly title: string
    /** SHA-256 of the canonical spec: what sites approve. */
    readonly specHash: string
    /** The spec as the log holds it, JSON-shaped. */
    readonly spec: unknown
    readonly roundsTarget: number
    readonly minSites: number
    readonly strategy: string
    readonly committedRounds: number
    readonly completed: boolean
    readonly genesis: string
  }
  readonly sites: readonly SiteView[]
  readonly rounds: readonly RoundView[]
  /** The sites' evaluations of the initial model (round 0), and their example-weighted means. */
  readonly initial: { readonly sites: readonly InitialEvaluationView[]; readonly weighted: Readonly<Record<string, number>> }
  /** Genesis first, then each committed model in round order. */
  readonly lineage: readonly LineageNodeView[]
  /** Every logged refusal (updates and other statements), grouped by code, most frequent first. */
  readonly refusals: readonly { readonly code: string; readonly type: string; readonly count: number }[]
  /** Credits per site over every round-rewarded entry. */
  readonly balances: Readonly<Record<string, string>>
}

export interface InitialEvaluationView {
  readonly site: string
  readonly seq: number
  readonly examples: number
  readonly metrics: Readonly<Record<string, number>>
}

export interface SiteView {
  readonly id: string
  /** The hub removed it while the study ran. */
  readonly removed: boolean
  /** Seq of its logged approval of the spec, or null. */
  readonly approvalSeq: number | null
}

export interface RoundSiteView {
  readonly site: string
  /** The strategy planned it into the round (it was sent a fit task). */
  readonly planned: boolean
  readonly accepted: { readonly seq: number; readonly examples: number; readonly delta: string; readonly metrics: Readonly<Record<string, number>> } | null
  readonly rejected: readonly { readonly seq: number; readonly code: string; readonly reason: string; readonly type: string }[]
  readonly declined: { readonly seq: number; readonly code: string; readonly reason: string } | null
  /** Its evaluation of the model this round committed. */
  readonly evaluation: { readonly seq: number; readonly examples: number; readonly metrics: Readonly<Record<string, number>> } | null
  readonly consent: { readonly count: number; readonly noConsent: number; readonly expired: number; readonly notYetValid: number; readonly revoked: number } | null
  /** Credits the round paid it, or null when the round paid none. */
  readonly reward: string | null
}

export interface RoundView {
  readonly round: number
  readonly status: RoundStatus
  readonly base: string
  readonly model: string | null
  readonly openedMs: number
  readonly deadlineMs: number
  /** Seq of the round-committed entry. */
  readonly commitSeq: number | null
  readonly committedMs: number | null
  readonly abandonReason: string | null
  /** Why the hub aborted the round, when it did. */
  readonly abortReason: string | null
  /** The round's aggregate training metrics (the commit's), when committed. */
  readonly trainMetrics: Readonly<Record<string, number>>
  /** Every site that was planned, sent an update, or had something refused, in id order. */
  readonly sites: readonly RoundSiteView[]
  /** Example-weighted mean of the sites' evaluations of this round's model, per metric. */
  readonly weighted: Readonly<Record<string, number>>
  readonly revocations: number
}

export interface LineageNodeView {
  readonly model: string
  readonly round: number
  readonly parent: string | null
  /** Seq of the round-committed entry (null for genesis, which study-created names at seq 0). */
  readonly seq: number | null
  readonly timeMs: number | null
  /** The site deltas aggregated into it, in aggregation order, each with its update-accepted entry. */
  readonly deltas: readonly { readonly site: string; readonly delta: string; readonly examples: number; readonly seq: number | null }[]
}

/** JSON-safe copy: bytes to hex, bigints to decimal strings. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value)
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

function weightedMeans(evaluations: readonly { readonly examples: number; readonly metrics: Readonly<Record<string, number>> }[]): Record<string, number> {
  const sums = new Map<string, { weighted: number; examples: number }>()
  for (const e of evaluations)
    for (const [name, v] of Object.entries(e.metrics)) {
      if (!Number.isFinite(v)) continue
      const s = sums.get(name) ?? { weighted: 0, examples: 0 }
      s.weighted += v * e.examples
      s.examples += e.examples
      sums.set(name, s)
    }
  return Object.fromEntries([...sums].filter(([, s]) => s.examples > 0).map(([name, s]) => [name, s.weighted / s.examples]))
}

function roundView(state: StudyState, r: RoundRecord): RoundView {
  const evaluations = state.evaluations.get(r.round) ?? new Map()
  const rewards = new Map((r.rewards?.body.allocations ?? []).map((a) => [a.site, a.amount.toString()]))
  const ids = new Set<string>([...r.plan.keys(), ...r.accepted.keys(), ...r.rejected.map((x) => x.site), ...r.declined.keys(), ...evaluations.keys()])
  const sites = [...ids].sort(compareSiteIds).map((site): RoundSiteView => {
    const a = r.accepted.get(site)
    const d = r.declined.get(site)
    const e = r.commit ? evaluations.get(site) : undefined
    return {
      site,
      planned: r.plan.has(site),
      accepted: a === undefined ? null : { seq: a.seq, examples: a.examples, delta: toHex(a.delta), metrics: { ...a.metrics } },
      rejected: r.rejected.filter((x) => x.site === site).map((x) => ({ seq: x.seq, code: x.code, reason: x.reason, type: x.type })),
      declined: d === undefined ? null : { seq: d.seq, code: d.code, reason: d.reason },
      evaluation: e === undefined ? null : { seq: e.seq, examples: e.examples, metrics: { ...e.metrics } },
      consent: a?.consent === undefined ? null : { count: a.consent.count, ...a.consent.excluded },
      reward: rewards.get(site) ?? null,
    }
  })
  return {
    round: r.round,
    status: r.status,
    base: toHex(r.base),
    model: r.commit ? toHex(r.commit.body.model) : null,
    openedMs: r.openedMs,
    deadlineMs: r.deadlineMs,
    commitSeq: r.commit?.seq ?? null,
    committedMs: r.commit?.timeMs ?? null,
    abandonReason: r.abandonReason ?? null,
    abortReason: r.abortReason ?? null,
    trainMetrics: { ...(r.commit?.body.metrics ?? {}) },
    sites,
    weighted: r.commit ? weightedMeans([...evaluations.values()]) : {},
    revocations: r.revocations.length,
  }
}

/** The view of `state` (see the module doc). Requires nothing: a state before `study-created` gives an empty study. */
export function studyView(state: StudyState): StudyView {
  const rounds = [...state.rounds.values()].sort((a, b) => a.round - b.round)
  const spec = state.created ? state.study : undefined
  const lineage: LineageNodeView[] = state.created ? [{ model: toHex(state.genesis), round: 0, parent: null, seq: null, timeMs: null, deltas: [] }] : []
  for (const r of rounds) {
    if (!r.commit) continue
    lineage.push({
      model: toHex(r.commit.body.model),
      round: r.round,
      parent: toHex(r.commit.body.parent),
      seq: r.commit.seq,
      timeMs: r.commit.timeMs,
      deltas: r.commit.body.inputs.map((i) => ({ site: i.site, delta: toHex(i.delta), examples: i.examples, seq: r.accepted.get(i.site)?.seq ?? null })),
    })
  }
  const initial = [...(state.evaluations.get(0)?.values() ?? [])].sort((a, b) => compareSiteIds(a.site, b.site))
  const refusals = new Map<string, { code: string; type: string; count: number }>()
  for (const r of rounds)
    for (const x of r.rejected) {
      const key = `${x.type}/${x.code}`
      const entry = refusals.get(key) ?? { code: x.code, type: x.type, count: 0 }
      entry.count++
      refusals.set(key, entry)
    }
  return {
    study: {
      id: state.studyId,
      title: spec?.title ?? '',
      specHash: state.created ? toHex(specHash(state.spec)) : '',
      spec: spec === undefined ? null : plain(spec),
      roundsTarget: spec?.rounds ?? 0,
      minSites: spec?.minSites ?? 0,
      strategy: spec?.strategy.name ?? '',
      committedRounds: state.committedRounds,
      completed: state.completed,
      genesis: state.created ? toHex(state.genesis) : '',
    },
    sites: [...state.sites.keys()].sort(compareSiteIds).map((id) => ({ id, removed: state.removed.has(id), approvalSeq: state.approvals.get(id)?.seq ?? null })),
    rounds: rounds.map((r) => roundView(state, r)),
    initial: {
      sites: initial.map((e) => ({ site: e.site, seq: e.seq, examples: e.examples, metrics: { ...e.metrics } })),
      weighted: weightedMeans(initial),
    },
    lineage,
    refusals: [...refusals.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
    balances: Object.fromEntries([...state.balances].sort(([a], [b]) => compareSiteIds(a, b)).map(([site, v]) => [site, v.toString()])),
  }
}
