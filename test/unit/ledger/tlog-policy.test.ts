import { describe, expect, it } from 'vitest'
import { checkpointVerifierKey, cosignatureVerifierKey, logOrigin, parseWitnessPolicy, quorumSatisfied, signerFromSeed } from '../../../ledger/core/index.ts'

const logVkey = checkpointVerifierKey(logOrigin('cardio-risk'), signerFromSeed(new Uint8Array(32).fill(1)).publicKey)
const w = (i: number) => cosignatureVerifierKey(signerFromSeed(new Uint8Array(32).fill(10 + i)).publicKey)

// The spec's example policy (c2sp.org/tlog-policy, "Example policy"), with real keys in place of the elided ones.
const SPEC_EXAMPLE = `log ${logVkey}

witness X1 ${w(1)}
witness X2 ${w(2)}
witness X3 ${w(3)}
group X-witnesses 2 X1 X2 X3

witness Y1 ${w(4)}
witness Y2 ${w(5)}
witness Y3 ${w(6)}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`

describe('parseWitnessPolicy (c2sp.org/tlog-policy)', () => {
  it('parses the spec example: one log, six witnesses, three groups, quorum X-and-Y', () => {
    // Execute
    const p = parseWitnessPolicy(SPEC_EXAMPLE)
    // Assert
    expect(p.logs.map((l) => l.vkey)).toEqual([logVkey])
    expect(p.witnesses.map((x) => x.name)).toEqual(['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3'])
    expect(p.groups).toEqual([
      { name: 'X-witnesses', threshold: 2, members: ['X1', 'X2', 'X3'] },
      { name: 'Y-witnesses', threshold: 1, members: ['Y1', 'Y2', 'Y3'] },
      { name: 'X-and-Y', threshold: 2, members: ['X-witnesses', 'Y-witnesses'] },
    ])
    expect(p.quorum).toBe('X-and-Y')
  })

  it('evaluates the example quorum: two X witnesses and one Y witness', () => {
    // Prepare
    const p = parseWitnessPolicy(SPEC_EXAMPLE)
    // Execute / Assert
    expect(quorumSatisfied(p, new Set(['X1', 'X3', 'Y2']))).toBe(true)
    expect(quorumSatisfied(p, new Set(['X1', 'Y1', 'Y2', 'Y3']))).toBe(false)
    expect(quorumSatisfied(p, new Set(['X1', 'X2', 'X3']))).toBe(false)
    expect(quorumSatisfied(p, new Set())).toBe(false)
  })

  it('accepts comments, tabs, surrounding whitespace, URLs, and quorum none', () => {
    // Prepare
    const text = `  # the hospitals' witnesses\n\twitness A\t${w(1)}  http://127.0.0.1:9000  \n\nquorum none\n`
    // Execute
    const p = parseWitnessPolicy(text)
    // Assert
    expect(p.witnesses[0]).toMatchObject({ name: 'A', url: 'http://127.0.0.1:9000' })
    expect(quorumSatisfied(p, new Set())).toBe(true)
  })

  it('a single witness as quorum', () => {
    // Prepare
    const p = parseWitnessPolicy(`witness A ${w(1)}\nquorum A\n`)
    // Execute / Assert
    expect(quorumSatisfied(p, new Set(['A']))).toBe(true)
    expect(quorumSatisfied(p, new Set(['B']))).toBe(false)
  })

  it.each([
    ['no quorum line', `witness A ${w(1)}\n`, 0],
    ['two quorum lines', `witness A ${w(1)}\nquorum A\nquorum A\n`, 3],
    ['quorum of an undefined name', 'quorum B\n', 1],
    ['a group member defined later', `group G any A\nwitness A ${w(1)}\nquorum G\n`, 1],
    ['a group member listed twice', `witness A ${w(1)}\ngroup G any A A\nquorum G\n`, 2],
    ['threshold above the members', `witness A ${w(1)}\ngroup G 2 A\nquorum G\n`, 2],
    ['threshold 0', `witness A ${w(1)}\ngroup G 0 A\nquorum G\n`, 2],
    ['threshold with a leading zero', `witness A ${w(1)}\nwitness B ${w(2)}\ngroup G 01 A B\nquorum G\n`, 3],
    ['a group without members', 'group G any\nquorum none\n', 1],
    ['none as a group member', `witness A ${w(1)}\ngroup G any A none\nquorum G\n`, 2],
    ['defining the name none', `witness none ${w(1)}\nquorum none\n`, 1],
    ['a name defined twice', `witness A ${w(1)}\nwitness A ${w(2)}\nquorum A\n`, 2],
    ['two witnesses with one key', `witness A ${w(1)}\nwitness B ${w(1)}\nquorum A\n`, 2],
    ['a witness key of the log type', `witness A ${logVkey}\nquorum A\n`, 1],
    ['a log key of the witness type', `log ${w(1)}\nquorum none\n`, 1],
    ['a bad vkey', 'witness A nope+00000000+AAAA\nquorum none\n', 1],
    ['an unknown keyword', 'witnesses A\nquorum none\n', 1],
    ['a control character', 'quorum none\r\n', 1],
  ])('refuses %s', (_desc, text, line) => {
    // Execute / Assert
    expect(() => parseWitnessPolicy(text)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_POLICY_INVALID', line }))
  })
})
