/**
 * The audit report: what was checked, as plain JSON-friendly data (hashes and
 * keys as lowercase hex), built from the study state the replay folded.
 *
 * A report describes the log up to its first failure: `entries` counts the
 * entries that passed every check and `head` is the hash of the last of them;
 * `lineage` lists the genesis (recomputed) and each committed model the
 * replay folded: re-derived, or taken by hash in a round replayed hash-only
 * (retention) or unchecked (a participant's replica could not read its
 * inputs). A round whose commit failed its replay still shows the model the
 * log claims, with `rederived: false`. `verdict` is `partial` when nothing
 * failed but something went unchecked (`unchecked` says what): never `ok`.
 *
 * Pure: no I/O.
 */
import { GENESIS_PREV_HASH, toHex } from '../../ledger/core/index.ts'
import { AuditMismatchError, type AuditError, type AuditValue } from '../errors.ts'
import { checkDpSgdClaims, compareSiteIds, specHash, type DpSgdClaimCheck, type RoundRecord, type RoundStatus, type StudyState } from '../../protocol/index.ts'
import type { WitnessingReport } from './witness-quorum.ts'

/** One round of the study, as the log records it. */
export interface AuditRoundReport {
  readonly round: number
  readonly status: RoundStatus
  /** The base model the round trained from (its commit's parent). */
  readonly parent: string
  /** The committed model, or null for a round still collecting or abandoned. */
  readonly model: string | null
  /** Sites whose updates the round aggregated (committed) or accepted so far, in aggregation order. */
  readonly sites: readonly string[]
  /** Total training examples behind those updates. */
  readonly examples: number
  /** True when the audit re-derived the committed model bit for bit from the logged parent and deltas. */
  readonly rederived: boolean
  /** True when the round's logged rewards were recomputed and matched. */
  readonly rewarded: boolean
  /**
   * Present (true) when the audited replica (a participant's) could not read
   * what the round needs, so it was folded as logged: entries, signatures and
   * envelopes checked, its model taken by hash. The report's `unchecked` says
   * which inputs were missing and why.
   */
  readonly unchecked?: true
  /**
   * Present (true) when the study's retention had deleted the round's deltas:
   * its entries and site envelopes were checked, its model taken by hash,
   * neither re-derived nor its rewards recomputed.
   */
  readonly hashOnly?: true
  /**
   * The consent each accepted update committed to, checked (present only
   * when some update of the round carries a consent claim): per site in
   * aggregation order, the consent root and its leaf count (patients).
   */
  readonly consent?: readonly { readonly site: string; readonly root: string; readonly count: number }[]
  /** Revoked pseudonyms first logged in this round (present with `consent`). */
  readonly revocations?: number
  /**
   * The sites' patient-rewards entries of the round, checked (present only
   * when there is one): per site in id order, the credit passed on, the
   * patients it went to and the allocation root they can check their share against.
   */
  readonly patientRewards?: readonly { readonly site: string; readonly amount: string; readonly count: number; readonly root: string }[]
  /**
   * A secure-aggregation round that committed (present only then): the
   * survivors whose masked inputs were summed, the sites that shared their
   * keys and dropped out (their masks removed with their rebuilt keys), and
   * the reveals the sum was unmasked from. A re-derived round's sum was
   * unmasked again by the audit from these logged messages.
   */
  readonly secagg?: { readonly survivors: number; readonly dropped: readonly string[]; readonly reveals: number }
}

/** One enrolled site's part in the study. */
export interface AuditSiteReport {
  readonly id: string
  /** Updates accepted into rounds. */
  readonly updates: number
  /** Signed evaluation reports (round 0 is the initial model). */
  readonly evaluations: number
  /** Updates the coordinator refused and logged as rejected. */
  readonly rejected: number
  /**
   * The spec hash the site's logged approval names (always the study's own:
   * the replay refuses any other), or null when the site logged none.
   */
  readonly approved: string | null
  /** Fit tasks the site declined (task-declined entries), with their codes in round order. */
  readonly declined: readonly { readonly round: number; readonly code: string }[]
}

/** Where and why the audit stopped. `expected`/`calculated` are set for mismatches. */
export interface AuditFailure {
  readonly seq: number
  readonly code: string
  readonly message: string
  /** What the log claims (hex for hashes and keys). */
  readonly expected?: string
  /** What the audit computed. */
  readonly calculated?: string
}

/**
 * `passed`: every check held and everything was checked. `partial`: no check
 * failed, but some could not be done (the audited replica is a participant's,
 * which lacks blobs its holder may not read): `unchecked` says which.
 * `failed`: a check failed (`failure`).
 */
