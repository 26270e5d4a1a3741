/**
 * Participant rewards end to end: a study that pays a pool per round by exact
 * Shapley value on the hub's validation set. Each round's allocations sum
 * exactly to the pool, balances come from replaying the log alone, the audit
 * recomputes every score and amount, and an altered reward fails it.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command } from 'commander'
import { registerRewardsCommand, rewardsOf } from '../../coordinator/index.ts'
import { generateCohort, cohortToCsv, prepareDatasetFile } from '../../site-agent/index.ts'
import { auditDir, rewriteLog } from '../helpers/audit.ts'
import { createFederation, tempDir, testSigner, TEST_STUDY } from '../helpers/federation.ts'
import { ENTRY_KINDS } from '../../protocol/index.ts'

describe('rewards', () => {
  it('pays each round by Shapley value, exactly to the pool, and the audit recomputes every credit', async () => {
    // Prepare: the hub's own validation cohort, prepared with the study schema.
    const dir = await tempDir()
    const csv = path.join(dir, 'hub-validation.csv')
    await writeFile(csv, cohortToCsv(generateCohort({ siteId: 'hub', seed: 99, size: 300 })))
    const schemaFile = path.join(dir, 'study.json')
    await writeFile(schemaFile, JSON.stringify(TEST_STUDY))
    const validationDataset = path.join(dir, 'validation.fld')
    await prepareDatasetFile(schemaFile, csv, validationDataset)
    const fed = await createFederation({
      siteCount: 3,
      study: { rounds: 2, rewards: { poolPerRound: '1000', method: 'shapley', metric: 'neg-log-loss' } },
      hub: { validationDataset },
    })

    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()

    // Assert: each round pays exactly its pool, balances follow from the log.
    const view = await rewardsOf(fed.config.dataDir)
    expect(view.rounds).toHaveLength(2)
    for (const r of view.rounds) expect(r.allocations.reduce((n, a) => n + a.amount, 0n)).toBe(1000n)
    expect(view.balances.reduce((n, b) => n + b.credits, 0n) + view.unallocated).toBe(2000n)
    const ok = await auditDir(fed.config.dataDir)
    expect(ok.error).toBeUndefined()
    // A mistyped site id is an error, never "0 credits".
    const program = new Command('fedlineage').exitOverride()
    registerRewardsCommand(program)
    await expect(program.parseAsync(['node', 'fedlineage', 'rewards', '--db', fed.config.dataDir, '--site', 'site-99'])).rejects.toMatchObject({
      code: 'COORD_UNKNOWN_SITE',
      message: expect.stringContaining('--site "site-99": no such site'),
    })

    // A dishonest coordinator moves one credit between sites and re-signs the log.
    await rewriteLog(fed.config.dataDir, {
      from: 0,
      signer: testSigner(1),
      edit: (entry, record) => {
        if (record.kind !== ENTRY_KINDS.ROUND_REWARDED || record.body.round !== 1) return { kind: entry.kind, timeMs: entry.timeMs, body: entry.body }
        const allocations = record.body.allocations.map((a, i) => ({ ...a, amount: i === 0 ? a.amount + 1n : i === 1 ? a.amount - 1n : a.amount }))
        return { kind: entry.kind, timeMs: entry.timeMs, body: { ...record.body, allocations } }
      },
    })
    const tampered = await auditDir(fed.config.dataDir)
    expect(tampered.error?.code).toBe('AUDIT_REWARD_MISMATCH')
  })
})
