/** `fedlineage status`'s site-control lines: each approval against the spec that runs, each declined round. */
import { describe, expect, it } from 'vitest'
import { formatSiteControl } from '../../../coordinator/index.ts'
import type { RoundStatusResponse__Output, RoundSummary__Output } from '../../../protos/index.ts'

const running = Buffer.alloc(32, 0xab)
const other = Buffer.alloc(32, 0x01)

function status(over: Partial<Pick<RoundStatusResponse__Output, 'approvals' | 'rounds'>>): Pick<RoundStatusResponse__Output, 'approvals' | 'rounds' | 'specHash'> {
  return { specHash: running, approvals: [], rounds: [], ...over }
}

describe('formatSiteControl', () => {
  it('says whether each approval is of the spec that runs, and lists each declined round with its code', () => {
    // Prepare
    const round = { round: '2', declined: [{ siteId: 'valley', code: 'SITE_POLICY_MIN_RECORDS', reason: '8 records, the policy wants 10' }] } as unknown as RoundSummary__Output
    const s = status({
      approvals: [
        { siteId: 'city', specHash: running, logSeq: '7' },
        { siteId: 'heart', specHash: other, logSeq: '8' },
      ],
      rounds: [round],
    })

    // Execute
    const lines = formatSiteControl(s).split('\n')

    // Assert
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/city\s+approved spec abababababababab \(the spec that runs\) at log entry 7/)
    expect(lines[1]).toMatch(/heart\s+approved spec 0101010101010101 \(NOT the spec that runs\)/)
    expect(lines[2]).toMatch(/valley\s+declined round 2: SITE_POLICY_MIN_RECORDS: 8 records, the policy wants 10/)
  })

  it('is empty without approvals or declines', () => {
    expect(formatSiteControl(status({}))).toBe('')
  })
})
