/**
 * The study's replication policy, decided from the log alone: who is a
 * participant, what each blob is, and who may fetch it.
 */
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../../ledger/index.ts'
import { blobAudience, mayFetch, replicaReader, studyReplicaAccess } from '../../../protocol/index.ts'
import { foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'

const auditor = testSigner(60)
const study = syntheticStudy({ study: { auditors: [{ name: 'regulator', publicKey: toHex(auditor.publicKey) }] } })
const state = foldDrafts(study.drafts)
const [alpha, beta] = study.sites
const stranger = testSigner(61)
const deltaOf = (site: string, round = 1) => state.rounds.get(round)!.accepted.get(site)!.delta

describe('who reads a replica', () => {
  it('names the coordinator, the hub, each enrolled site and each named auditor, and no one else', () => {
    expect(replicaReader(state, study.coordinator.publicKey, study.coordinator.publicKey)).toEqual({ role: 'coordinator' })
    expect(replicaReader(state, study.coordinator.publicKey, study.hub.publicKey)).toEqual({ role: 'hub' })
    expect(replicaReader(state, study.coordinator.publicKey, alpha!.signer.publicKey)).toEqual({ role: 'site', site: alpha!.id })
    expect(replicaReader(state, study.coordinator.publicKey, auditor.publicKey)).toEqual({ role: 'auditor' })
    expect(replicaReader(state, study.coordinator.publicKey, stranger.publicKey)).toBeUndefined()
    expect(replicaReader(state, study.coordinator.publicKey, undefined)).toBeUndefined()
  })

  it('before the study is in the log, knows only the coordinator', () => {
    const empty = foldDrafts([])
    expect(replicaReader(empty, study.coordinator.publicKey, study.coordinator.publicKey)).toEqual({ role: 'coordinator' })
    expect(replicaReader(empty, study.coordinator.publicKey, alpha!.signer.publicKey)).toBeUndefined()
  })
})

describe('what a blob is', () => {
  it('tells models (initial and committed) from each site’s deltas from everything else', () => {
    expect(blobAudience(state, state.genesis)).toBe('participants')
    expect(blobAudience(state, state.modelOfRound(2)!)).toBe('participants')
    expect(blobAudience(state, deltaOf(alpha!.id, 2))).toEqual({ site: alpha!.id })
    expect(blobAudience(state, sha256(new Uint8Array([1])))).toBe('coordinator-and-auditors')
  })
})

describe('the policy', () => {
  const access = studyReplicaAccess(() => state, study.coordinator.publicKey)

  it('serves entries to participants only', () => {
    for (const s of [study.coordinator, study.hub, alpha!.signer, auditor]) expect(access.mayReadEntries(s.publicKey)).toBe(true)
    expect(access.mayReadEntries(stranger.publicKey)).toBe(false)
    expect(access.mayReadEntries(undefined)).toBe(false)
  })

  it("serves models to participants, a site's deltas to it, the coordinator and the auditors, and nothing to strangers", () => {
    const model = state.modelOfRound(1)!
    const a = deltaOf(alpha!.id)
    const other = sha256(new Uint8Array([2]))
    const table = [study.coordinator, auditor, study.hub, alpha!.signer, beta!.signer, stranger].map((s) => [
      access.mayFetchBlob(s.publicKey, model),
      access.mayFetchBlob(s.publicKey, a),
      access.mayFetchBlob(s.publicKey, other),
    ])
    expect(table).toEqual([
      [true, true, true], // coordinator
      [true, true, true], // auditor
      [true, false, false], // hub
      [true, true, false], // alpha: its own delta
      [true, false, false], // beta: not alpha's delta
      [false, false, false], // stranger
    ])
    expect(mayFetch(undefined, 'participants')).toBe(false)
  })
})
