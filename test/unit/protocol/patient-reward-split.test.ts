import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeCanonical, fromHex, sha256, toHex } from '../../../ledger/core/index.ts'
import {
  PATIENT_REWARD_PROOF_FORMAT,
  apportion,
  checkPatientRewardBundle,
  makePatientRewardBundle,
  patientRewardLeafData,
  patientRewardsTreeOf,
  provePatientReward,
  splitToPatients,
  verifyPatientReward,
} from '../../../protocol/index.ts'

const pseudonym = (k: number) => sha256(new Uint8Array([7, k]))

describe('apportion', () => {
  it('pays floors, then the leftover to the largest remainders, ties by key', () => {
    // Prepare / Execute
    const r = apportion(10n, [
      { key: 'b', weight: 1n },
      { key: 'a', weight: 1n },
      { key: 'c', weight: 1n },
    ])
    // Assert: 3 each, the 1 left over to "a" (equal remainders, lowest key).
    expect(r).toEqual({ amounts: [3n, 4n, 3n], unallocated: 0n })
  })

  it('pays nothing when every weight is 0, and refuses broken preconditions', () => {
    expect(apportion(5n, [{ key: 'x', weight: 0n }])).toEqual({ amounts: [0n], unallocated: 5n })
    expect(() => apportion(-1n, [])).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
    expect(() => apportion(1n, [{ key: 'x', weight: -1n }])).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
    expect(() =>
      apportion(1n, [
        { key: 'x', weight: 1n },
        { key: 'x', weight: 1n },
      ]),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
  })
})

describe('splitToPatients', () => {
  it('sums exactly to the amount, sorted by pseudonym', () => {
    const weights = Array.from({ length: 7 }, (_, k) => ({ pseudonym: toHex(pseudonym(k)), weight: 1n }))
    const split = splitToPatients(100n, weights)
    expect(split.allocations.reduce((n, a) => n + a.amount, 0n)).toBe(100n)
    expect(split.allocations.map((a) => a.pseudonym)).toEqual(weights.map((w) => w.pseudonym).sort())
    for (const a of split.allocations) expect([14n, 15n]).toContain(a.amount)
  })
})

describe('patient rewards tree', () => {
  const allocations = Array.from({ length: 5 }, (_, k) => ({ pseudonym: toHex(pseudonym(k)), amount: BigInt(10 + k) }))
  const tree = patientRewardsTreeOf(allocations)

  it('hashes each leaf as RFC 6962 over canonical CBOR {p, a}', () => {
    // Known answer independent of the tree code: SHA-256(0x00 ‖ CBOR({a, p})).
    const a = tree.allocations[0]!
    const data = encodeCanonical({ p: fromHex(a.pseudonym), a: a.amount })
    expect(toHex(patientRewardLeafData(fromHex(a.pseudonym), a.amount))).toBe(toHex(data))
    expect(toHex(tree.leafHashes[0]!)).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([0]), data]))
        .digest('hex'),
    )
  })

  it("proves each patient's amount, and a mutated proof fails", () => {
    for (let k = 0; k < 5; k++) {
      const proof = provePatientReward(tree, pseudonym(k))!
      expect(proof.amount).toBe(BigInt(10 + k))
      expect(() => verifyPatientReward(proof, tree.root)).not.toThrow()
      expect(() => verifyPatientReward({ ...proof, amount: proof.amount + 1n }, tree.root)).toThrow(expect.objectContaining({ code: 'LEDGER_ROOT_MISMATCH' }))
      const bundle = makePatientRewardBundle(proof, tree.root, 60n)
      expect(bundle.format).toBe(PATIENT_REWARD_PROOF_FORMAT)
      expect(checkPatientRewardBundle(bundle, pseudonym(k), tree.root).amount).toBe(BigInt(10 + k))
      expect(() => checkPatientRewardBundle(bundle, pseudonym(k + 1))).toThrow()
      expect(() => checkPatientRewardBundle({ ...bundle, index: bundle.index ^ 1 }, pseudonym(k))).toThrow()
      expect(() => checkPatientRewardBundle({ ...bundle, count: bundle.count * 2 }, pseudonym(k))).toThrow()
      expect(() => checkPatientRewardBundle(bundle, pseudonym(k), sha256(new Uint8Array(1)))).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
      expect(() => checkPatientRewardBundle({ ...bundle, extra: 1 }, pseudonym(k))).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
    }
    expect(provePatientReward(tree, pseudonym(99))).toBeUndefined()
  })

  it('refuses a pseudonym listed twice', () => {
    expect(() => patientRewardsTreeOf([...allocations, allocations[0]!])).toThrow(expect.objectContaining({ code: 'PROTOCOL_PATIENT_REWARD_INVALID' }))
  })
})
