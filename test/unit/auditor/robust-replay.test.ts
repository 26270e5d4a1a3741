/**
 * The audit of studies run with the robust strategies and update
 * validation: synthetic logs written by the protocol's own decider (no
 * TF.js), with an attacker among the sites. An honest log passes with every
 * round re-derived; a log whose exclusions (site, reason or evidence) differ
 * from the ones the decider recomputes fails with AUDIT_EXCLUSION_MISMATCH.
 */
import { describe, expect, it } from 'vitest'
import { auditLog } from '../../../auditor/index.ts'
import type { CanonicalValue } from '../../../ledger/index.ts'
import type { StudySpecInput, TensorShape, Weights } from '../../../models/core/index.ts'
import { draftRecords, memorySource, signLog, syntheticDelta, syntheticStudy, withBody, type SyntheticStudy } from '../../helpers/audit.ts'

/** Honest sites send `syntheticDelta`; the last site sends its own delta, sign-flipped and scaled by 10. */
function flipAndScaleLast(siteCount: number) {
  return (shapes: readonly TensorShape[], round: number, site: number): Weights => {
    const d = syntheticDelta(shapes, round, site)
    if (site !== siteCount - 1) return d
    return { tensors: d.tensors.map((t) => ({ ...t, values: t.values.map((v) => -10 * v) })) }
  }
}

function run(study: Partial<StudySpecInput>, siteCount: number, delta = flipAndScaleLast(siteCount)): SyntheticStudy {
  return syntheticStudy({ study: { minSites: siteCount, ...study }, siteCount, delta })
}

function audit(study: SyntheticStudy) {
  return auditLog(memorySource(signLog(study.coordinator, study.drafts), study.blobs))
}

function commits(study: SyntheticStudy) {
  return draftRecords(study.drafts).flatMap((r) => (r.kind === 'round-committed' ? [r] : []))
}

/** The study with round `round`'s commit body edited by `edit`, every entry re-signed by the coordinator's own key. */
function withCommitEdited(study: SyntheticStudy, round: number, edit: (body: Record<string, CanonicalValue>) => Record<string, CanonicalValue>): SyntheticStudy {
  const commit = commits(study).find((c) => c.body.round === round)!
  const drafts = [...study.drafts]
  drafts[commit.seq] = withBody(drafts[commit.seq]!, edit(drafts[commit.seq]!.body as Record<string, CanonicalValue>))
  return { ...study, drafts }
}

const ATTACKER_OF_5 = 'lambda-health'
const ATTACKER_OF_7 = 'nu-ward'

describe('audit replay of the robust strategies, one attacker (sign flip × 10)', () => {
  it.each([
    { desc: 'fedmedian', strategy: { name: 'fedmedian' }, sites: 5, excluded: [] },
    { desc: 'fedtrimmedavg beta 0.2', strategy: { name: 'fedtrimmedavg', beta: 0.2 }, sites: 5, excluded: [] },
    { desc: 'krum f 1', strategy: { name: 'krum', numMaliciousClients: 1 }, sites: 5, excluded: ['alpha-clinic', 'beta-hospital', 'kappa-care', 'lambda-health'] },
    { desc: 'multi-krum f 1 m 3', strategy: { name: 'krum', numMaliciousClients: 1, numClientsToKeep: 3 }, sites: 5, excluded: ['alpha-clinic', ATTACKER_OF_5] },
    { desc: 'bulyan f 1', strategy: { name: 'bulyan', numMaliciousClients: 1 }, sites: 7, excluded: ['mu-institute', ATTACKER_OF_7] },
  ] as const)('$desc: the audit re-derives every round and its logged exclusions', async ({ strategy, sites, excluded }) => {
    // Prepare
    const study = run({ strategy }, sites)

    // Execute
    const report = await audit(study)

    // Assert
    expect(report.failure).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.rounds.map((r) => r.rederived)).toEqual([true, true])
    for (const c of commits(study)) {
      expect(c.body.strategy.name).toBe(strategy.name)
      expect(c.body.exclusions.map((e) => e.site)).toEqual(excluded)
    }
  })

  it('krum logs each left-out site with its score, rank and f', () => {
    // Prepare / Execute
    const study = run({ strategy: { name: 'krum', numMaliciousClients: 1 } }, 5)

    // Assert: the attacker ranks last, and every rank from 2 to 5 is logged once.
    const e = commits(study)[0]!.body.exclusions
    expect(e.find((x) => x.site === ATTACKER_OF_5)).toMatchObject({ reason: 'krum-score', evidence: { rank: 5, numMaliciousClients: 1, kept: 1 } })
    expect(e.map((x) => x.evidence.rank).sort()).toEqual([2, 3, 4, 5])
  })
})

