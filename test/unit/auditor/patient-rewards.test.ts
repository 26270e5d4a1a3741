import { describe, expect, it } from 'vitest'
import { checkPatientRewardsEntry } from '../../../auditor/core/index.ts'
import { sha256 } from '../../../ledger/core/index.ts'
import { SYNTHETIC_PATIENTS, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { ENTRY_KINDS, embedStatement, lineageBody, signStatement, type PatientRewardsStatement } from '../../../protocol/index.ts'

describe('checkPatientRewardsEntry', () => {
  // Prepare: one committed round with consent, rewarded 100/200/300.
  const s = syntheticStudy({ rounds: 1, complete: false, consent: {} })
  const rewarded = {
    kind: ENTRY_KINDS.ROUND_REWARDED,
    timeMs: 1,
    body: lineageBody(ENTRY_KINDS.ROUND_REWARDED, {
      round: 1,
      method: 'examples',
      metric: null,
      pool: 600n,
      seed: 0,
      unallocated: 0n,
      allocations: s.sites.map((site, i) => ({ site: site.id, amount: BigInt(100 * (i + 1)), raw: 1, payable: 1 })),
    }),
  }
  const state = foldDrafts([...s.drafts, rewarded])
  const [alpha, beta] = s.sites
  const statement = (patch: Partial<PatientRewardsStatement>) =>
    embedStatement(
      signStatement(alpha!.signer, {
        t: 'patient-rewards',
        study: s.spec.id,
        round: 1,
        site: alpha!.id,
        amount: 100n,
        count: SYNTHETIC_PATIENTS,
        root: sha256(new Uint8Array([1])),
        time: 5,
        ...patch,
      }),
    )

  it.each([
    ['an honest entry', { round: 1, site: alpha!.id, statement: statement({}) }, undefined],
    ['another amount', { round: 1, site: alpha!.id, statement: statement({ amount: 99n }) }, { code: 'AUDIT_PATIENT_REWARDS_AMOUNT_MISMATCH', expected: '100', calculated: '99' }],
    ['another count', { round: 1, site: alpha!.id, statement: statement({ count: 3 }) }, { code: 'AUDIT_PATIENT_REWARDS_COUNT_MISMATCH', expected: SYNTHETIC_PATIENTS, calculated: 3 }],
    ['an entry naming another site than its statement', { round: 1, site: beta!.id, statement: statement({}) }, { code: 'AUDIT_PATIENT_REWARDS_INVALID' }],
    ['a statement that does not read', { round: 1, site: alpha!.id, statement: { body: new Uint8Array([0xa0]), sig: new Uint8Array(64) } }, { code: 'AUDIT_PATIENT_REWARDS_INVALID' }],
  ] as const)('%s', (_what, body, want) => {
    // Execute / Assert
    const run = () => checkPatientRewardsEntry(42, state, body)
    if (want === undefined) expect(run).not.toThrow()
    else expect(run).toThrow(expect.objectContaining({ ...want, seq: 42 }))
  })
})
