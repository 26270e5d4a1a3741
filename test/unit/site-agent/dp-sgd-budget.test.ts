/**
 * The site's DP-SGD accountant and budget: a round is charged by composing
 * its run on the account (a round trained again replaces its run), a charge
 * over the budget is refused with SITE_DP_BUDGET_SPENT naming ε before and
 * after and the budget; the account survives a restart in a real temp folder
 * and a damaged account is refused rather than taken for ε = 0; the site's
 * metrics export its ε and budget. A study that requires DP-SGD
 * (`patientDp`) is refused by a site that trains without it, and its limit
 * declines a round as the site's own budget does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { StudySpecSchema, epsilonOf } from '../../../models/index.ts'
import { SYNTHETIC_STUDY as BASE_SPEC } from '../../helpers/audit.ts'
import {
  checkDpSgdBudget,
  checkStudyPolicy,
  dpSgdAccountFile,
  dpSgdCharge,
  formatReview,
  readDpSgdAccount,
  SitePolicySchema,
  SiteDpAccountError,
  SiteMetrics,
  writeDpSgdAccount,
  type DpSgdRun,
} from '../../../site-agent/index.ts'

const run = (round: number, study = 's1'): DpSgdRun => ({ study, round, q: 0.05, noiseMultiplier: 1.2, steps: 50 })
const policy = (epsilon?: number) => SitePolicySchema.parse({ dpSgd: { noiseMultiplier: 1.2, clipNorm: 1, ...(epsilon === undefined ? {} : { epsilon }) } })

describe('dpSgdCharge and checkDpSgdBudget', () => {
  it('composes the round on the account, across studies, and replaces a round trained again', () => {
    // Execute
    const first = dpSgdCharge([], run(1), 1e-5)
    const third = dpSgdCharge([run(1), run(1, 's0')], run(2), 1e-5)
    const again = dpSgdCharge([run(1), run(2)], run(2), 1e-5)
    // Assert
    expect(first.epsilonBefore).toBe(0)
    expect(first.epsilonAfter).toBeCloseTo(epsilonOf(0.05, 1.2, 50, 1e-5).epsilon, 12)
    expect(third.epsilonAfter).toBeCloseTo(epsilonOf(0.05, 1.2, 150, 1e-5).epsilon, 12)
    expect(again.runs).toEqual([run(1)])
    expect(again.epsilonAfter).toBeCloseTo(epsilonOf(0.05, 1.2, 100, 1e-5).epsilon, 12)
  })

  it('refuses a round that would take ε over the budget, saying ε before and after, the budget and what to do', () => {
    // Prepare: the budget lies between two and three rounds' ε
    const two = epsilonOf(0.05, 1.2, 100, 1e-5).epsilon
    const three = epsilonOf(0.05, 1.2, 150, 1e-5).epsilon
    const budget = (two + three) / 2
    // Execute
    const fits = checkDpSgdBudget(policy(budget), dpSgdCharge([run(1)], run(2), 1e-5))
    const over = checkDpSgdBudget(policy(budget), dpSgdCharge([run(1), run(2)], run(3), 1e-5))
    const unlimited = checkDpSgdBudget(policy(), dpSgdCharge([run(1), run(2)], run(3), 1e-5))
    // Assert
    expect(fits).toBeUndefined()
    expect(unlimited).toBeUndefined()
    expect(over?.code).toBe('SITE_DP_BUDGET_SPENT')
    expect(over?.reason).toContain(`would take this site's ε from ${two.toPrecision(4)} to ${three.toPrecision(4)} at δ 0.00001, over its budget ${budget} (policy.dpSgd.epsilon)`)
    expect(over?.reason).toMatch(/no update leaves the site/)
  })
})

describe('the DP-SGD account file', () => {
  async function stateDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-dpsgd-'))
    onTestFinished(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  it('survives a restart: what one reader stored a fresh one reads back', async () => {
    // Prepare
    const file = dpSgdAccountFile(await stateDir(), 'city-general')
    // Execute
    const before = await readDpSgdAccount(file)
    await writeDpSgdAccount(file, [run(1), run(2, 's2')])
    const after = await readDpSgdAccount(file)
    // Assert
    expect(before).toEqual([])
    expect(path.basename(file)).toBe('city-general-dp-sgd-account.cbor')
    expect(after).toEqual([run(1), run(2, 's2')])
  })

  it('refuses a damaged account rather than start again from ε = 0', async () => {
    // Prepare
    const file = dpSgdAccountFile(await stateDir(), 'a')
    await writeFile(file, Uint8Array.of(0xa1, 0x61))
    // Execute
    const read = readDpSgdAccount(file)
    // Assert
    await expect(read).rejects.toThrow(SiteDpAccountError)
    await expect(read).rejects.toMatchObject({ code: 'SITE_DP_ACCOUNT_INVALID' })
  })

  it('the policy refuses DP-SGD without noise, and defaults δ to 1e-5', () => {
    // Execute
    const bad = SitePolicySchema.safeParse({ dpSgd: { noiseMultiplier: 0, clipNorm: 1 } })
    // Assert
    expect(bad.success).toBe(false)
    expect(policy().dpSgd?.delta).toBe(1e-5)
  })
})

describe('the site metrics of DP-SGD', () => {
  it("exports the site's ε after its newest round and its budget", async () => {
    // Prepare
    const metrics = new SiteMetrics()
    // Execute
    metrics.record({ type: 'dp-sgd', round: 2, q: 0.05, noiseMultiplier: 1.2, clipNorm: 1, steps: 50, delta: 1e-5, epsilon: 1.5, budget: 8 })
    const text = await metrics.registry.metrics()
    // Assert
    expect(text).toMatch(/^fedlineage_site_dp_sgd_epsilon 1\.5$/m)
    expect(text).toMatch(/^fedlineage_site_dp_sgd_epsilon_budget 8$/m)
  })
})

describe('a study that requires patient-level DP-SGD, at the site', () => {
  const spec = (patientDp: { maxEpsilon: number; maxDelta?: number }) => StudySpecSchema.parse({ ...BASE_SPEC, patientDp })

  it('is refused by a site whose policy trains without DP-SGD, or at a larger δ', () => {
    // Execute
    const plain = checkStudyPolicy(SitePolicySchema.parse({}), spec({ maxEpsilon: 5 }), [])
    const looseDelta = checkStudyPolicy(SitePolicySchema.parse({ dpSgd: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-3 } }), spec({ maxEpsilon: 5 }), [])
    const fits = checkStudyPolicy(policy(8), spec({ maxEpsilon: 5 }), [])
    // Assert
    expect(plain?.code).toBe('SITE_POLICY_DP_SGD')
    expect(plain?.reason).toMatch(/requires patient-level DP-SGD at ε <= 5 \(patientDp\).*set policy\.dpSgd/)
    expect(looseDelta?.code).toBe('SITE_POLICY_DP_SGD')
    expect(fits).toBeUndefined()
  })

  it("declines a round over the study's limit even when the site's own budget is larger", () => {
    // Prepare
    const charge = dpSgdCharge([run(1)], run(2), 1e-5)
    // Execute
    const refusal = checkDpSgdBudget(policy(1000), charge, charge.epsilonBefore)
    // Assert
    expect(refusal?.code).toBe('SITE_DP_BUDGET_SPENT')
    expect(refusal?.reason).toMatch(/over the study's limit \S+ \(patientDp\.maxEpsilon\)/)
  })
})

describe('study review of a study that requires DP-SGD', () => {
  it('tells the steward the study requires patient-level DP-SGD, and at what ε and δ', () => {
    // Prepare
    const spec = StudySpecSchema.parse({ ...BASE_SPEC, patientDp: { maxEpsilon: 4 } })
    // Execute
    const text = formatReview({ spec, specHash: '00'.repeat(32), requireApproval: false, approvals: [] })
    const plain = formatReview({ spec: StudySpecSchema.parse(BASE_SPEC), specHash: '00'.repeat(32), requireApproval: false, approvals: [] })
    // Assert
    expect(text).toMatch(/^ {2}privacy {5}no site-level DP; patient-level DP-SGD required of every site at ε <= 4, δ <= 0\.00001 \(set policy\.dpSgd\)$/m)
    expect(plain).toMatch(/patient-level DP-SGD left to each site/)
  })
})
