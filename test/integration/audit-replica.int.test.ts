/**
 * `fedlineage audit --db` on a site's replica of the log: the replica holds
 * every entry but only the blobs the site may see. The audit checks what it
 * can, fetches what the site may see when it has the site's key, and ends
 * with a partial verdict that names what it could not check (exit 3): never
 * "audit passed", never a failure for a blob the site was never meant to
 * hold, and still a failure for a fault it can see.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuditReport } from '../../auditor/index.ts'
import { Ledger, openLevelStorage, writeIdentity } from '../../ledger/index.ts'
import { ENTRY_KINDS } from '../../protocol/index.ts'
import { rewriteLog } from '../helpers/audit.ts'
import { runTool } from '../helpers/cli.ts'
import { createFederation, tempDir, testSigner, type TestFederation } from '../helpers/federation.ts'

/** A finished 3-site, 2-round federation whose coordinator still runs; each site kept its replica of the log. */
async function finishedFederation(): Promise<{ fed: TestFederation; replica: string; site: string; others: string[] }> {
  const fed = await createFederation({ siteCount: 3, study: { rounds: 2 } })
  await Promise.all(fed.sites.map((s) => fed.runSite(s)))
  await fed.coordinator.completed
  const [own, ...others] = fed.sites
  return { fed, replica: path.join(fed.dir, `${own!.id}-replica`), site: own!.id, others: others.map((s) => s.id) }
}

const verdictOf = (stdout: string) => stdout.trimEnd().split('\n').at(-1)!

describe('audit of a site replica', () => {
  it('without the site key, while the site holds its replica: checks entries, signatures, envelopes and the checkpoint, and says exactly what it could not check (exit 3)', async () => {
    // Prepare: the replica held open, as the running site agent holds it.
    const { fed, replica, site, others } = await finishedFederation()
    const reportFile = path.join(fed.dir, 'audit.json')
    const holder = await Ledger.open(await openLevelStorage(replica, { createIfMissing: false }))

    // Execute
    const run = await runTool(['audit', '--db', replica, '--report', reportFile]).finally(() => holder.close())

    // Assert: a partial verdict, with what was checked and, per round, what was not and why.
    const entries = fed.coordinator.ledger.length
    expect(run.status).toBe(3)
    expect(run.stdout).not.toMatch(/audit passed|audit FAILED/)
    expect(run.stdout).toMatch(/^study "test-study": 3 sites, 2 of 2 rounds committed, completed$/m)
    const hidden = `2 of 3 deltas are not visible to site "${site}" \\(sites ${others.map((s) => `"${s}"`).join(', ')}\\)`
    const notHeld = `the delta of site "${site}" is not in this replica and was not fetched`
    expect(verdictOf(run.stdout)).toMatch(
      new RegExp(
        `^audit PARTIAL of site "${site}"'s replica: ${entries} entries checked \\(.*checkpoint ${entries} [0-9a-f]{64}\\), 0 of 2 rounds re-derived; not checked: ` +
          `round 1: aggregation not re-derived \\(model taken by hash\\): ${hidden}; ${notHeld}; round 2: aggregation not re-derived \\(model taken by hash\\): ${hidden}; ${notHeld}$`,
      ),
    )
    expect(run.stderr).toMatch(new RegExp(`^${replica} is in use by another process .*\nAUDIT_PARTIAL: .*run with --key <the key file of site "${site}">`))
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as AuditReport
    expect(report).toMatchObject({ ok: false, verdict: 'partial', holder: `site "${site}"`, entries })
    expect(report.failure).toBeUndefined()
    expect(report.rounds.map((r) => [r.rederived, r.unchecked])).toEqual([
      [false, true],
      [false, true],
    ])
    expect(report.unchecked).toHaveLength(2)
  })

  it("with the site key: fetches the site's own deltas from the coordinator, checks them, and never asks for another site's", async () => {
    // Prepare: the site's key file, as its agent runs with.
    const { fed, replica, site, others } = await finishedFederation()
    const keys = await tempDir()
    const { keyFile } = await writeIdentity(keys, site, { seed: new Uint8Array(32).fill(10) })
    const sync = fed.coordinator.replica!.services.ledgerSync
    const refusedBefore = sync.accessRefusals

    // Execute
    const run = await runTool(['audit', '--db', replica, '--key', keyFile])

    // Assert: its own updates re-decided with their deltas; the other sites' deltas named as not visible, never requested.
    expect(run.status).toBe(3)
    expect(run.stdout).not.toMatch(/audit passed|audit FAILED/)
    const hidden = `2 of 3 deltas are not visible to site "${site}" \\(sites ${others.map((s) => `"${s}"`).join(', ')}\\)`
    expect(verdictOf(run.stdout)).toMatch(
      new RegExp(
        `; not checked: round 1: aggregation not re-derived \\(model taken by hash\\): ${hidden}; site "${site}"'s own update and delta checked; ` +
          `round 2: aggregation not re-derived \\(model taken by hash\\): ${hidden}; site "${site}"'s own update and delta checked$`,
      ),
    )
    expect(run.stderr).toMatch(/^AUDIT_PARTIAL: .*the auditors the study names/)
    expect(sync.accessRefusals).toBe(refusedBefore)
    // The replica itself was only read: what was fetched went to a store of the audit's own.
    const own = fed.coordinator.runner.state.rounds.get(1)!.accepted.get(site)!.delta
    const ledger = await Ledger.open(await openLevelStorage(replica, { createIfMissing: false }))
    expect(await ledger.hasBlob(own).finally(() => ledger.close())).toBe(false)
  })

  it('still fails on a fault it can see: an update entry whose examples are not what the site signed', async () => {
    // Prepare: the coordinator (its key signs the log) logs more examples for another site than that site signed.
    const { replica, others } = await finishedFederation()
    let changed: number | undefined
    await rewriteLog(replica, {
      from: 0,
      signer: testSigner(1),
      edit: (entry, record) => {
        if (changed === undefined && record.kind === ENTRY_KINDS.UPDATE_ACCEPTED && record.body.site === others[0]) {
          changed = record.seq
          return { kind: entry.kind, timeMs: entry.timeMs, body: { ...record.body, examples: record.body.examples * 10 } }
        }
        return { kind: entry.kind, timeMs: entry.timeMs, body: entry.body }
      },
    })

    // Execute
    const run = await runTool(['audit', '--db', replica])

    // Assert
    expect(run.status).toBe(1)
    expect(verdictOf(run.stdout)).toMatch(new RegExp(`^audit FAILED at entry ${changed}: AUDIT_STATEMENT_MISMATCH: entry ${changed} \\(update-accepted\\): examples is `))
    expect(run.stderr).toMatch(/^AUDIT_STATEMENT_MISMATCH: /)
  })
})
