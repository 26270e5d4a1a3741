/**
 * coordinator/grpc/refusal-log.ts: one line per peer address and code per
 * window, then one with the count; a flood from more addresses than it
 * tracks shares one overflow count, so memory and lines stay bounded.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RefusalLog, peerAddress } from '../../../coordinator/index.ts'
import { capturingLogger } from '../../helpers/federation.ts'

const refusal = (peer: string, code = 'COORD_UNKNOWN_SITE') => ({ rpc: 'Hello', site: 'intruder', peer, code, message: 'site "intruder" is not enrolled' })

describe('RefusalLog', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('keys on the address, not the port, and on the code; counts the rest of the window in one line', () => {
    // Prepare
    const { logger, lines } = capturingLogger()
    const log = new RefusalLog({ windowMs: 10_000 }, { logger })

    // Execute: 5 refusals from ports of one address, one with another code, one from another address.
    for (let port = 1; port <= 5; port++) log.refused(refusal(`10.0.0.7:${port}`))
    log.refused(refusal('10.0.0.7:9', 'COORD_BAD_SIGNATURE'))
    log.refused(refusal('10.0.0.8:1'))
    const before = lines.length
    vi.advanceTimersByTime(10_000)

    // Assert
    expect(before).toBe(3)
    expect(lines.slice(3).map((l) => [l['peer'], l['repeated']])).toEqual([['10.0.0.7:5', 4]])
    expect(log.stats()).toEqual({ logged: 4, suppressed: 4 })
  })

  it('bounds what it tracks: past maxKeys addresses, refusals share one overflow count', () => {
    // Prepare
    const { logger, lines } = capturingLogger()
    const log = new RefusalLog({ windowMs: 1000, maxKeys: 4 }, { logger })

    // Execute: 1000 addresses.
    for (let i = 0; i < 1000; i++) log.refused(refusal(`10.1.${i >> 8}.${i & 255}:5000`))
    const during = lines.length
    log.flush()

    // Assert: 4 tracked + the first overflow line, then one count line for the overflow.
    expect(during).toBe(5)
    expect(lines.at(-1)!['repeated']).toBe(995)
    expect(String(lines.at(-1)!['msg'])).toMatch(/other peers/)
  })

  it('reads the address of the peer forms grpc-js reports', () => {
    expect(['127.0.0.1:4000', 'ipv4:10.0.0.1:1', '[::1]:5000', 'ipv6:[fe80::1]:2', 'unix:/tmp/s'].map(peerAddress)).toEqual(['127.0.0.1', '10.0.0.1', '::1', 'fe80::1', 'unix'])
  })
})