describe('a tampered exclusion is caught: AUDIT_EXCLUSION_MISMATCH', () => {
  it.each([
    {
      desc: 'a Krum score nudged',
      edit: (b: Record<string, CanonicalValue>) => {
        const ex = b.exclusions as { site: string; reason: string; evidence: Record<string, number> }[]
        return { exclusions: ex.map((e, i) => (i === 0 ? { ...e, evidence: { ...e.evidence, score: e.evidence.score! * (1 + 1e-12) } } : e)) }
      },
      field: /^exclusions\.0\.evidence\.score is /,
    },
    {
      desc: "the attacker's exclusion dropped",
      edit: (b: Record<string, CanonicalValue>) => ({ exclusions: (b.exclusions as { site: string }[]).filter((e) => e.site !== ATTACKER_OF_5) }),
      field: /^exclusions\.3[. ]/,
    },
    {
      desc: 'an honest site named in place of the attacker',
      edit: (b: Record<string, CanonicalValue>) => ({ exclusions: (b.exclusions as { site: string }[]).map((e) => (e.site === ATTACKER_OF_5 ? { ...e, site: 'mu-institute' } : e)) }),
      field: /^exclusions\.3\.site is "mu-institute", re-deciding the logged input gives "lambda-health"/,
    },
  ])('$desc', async ({ edit, field }) => {
    // Prepare
    const honest = run({ strategy: { name: 'krum', numMaliciousClients: 1 } }, 5)
    const tampered = withCommitEdited(honest, 2, edit)
    const seq = commits(honest)[1]!.seq

    // Execute
    const report = await audit(tampered)

    // Assert
    expect(report.ok).toBe(false)
    expect(report.failure).toMatchObject({ seq, code: 'AUDIT_EXCLUSION_MISMATCH' })
    expect(report.failure?.message).toMatch(/re-deciding the logged input gives/)
    expect((report.failure as { message: string }).message.split(': ')[1]).toMatch(field)
  })
})

describe('update validation, audited', () => {
  /** Site 4 replays its round-1 delta in round 2; the others are honest. */
  const replayLast = (shapes: readonly TensorShape[], round: number, site: number): Weights => syntheticDelta(shapes, site === 4 ? 1 : round, site)

  it('logs a replayed delta with its first round, and the audit recomputes it', async () => {
    // Prepare
    const study = run({ strategy: { name: 'fedavg' }, validation: { rejectDuplicates: true, normZ: 3 }, minSites: 3 }, 5, replayLast)

    // Execute
    const report = await audit(study)

    // Assert
    expect(report.ok).toBe(true)
    const [first, second] = commits(study)
    expect(first!.body.exclusions).toEqual([])
    expect(second!.body.exclusions).toEqual([{ site: ATTACKER_OF_5, reason: 'replayed-delta', evidence: { firstRound: 1 } }])
  })

  it('leaves out the scaled attacker by norm z-score under FedAvg, and a tampered threshold fails the audit', async () => {
    // Prepare: honest norms grow with the site index (1..4 units); the attacker's is 50.
    const honest = run({ strategy: { name: 'fedavg' }, validation: { normZ: 3 }, minSites: 3 }, 5)
    const e = commits(honest)[0]!.body.exclusions
    const tampered = withCommitEdited(honest, 1, (b) => ({
      exclusions: (b.exclusions as { evidence: Record<string, number> }[]).map((x) => ({ ...x, evidence: { ...x.evidence, threshold: 4 } })),
    }))

    // Execute
    const ok = await audit(honest)
    const bad = await audit(tampered)

    // Assert
    expect(ok.ok).toBe(true)
    expect(e).toEqual([{ site: ATTACKER_OF_5, reason: 'norm-outlier', evidence: expect.objectContaining({ threshold: 3 }) }])
    expect(e[0]!.evidence.score).toBeGreaterThan(3)
    expect(bad.failure).toMatchObject({ seq: commits(honest)[0]!.seq, code: 'AUDIT_EXCLUSION_MISMATCH' })
  })
})

describe('rounds that cannot satisfy the strategy close as abandoned, and the audit agrees', () => {
  it('Krum left with 4 updates after validation (n < 2f + 3) abandons the round with the reason', async () => {
    // Prepare: 5 sites, Krum f 1 needs 5; validation leaves the scaled attacker out.
    const study = run({ strategy: { name: 'krum', numMaliciousClients: 1 }, validation: { normZ: 3 } }, 5)

    // Execute
    const report = await audit(study)

    // Assert
    const abandoned = draftRecords(study.drafts).filter((r) => r.kind === 'round-abandoned')
    expect(abandoned).toHaveLength(2)
    expect(abandoned[0]!.body).toMatchObject({ round: 1, accepted: 5, reason: expect.stringMatching(/krum: Krum with 1 malicious sites needs at least 5 updates \(n ≥ 2f \+ 3\), got 4/) })
    expect(report.ok).toBe(true)
  })

  it('a plan smaller than Bulyan needs is abandoned as the round opens', async () => {
    // Prepare: Bulyan f 1 needs 7 updates; minSites 7 is allowed, but only 5 sites are enrolled.
    const study = syntheticStudy({ study: { strategy: { name: 'bulyan', numMaliciousClients: 1 }, minSites: 7 }, siteCount: 5 })

    // Execute
    const report = await audit(study)

    // Assert
    const records = draftRecords(study.drafts)
    const opened = records.findIndex((r) => r.kind === 'round-opened')
    expect(records[opened + 1]).toMatchObject({ kind: 'round-abandoned', body: { round: 1, accepted: 0, reason: 'bulyan needs at least 7 updates a round, but only 5 sites can be planned' } })
    expect(records.some((r) => r.kind === 'update-accepted')).toBe(false)
    expect(report.ok).toBe(true)
  })
})
