/**
 * auditor/summary.ts: the printed summary, above all its verdict line, which
 * scripts and people read first.
 */
import { describe, expect, it } from 'vitest'
import { formatAuditSummary, formatAuditVerdict, type AuditReport } from '../../../auditor/index.ts'

const hash = (c: string) => c.repeat(64)

const PASSED: AuditReport = {
  ok: true,
  verdict: 'passed',
  study: 'cardio-risk',
  entries: 60,
  head: hash('0'),
  coordinatorKey: hash('a'),
  specHash: hash('5'),
  approvals: 0,
  completed: true,
  rounds: [
    { round: 1, status: 'committed', parent: hash('1'), model: hash('2'), sites: ['a', 'b', 'c'], examples: 734, rederived: true, rewarded: false },
    { round: 2, status: 'abandoned', parent: hash('2'), model: null, sites: ['a'], examples: 120, rederived: false, rewarded: false },
    { round: 3, status: 'committed', parent: hash('2'), model: hash('3'), sites: ['a', 'b'], examples: 400, rederived: true, rewarded: false },
  ],
  lineage: [hash('1'), hash('2'), hash('3')],
  sites: [
    { id: 'a', updates: 3, evaluations: 3, rejected: 0, approved: null, declined: [] },
    { id: 'st-marys', updates: 2, evaluations: 3, rejected: 1, approved: null, declined: [] },
  ],
  balances: {},
  unverifiedRejections: 0,
}

