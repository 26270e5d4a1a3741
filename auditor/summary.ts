/**
 * The human-readable form of an `AuditReport`, as `fedlineage audit` prints
 * it: the study, a table of rounds, a table of sites, the model lineage from
 * genesis to head with hash prefixes, and one final verdict line:
 *
 *   audit passed: 3 rounds re-derived, 3 rewards recomputed, 65 entries, checkpoint 65 1ae3056b…
 *   audit PARTIAL of site "a"'s replica: 65 entries checked (…), 0 of 3 rounds re-derived; not checked: round 1: …
 *   audit FAILED at entry 41: AUDIT_MODEL_MISMATCH: entry 41 (round-committed): …
 *
 * Pure: a report in, a string out (no trailing newline).
 */
import type { AuditReport } from './core/index.ts'
import { HASH_PREFIX_HEX_DIGITS, LINEAGE_ARROW } from './constants.ts'

const NONE = '—'

function short(hash: string | null): string {
  return hash === null || hash === '' ? NONE : hash.slice(0, HASH_PREFIX_HEX_DIGITS)
}

/** Rows under a header, each column right-aligned except those listed in `left`, with a dashed rule. */
function table(header: readonly string[], rows: readonly (readonly string[])[], left: ReadonlySet<number>): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (left.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd()
  const head = line(header)
  return [head, '-'.repeat(head.length), ...rows.map(line)]
}

/**
 * A partial verdict: what was checked, then everything that was not. Never
 * reads as a pass: a replica that lacks blobs cannot vouch for the rounds it
 * could not re-derive.
 */
function partialVerdict(report: AuditReport): string {
  const committed = report.rounds.filter((r) => r.status === 'committed').length
  const rederived = report.rounds.filter((r) => r.rederived).length
  const where = report.checkpoint ? `, checkpoint ${report.checkpoint.size} ${report.checkpoint.root}` : `, head ${report.head}`
  const whose = report.holder === undefined ? '' : ` of ${report.holder}'s replica`
  return `audit PARTIAL${whose}: ${report.entries} entries checked (chain, signatures, every logged statement re-admitted${where}), ${rederived} of ${committed} rounds re-derived; not checked: ${(report.unchecked ?? []).join('; ')}`
}

/** The verdict line alone. */
export function formatAuditVerdict(report: AuditReport): string {
  if (report.failure !== undefined) return `audit FAILED at entry ${report.failure.seq}: ${report.failure.code}: ${report.failure.message}`
  if (report.verdict === 'partial') return partialVerdict(report)
  const rederived = report.rounds.filter((r) => r.rederived).length
  const rewarded = report.rounds.filter((r) => r.rewarded).length
  const claims = report.rounds.reduce((n, r) => n + (r.consent?.length ?? 0), 0)
  const revocations = report.rounds.reduce((n, r) => n + (r.revocations ?? 0), 0)
  const consent = claims > 0 ? `, ${claims} consent claims checked (${revocations} ${revocations === 1 ? 'revocation' : 'revocations'})` : ''
  const approvals = report.approvals > 0 ? `, ${report.approvals} ${report.approvals === 1 ? 'approval' : 'approvals'} checked` : ''
  const where = report.checkpoint ? `checkpoint ${report.checkpoint.size} ${report.checkpoint.root}` : `head ${report.head}`
  const hashOnly = report.rounds.filter((r) => r.hashOnly === true).length
  const pruned =
    hashOnly > 0
      ? `; ${hashOnly} ${hashOnly === 1 ? 'round' : 'rounds'} hash-only (deltas deleted under the study's retention: entries and envelopes checked, models taken by hash, not re-derived)`
      : ''
  const dpSgd = dpSgdVerdict(report)
  const secure = report.rounds.filter((r) => r.secagg !== undefined && r.rederived)
  const dropped = secure.reduce((n, r) => n + r.secagg!.dropped.length, 0)
  const secagg =
    secure.length > 0
      ? `, ${secure.length} secure ${secure.length === 1 ? 'sum' : 'sums'} unmasked again (${secure.reduce((n, r) => n + r.secagg!.survivors, 0)} masked inputs, ${secure.reduce((n, r) => n + r.secagg!.reveals, 0)} reveals, ${dropped} ${dropped === 1 ? 'dropout' : 'dropouts'})`
      : ''
  const n = report.unverifiedRejections
  // Said, never hidden: what the audit could not check.
  const unverified = n > 0 ? `; not checked: ${n} ${n === 1 ? 'update refusal' : 'update refusals'} for bytes the log never stored (taken on the coordinator's word)` : ''
  return `audit passed: ${rederived} ${rederived === 1 ? 'round' : 'rounds'} re-derived${rewarded > 0 ? `, ${rewarded} rewards recomputed` : ''}${consent}${approvals}${dpSgd}${secagg}, ${report.entries} entries, ${where}${pruned}${unverified}`
}

/**
 * The DP-SGD part of the verdict line: how many claims had their ε
 * recomputed from the site's own logged numbers, and which were flagged
 * (said, never hidden; a flagged claim is the site's misstatement, not the
 * log's, so it does not fail the audit).
 */
