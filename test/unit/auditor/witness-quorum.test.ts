import { describe, expect, it } from 'vitest'
import { checkWitnessQuorum, describeQuorum } from '../../../auditor/core/index.ts'
import { checkpointVerifierKey, cosignCheckpoint, cosignatureVerifierKey, logOrigin, parseWitnessPolicy, sha256, signCheckpoint, signerFromSeed, withCosignatures } from '../../../ledger/core/index.ts'

const coordinator = signerFromSeed(new Uint8Array(32).fill(1))
const [a, b, c] = [21, 22, 23].map((n) => signerFromSeed(new Uint8Array(32).fill(n))) as [ReturnType<typeof signerFromSeed>, ReturnType<typeof signerFromSeed>, ReturnType<typeof signerFromSeed>]
const origin = logOrigin('cardio-risk')
const signed = signCheckpoint(coordinator, { origin, size: 42, root: sha256(new Uint8Array([1])) })
const policy = `log ${checkpointVerifierKey(origin, coordinator.publicKey)}\nwitness A ${cosignatureVerifierKey(a.publicKey)}\nwitness B ${cosignatureVerifierKey(b.publicKey)}\nwitness C ${cosignatureVerifierKey(c.publicKey)}\ngroup hospitals 2 A B C\nquorum hospitals\n`
const base = { policyText: policy, checkpoint: signed, stored: [], coordinatorKey: coordinator.publicKey, origin, seq: 100 }

describe('checkWitnessQuorum', () => {
  it('passes with two of three cosignatures, counting lines in the note and cosignatures kept beside it', () => {
    // Prepare
    const inNote = withCosignatures(signed, [cosignCheckpoint(a, signed, 10)])
    // Execute
    const w = checkWitnessQuorum({ ...base, checkpoint: inNote, stored: [cosignCheckpoint(c, signed, 11)] })
    // Assert
    expect(w).toEqual({ quorum: 'hospitals', size: 42, cosignedBy: ['A', 'C'] })
  })

  it('fails with one cosignature, naming who cosigned and what the quorum needs', () => {
    // Execute / Assert
    expect(() => checkWitnessQuorum({ ...base, stored: [cosignCheckpoint(b, signed, 10)] })).toThrow(
      expect.objectContaining({ code: 'AUDIT_WITNESS_QUORUM_UNMET', seq: 100, message: expect.stringContaining('cosigned by B of the policy') }),
    )
  })

  it('counts no cosignature whose signature does not verify', () => {
    // Prepare
    const forged = { ...cosignCheckpoint(b, signed, 10), timestamp: 11 }
    // Execute / Assert
    expect(() => checkWitnessQuorum({ ...base, stored: [cosignCheckpoint(a, signed, 10), forged] })).toThrow(expect.objectContaining({ code: 'AUDIT_WITNESS_QUORUM_UNMET' }))
  })

  it('says no policy was set instead of passing a check', () => {
    // Execute
    const w = checkWitnessQuorum({ ...base, policyText: undefined })
    // Assert
    expect(w).toEqual({ cosignedBy: [] })
  })

  it('fails a policy that does not parse, or whose logs are not this log', () => {
    // Prepare
    const otherLog = policy.replace(/^log .*$/m, `log ${checkpointVerifierKey(origin, a.publicKey)}`)
    // Execute / Assert
    expect(() => checkWitnessQuorum({ ...base, policyText: 'quorum X\n' })).toThrow(expect.objectContaining({ code: 'AUDIT_WITNESS_POLICY_INVALID' }))
    expect(() => checkWitnessQuorum({ ...base, policyText: otherLog })).toThrow(expect.objectContaining({ code: 'AUDIT_WITNESS_POLICY_INVALID' }))
  })

  it('fails when a quorum is required and the source holds no checkpoint', () => {
    // Execute / Assert
    expect(() => checkWitnessQuorum({ ...base, checkpoint: undefined })).toThrow(expect.objectContaining({ code: 'AUDIT_WITNESS_QUORUM_UNMET' }))
  })

  it('describes nested quorums', () => {
    // Prepare
    const p = parseWitnessPolicy(
      `witness A ${cosignatureVerifierKey(a.publicKey)}\nwitness B ${cosignatureVerifierKey(b.publicKey)}\ngroup G any A B\nwitness C ${cosignatureVerifierKey(c.publicKey)}\ngroup Q all G C\nquorum Q\n`,
    )
    // Execute / Assert
    expect(describeQuorum(p)).toBe('all of (1 of A, B), C')
  })
})
