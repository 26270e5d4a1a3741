/**
 * Patient-level DP-SGD over real gRPC, LevelDB and TF.js: a site whose
 * policy sets `dpSgd` trains with it, keeps its own account in its state
 * folder, logs (q, σ, C, steps, δ, ε) in its update envelope, and declines
 * (SITE_DP_BUDGET_SPENT, logged as task-declined) the round that would take
 * it over its budget; a site whose account (from an earlier study, read
 * from disk as after a restart) has no room left declines from the first
 * round. The other site carries the study; the audit lists the claim with
 * its recomputed ε. A study that requires DP-SGD is refused by a site that
 * trains without it and runs with the others.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { toHex } from '../../ledger/index.ts'
import { formatAuditSummary } from '../../auditor/index.ts'
import { epsilonOf } from '../../models/index.ts'
import { ENTRY_KINDS, decodeStatement, dpSgdClaimOf, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'
import { dpSgdAccountFile, readDpSgdAccount, registerSiteAgentCommands, writeDpSgdAccount, type SiteAgentEvent } from '../../site-agent/index.ts'
import { auditDir, readStoredLog } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'

// batchSize above every site's rows: q = 1, so ε depends only on σ and the steps (no row counts needed here).
const STUDY = { rounds: 3, minSites: 1, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 4096, localSteps: 5 }, evaluationDeadlineMs: 15_000 } as const
const SIGMA = 2
const DELTA = 1e-5
const eps = (steps: number) => epsilonOf(1, SIGMA, steps, DELTA).epsilon
// Room for one round (5 steps) and not two.
const BUDGET = (eps(5) + eps(10)) / 2

/** `fedlineage <args>` in this process; resolves to its exit status. */
async function fedlineage(args: readonly string[]): Promise<number> {
  const io: CliIo = { stdout: new PassThrough(), stderr: new PassThrough(), setExitCode: () => undefined }
  const program = new Command().name('fedlineage').exitOverride()
  registerSiteAgentCommands(program, io)
  return runCommand(() => program.parseAsync(args, { from: 'user' }), { io })
}

