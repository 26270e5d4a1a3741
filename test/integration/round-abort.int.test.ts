/**
 * `fedlineage round abort` over real gRPC on loopback: the hub aborts the
 * open round while a site is training for it; the site drops its task and
 * sends nothing, the log holds `round-aborted` with the reason and the hub
 * key, `round start` opens the next round, the study completes, and the
 * audit of the log passes.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { abortRound, HubClient } from '../../coordinator/index.ts'
import type { CliIo } from '../../cli/index.ts'
import { writeIdentity } from '../../ledger/index.ts'
import { ENTRY_KINDS, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'
import type { SiteAgentEvent } from '../../site-agent/index.ts'
import { auditDir } from '../helpers/audit.ts'
import { createFederation } from '../helpers/federation.ts'

function captureIo(): CliIo & { out(): string } {
  let out = ''
  const stdout = new PassThrough().on('data', (c: Buffer) => (out += c.toString()))
  return { stdout, stderr: Object.assign(new PassThrough(), { isTTY: false }), setExitCode: () => undefined, out: () => out }
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('round abort', () => {
  it('closes the open round as aborted, the training site drops its task, the next round runs, and the audit passes', async () => {
    // Prepare: two sites, rounds opened by the hub; site A trains long enough to be caught mid-task.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, study: { rounds: 1, minSites: 2, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 4, localSteps: 3000 } } })
    const [a, b] = fed.sites
    const key = (await writeIdentity(fed.dir, 'hub', { seed: new Uint8Array(32).fill(1) })).keyFile
    const hub = new HubClient(fed.coordinator.address)
    const events: SiteAgentEvent[] = []
    const io = captureIo()
    let aborting: Promise<void> | undefined
    const runA = fed.runSite(a!, (e) => {
      events.push(e)
      // A has scored the initial model and is now on round 1's fit task: the hub aborts the round.
      if (e.type === 'evaluated' && e.round === 0) aborting ??= abortRound({ coordinator: fed.coordinator.address, key, round: '1', reason: 'cohort filter was wrong at two sites' }, io)
    })
    await hub.startNextRound(fed.hub)

    // Execute
    await until(() => aborting !== undefined, 'site A to start round 1')
    await aborting
    await until(() => events.some((e) => e.type === 'task-cancelled'), 'site A to drop its task')
    const runB = fed.runSite(b!)
    const next = await hub.startNextRound(fed.hub)
    await fed.coordinator.completed
    await Promise.all([runA, runB])
    hub.close()

    // Assert: the site was told and sent nothing for round 1.
    expect(events.filter((e) => e.type === 'task-cancelled')).toEqual([{ type: 'task-cancelled', round: 1, reason: 'cohort filter was wrong at two sites' }])
    expect(events.filter((e) => e.type === 'uploaded').map((e) => (e as { round: number }).round)).toEqual([2])
    expect(io.out()).toMatch(/^round 1 aborted \(log entry \d+\): cohort filter was wrong at two sites\n/)
    expect(Number(next.round)).toBe(2)
    // The log: round-aborted with the reason and the hub key, nothing accepted for round 1 after it, round 2 committed.
    const records: LineageRecord[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) records.push(readLineageRecord(entry))
    const at = records.findIndex((r) => r.kind === ENTRY_KINDS.ROUND_ABORTED)
    const aborted = records[at] as Extract<LineageRecord, { kind: 'round-aborted' }>
    expect(aborted.body).toMatchObject({ round: 1, reason: 'cohort filter was wrong at two sites', by: fed.hub.publicKey })
    expect(records.slice(at).filter((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.round === 1)).toEqual([])
    expect(fed.coordinator.runner.state.rounds.get(1)!.status).toBe('aborted')
    expect(fed.coordinator.runner.state.rounds.get(2)!.status).toBe('committed')
    await fed.coordinator.close()
    const audit = await auditDir(fed.config.dataDir)
    expect(audit.error).toBeUndefined()
    expect(audit.report.ok).toBe(true)
  })
})
