/**
 * Site control over real gRPC, LevelDB and TF.js: sites approve the spec by
 * its hash and apply their own policy before anything leaves them. Each
 * refusal is made at the site with its stable code, nothing is sent for it
 * (no update-accepted from that site), and a refused fit task is logged as
 * task-declined; the approved study runs and its audit counts the approvals.
 */
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../ledger/index.ts'
import { ENTRY_KINDS, encodeSpec, readLineageRecord, specHash, type LineageRecord } from '../../protocol/index.ts'
import { formatAuditVerdict } from '../../auditor/index.ts'
import { studyApprove, studyReview, type SiteAgentEvent } from '../../site-agent/index.ts'
import { auditDir, readStoredLog } from '../helpers/audit.ts'
import { createFederation, TEST_STUDY, type TestFederation } from '../helpers/federation.ts'
import { StudySpecSchema } from '../../models/index.ts'
import { PassThrough } from 'node:stream'
import type { CliIo } from '../../cli/index.ts'

/** A CliIo whose output the test reads back. */
function captureIo(): { io: CliIo; text: () => string } {
  let out = ''
  const stdout = new PassThrough().on('data', (c: Buffer) => (out += c.toString()))
  return { io: { stdout, stderr: new PassThrough(), setExitCode: () => undefined }, text: () => out }
}

const FAST = { rounds: 2, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 5 }, evaluationDeadlineMs: 15_000 } as const

async function runAll(fed: TestFederation): Promise<Map<string, SiteAgentEvent[]>> {
  const events = new Map<string, SiteAgentEvent[]>()
  await Promise.all(
    fed.sites.map((s) => {
      const list: SiteAgentEvent[] = []
      events.set(s.id, list)
      return fed.runSite(s, (e) => list.push(e))
    }),
  )
  return events
}

async function logOf(fed: TestFederation): Promise<LineageRecord[]> {
  await fed.coordinator.close()
  return (await readStoredLog(fed.config.dataDir)).map((a) => readLineageRecord({ seq: a.entry.seq, kind: a.entry.kind, timeMs: a.entry.timeMs, body: a.entry.body }))
}

