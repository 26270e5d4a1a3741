/** The line a failed command prints: which code an error carries, and `CODE: message`. */
import { describe, expect, it } from 'vitest'
import { UNCODED_ERROR, errorCode, formatCliError } from '../../../cli/index.ts'

/** An error of ours: `code` is an instance field copied from the class's static code. */
class SampleError extends Error {
  static readonly code = 'TEST_SAMPLE'
  readonly code = SampleError.code
}

/** What an RPC client throws: the peer's stable code beside a transport code. */
const remote = Object.assign(new Error('round 3 is closed'), { code: 'ERR_REMOTE', remoteCode: 'COORD_ROUND_CLOSED' })

describe('errorCode', () => {
  it.each([
    { desc: 'an error of ours gives its code', err: new SampleError('x'), want: 'TEST_SAMPLE' },
    { desc: 'a Node error gives its errno code', err: Object.assign(new Error('no such file'), { code: 'ENOENT' }), want: 'ENOENT' },
    { desc: "a remote code wins over the error's own", err: remote, want: 'COORD_ROUND_CLOSED' },
    { desc: 'an empty remote code falls back to the own code', err: Object.assign(new SampleError('x'), { remoteCode: '' }), want: 'TEST_SAMPLE' },
    { desc: 'a numeric code (a gRPC status) is no stable code', err: Object.assign(new Error('unavailable'), { code: 14 }), want: UNCODED_ERROR },
    { desc: 'an empty code is none', err: Object.assign(new Error('x'), { code: '' }), want: UNCODED_ERROR },
    { desc: 'a plain Error has none', err: new TypeError('boom'), want: UNCODED_ERROR },
    { desc: 'a plain object may carry one', err: { code: 'TEST_PLAIN' }, want: 'TEST_PLAIN' },
    { desc: 'a thrown string has none', err: 'boom', want: UNCODED_ERROR },
    { desc: 'null has none', err: null, want: UNCODED_ERROR },
    { desc: 'undefined has none', err: undefined, want: UNCODED_ERROR },
  ])('$desc', ({ err, want }) => {
    expect(errorCode(err)).toBe(want)
  })

  it('calls an uncoded error INTERNAL', () => {
    expect(UNCODED_ERROR).toBe('INTERNAL')
  })
})

describe('formatCliError', () => {
  it.each([
    { desc: 'code and message', err: new SampleError('entry 4: prev is wrong'), want: 'TEST_SAMPLE: entry 4: prev is wrong' },
    { desc: "the remote peer's code with the local message", err: remote, want: 'COORD_ROUND_CLOSED: round 3 is closed' },
    { desc: 'an uncoded Error', err: new TypeError('boom'), want: 'INTERNAL: boom' },
    { desc: 'a thrown string, as text', err: 'boom', want: 'INTERNAL: boom' },
    { desc: 'a thrown plain object with a code, as text', err: { code: 'TEST_PLAIN' }, want: 'TEST_PLAIN: [object Object]' },
  ])('$desc', ({ err, want }) => {
    expect(formatCliError(err)).toBe(want)
  })
})
