/**
 * The hub's pretty log over a real round on loopback: the round opening with
 * its sites and deadline, the update accepted, and the round abandoned at
 * its deadline, said in words with the site that is missing.
 */
import { describe, expect, it } from 'vitest'
import { createHubLogger } from '../../coordinator/index.ts'
import { openRoundWithEnvelopes } from '../helpers/federation.ts'

describe("the hub's pretty log", () => {
  it('says a round abandoned at its deadline in words: what it had, what it needed, who is missing', async () => {
    // Prepare
    const text: string[] = []
    const logger = createHubLogger({ format: 'pretty', level: 'info', write: (line) => void text.push(line) })
    const { fed, delta, envelopes } = await openRoundWithEnvelopes({ logger, study: { roundDeadlineMs: 1500 } })
    const [a, b] = fed.sites

    // Execute: only site A sends its update; the deadline passes.
    const abandoned = new Promise<void>((resolve) => fed.coordinator.on('round-abandoned', () => resolve()))
    await fed.coordinator.runner.acceptUpdate(envelopes[0]!, delta)
    await abandoned

    // Assert
    const lines = text.join('')
    expect(lines).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO  round 1 opened: 2 sites \\(${a!.id}, ${b!.id}\\), deadline \\d\\d:\\d\\d:\\d\\d UTC$`, 'm'))
    expect(lines).toMatch(new RegExp(`INFO  round 1: update accepted from ${a!.id} \\(1 of 2\\)$`, 'm'))
    expect(lines).toMatch(new RegExp(`WARN  round 1 abandoned: 1 of 2 required updates by the deadline \\(missing: ${b!.id}\\); the model stays where it was$`, 'm'))
    expect(lines).not.toMatch(/^\{/m)
  })
})
