/**
 * The audit of consent (auditor/core/consent.ts through replay.ts) over a
 * synthetic 3-round study with consent in which beta-hospital's patient 3
 * withdraws before round 2: the honest log passes and reports each round's
 * consent roots; each way a dishonest site (re-signing its envelope) or a
 * dishonest coordinator (re-signing entries) can break the rule fails with
 * its AUDIT_CONSENT_* code at the entry that breaks it.
 */
import { describe, expect, it } from 'vitest'
import { replayLog } from '../../../auditor/index.ts'
import { sha256, toHex, type CanonicalValue, type EntryDraft } from '../../../ledger/core/index.ts'
import { SYNTHETIC_STUDY, draftRecords, findRecord, memorySource, signLog, syntheticConsentLeaf, syntheticPseudonym, syntheticStudy, withBody, type SyntheticStudy } from '../../helpers/audit.ts'
import {
  ENTRY_KINDS,
  embedStatement,
  lineageBody,
  consentTreeOf,
  decodeStatement,
  encodeConsentClaim,
  proveConsentNonInclusion,
  readConsentClaim,
  signStatement,
  type ConsentClaim,
} from '../../../protocol/index.ts'

const CONSENT = { consent: { purpose: 'HRESCH' }, data: { ...SYNTHETIC_STUDY.data, patientIdColumn: 'pid' }, rounds: 3 }
const SITE = 1
const honestStudy = () => syntheticStudy({ study: CONSENT, consent: { revocations: [{ site: SITE, patient: 3, round: 2 }] } })

async function audit(study: SyntheticStudy) {
  return replayLog(memorySource(signLog(study.coordinator, study.drafts), study.blobs))
}

/** The study with the consent value of site `siteIndex`'s round-`round` envelope replaced, re-signed by the site (a dishonest site). */
function withConsent(study: SyntheticStudy, round: number, siteIndex: number, consent: (claim: ConsentClaim) => CanonicalValue | undefined): SyntheticStudy {
  const site = study.sites[siteIndex]!
  const records = draftRecords(study.drafts)
  const update = findRecord(records, 'update-accepted', (r) => r.body.round === round && r.body.site === site.id)
  const commit = findRecord(records, 'round-committed', (r) => r.body.round === round)
  const { ext, ...statement } = decodeStatement('update', update.body.envelope.body)
  const value = consent(readConsentClaim(ext!['consent']))
  const envelope = signStatement(site.signer, { ...statement, ...(value === undefined ? {} : { ext: { consent: value } }) })
  const drafts = [...study.drafts]
  drafts[update.seq] = withBody(drafts[update.seq]!, { envelope: embedStatement(envelope) })
  const inputs = commit.body.inputs.map((i) => (i.site === site.id ? { ...i, envelope: sha256(envelope.body) } : i))
  drafts[commit.seq] = withBody(drafts[commit.seq]!, { inputs })
  return { ...study, drafts }
}

/** The study with its drafts edited by the coordinator (`edit` returns the new list). */
function withDrafts(study: SyntheticStudy, edit: (drafts: EntryDraft[]) => EntryDraft[]): SyntheticStudy {
  return { ...study, drafts: edit([...study.drafts]) }
}

const records = draftRecords(honestStudy().drafts)
const revokedSeq = findRecord(records, 'consent-revoked').seq
const revoked = syntheticPseudonym(SITE, 3)