export type AuditVerdict = 'passed' | 'partial' | 'failed'

export interface AuditReport {
  /** True when the audit passed: every entry passed every check, and nothing went unchecked. */
  readonly ok: boolean
  readonly verdict: AuditVerdict
  readonly study: string
  /** Entries that passed every check: the whole log when `ok`. */
  readonly entries: number
  /** Hash of the last entry that passed (32 zero bytes when none did). */
  readonly head: string
  /** SHA-256 of the study spec the log runs: what each site's approval must name. */
  readonly specHash: string
  /** Approvals checked: logged approvals, each re-admitted against the spec the study ran. */
  readonly approvals: number
  /** The key that signed every entry (the author of `study-created`). */
  readonly coordinatorKey: string
  /** True when the log ends with `study-completed`. */
  readonly completed: boolean
  readonly rounds: readonly AuditRoundReport[]
  /** The model lineage: the genesis model, then each committed model the replay folded (re-derived, or taken by hash), in round order. */
  readonly lineage: readonly string[]
  readonly sites: readonly AuditSiteReport[]
  /** The coordinator-signed checkpoint the whole replayed log matched, when the source holds one. */
  readonly checkpoint?: { readonly size: number; readonly root: string }
  /** The newest checkpoint held to the study's witness policy; `quorum` absent when the study sets none (nothing was required). */
  readonly witnessing?: WitnessingReport
  /** Credits per site, from the replayed (and recomputed) round-rewarded entries. */
  readonly balances: Readonly<Record<string, string>>
  /**
   * Update refusals for their bytes (wrong hash or shape, non-finite, too
   * large): the bytes were never stored, so the audit could not re-decide
   * them and takes them on the coordinator's word.
   */
  readonly unverifiedRejections: number
  /**
   * Every accepted update's patient-level DP-SGD claim (`ext.dpSgd`), in
   * round then site order, with ε recomputed from the site's own logged
   * (q, σ, steps) of this study and `flagged` when the logged ε is below it
   * (or the claim does not read). Present only when some update carries one.
   */
  readonly dpSgd?: readonly DpSgdClaimCheck[]
  /** Whose replica was audited, when it is a participant's (`site "a"`): it holds only what its holder may read. */
  readonly holder?: string
  /** What could not be checked, one sentence each (a partial verdict); absent when everything was. */
  readonly unchecked?: readonly string[]
  readonly failure?: AuditFailure
}

/** What the replay established so far: the input of buildAuditReport. */
export interface AuditProgress {
  readonly state: StudyState
  readonly entries: number
  readonly head: Uint8Array | undefined
  readonly coordinatorKey: Uint8Array | undefined
  /** Rounds whose commits re-derived. */
  readonly rederived: ReadonlySet<number>
  /** Update refusals for their bytes (never stored), taken on the coordinator's word. */
  readonly unverifiedRejections: number
  /** Rounds replayed hash-only: their deltas were deleted under the study's retention. */
  readonly hashOnly?: ReadonlySet<number>
  /** Rounds folded as logged because the participant's replica could not read what they need. */
  readonly uncheckedRounds?: ReadonlySet<number>
  /** Whose replica it is, in words (participants' replicas only). */
  readonly holder?: string | undefined
  /** What could not be checked, one sentence each. */
  readonly unchecked?: readonly string[]
  /** Genesis, then each re-derived model. */
  readonly lineage: readonly Uint8Array[]
  readonly checkpoint?: { readonly size: number; readonly root: Uint8Array } | undefined
  readonly witnessing?: WitnessingReport | undefined
}

function text(value: AuditValue): string {
  return value instanceof Uint8Array ? toHex(value) : String(value)
}

/** The JSON form of an audit finding. Requires `error.seq` to be set. */
export function auditFailure(error: AuditError): AuditFailure {
  const failure = { seq: error.seq ?? 0, code: error.code, message: error.message }
  if (!(error instanceof AuditMismatchError)) return failure
  return { ...failure, expected: text(error.expected), calculated: text(error.calculated) }
}