const declinesOf = (log: LineageRecord[], site: string) => log.filter((r) => r.kind === ENTRY_KINDS.TASK_DECLINED && r.body.site === site).map((r) => (r.body as { code: string }).code)
const updatesOf = (log: LineageRecord[], site: string) => log.filter((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.site === site).length
const siteDeclines = (events: SiteAgentEvent[] | undefined) => (events ?? []).flatMap((e) => (e.type === 'declined' ? [`${e.task}:${e.code}`] : []))

describe('site control: approval and policies', () => {
  it('a study that requires approval runs with the approved sites; a site under its record floor declines; the audit counts the approvals', async () => {
    // Prepare: three sites approve the spec, valley-community approved another one; veterans-medical has a record floor above its records.
    const other = sha256(new TextEncoder().encode('an earlier version of the spec'))
    const study = { ...FAST, requireApproval: true, minSites: 2 }
    const own = specHash(encodeSpec(StudySpecSchema.parse({ ...TEST_STUDY, ...study })))
    const fed = await createFederation({
      siteCount: 4,
      study,
      approve: (site) => (site.id === 'valley-community' ? other : own),
      siteConfig: (site) => (site.id === 'veterans-medical' ? { policy: { minRecordsPerRound: 10_000 } } : {}),
    })

    // Execute
    const events = await runAll(fed)
    const log = await logOf(fed)
    const audit = await auditDir(fed.config.dataDir)

    // Assert: approvals logged for the three, valley refused every task at the site and sent nothing.
    const approved = log.filter((r) => r.kind === ENTRY_KINDS.APPROVAL).map((r) => r.body.site)
    expect(approved.sort()).toEqual(['city-general', 'heart-institute', 'veterans-medical'])
    expect(updatesOf(log, 'valley-community')).toBe(0)
    expect(events.get('valley-community')!.some((e) => e.type === 'spec-unapproved' && e.approved === toHex(other))).toBe(true)
    // veterans-medical: declined with its code, nothing sent, logged.
    expect(updatesOf(log, 'veterans-medical')).toBe(0)
    expect(declinesOf(log, 'veterans-medical').length).toBeGreaterThan(0)
    expect(new Set(declinesOf(log, 'veterans-medical'))).toEqual(new Set(['SITE_POLICY_MIN_RECORDS']))
    expect(siteDeclines(events.get('veterans-medical'))).toContain('fit:SITE_POLICY_MIN_RECORDS')
    // The approved sites trained and the study completed; the audit re-checks each approval.
    expect(updatesOf(log, 'city-general')).toBe(2)
    expect(log.at(-1)!.kind).toBe(ENTRY_KINDS.STUDY_COMPLETED)
    expect(audit.error).toBeUndefined()
    expect(audit.report.approvals).toBe(3)
    expect(audit.report.sites.find((s) => s.id === 'city-general')!.approved).toBe(audit.report.specHash)
    expect(audit.report.sites.find((s) => s.id === 'valley-community')!.approved).toBeNull()
    expect(formatAuditVerdict(audit.report)).toMatch(/^audit passed: 2 rounds re-derived, 3 approvals checked, /)
  }, 180_000)

  it('without an approval, with an approval of a changed spec, and under a disallowed model, each site declines its fit tasks and the rest commit', async () => {
    // Prepare
    const fed = await createFederation({
      siteCount: 4,
      study: { ...FAST, minSites: 1 },
      approve: (site) => (site.id === 'heart-institute' ? sha256(new TextEncoder().encode('changed spec')) : undefined),
      siteConfig: (site) => (site.id === 'valley-community' ? { policy: { requireApproval: true } } : site.id === 'veterans-medical' ? { policy: { allowedModels: { kinds: ['mlp'] } } } : {}),
    })

    // Execute
    const events = await runAll(fed)
    const log = await logOf(fed)
    const audit = await auditDir(fed.config.dataDir)

    // Assert
    expect(updatesOf(log, 'city-general')).toBe(2)
    for (const [site, code] of [
      ['heart-institute', 'SITE_SPEC_UNAPPROVED'],
      ['valley-community', 'SITE_SPEC_UNAPPROVED'],
      ['veterans-medical', 'SITE_POLICY_MODEL'],
    ] as const) {
      expect(updatesOf(log, site), site).toBe(0)
      expect(declinesOf(log, site), site).toEqual([code, code])
      expect(siteDeclines(events.get(site)), site).toContain(`fit:${code}`)
      expect(
        events.get(site)!.some((e) => e.type === 'evaluated'),
        site,
      ).toBe(false)
    }
    const commits = log.filter((r) => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    expect(commits).toHaveLength(2)
    expect((commits[0]!.body as { failures: { site: string; reason: string }[] }).failures).toEqual([
      { site: 'heart-institute', reason: 'SITE_SPEC_UNAPPROVED' },
      { site: 'valley-community', reason: 'SITE_SPEC_UNAPPROVED' },
      { site: 'veterans-medical', reason: 'SITE_POLICY_MODEL' },
    ])
    expect(audit.error).toBeUndefined()
    expect(audit.report.sites.find((s) => s.id === 'veterans-medical')!.declined).toEqual([
      { round: 1, code: 'SITE_POLICY_MODEL' },
      { round: 2, code: 'SITE_POLICY_MODEL' },
    ])
  }, 180_000)

  it("study review (over the site's mutual TLS) prints the running spec and its hash, and study approve signs exactly that hash", async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, tls: true })
    const config = await fed.writeSiteConfig(fed.sites[0]!)
    const io = captureIo()

    // Execute
    const review = await studyReview({ config }, io.io)
    const file = await studyApprove({ specHash: review.specHash, config, out: `${fed.dir}/approval.json` }, io.io)

    // Assert
    const want = toHex(specHash(encodeSpec(fed.config.study)))
    expect(review.specHash).toBe(want)
    expect(io.text()).toContain(`spec hash ${want}`)
    expect(io.text()).toContain(`fedlineage study approve --spec-hash ${want}`)
    expect(file).toMatchObject({ study: fed.config.study.id, site: fed.sites[0]!.id, spec: want })
  })
})
