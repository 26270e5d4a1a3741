import { describe, expect, it } from 'vitest'
import { sha256 } from '../../../ledger/core/index.ts'
import { SYNTHETIC_PATIENTS, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/federation.ts'
import {
  ENTRY_KINDS,
  checkPatientRewards,
  embedStatement,
  lineageBody,
  readLineageRecord,
  type StudyState,
  signStatement,
  type PatientRewardsStatement,
  type SignedStatement,
} from '../../../protocol/index.ts'

/** A one-round synthetic study with consent, rewarded 100/200/300 credits to its three sites. */
function rewardedState(): { state: StudyState; sites: ReturnType<typeof syntheticStudy>['sites']; study: string } {
  const s = syntheticStudy({ rounds: 1, consent: {} })
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
  return { state: foldDrafts([...s.drafts, rewarded]), sites: s.sites, study: s.spec.id }
}

describe('checkPatientRewards', () => {
  const { state, sites, study } = rewardedState()
  const [alpha] = sites
  const honest: PatientRewardsStatement = { t: 'patient-rewards', study, round: 1, site: alpha!.id, amount: 100n, count: SYNTHETIC_PATIENTS, root: sha256(new Uint8Array([1])), time: 5 }
  const sign = (patch: Partial<PatientRewardsStatement>, signer = alpha!.signer): SignedStatement => signStatement(signer, { ...honest, ...patch })

  it("admits the site's credit over its consent count", () => {
    expect(checkPatientRewards(state, sign({})).amount).toBe(100n)
  })

  it.each([
    ['another amount', { amount: 101n }, undefined, 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH'],
    ['another count', { count: SYNTHETIC_PATIENTS - 1 }, undefined, 'COORD_PATIENT_REWARDS_COUNT_MISMATCH'],
    ['a round not rewarded', { round: 2 }, undefined, 'COORD_PATIENT_REWARDS_INVALID'],
    ['an unenrolled site', { site: 'nowhere' }, undefined, 'COORD_UNKNOWN_SITE'],
    ['another study', { study: 'other' }, undefined, 'COORD_STUDY_MISMATCH'],
    ['another key', {}, testSigner(77), 'COORD_BAD_SIGNATURE'],
  ] as const)('refuses %s', (_what, patch, signer, code) => {
    expect(() => checkPatientRewards(state, sign(patch, signer))).toThrow(expect.objectContaining({ code }))
  })

  it('refuses a replay and a second statement for the same site and round once one is logged', () => {
    // Prepare: fold the honest statement's entry into a fresh state.
    const { state: s2 } = rewardedState()
    const signed = sign({})
    s2.apply(
      readLineageRecord({
        seq: s2.entries,
        kind: ENTRY_KINDS.PATIENT_REWARDS,
        timeMs: 9,
        body: lineageBody(ENTRY_KINDS.PATIENT_REWARDS, { round: 1, site: alpha!.id, statement: embedStatement(signed) }),
      }),
    )
    // Execute / Assert
    expect(s2.rounds.get(1)!.patientRewards.get(alpha!.id)).toMatchObject({ amount: 100n, count: SYNTHETIC_PATIENTS })
    expect(() => checkPatientRewards(s2, signed)).toThrow(expect.objectContaining({ code: 'COORD_UPDATE_REPLAYED' }))
    expect(() => checkPatientRewards(s2, sign({ time: 6 }))).toThrow(expect.objectContaining({ code: 'COORD_PATIENT_REWARDS_INVALID' }))
  })
})