function roundReport(state: StudyState, round: number, rederived: boolean, hashOnly: boolean, unchecked: boolean): AuditRoundReport {
  const r = state.rounds.get(round)!
  const inputs = r.commit
    ? r.commit.body.inputs.map((i) => ({ site: i.site, examples: i.examples }))
    : [...r.accepted.values()].map((a) => ({ site: a.site, examples: a.examples })).sort((a, b) => compareSiteIds(a.site, b.site))
  return {
    round,
    status: r.status,
    parent: toHex(r.base),
    model: r.commit ? toHex(r.commit.body.model) : null,
    sites: inputs.map((i) => i.site),
    examples: inputs.reduce((n, i) => n + i.examples, 0),
    rederived,
    rewarded: r.rewards !== undefined && !hashOnly && !unchecked,
    ...(unchecked ? { unchecked: true as const } : {}),
    ...(hashOnly ? { hashOnly: true as const } : {}),
    ...consentReport(r),
    ...(r.secagg?.u3 === undefined || r.commit === undefined ? {} : { secagg: { survivors: r.secagg.u3.length, dropped: [...(r.commit.body.secagg?.dropped ?? [])], reveals: r.secagg.reveals.size } }),
    ...(r.patientRewards.size === 0
      ? {}
      : {
          patientRewards: [...r.patientRewards.values()]
            .sort((a, b) => compareSiteIds(a.site, b.site))
            .map((p) => ({ site: p.site, amount: p.amount.toString(), count: p.count, root: toHex(p.root) })),
        }),
  }
}

function consentReport(r: RoundRecord): Pick<AuditRoundReport, 'consent' | 'revocations'> {
  const consent = [...r.accepted.values()]
    .filter((a) => a.consent !== undefined)
    .sort((a, b) => compareSiteIds(a.site, b.site))
    .map((a) => ({ site: a.site, root: toHex(a.consent!.root), count: a.consent!.count }))
  return consent.length === 0 && r.revocations.length === 0 ? {} : { consent, revocations: r.revocations.length }
}

function siteReport(state: StudyState, id: string): AuditSiteReport {
  let updates = 0
  let rejected = 0
  for (const r of state.rounds.values()) {
    if (r.accepted.has(id)) updates++
    rejected += r.rejected.filter((x) => x.site === id).length
  }
  let evaluations = 0
  for (const byRound of state.evaluations.values()) if (byRound.has(id)) evaluations++
  const declined = [...state.rounds.values()]
    .sort((a, b) => a.round - b.round)
    .flatMap((r) => {
      const d = r.declined.get(id)
      return d === undefined ? [] : [{ round: r.round, code: d.code }]
    })
  const approval = state.approvals.get(id)
  return { id, updates, evaluations, rejected, approved: approval === undefined ? null : toHex(approval.spec), declined }
}

function dpSgdReport(state: StudyState): Pick<AuditReport, 'dpSgd'> {
  const checks = checkDpSgdClaims(state)
  return checks.length === 0 ? {} : { dpSgd: checks }
}

/** The report of an audit that got as far as `progress`, and failed with `failure` if given. */
export function buildAuditReport(progress: AuditProgress, failure?: AuditError): AuditReport {
  const { state } = progress
  const rounds = [...state.rounds.keys()]
    .sort((a, b) => a - b)
    .map((round) => roundReport(state, round, progress.rederived.has(round), progress.hashOnly?.has(round) === true, progress.uncheckedRounds?.has(round) === true))
  const unchecked = progress.unchecked ?? []
  const verdict = failure !== undefined ? 'failed' : unchecked.length > 0 ? 'partial' : 'passed'
  const sites = [...state.sites.keys()].sort(compareSiteIds).map((id) => siteReport(state, id))
  const report: AuditReport = {
    ok: verdict === 'passed',
    verdict,
    study: state.studyId,
    entries: progress.entries,
    head: toHex(progress.head ?? GENESIS_PREV_HASH),
    specHash: state.created ? toHex(specHash(state.spec)) : '',
    approvals: state.approvals.size,
    coordinatorKey: progress.coordinatorKey ? toHex(progress.coordinatorKey) : '',
    completed: state.completed,
    rounds,
    lineage: progress.lineage.map(toHex),
    sites,
    ...(progress.checkpoint ? { checkpoint: { size: progress.checkpoint.size, root: toHex(progress.checkpoint.root) } } : {}),
    ...(progress.witnessing ? { witnessing: progress.witnessing } : {}),
    balances: Object.fromEntries([...state.balances.entries()].sort(([a], [b]) => compareSiteIds(a, b)).map(([site, credits]) => [site, credits.toString()])),
    unverifiedRejections: progress.unverifiedRejections,
    ...dpSgdReport(state),
    ...(progress.holder === undefined ? {} : { holder: progress.holder }),
    ...(unchecked.length === 0 ? {} : { unchecked }),
  }
  return failure === undefined ? report : { ...report, failure: auditFailure(failure) }
}
