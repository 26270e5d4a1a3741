/**
 * The audit holds the replayed log against the coordinator's newest signed
 * checkpoint: a log rewritten after the checkpoint was signed (here: only a
 * timestamp changed, so every other check passes) fails with
 * AUDIT_CHECKPOINT_MISMATCH.
 */
import { cp, rm } from 'node:fs/promises'
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

    // Execute: re-sign the last step (the last evaluation and the completion it brings) one millisecond later,
    // a rewrite the decider cannot tell from the honest log; and, apart, the completion alone, which it can.
    const last = honest.report.entries - 1
    const copy = `${fed.config.dataDir}-copy`
    await cp(fed.config.dataDir, copy, { recursive: true })
    await rewriteLog(fed.config.dataDir, { from: last - 1, signer: testSigner(1), edit: (entry) => ({ kind: entry.kind, timeMs: entry.timeMs + 1, body: entry.body }) })
    const rewritten = await auditDir(fed.config.dataDir)
    await rewriteLog(copy, { from: last, signer: testSigner(1), edit: (entry) => ({ kind: entry.kind, timeMs: entry.timeMs + 1, body: entry.body }) })
    const split = await auditDir(copy)
    await rm(copy, { recursive: true, force: true })

    // Assert
    expect(rewritten.error?.code).toBe('AUDIT_CHECKPOINT_MISMATCH')
    expect(split.error).toMatchObject({ code: 'AUDIT_ENTRY_MISMATCH', seq: last, field: 'time' })
  })
})
