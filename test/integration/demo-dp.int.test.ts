/**
 * `fedlineage demo --dp ε` as a newcomer runs it: real processes (a
 * coordinator, four site agents, an auditor) on 127.0.0.1, site-level
 * DP-FedAvg with the noise seeds kept by the coordinator and handed to the
 * demo's authorised auditor, who re-derives every noised model.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runLauncher } from '../helpers/cli-process.ts'

const ROUNDS = 2

describe('demo --dp', () => {
  let dir = ''
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('runs a DP study whose log holds each round ε and the seed hash only, and the auditor given the seeds re-derives every model', async () => {
    // Prepare
    dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-demo-dp-'))

    // Execute
    const { code, out } = await runLauncher(['demo', '--dp', '30', '--rounds', String(ROUNDS), '--dir', dir])

    // Assert
    expect(code, out).toBe(0)
    expect(out).toMatch(/privacy: site-level DP-FedAvg, each delta clipped to L2 norm 1, Gaussian noise multiplier [0-9.]+ .*ε ≤ 30 at δ = 1e-5 over 2 rounds/)
    expect(out).toMatch(new RegExp(`audit passed: ${ROUNDS} rounds re-derived`))
    // The same log fetched as tlog-tiles and audited from that copy, the models and deltas fetched under the auditor's key.
    expect(out).toMatch(new RegExp(`the tiles mirror, audited: audit passed: ${ROUNDS} rounds re-derived`))
    const seeds = path.join(dir, 'ledger', 'dp-seeds.json')
    expect((await stat(seeds)).mode & 0o777).toBe(0o600)
    const report = JSON.parse(await readFile(path.join(dir, 'audit.json'), 'utf8')) as { verdict: string; rounds: { rederived: boolean }[] }
    expect(report.verdict).toBe('passed')
    expect(report.rounds.filter((r) => r.rederived)).toHaveLength(ROUNDS)
  }, 300_000)

  it('refuses a budget that is not a positive number, saying what it wants', async () => {
    const { code, out } = await runLauncher(['demo', '--dp', 'lots'])
    expect(code).not.toBe(0)
    expect(out).toMatch(/'lots' is invalid\. want the privacy budget ε, a number > 0/)
  })
})
