/**
 * The audit holds the replayed log against the coordinator's newest signed
 * checkpoint: a log rewritten after the checkpoint was signed (here: only a
 * timestamp changed, so every other check passes) fails with
 * AUDIT_CHECKPOINT_MISMATCH.
 */
import { describe, expect, it } from 'vitest'
import { auditDir, rewriteLog } from '../helpers/audit.ts'
import { createFederation, testSigner } from '../helpers/federation.ts'

describe('audit against the signed checkpoint', () => {
  it('passes on the honest log and fails when the log no longer matches the signed checkpoint', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, study: { rounds: 1 } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()
    const honest = await auditDir(fed.config.dataDir)
    expect(honest.error).toBeUndefined()
    expect(honest.report.checkpoint?.size).toBe(honest.report.entries)

    // Execute: re-sign the last entry one millisecond later.
    const last = honest.report.entries - 1
    await rewriteLog(fed.config.dataDir, { from: last, signer: testSigner(1), edit: (entry) => ({ kind: entry.kind, timeMs: entry.timeMs + 1, body: entry.body }) })
    const rewritten = await auditDir(fed.config.dataDir)

    // Assert
    expect(rewritten.error?.code).toBe('AUDIT_CHECKPOINT_MISMATCH')
  })
})
