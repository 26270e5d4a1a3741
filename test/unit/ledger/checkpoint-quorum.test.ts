/**
 * A proof's checkpoint held to a c2sp.org/tlog-policy (ledger/core/checkpoint-quorum.ts):
 * the cosignature lines in the note that verify count, by policy name; a
 * quorum they do not meet, a forged line, or a policy of another log fail
 * with LEDGER_WITNESS_QUORUM_NOT_MET.
 */
import { describe, expect, it } from 'vitest'
import {
  checkpointVerifierKey,
  cosignCheckpoint,
  cosignatureVerifierKey,
  parseWitnessPolicy,
  policyCosigners,
  requireCheckpointQuorum,
  signCheckpoint,
  signerFromSeed,
  withCosignatures,
} from '../../../ledger/core/index.ts'

const LOG = signerFromSeed(new Uint8Array(32).fill(3))
const ORIGIN = 'fedlineage.example/study/quorum'
const [A, B, C] = [11, 12, 13].map((n) => signerFromSeed(new Uint8Array(32).fill(n))) as [ReturnType<typeof signerFromSeed>, ReturnType<typeof signerFromSeed>, ReturnType<typeof signerFromSeed>]
const CHECKPOINT = signCheckpoint(LOG, { origin: ORIGIN, size: 5, root: new Uint8Array(32).fill(7) })
const POLICY = parseWitnessPolicy(
  [
    `log ${checkpointVerifierKey(ORIGIN, LOG.publicKey)}`,
    `witness A ${cosignatureVerifierKey(A.publicKey)}`,
    `witness B ${cosignatureVerifierKey(B.publicKey)}`,
    `witness C ${cosignatureVerifierKey(C.publicKey)}`,
    'group hospitals 2 A B C',
    'quorum hospitals',
    '',
  ].join('\n'),
)
const cosigned = (...by: (typeof A)[]) =>
  withCosignatures(
    CHECKPOINT,
    by.map((w) => cosignCheckpoint(w, CHECKPOINT, 1_700_000_000)),
  )

describe('a checkpoint held to a witness policy', () => {
  it('passes with 2 of 3 cosigners and names them', () => {
    expect(requireCheckpointQuorum(POLICY, cosigned(C, A), LOG.publicKey, ORIGIN)).toEqual(['A', 'C'])
  })

  it('fails with 1 of 3, naming who cosigned and the quorum', () => {
    expect(() => requireCheckpointQuorum(POLICY, cosigned(B), LOG.publicKey, ORIGIN)).toThrow(
      expect.objectContaining({ code: 'LEDGER_WITNESS_QUORUM_NOT_MET', message: expect.stringContaining('cosigned by B of the policy') }),
    )
  })

  it('does not count a cosignature line that does not verify', () => {
    // B's line taken from another checkpoint's cosignature: same key and name, wrong signature.
    const other = signCheckpoint(LOG, { origin: ORIGIN, size: 6, root: new Uint8Array(32).fill(8) })
    const forged = withCosignatures(CHECKPOINT, [cosignCheckpoint(A, CHECKPOINT, 1), { ...cosignCheckpoint(B, other, 1) }])
    expect(policyCosigners(POLICY, forged)).toEqual(['A'])
    expect(() => requireCheckpointQuorum(POLICY, forged, LOG.publicKey, ORIGIN)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_QUORUM_NOT_MET' }))
  })

  it("fails when the policy lists logs and not the proof's", () => {
    const other = signerFromSeed(new Uint8Array(32).fill(4))
    expect(() => requireCheckpointQuorum(POLICY, cosigned(A, B), other.publicKey, ORIGIN)).toThrow(
      expect.objectContaining({ code: 'LEDGER_WITNESS_QUORUM_NOT_MET', message: expect.stringContaining('none of them the proof') }),
    )
  })

  it('passes "quorum none" with no cosignature', () => {
    expect(requireCheckpointQuorum(parseWitnessPolicy('quorum none\n'), CHECKPOINT, LOG.publicKey, ORIGIN)).toEqual([])
  })
})
