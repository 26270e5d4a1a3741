/**
 * The HTML report's text comes from the log, where sites write codes and
 * reasons in their own signed statements: none of it may become markup or
 * close the embedded data's script element.
 */
import { describe, expect, it } from 'vitest'
import { escapeHtml, renderAuditHtml, type AuditReport } from '../../../auditor/index.ts'
import { StudyState, studyView } from '../../../protocol/index.ts'

const HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)>'

function failedReport(message: string): AuditReport {
  return {
    ok: false,
    verdict: 'failed',
    study: 's',
    entries: 3,
    head: '00'.repeat(32),
    specHash: '',
    approvals: 0,
    coordinatorKey: '',
    completed: false,
    rounds: [],
    lineage: [],
    sites: [{ id: HOSTILE, updates: 0, evaluations: 0, rejected: 1, approved: null, declined: [{ round: 1, code: HOSTILE }] }],
    balances: {},
    unverifiedRejections: 0,
    failure: { seq: 3, code: 'AUDIT_X', message },
  }
}

describe('renderAuditHtml', () => {
  it('escapes every text from the log and keeps the embedded data inside its script element', () => {
    // Prepare
    const view = { ...studyView(new StudyState()), refusals: [{ code: HOSTILE, type: 'update', count: 1 }] }
    // Execute
    const html = renderAuditHtml({ report: failedReport(HOSTILE), view, cosigned: undefined, source: HOSTILE, generatedMs: 0, scripts: ['window.x = "</script>"'], styles: ['p{}</style><b>'] })
    // Assert
    expect(html).not.toContain('<script>alert(')
    expect(html).not.toContain('<img src=x')
    expect(html).not.toContain('</style><b>')
    expect(html).toContain(escapeHtml(HOSTILE))
    // Exactly the page's own script elements open: the data and one inlined script.
    expect(html.match(/<script[ >]/g)).toHaveLength(2)
    expect(html.match(/<\/script>/g)).toHaveLength(2)
    const data = /<script type="application\/json" id="fl-audit-data">(.*?)<\/script>/s.exec(html)
    expect(JSON.parse(data![1]!).view.refusals[0].code).toBe(HOSTILE)
  })

  it('opens with the failure, before the verdict, and without one has no failure section', () => {
    // Prepare
    const view = studyView(new StudyState())
    const input = { view, cosigned: undefined, source: 'memory', generatedMs: 0, scripts: [], styles: [] }
    // Execute
    const failed = renderAuditHtml({ ...input, report: failedReport('entry 3: wrong'), failedEntry: { seq: 3, kind: 'round-committed', round: 2 } })
    const passed = renderAuditHtml({ ...input, report: { ...failedReport(''), ok: true, verdict: 'passed', failure: undefined } })
    // Assert
    expect(failed.indexOf('id="failure"')).toBeLessThan(failed.indexOf('id="verdict"'))
    expect(failed).toContain('Audit FAILED at entry 3 (round-committed, round 2)')
    expect(passed).not.toContain('id="failure"')
  })

  it('marks a secure-aggregation round’s sum, its reveals and its dropouts (escaped)', () => {
    // Prepare
    const input = { view: studyView(new StudyState()), cosigned: undefined, source: 'memory', generatedMs: 0, scripts: [], styles: [] }
    const round = { round: 1, status: 'committed' as const, parent: '00'.repeat(32), model: '11'.repeat(32), sites: ['a', 'b', 'c'], examples: 30, rederived: true, rewarded: false }
    const report = { ...failedReport(''), ok: true, verdict: 'passed' as const, failure: undefined, rounds: [{ ...round, secagg: { survivors: 3, reveals: 3, dropped: [HOSTILE] } }] }
    // Execute
    const html = renderAuditHtml({ ...input, report })
    // Assert
    expect(html).toContain('<span class="pill ok">secure sum</span> of 3 masked inputs, unmasked from 3 reveals; dropped after sharing: ')
    expect(html).not.toContain('<img src=x')
  })

  it('states the witness quorum the audit held the checkpoint to, or that the study set none', () => {
    // Prepare
    const input = { view: studyView(new StudyState()), cosigned: undefined, source: 'memory', generatedMs: 0, scripts: [], styles: [] }
    const passed = { ...failedReport(''), ok: true, verdict: 'passed' as const, failure: undefined }
    // Execute
    const none = renderAuditHtml({ ...input, report: { ...passed, witnessing: { cosignedBy: [] } } })
    const met = renderAuditHtml({ ...input, report: { ...passed, witnessing: { quorum: 'hospitals', size: 3, cosignedBy: ['A', HOSTILE] } } })
    // Assert
    expect(none).toContain('The study sets no witness policy')
    expect(met).toContain('Witness quorum <code>hospitals</code>')
    expect(met).toContain(escapeHtml(HOSTILE))
    expect(met).not.toContain('<img src=x')
  })
})