describe('formatAuditSummary', () => {
  it('says plainly when the study sets no witness policy, and names the cosigners when it does', () => {
    // Execute
    const none = formatAuditSummary({ ...PASSED, witnessing: { cosignedBy: [] } }).split('\n')
    const met = formatAuditSummary({ ...PASSED, witnessing: { quorum: 'hospitals', size: 60, cosignedBy: ['A', 'C'] } }).split('\n')
    // Assert
    expect(none).toContain('witnesses: the study sets no witness policy, so no cosignature was required of its checkpoints')
    expect(met).toContain('witnesses: quorum "hospitals" met by checkpoint 60, cosigned by A, C')
    expect(met.at(-1)).toBe(`audit passed: 2 rounds re-derived, 60 entries, head ${hash('0')}`)
  })

  it('ends a passed audit with the rounds re-derived, the entries and the head', () => {
    // Execute
    const lines = formatAuditSummary(PASSED).split('\n')

    // Assert
    expect(lines.at(-1)).toBe(`audit passed: 2 rounds re-derived, 60 entries, head ${hash('0')}`)
    expect(lines[0]).toBe('study "cardio-risk": 2 sites, 2 of 3 rounds committed, completed')
    expect(lines).toContain(`lineage: ${'1'.repeat(12)} (genesis) → ${'2'.repeat(12)} (round 1) → ${'3'.repeat(12)} (round 3)`)
  })

  it('prints one aligned row per round and per site', () => {
    // Execute
    const lines = formatAuditSummary(PASSED).split('\n')

    // Assert
    expect(lines).toContain('round  status     sites  examples  parent        model         re-derived')
    expect(lines).toContain(`    1  committed      3       734  ${'1'.repeat(12)}  ${'2'.repeat(12)}  yes`)
    expect(lines).toContain(`    2  abandoned      1       120  ${'2'.repeat(12)}  —             —`)
    expect(lines).toContain('st-marys        2            3         1')
  })

  it("counts the approvals it checked and shows each site's approved spec and declines", () => {
    // Prepare
    const controlled: AuditReport = {
      ...PASSED,
      approvals: 1,
      sites: [
        { id: 'a', updates: 3, evaluations: 3, rejected: 0, approved: hash('5'), declined: [] },
        { id: 'st-marys', updates: 2, evaluations: 3, rejected: 1, approved: null, declined: [{ round: 2, code: 'SITE_SPEC_UNAPPROVED' }] },
      ],
    }

    // Execute
    const lines = formatAuditSummary(controlled).split('\n')

    // Assert
    expect(lines.at(-1)).toBe(`audit passed: 2 rounds re-derived, 1 approval checked, 60 entries, head ${hash('0')}`)
    expect(lines).toContain(`a               3            3         0  ${'5'.repeat(12)} (study spec)  —`)
    expect(lines.some((l) => l.startsWith('st-marys') && l.endsWith('r2 SITE_SPEC_UNAPPROVED'))).toBe(true)
    expect(lines).toContain(`study spec ${hash('5')}`)
  })

  it('ends a failed audit with the entry, the code and the message, and marks the round not re-derived', () => {
    // Prepare
    const failed: AuditReport = {
      ...PASSED,
      ok: false,
      verdict: 'failed',
      completed: false,
      rounds: [PASSED.rounds[0]!, { ...PASSED.rounds[2]!, rederived: false, rewarded: false }],
      lineage: PASSED.lineage.slice(0, 2),
      failure: { seq: 41, code: 'AUDIT_MODEL_MISMATCH', message: 'entry 41 (round-committed): round 3: model is 33…, re-deriving it … gives 44…' },
    }

    // Execute
    const lines = formatAuditSummary(failed).split('\n')

    // Assert
    expect(lines.at(-1)).toBe('audit FAILED at entry 41: AUDIT_MODEL_MISMATCH: entry 41 (round-committed): round 3: model is 33…, re-deriving it … gives 44…')
    expect(lines.some((l) => l.startsWith('    3  committed') && l.endsWith('NO'))).toBe(true)
  })

  it('prints only the verdict when the audit failed before the study was known', () => {
    // Prepare
    const empty: AuditReport = {
      ok: false,
      verdict: 'failed',
      study: '',
      entries: 0,
      head: hash('0'),
      coordinatorKey: '',
      specHash: '',
      approvals: 0,
      completed: false,
      rounds: [],
      lineage: [],
      sites: [],
      balances: {},
      unverifiedRejections: 0,
      failure: { seq: 0, code: 'AUDIT_LOG_EMPTY', message: 'entry 0: the log has no entries' },
    }

    // Execute / Assert
    expect(formatAuditSummary(empty)).toBe(formatAuditVerdict(empty))
    expect(formatAuditVerdict(empty)).toBe('audit FAILED at entry 0: AUDIT_LOG_EMPTY: entry 0: the log has no entries')
  })

  it('a partial audit reads PARTIAL, lists everything it did not check, and never reads as passed', () => {
    // Prepare: a site's replica, which could not re-derive round 3.
    const unchecked = ['round 3: aggregation not re-derived (model taken by hash): 2 of 3 deltas are not visible to site "a" (sites "b", "c")']
    const partial: AuditReport = {
      ...PASSED,
      ok: false,
      verdict: 'partial',
      holder: 'site "a"',
      unchecked,
      checkpoint: { size: 60, root: hash('9') },
      rounds: PASSED.rounds.map((r) => (r.round === 3 ? { ...r, rederived: false, unchecked: true as const } : r)),
    }

    // Execute
    const lines = formatAuditSummary(partial).split('\n')

    // Assert
    expect(lines.at(-1)).toBe(
      `audit PARTIAL of site "a"'s replica: 60 entries checked (chain, signatures, every logged statement re-admitted, checkpoint 60 ${hash('9')}), 1 of 2 rounds re-derived; not checked: ${unchecked[0]}`,
    )
    expect(lines.some((l) => l.startsWith('    3  committed') && l.endsWith('not checked'))).toBe(true)
    expect(lines.join('\n')).not.toMatch(/audit passed/)
  })

  it('says "1 round" for one', () => {
    // Execute / Assert
    expect(formatAuditVerdict({ ...PASSED, rounds: [PASSED.rounds[0]!] })).toMatch(/^audit passed: 1 round re-derived, /)
  })
})