describe('patient-level DP-SGD at the site', () => {
  it('trains, logs its accounting, and declines once its budget would be exceeded; the audit recomputes ε', async () => {
    // Prepare: heart-institute has room for one round; city-general's account is already spent (an earlier study); valley-community trains plainly.
    const dpSgd = { noiseMultiplier: SIGMA, clipNorm: 1, delta: DELTA, epsilon: BUDGET }
    const fed = await createFederation({ siteCount: 3, study: STUDY, siteConfig: (site) => (site.id === 'valley-community' ? {} : { policy: { dpSgd } }) })
    const [city, heart, valley] = ['city-general', 'heart-institute', 'valley-community'].map((id) => fed.sites.find((s) => s.id === id)!)
    await writeDpSgdAccount(dpSgdAccountFile(fed.dir, city!.id), [{ study: 'an-earlier-study', round: 1, q: 1, noiseMultiplier: SIGMA, steps: 8 }])
    const events = new Map<string, SiteAgentEvent[]>()

    // Execute
    await Promise.all(
      [city!, heart!, valley!].map((s) => {
        const list: SiteAgentEvent[] = []
        events.set(s.id, list)
        return fed.runSite(s, (e) => list.push(e))
      }),
    )
    await fed.coordinator.close()
    const log: LineageRecord[] = (await readStoredLog(fed.config.dataDir)).map((a) => readLineageRecord({ seq: a.entry.seq, kind: a.entry.kind, timeMs: a.entry.timeMs, body: a.entry.body }))
    const audit = await auditDir(fed.config.dataDir)

    // Assert: heart-institute trained round 1 with DP-SGD and logged its accounting in the envelope
    const accepted = (site: string) => log.filter((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.site === site) as Extract<LineageRecord, { kind: 'update-accepted' }>[]
    const declined = (site: string) =>
      log.filter((r) => r.kind === ENTRY_KINDS.TASK_DECLINED && r.body.site === site).map((r) => [(r.body as { round: number }).round, (r.body as { code: string }).code])
    expect(accepted(heart!.id).map((r) => r.body.round)).toEqual([1])
    const envelope = decodeStatement('update', (accepted(heart!.id)[0]!.body.envelope as { body: Uint8Array }).body)
    const claim = dpSgdClaimOf(envelope.ext)
    expect(claim).toEqual({ claim: { q: 1, noiseMultiplier: SIGMA, clipNorm: 1, steps: 5, delta: DELTA, epsilon: expect.closeTo(eps(5), 10) } })
    expect(envelope.metrics).toEqual({ steps: 5 })
    // ... and declined rounds 2 and 3 with its code, nothing sent; the reason names ε, the budget and the field
    expect(declined(heart!.id)).toEqual([
      [2, 'SITE_DP_BUDGET_SPENT'],
      [3, 'SITE_DP_BUDGET_SPENT'],
    ])
    const reason = (log.find((r) => r.kind === ENTRY_KINDS.TASK_DECLINED && r.body.site === heart!.id)!.body as { reason: string }).reason
    expect(reason).toContain(`from ${eps(5).toPrecision(4)} to ${eps(10).toPrecision(4)}`)
    expect(reason).toContain(`over its budget ${BUDGET} (policy.dpSgd.epsilon)`)
    // city-general's stored account (8 steps) leaves no room for 5 more: declined from round 1, never trained
    expect(accepted(city!.id)).toHaveLength(0)
    expect(declined(city!.id).map(([, code]) => code)).toEqual(['SITE_DP_BUDGET_SPENT', 'SITE_DP_BUDGET_SPENT', 'SITE_DP_BUDGET_SPENT'])
    expect(events.get(city!.id)!.some((e) => e.type === 'trained')).toBe(false)
    // The plain site carried the study to its end; its envelopes carry no claim
    expect(accepted(valley!.id)).toHaveLength(3)
    expect(log.at(-1)!.kind).toBe(ENTRY_KINDS.STUDY_COMPLETED)
    // The accounts on disk: heart-institute charged round 1 only; city-general's unchanged
    expect(await readDpSgdAccount(dpSgdAccountFile(fed.dir, heart!.id))).toEqual([{ study: fed.config.study.id, round: 1, q: 1, noiseMultiplier: SIGMA, steps: 5 }])
    expect(await readDpSgdAccount(dpSgdAccountFile(fed.dir, city!.id))).toHaveLength(1)
    // The audit passes and shows the one claim with ε recomputed from its logged numbers
    expect(audit.error).toBeUndefined()
    expect(audit.report.verdict).toBe('passed')
    expect(audit.report.dpSgd?.map((c) => [c.round, c.site, c.flagged])).toEqual([[1, heart!.id, false]])
    expect(audit.report.dpSgd![0]!.recomputed).toBeCloseTo(eps(5), 10)
    expect(formatAuditSummary(audit.report).split('\n').at(-1)).toMatch(/^audit passed: .*1 DP-SGD claim checked/)
    // The exported model's card says which sites' updates were all trained with DP-SGD, and which were not
    const out = path.join(fed.dir, 'model')
    expect(await fedlineage(['model', 'export', '--db', fed.config.dataDir, '--out', out, '--coordinator-key', toHex(fed.hub.publicKey), '--round', '1'])).toBe(0)
    const card = JSON.parse(await readFile(path.join(out, 'model-card.json'), 'utf8')) as { privacy: string[] }
    expect(card.privacy).toContainEqual(
      expect.stringMatching(new RegExp(`^Patient-level DP-SGD at site "${heart!.id}": every update it contributed claims it; its last claim: ε ${eps(5).toPrecision(4)} at δ 0\\.00001`)),
    )
    expect(card.privacy).toContain(`Without patient-level DP-SGD in at least one round: "${valley!.id}".`)
    expect(card.privacy.join('\n')).not.toMatch(/No differential privacy/)
  }, 120_000)

  it('in a study that requires it (patientDp), a site without policy.dpSgd refuses the study, the others train with it and every accepted update carries a claim', async () => {
    // Prepare
    const dpSgd = { noiseMultiplier: SIGMA, clipNorm: 1, delta: DELTA }
    const study = { ...STUDY, rounds: 2, patientDp: { maxEpsilon: 100 } }
    const fed = await createFederation({ siteCount: 3, study, siteConfig: (site) => (site.id === 'valley-community' ? {} : { policy: { dpSgd } }) })
    const events = new Map<string, SiteAgentEvent[]>()

    // Execute
    await Promise.all(
      fed.sites.map((s) => {
        const list: SiteAgentEvent[] = []
        events.set(s.id, list)
        return fed.runSite(s, (e) => list.push(e))
      }),
    )
    await fed.coordinator.close()
    const log: LineageRecord[] = (await readStoredLog(fed.config.dataDir)).map((a) => readLineageRecord({ seq: a.entry.seq, kind: a.entry.kind, timeMs: a.entry.timeMs, body: a.entry.body }))
    const audit = await auditDir(fed.config.dataDir)

    // Assert: valley-community declined both rounds with SITE_POLICY_DP_SGD; the others' updates each carry a claim
    const declines = log.filter((r) => r.kind === ENTRY_KINDS.TASK_DECLINED).map((r) => [(r.body as { site: string }).site, (r.body as { code: string }).code])
    expect(declines).toEqual([
      ['valley-community', 'SITE_POLICY_DP_SGD'],
      ['valley-community', 'SITE_POLICY_DP_SGD'],
    ])
    const accepted = log.filter((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED) as Extract<LineageRecord, { kind: 'update-accepted' }>[]
    expect(accepted).toHaveLength(4)
    for (const r of accepted) expect(dpSgdClaimOf(decodeStatement('update', (r.body.envelope as { body: Uint8Array }).body).ext)).toHaveProperty('claim')
    expect(log.some((r) => r.kind === ENTRY_KINDS.UPDATE_REJECTED)).toBe(false)
    expect(log.at(-1)!.kind).toBe(ENTRY_KINDS.STUDY_COMPLETED)
    expect(audit.report.verdict).toBe('passed')
    expect(audit.report.dpSgd?.filter((c) => c.flagged)).toEqual([])
  }, 120_000)
})
