/**
 * `fedlineage status` against a running coordinator over gRPC on loopback:
 * the open round's deadline and time left, the site that uploaded and the
 * one still missing, per-site metrics with the weak site flagged; and
 * `--watch`, which redraws until stopped and shows the round commit.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { CliIo } from '../../cli/index.ts'
import { HubClient, runStatus, watchStatus } from '../../coordinator/index.ts'
import { signStatement } from '../../protocol/index.ts'
import { openRoundWithEnvelopes, type TestFederation } from '../helpers/federation.ts'

function captureIo(): CliIo & { out(): string } {
  let out = ''
  const stdout = new PassThrough().on('data', (c: Buffer) => (out += c.toString()))
  return { stdout, stderr: Object.assign(new PassThrough(), { isTTY: false }), setExitCode: () => undefined, out: () => out }
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Both sites' signed evaluations of the initial model: site 0 at 0.84 accuracy on 300 examples, site 1 at 0.50 on 100. */
async function reportBaseline(fed: TestFederation): Promise<void> {
  const runner = fed.coordinator.runner
  const baseline: readonly (readonly [number, number])[] = [
    [300, 0.84],
    [100, 0.5],
  ]
  for (const [i, [examples, accuracy]] of baseline.entries()) {
    const site = fed.sites[i]!
    const report = {
      t: 'evaluation' as const,
      study: runner.state.studyId,
      round: 0,
      site: site.id,
      model: runner.state.genesis,
      examples,
      metrics: { loss: 0.5, accuracy, auc: 0.8 },
      time: Date.now(),
    }
    await runner.acceptEvaluation(signStatement(site.signer, report))
  }
}

describe('status of a running study', () => {
  it('shows the open round’s deadline, time left, who uploaded and who is missing, and flags a weak site', async () => {
    // Prepare: round 1 open, site 0's update accepted, site 1's missing.
    const { fed, delta, envelopes } = await openRoundWithEnvelopes()
    await reportBaseline(fed)
    await fed.coordinator.runner.acceptUpdate(envelopes[0]!, delta)
    const io = captureIo()

    // Execute
    await runStatus({ coordinator: fed.coordinator.address, interval: '2', flagGap: '0.1' }, io)

    // Assert
    const out = io.out()
    const [a, b] = fed.sites
    expect(out).toMatch(/^study test-study: 0\/3 rounds committed\nround 1: collecting updates until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((2[0-9]|30)s left\)\n/)
    expect(out).toContain(`  uploaded 1 of 2: ${a!.id}\n  missing: ${b!.id}\n`)
    expect(out).toMatch(/per-site metrics of round 0 \(the initial model\):/)
    expect(out).toMatch(/\(weighted\)\s+400\s+0\.500\s+0\.755\s+0\.800/)
    expect(out).toContain(`  ! ${b!.id}: accuracy 0.500 is 0.255 below the weighted 0.755`)
  })

  it('--watch redraws until stopped, and the next frame shows the round committed', async () => {
    // Prepare
    const { fed, delta, envelopes } = await openRoundWithEnvelopes()
    await fed.coordinator.runner.acceptUpdate(envelopes[0]!, delta)
    const io = captureIo()
    const stop = new AbortController()
    const client = new HubClient(fed.coordinator.address)
    const frames = () =>
      io
        .out()
        .split(/^--- .*$/m)
        .slice(1)

    // Execute
    const watching = watchStatus(client, io, { intervalMs: 100, signal: stop.signal })
    await until(() => frames().length >= 1, 'the first frame')
    await fed.coordinator.runner.acceptUpdate(envelopes[1]!, delta)
    await until(() => frames().some((f) => f.includes('round 1: committed')), 'a frame with the commit')
    stop.abort()
    await watching
    const count = frames().length
    await new Promise((r) => setTimeout(r, 300))
    client.close()

    // Assert
    expect(frames()[0]).toContain('round 1: collecting updates')
    expect(frames()[0]).toContain(`missing: ${fed.sites[1]!.id}`)
    expect(frames().length).toBe(count)
  })
})
