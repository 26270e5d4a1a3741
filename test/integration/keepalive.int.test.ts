/**
 * The coordinator's keepalive (`limits.keepaliveTimeMs`, `keepaliveTimeoutMs`):
 * a connection whose ping is not answered within the timeout is dropped with
 * its calls. The answer is read on the event loop, so when one turn of the
 * loop takes longer than the timeout, as when hundreds of sites train in the
 * coordinator's process (`bench:round`), a live site's task stream is
 * dropped ("Connection dropped") and it reconnects. This test makes every
 * turn of the loop take 500 ms, in process, over real gRPC on 127.0.0.1:
 * with a 300 ms timeout the stream is dropped, with 5 s it lives.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signStatement } from '../../protocol/index.ts'
import { CoordinatorClient } from '../../site-agent/index.ts'
import { createFederation, TEST_STUDY } from '../helpers/federation.ts'

const TURN_MS = 500
const TURNS = 8

/** Makes each of the next `turns` turns of the event loop busy for `ms` (a setImmediate chain: one busy callback per turn). */
function slowTurns(turns: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let left = turns
    const turn = () => {
      const until = performance.now() + ms
      while (performance.now() < until) {
        // Busy, as a site's training step is: the loop reads no socket meanwhile.
      }
      if (--left === 0) resolve()
      else setImmediate(turn)
    }
    setImmediate(turn)
  })
}

/** A site's task stream held open through `TURNS` slow turns; resolves with the gRPC code it failed with, or 'open'. */
async function taskStreamThroughSlowTurns(keepaliveTimeoutMs: number): Promise<string> {
  const fed = await createFederation({ siteCount: 1, autoAdvance: false, study: { minSites: 1 }, hub: { limits: { keepaliveTimeMs: 200, keepaliveTimeoutMs } } })
  const site = fed.sites[0]!
  const client = new CoordinatorClient(fed.coordinator.address)
  try {
    const { sessionToken } = await client.hello(signStatement(site.signer, { t: 'hello', study: TEST_STUDY.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
    const stream = client.tasks(new Uint8Array(sessionToken))
    let outcome = 'open'
    const reading = (async () => {
      try {
        for await (const _ of stream) {
          // Round 0's evaluation task, if any: the stream stays open after it.
        }
      } catch (err) {
        outcome = String((err as { code?: number }).code)
      }
    })()
    // Let the stream and the first keepalive ping settle on a quiet loop.
    await new Promise((r) => setTimeout(r, 400))
    await slowTurns(TURNS, TURN_MS)
    await new Promise((r) => setTimeout(r, 300))
    client.close()
    await reading
    return outcome === 'open' || outcome === '1' ? 'open' : outcome
  } finally {
    client.close()
  }
}

describe('keepalive on a busy event loop', () => {
  it('drops a live task stream when a turn of the loop outlasts the ping timeout', async () => {
    // Execute
    const outcome = await taskStreamThroughSlowTurns(300)

    // Assert: UNAVAILABLE (14), "Connection dropped"
    expect(outcome).toBe('14')
  }, 30_000)

  it('keeps it with a ping timeout longer than a turn (limits.keepaliveTimeoutMs)', async () => {
    // Execute
    const outcome = await taskStreamThroughSlowTurns(5_000)

    // Assert: the stream was still open when the client closed it (CANCELLED then, by its own close).
    expect(outcome).toBe('open')
  }, 30_000)
})
