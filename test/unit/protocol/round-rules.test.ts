/**
 * protocol/round-rules.ts: when a collecting round closes (decideClose) and
 * its public seed (roundSeed).
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decideClose, roundSeed } from '../../../protocol/index.ts'

const DEADLINE = 1_700_000_060_000

describe('decideClose', () => {
  it.each([
    ['every planned site is in, before the deadline', 3, 3, DEADLINE - 1, 2, { action: 'aggregate' }],
    ['every planned site is in, even below minSites', 1, 1, DEADLINE - 1, 2, { action: 'aggregate' }],
    ['sites missing, before the deadline', 2, 3, DEADLINE - 1, 2, { action: 'wait' }],
    ['none in, before the deadline', 0, 3, DEADLINE - 1, 1, { action: 'wait' }],
    ['sites missing, at the deadline, minSites met', 2, 3, DEADLINE, 2, { action: 'aggregate' }],
    ['sites missing, after the deadline, minSites met', 2, 3, DEADLINE + 1, 2, { action: 'aggregate' }],
    ['sites missing, at the deadline, minSites not met', 1, 3, DEADLINE, 2, { action: 'abandon', reason: 'deadline passed with 1 accepted updates, the study needs 2' }],
    ['none in, at the deadline', 0, 3, DEADLINE, 1, { action: 'abandon', reason: 'deadline passed with 0 accepted updates, the study needs 1' }],
  ] as const)('%s', (_what, accepted, planned, nowMs, minSites, want) => {
    expect(decideClose(accepted, planned, DEADLINE, minSites, nowMs)).toEqual(want)
  })

  it('is monotone in time: once it stops waiting it never waits again', () => {
    // Prepare
    const times = [DEADLINE - 2, DEADLINE - 1, DEADLINE, DEADLINE + 1, DEADLINE + 60_000]

    // Execute
    const actions = times.map((t) => decideClose(2, 3, DEADLINE, 2, t).action)

    // Assert
    expect(actions).toEqual(['wait', 'wait', 'aggregate', 'aggregate', 'aggregate'])
  })
})

describe('roundSeed', () => {
  /** The first 4 bytes, big-endian, of SHA-256 of the label, with node:crypto rather than our hash. */
  const reference = (studySeed: number, round: number) => createHash('sha256').update(`fedlineage/round-seed/${studySeed}/${round}`).digest().readUInt32BE(0)

  // Known answers: printf 'fedlineage/round-seed/7/1' | sha256sum | cut -c1-8
  it.each([
    [7, 1, 0x2437fa6a],
    [7, 2, 0xa465672c],
    [0, 1, 0x51cd1cd7],
    [2 ** 31 - 1, 100_000, 0x624b3139],
  ])('study seed %i, round %i: %i', (studySeed, round, want) => {
    expect(roundSeed(studySeed, round)).toBe(want)
    expect(roundSeed(studySeed, round)).toBe(reference(studySeed, round))
  })

  it('is an unsigned 32-bit integer, different per round and per study seed', () => {
    // Execute
    const seeds = Array.from({ length: 50 }, (_, r) => roundSeed(7, r + 1))

    // Assert
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true)
    expect(new Set(seeds).size).toBe(seeds.length)
    expect(roundSeed(8, 1)).not.toBe(roundSeed(7, 1))
  })
})
