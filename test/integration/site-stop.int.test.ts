/**
 * `fedlineage site` stops on the first SIGTERM or SIGINT even while idle in
 * its task stream (no round open), as `docker stop`, systemd and `timeout`
 * expect: a clean exit, not a hang until the kill.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createFederation } from '../helpers/federation.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))

describe('fedlineage site', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('exits cleanly on the first %s while idle, waiting for a round', async (signal) => {
    // Prepare: a study with no round open, and the site agent (with its key and certificate) connected to it in its own process.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, tls: true })
    const config = await fed.writeSiteConfig(fed.sites[0]!)
    const child = spawn(process.execPath, [BIN, 'site', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDLINEAGE_LOG_LEVEL: 'info' } })
    let stderr = ''
    onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')))
    const helloed = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        // The agent logs its transport as it starts to run, after the CLI installed its signal handlers.
        if (stderr.includes('"transport"')) resolve()
      }),
    )
    const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
      let t0 = 0
      child.once('exit', (code) => resolve({ code, ms: performance.now() - t0 }))
      void helloed.then(async () => {
        // Long enough to be inside the task stream, waiting.
        await new Promise((r) => setTimeout(r, 1500))
        t0 = performance.now()
        child.kill(signal)
      })
    })

    // Execute
    const { code, ms } = await exited

    // Assert
    expect(code).toBe(0)
    expect(ms).toBeLessThan(5000)
    expect(stderr).toContain(`site ${fed.sites[0]!.id}: stopped on request`)
  }, 30_000)
})
