import { describe, expect, it } from 'vitest'
import { SiteRequestRejectedError, retryWhileBusy } from '../../../site-agent/index.ts'

const busy = () => new SiteRequestRejectedError('upload: COORD_BUSY: too many bytes in flight', 'COORD_BUSY')

/** A fake clock whose sleep advances it, so backoff runs instantly and its pauses are recorded. */
function fakeClock() {
  let t = 0
  const pauses: number[] = []
  const sleep = async (ms: number) => {
    pauses.push(ms)
    t += ms
  }
  return { pauses, now: () => t, sleep }
}

describe('retryWhileBusy', () => {
  it('sends again after COORD_BUSY, with growing pauses, until the upload goes through', async () => {
    // Prepare
    const clock = fakeClock()
    let calls = 0
    const attempt = async () => {
      if (++calls <= 3) throw busy()
      return 'accepted'
    }
    // Execute
    const out = await retryWhileBusy(attempt, { maxWaitMs: 60_000, random: () => 1, ...clock })
    // Assert
    expect(out).toBe('accepted')
    expect(calls).toBe(4)
    expect(clock.pauses).toEqual([250, 500, 1000])
  })

  it('rethrows any other refusal at once', async () => {
    const clock = fakeClock()
    const other = new SiteRequestRejectedError('upload: COORD_WRONG_ROUND', 'COORD_WRONG_ROUND')
    await expect(retryWhileBusy(() => Promise.reject(other), { maxWaitMs: 60_000, ...clock })).rejects.toBe(other)
    expect(clock.pauses).toEqual([])
  })

  it('gives up with the last COORD_BUSY once the next pause would pass maxWaitMs', async () => {
    const clock = fakeClock()
    const err = retryWhileBusy(() => Promise.reject(busy()), { maxWaitMs: 2_000, random: () => 1, ...clock })
    await expect(err).rejects.toMatchObject({ remoteCode: 'COORD_BUSY' })
    expect(clock.pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2_000)
  })
})