describe('the audit of consent', () => {
  it("passes an honest log and reports each round's consent roots and revocations", async () => {
    // Execute
    const { report, error } = await audit(honestStudy())

    // Assert
    expect(error).toBeUndefined()
    expect(report.rounds.map((r) => r.revocations)).toEqual([0, 1, 0])
    expect(report.rounds.map((r) => r.consent!.map((c) => c.count))).toEqual([
      [10, 10, 10],
      [10, 9, 10],
      [10, 9, 10],
    ])
    const tree = consentTreeOf(
      Array.from({ length: 10 }, (_, k) => k)
        .filter((k) => k !== 3)
        .map((k) => syntheticConsentLeaf(SITE, k)),
    )
    expect(report.rounds[2]!.consent![SITE]!.root).toBe(toHex(tree.root))
  })

  it('fails a later root that includes the revoked pseudonym (AUDIT_CONSENT_COUNT_MISMATCH / _PROOF_INVALID)', async () => {
    // Prepare: round 3's tree of all 10 patients, with the proof of the honest tree.
    const full = consentTreeOf(Array.from({ length: 10 }, (_, k) => syntheticConsentLeaf(SITE, k)))
    const counted = withConsent(honestStudy(), 3, SITE, (c) => encodeConsentClaim({ ...c, root: full.root, count: full.count }))
    const rooted = withConsent(honestStudy(), 3, SITE, (c) => encodeConsentClaim({ ...c, root: full.root }))
    const update3 = findRecord(records, 'update-accepted', (r) => r.body.round === 3 && r.body.site === honestStudy().sites[SITE]!.id)

    // Execute
    const a = await audit(counted)
    const b = await audit(rooted)

    // Assert
    expect(a.error).toMatchObject({ code: 'AUDIT_CONSENT_COUNT_MISMATCH', seq: update3.seq, expected: 10, calculated: 9 })
    expect(b.error).toMatchObject({ code: 'AUDIT_CONSENT_PROOF_INVALID', seq: update3.seq, reason: 'LEDGER_ROOT_MISMATCH' })
    expect(b.report.failure?.message).toContain(toHex(revoked))
  })

  it('fails a later envelope whose non-inclusion proof is dropped (AUDIT_CONSENT_PROOF_MISSING)', async () => {
    // Prepare: round 3 still reports the revocation, but proves nothing.
    const dropped = withConsent(honestStudy(), 3, SITE, (c) => encodeConsentClaim({ ...c, nonInclusion: [] }))
    const silent = withConsent(honestStudy(), 3, SITE, (c) => encodeConsentClaim({ ...c, nonInclusion: [], revoked: [] }))

    // Execute / Assert
    expect((await audit(dropped)).error).toMatchObject({ code: 'AUDIT_CONSENT_PROOF_MISSING', pseudonym: revoked })
    expect((await audit(silent)).error).toMatchObject({ code: 'AUDIT_CONSENT_PROOF_MISSING', pseudonym: revoked })
  })

  it('fails a malformed proof (AUDIT_CONSENT_MALFORMED) and a missing claim (AUDIT_CONSENT_MISSING)', async () => {
    // Prepare
    const malformed = withConsent(honestStudy(), 3, SITE, (c) => {
      const value = encodeConsentClaim(c) as Record<string, CanonicalValue>
      const [proof] = value['nonInclusion'] as Record<string, CanonicalValue>[]
      return { ...value, nonInclusion: [{ ...proof!, left: { ...(proof!['left'] as Record<string, CanonicalValue>), path: [new Uint8Array(5)] } }] }
    })
    const missing = withConsent(honestStudy(), 1, 0, () => undefined)

    // Execute / Assert
    expect((await audit(malformed)).error).toMatchObject({ code: 'AUDIT_CONSENT_MALFORMED' })
    expect((await audit(missing)).error).toMatchObject({ code: 'AUDIT_CONSENT_MISSING' })
  })

  it('fails when the coordinator drops, alters, invents or misplaces a revocation (AUDIT_CONSENT_REVOCATION_MISMATCH)', async () => {
    // Prepare
    const drop = withDrafts(honestStudy(), (d) => d.filter((_, i) => i !== revokedSeq))
    const retime = withDrafts(honestStudy(), (d) => d.map((x, i) => (i === revokedSeq ? withBody(x, { time: 1 }) : x)))
    const invented = withDrafts(honestStudy(), (d) => {
      const extra = withBody(d[revokedSeq]!, { pseudonym: syntheticPseudonym(SITE, 7) })
      return [...d.slice(0, revokedSeq), extra, ...d.slice(revokedSeq)]
    })
    // The revocation moved before another site's update in the same round.
    const otherUpdate = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site !== honestStudy().sites[SITE]!.id)
    const misplaced = withDrafts(honestStudy(), (d) => {
      const entry = d[revokedSeq]!
      const rest = d.filter((_, i) => i !== revokedSeq)
      const at = otherUpdate.seq < revokedSeq ? otherUpdate.seq : otherUpdate.seq - 1
      return [...rest.slice(0, at), entry, ...rest.slice(at)]
    })
    // Logged at the end of the round, followed by the commit.
    const commit2 = findRecord(records, 'round-committed', (r) => r.body.round === 2).seq
    const dangling = withDrafts(honestStudy(), (d) => {
      const entry = d[revokedSeq]!
      const rest = d.filter((_, i) => i !== revokedSeq)
      return [...rest.slice(0, commit2 - 1), entry, ...rest.slice(commit2 - 1)]
    })

    // Execute / Assert
    for (const [what, study] of [
      ['dropped', drop],
      ['retimed', retime],
      ['invented', invented],
      ['misplaced', misplaced],
      ['dangling', dangling],
    ] as const) {
      expect((await audit(study)).error, what).toMatchObject({ code: 'AUDIT_CONSENT_REVOCATION_MISMATCH' })
    }
  })

  it('passes a study without consent whose envelopes carry none', async () => {
    // Execute / Assert: the audit asks nothing of studies without consent.
    expect((await audit(syntheticStudy())).error).toBeUndefined()
  })

  it('holds a claim to the rule even in a study without consent', async () => {
    // Prepare: consent claims in a study that does not require them, one with a proof of another tree.
    const study = syntheticStudy({ consent: { revocations: [{ site: SITE, patient: 3, round: 2 }] }, study: { rounds: 3 } })
    const other = consentTreeOf([syntheticConsentLeaf(0, 0)])
    const bad = withConsent(study, 3, SITE, (c) => encodeConsentClaim({ ...c, nonInclusion: [proveConsentNonInclusion(other, revoked)] }))

    // Execute / Assert
    expect((await audit(study)).error).toBeUndefined()
    expect((await audit(bad)).error).toMatchObject({ code: 'AUDIT_CONSENT_COUNT_MISMATCH' })
  })
})

// The lineage body helper keeps an invented entry well-formed: a sanity check of the fixture itself.
it('builds consent-revoked drafts the lineage accepts', () => {
  expect(() => lineageBody(ENTRY_KINDS.CONSENT_REVOKED, { round: 2, site: 'x', pseudonym: revoked, time: 1 })).not.toThrow()
})