function dpSgdVerdict(report: AuditReport): string {
  const checks = report.dpSgd ?? []
  if (checks.length === 0) return ''
  const flagged = checks.filter((c) => c.flagged)
  const what = `, ${checks.length} DP-SGD ${checks.length === 1 ? 'claim' : 'claims'} checked (ε recomputed from each site's logged q, σ, steps, δ; clipping and noise happen at the site and cannot be)`
  if (flagged.length === 0) return what
  const names = flagged.map((c) => `site "${c.site}" round ${c.round}: ${c.claim === undefined ? `unreadable (${c.invalid})` : `logged ε ${fmt(c.claim.epsilon)} < ${fmt(c.recomputed!)}`}`)
  return `${what}, ${flagged.length} FLAGGED: ${names.join('; ')}`
}

const fmt = (x: number): string => x.toPrecision(4)

/** The per-site, per-round DP-SGD table. */
function dpSgdTable(checks: NonNullable<AuditReport['dpSgd']>): string[] {
  const rows = checks.map((c) =>
    c.claim === undefined
      ? [String(c.round), c.site, NONE, NONE, NONE, NONE, NONE, NONE, NONE, `FLAGGED: ${c.invalid}`]
      : [
          String(c.round),
          c.site,
          fmt(c.claim.q),
          fmt(c.claim.noiseMultiplier),
          fmt(c.claim.clipNorm),
          String(c.claim.steps),
          String(c.claim.delta),
          fmt(c.claim.epsilon),
          fmt(c.recomputed!),
          c.flagged ? 'FLAGGED: understated' : 'ok',
        ],
  )
  return ['patient-level DP-SGD (per site and round, as the envelopes log it):', ...table(['round', 'site', 'q', 'σ', 'C', 'steps', 'δ', 'ε logged', 'ε recomputed', 'check'], rows, new Set([1, 9]))]
}

/** What the audit held the checkpoint to: the study's witness quorum, or, plainly, nothing. */
function witnessingLine(w: NonNullable<AuditReport['witnessing']>): string {
  if (w.quorum === undefined) return 'witnesses: the study sets no witness policy, so no cosignature was required of its checkpoints'
  const by = w.cosignedBy.length === 0 ? 'no witness' : w.cosignedBy.join(', ')
  return `witnesses: quorum "${w.quorum}" met${w.size === undefined ? '' : ` by checkpoint ${w.size}`}, cosigned by ${by}`
}

/** The whole summary (see the module doc). */
export function formatAuditSummary(report: AuditReport): string {
  const out: string[] = []
  if (report.study !== '') {
    const committed = report.rounds.filter((r) => r.status === 'committed').length
    const state = report.completed ? 'completed' : 'in progress'
    out.push(`study "${report.study}": ${report.sites.length} sites, ${committed} of ${report.rounds.length} rounds committed, ${state}`)
    out.push(`coordinator key ${report.coordinatorKey}`, '')
    if (report.rounds.length > 0) {
      const rows = report.rounds.map((r) => [
        String(r.round),
        r.status,
        String(r.sites.length),
        String(r.examples),
        short(r.parent),
        short(r.model),
        r.status !== 'committed' ? NONE : r.rederived ? 'yes' : r.hashOnly === true ? 'hash-only' : r.unchecked === true ? 'not checked' : 'NO',
      ])
      out.push(...table(['round', 'status', 'sites', 'examples', 'parent', 'model', 're-derived'], rows, new Set([1, 4, 5, 6])), '')
    }
    if (report.sites.length > 0) {
      // Approval and declines are shown only when the study has them, so older summaries read as before.
      const control = report.approvals > 0 || report.sites.some((s) => s.declined.length > 0)
      const rows = report.sites.map((s) => [
        s.id,
        String(s.updates),
        String(s.evaluations),
        String(s.rejected),
        ...(control ? [s.approved === null ? NONE : `${short(s.approved)} (study spec)`, s.declined.length === 0 ? NONE : s.declined.map((d) => `r${d.round} ${d.code}`).join(', ')] : []),
      ])
      const header = ['site', 'updates', 'evaluations', 'rejected', ...(control ? ['approved spec', 'declined'] : [])]
      out.push(...table(header, rows, new Set([0, 4, 5])), '')
      if (control) out.push(`study spec ${report.specHash}`, '')
    }
    if (report.lineage.length > 0) {
      // The lineage holds every committed model the replay folded, re-derived or taken by hash (retention, a partial replica).
      const rounds = report.rounds.filter((r) => r.rederived || r.hashOnly === true || r.unchecked === true).map((r) => (r.rederived ? `round ${r.round}` : `round ${r.round}, by hash`))
      const steps = report.lineage.map((hash, i) => `${short(hash)} (${i === 0 ? 'genesis' : (rounds[i - 1] ?? '?')})`)
      out.push(`lineage: ${steps.join(LINEAGE_ARROW)}`, '')
    }
  }
  if (report.dpSgd !== undefined) out.push(...dpSgdTable(report.dpSgd), '')
  if (report.witnessing !== undefined) out.push(witnessingLine(report.witnessing), '')
  out.push(formatAuditVerdict(report))
  return out.join('\n')
}
