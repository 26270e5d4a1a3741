/**
 * coordinator/log-format.ts: the hub's log for people. Round events are said
 * in words from the structured record (an abandoned round names what it had,
 * what it needed and who is missing); other records show message and fields;
 * JSON stays the default off a terminal.
 */
import { describe, expect, it } from 'vitest'
import { prettyLine, resolveLogFormat } from '../../../coordinator/index.ts'

const T = Date.UTC(2026, 11, 6, 16, 5, 12)

describe('prettyLine', () => {
  it.each([
    [{ msg: 'round opened', level: 30, round: 3, sites: ['site-a', 'site-b'], deadline: T + 60_000 }, '16:05:12 INFO  round 3 opened: 2 sites (site-a, site-b), deadline 16:06:12 UTC'],
    [{ msg: 'update accepted', level: 30, round: 3, site: 'site-a', accepted: 1, planned: 2 }, '16:05:12 INFO  round 3: update accepted from site-a (1 of 2)'],
    [
      { msg: 'update rejected', level: 40, round: 3, site: 'site-b', code: 'COORD_WRONG_BASE_MODEL', reason: 'base model 1234…, want abcd…' },
      '16:05:12 WARN  round 3: update from site-b refused: COORD_WRONG_BASE_MODEL: base model 1234…, want abcd…',
    ],
    [
      { msg: 'round committed', level: 30, round: 3, sites: ['site-a', 'site-b'], examples: 480, trainLoss: 0.41234, model: '00aa11bb22cc33dd' },
      '16:05:12 INFO  round 3 committed: 2 sites (site-a, site-b), 480 examples, train loss 0.4123, model 00aa11bb22cc33dd',
    ],
    [
      { msg: 'round evaluated', level: 30, round: 3, sites: ['site-a', 'site-b'], metrics: { auc: 0.81, accuracy: 0.755, loss: 0.52 } },
      '16:05:12 INFO  round 3 evaluated by 2 sites: weighted loss 0.520, accuracy 0.755, AUC 0.810',
    ],
    [
      {
        msg: 'round abandoned',
        level: 40,
        round: 3,
        reason: 'deadline passed with 1 accepted updates, the study needs 2',
        accepted: 1,
        required: 2,
        planned: 2,
        missing: ['site-b'],
        declined: [],
        atDeadline: true,
      },
      '16:05:12 WARN  round 3 abandoned: 1 of 2 required updates by the deadline (missing: site-b); the model stays where it was',
    ],
    [
      { msg: 'round abandoned', level: 40, round: 4, reason: 'every planned site answered', accepted: 1, required: 2, planned: 2, missing: [], declined: ['site-c'], atDeadline: false },
      '16:05:12 WARN  round 4 abandoned: 1 of 2 required updates (declined: site-c); the model stays where it was',
    ],
    [{ msg: 'round aborted', level: 40, round: 5, reason: 'wrong cohort', accepted: 1, planned: 3 }, '16:05:12 WARN  round 5 aborted by the hub: wrong cohort (1 of 3 updates were in; none is used)'],
    [
      { msg: 'request refused', level: 40, rpc: 'Hello', site: 'intruder', peer: '10.0.0.7:4411', code: 'COORD_UNKNOWN_SITE', reason: 'site "intruder" is not enrolled' },
      '16:05:12 WARN  refused Hello from intruder at 10.0.0.7:4411: COORD_UNKNOWN_SITE: site "intruder" is not enrolled',
    ],
    [
      { msg: 'site disconnected', level: 30, site: 'site-a', connectedMs: 185_000, reason: 'cancelled by the site (it stopped, or the connection was lost)' },
      '16:05:12 INFO  site-a disconnected after 3m 5s: cancelled by the site (it stopped, or the connection was lost)',
    ],
    [{ msg: 'coordinator listening', level: 30, address: '127.0.0.1:50051', entries: 12 }, '16:05:12 INFO  coordinator listening  address=127.0.0.1:50051 entries=12'],
  ])('%j', (record, line) => {
    expect(prettyLine({ time: T, pid: 1, hostname: 'hub', ...record })).toBe(line)
  })
})

describe('resolveLogFormat', () => {
  it('is pretty on a terminal and JSON elsewhere unless told, and refuses an unknown format', () => {
    expect([resolveLogFormat(undefined, true), resolveLogFormat('auto', false), resolveLogFormat('json', true), resolveLogFormat('pretty', false)]).toEqual(['pretty', 'json', 'json', 'pretty'])
    expect(() => resolveLogFormat('yaml', true)).toThrow(expect.objectContaining({ code: 'COORD_CONFIG_INVALID' }))
  })
})
