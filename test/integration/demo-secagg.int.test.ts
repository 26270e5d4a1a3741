/**
 * `fedlineage demo --secagg --dp ε` as a newcomer runs it: real processes (a
 * coordinator, four site agents, an auditor) on 127.0.0.1, secure
 * aggregation with distributed DP: the coordinator logs only masked inputs,
 * the sites add the noise, and the auditor re-derives every model from the
 * masked inputs and the logged reveals, without any seed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runLauncher } from '../helpers/cli-process.ts'

const ROUNDS = 2

describe('demo --secagg --dp', () => {
  let dir = ''
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('runs secure aggregation with distributed DP, and the audit re-derives every model from the masked inputs', async () => {
    // Prepare
    dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-demo-secagg-'))

    // Execute
    const { code, out } = await runLauncher(['demo', '--secagg', '--dp', '30', '--rounds', String(ROUNDS), '--dir', dir])

    // Assert
    expect(code, out).toBe(0)
    expect(out).toMatch(new RegExp(`secure aggregation: the coordinator saw only masked inputs; ${ROUNDS} rounds each summed 4 of them`))
    expect(out).toMatch(/privacy: distributed DP under secure aggregation, each site clips its delta to L2 norm 1 .*ε ≤ 30 at δ = 1e-5 over 2 rounds/)
    expect(out).toMatch(new RegExp(`audit passed: ${ROUNDS} rounds re-derived`))
    const report = JSON.parse(await readFile(path.join(dir, 'audit.json'), 'utf8')) as { verdict: string; rounds: { rederived: boolean }[] }
    expect(report.verdict).toBe('passed')
    expect(report.rounds.filter((r) => r.rederived)).toHaveLength(ROUNDS)
  }, 300_000)
})
