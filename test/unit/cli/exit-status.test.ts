/** The exit statuses scripts branch on: 0 passed, 1 failed (an audit's fault included), 2 bad input, 3 a partial audit. */
import { describe, expect, it } from 'vitest'
import { EXIT_FAILURE, EXIT_PARTIAL, EXIT_USAGE, exitStatusOf } from '../../../cli/index.ts'

describe('exitStatusOf', () => {
  it.each([
    { code: 'AUDIT_PARTIAL', want: EXIT_PARTIAL },
    { code: 'AUDIT_MODEL_MISMATCH', want: EXIT_FAILURE },
    { code: 'AUDIT_ENTRY_MALFORMED', want: EXIT_FAILURE },
    { code: 'COORD_CONFIG_INVALID', want: EXIT_USAGE },
    { code: 'LEDGER_IDENTITY_INVALID', want: EXIT_USAGE },
    { code: 'LEDGER_ENTRY_MALFORMED', want: EXIT_USAGE },
    { code: 'LEDGER_LOCKED', want: EXIT_FAILURE },
  ])('$code exits $want', ({ code, want }) => {
    expect(exitStatusOf(code)).toBe(want)
  })

  it('keeps 3 for a partial audit, apart from failure and usage', () => {
    expect(new Set([EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL]).size).toBe(3)
    expect(EXIT_PARTIAL).toBe(3)
  })
})
