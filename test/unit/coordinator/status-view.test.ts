/**
 * `fedlineage status`'s view of the current round and of per-site metrics:
 * the deadline and time left by the coordinator's clock, the sites still
 * missing, and a site far below the weighted mean flagged (one site at 0.50
 * accuracy must not hide behind a weighted 0.76).
 */
import { describe, expect, it } from 'vitest'
import { formatCurrentRound, formatDuration, formatSiteMetrics, missingSites } from '../../../coordinator/index.ts'
import type { RoundSummary__Output } from '../../../protos/index.ts'

function round(over: Partial<RoundSummary__Output>): RoundSummary__Output {
  return {
    round: '1',
    state: 'collecting',
    sites: [],
    planned: [],
    declined: [],
    evaluations: [],
    deadlineMs: '0',
    closeReason: '',
    ...over,
  } as unknown as RoundSummary__Output
}

const T = Date.UTC(2026, 11, 6, 16, 0, 0)

describe('formatCurrentRound', () => {
  it('gives the open round’s deadline, the time left by the coordinator’s clock, who uploaded and who is missing', () => {
    // Prepare
    const r = round({
      round: '3',
      sites: ['alpha'],
      planned: ['alpha', 'beta', 'gamma'],
      declined: [{ siteId: 'gamma', code: 'SITE_POLICY_MIN_RECORDS', reason: 'too few' }],
      deadlineMs: String(T + 80_000),
    })

    // Execute
    const text = formatCurrentRound({ rounds: [r], nowMs: String(T) })

    // Assert
    expect(text.split('\n')).toEqual([
      'round 3: collecting updates until 2026-12-06 16:01:20 UTC (1m 20s left)',
      '  uploaded 1 of 3: alpha',
      '  missing: beta',
      '  declined: gamma (SITE_POLICY_MIN_RECORDS)',
    ])
    expect(missingSites(r)).toEqual(['beta'])
  })

  it('shows a secure-aggregation round’s phase, who answered, who it waits for and who dropped out', () => {
    // Prepare
    const r = round({
      round: '2',
      sites: ['alpha', 'beta'],
      planned: ['alpha', 'beta', 'gamma'],
      deadlineMs: String(T + 60_000),
      secagg: { phase: 'unmask', expected: ['alpha', 'beta'], answered: ['alpha'], deadlineMs: String(T + 20_000), dropped: ['gamma'] },
    })

    // Execute
    const text = formatCurrentRound({ rounds: [r], nowMs: String(T) })

    // Assert
    expect(text.split('\n').slice(3)).toEqual(['  secure aggregation: unmask phase, 1 of 2 answered (20s left); waiting for: beta', '  dropped out after sharing their keys: gamma'])
  })

  it('says why a round closed without a model', () => {
    const r = round({ round: '2', state: 'aborted', sites: ['alpha'], planned: ['alpha', 'beta'], closeReason: 'wrong cohort' })
    expect(formatCurrentRound({ rounds: [r], nowMs: String(T) })).toBe("round 2: aborted: wrong cohort\n  1 of 2 planned updates were in; the model stays at round 2's base")
  })

  it('says when the deadline has passed and the round is about to close, and when no round is open yet', () => {
    expect(formatCurrentRound({ rounds: [round({ deadlineMs: String(T - 5000) })], nowMs: String(T) })).toMatch(/\(passed 5s ago, closing\)/)
    expect(formatCurrentRound({ rounds: [round({ round: '0', state: 'initial' })], nowMs: String(T) })).toBe('no round opened yet')
    expect([formatDuration(3_725_000), formatDuration(45_000)]).toEqual(['1h 2m', '45s'])
  })
})

describe('formatSiteMetrics', () => {
  it('shows each site beside the weighted mean and flags the one far below it', () => {
    // Prepare: 0.84 × 300 + 0.50 × 100 = 0.755 weighted.
    const r = round({
      round: '2',
      state: 'evaluated',
      evaluations: [
        { siteId: 'alpha', examples: '300', metrics: { loss: 0.4, accuracy: 0.84, auc: 0.9 } },
        { siteId: 'beta', examples: '100', metrics: { loss: 0.9, accuracy: 0.5, auc: 0.86 } },
      ],
    })

    // Execute
    const lines = formatSiteMetrics({ rounds: [round({ round: '0', evaluations: [{ siteId: 'alpha', examples: '1', metrics: {} }] }), r] }).split('\n')

    // Assert
    expect(lines[0]).toBe('per-site metrics of round 2:')
    expect(lines[1]).toMatch(/site\s+examples\s+loss\s+accuracy\s+AUC/)
    expect(lines[2]).toMatch(/^ {2}alpha\s+300\s+0\.400\s+0\.840\s+0\.900\s*$/)
    expect(lines[3]).toMatch(/^ {2}beta\s+100\s+0\.900 !\s+0\.500 !\s+0\.860\s*$/)
    expect(lines[4]).toMatch(/^ {2}\(weighted\)\s+400\s+0\.525\s+0\.755\s+0\.890\s*$/)
    expect(lines.slice(5)).toEqual(['  ! beta: loss 0.900 is 1.7× the weighted 0.525', '  ! beta: accuracy 0.500 is 0.255 below the weighted 0.755'])
  })

  it('leaves out a metric no site reports, flags nothing within the gap, and is empty before any evaluation', () => {
    const r = round({
      evaluations: [
        { siteId: 'alpha', examples: '10', metrics: { accuracy: 0.8 } },
        { siteId: 'beta', examples: '10', metrics: { accuracy: 0.75 } },
      ],
    })
    const text = formatSiteMetrics({ rounds: [r] })
    expect(text).not.toMatch(/AUC|loss|!/)
    expect(formatSiteMetrics({ rounds: [round({})] })).toBe('')
  })
})
