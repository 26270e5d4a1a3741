/**
 * The log part of a consent bundle (protocol/consent-log-proof.ts): a
 * c2sp.org/tlog-proof of a site's update-accepted entry, made from a
 * scripted consent study's log, reads back and checks against the consent
 * root and count the envelope commits to; every other claim, entry, proof
 * line or key fails with its code.
 */
import { describe, expect, it } from 'vitest'
import {
  GENESIS_PREV_HASH,
  RFC6962_SHA256,
  encodeCanonical,
  hashLeaf,
  sha256,
  type CanonicalValue,
  inclusionProof,
  parseTlogProof,
  rootOf,
  signCheckpoint,
  signEntry,
  signerFromSeed,
} from '../../../ledger/core/index.ts'
import { CONSENT_LOG_PROOF_FORMAT, ENTRY_KINDS, checkConsentLogProof, consentSummaryOf, decodeStatement, makeConsentLogProof, readLineageRecord } from '../../../protocol/index.ts'
import { DeciderHarness, everyKindScript, REWARDED_CONSENT_STUDY, inlineEnvelopeBody } from '../../helpers/protocol.ts'

const COORDINATOR = signerFromSeed(new Uint8Array(32).fill(21))
const ORIGIN = 'fedlineage.example/study/consent-log'
const HARNESS = (() => {
  const h = new DeciderHarness({ study: { ...REWARDED_CONSENT_STUDY, rounds: 2, minSites: 2 } })
  everyKindScript(h)
  return h
})()
const ENTRIES = (() => {
  let prev = GENESIS_PREV_HASH
  return HARNESS.drafts.map((d, i) => {
    const e = signEntry(COORDINATOR, i, prev, d)
    prev = e.hash
    return e
  })
})()
const LEAVES = ENTRIES.map((e) => hashLeaf(e.bytes))
const CHECKPOINT = signCheckpoint(COORDINATOR, { origin: ORIGIN, size: ENTRIES.length, root: rootOf(RFC6962_SHA256, LEAVES) })
const proveEntry = (seq: number) => makeConsentLogProof({ index: seq, entryBytes: ENTRIES[seq]!.bytes, proof: inclusionProof(RFC6962_SHA256, LEAVES, seq, ENTRIES.length), checkpoint: CHECKPOINT })

/** The first update-accepted entry with its site, round and consent summary. */
const UPDATE = (() => {
  for (const [seq, e] of ENTRIES.entries()) {
    const r = readLineageRecord(e.entry)
    if (r.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) continue
    const summary = consentSummaryOf(decodeStatement('update', inlineEnvelopeBody(r.body.envelope)).ext)
    if (summary !== undefined) return { seq, site: r.body.site, claim: { round: r.body.round, root: summary.root, count: summary.count } }
  }
  throw new Error('the script logs no update with consent')
})()
const TRUST = { logKey: COORDINATOR.publicKey, origin: ORIGIN }

describe("a consent bundle's log part", () => {
  it('round-trips: the tlog-proof text carries the entry as extra and checks against the envelope’s consent root', () => {
    const log = proveEntry(UPDATE.seq)
    expect(log.format).toBe(CONSENT_LOG_PROOF_FORMAT)
    const parsed = parseTlogProof(log.tlogProof)
    expect(parsed.index).toBe(UPDATE.seq)
    expect(parsed.extra).toEqual(ENTRIES[UPDATE.seq]!.bytes)
    expect(parsed.checkpoint.note).toBe(CHECKPOINT.note)
    const checked = checkConsentLogProof(JSON.parse(JSON.stringify(log)), UPDATE.claim, { ...TRUST, site: UPDATE.site })
    expect(checked).toMatchObject({ seq: UPDATE.seq, site: UPDATE.site, cosigners: [], checkpoint: { origin: ORIGIN, size: ENTRIES.length } })
  })

  it('fails on a claim the logged envelope does not make', () => {
    const log = proveEntry(UPDATE.seq)
    const code = (claim: typeof UPDATE.claim, site?: string) => {
      try {
        checkConsentLogProof(log, claim, { ...TRUST, site })
        return 'passed'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    expect(code({ ...UPDATE.claim, count: UPDATE.claim.count + 1 })).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
    expect(code({ ...UPDATE.claim, root: new Uint8Array(32) })).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
    expect(code({ ...UPDATE.claim, round: UPDATE.claim.round + 1 })).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
    expect(code(UPDATE.claim, 'another-site')).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
  })

  it('fails on a proof of another entry, a tampered proof line, or another log key', () => {
    expect(() => checkConsentLogProof(proveEntry(0), UPDATE.claim, TRUST)).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_INVALID' }))
    const log = proveEntry(UPDATE.seq)
    const lines = log.tlogProof.split('\n')
    const at = lines.findIndex((l) => l.startsWith('index ')) + 1
    lines[at] = `${lines[at]![0] === 'A' ? 'B' : 'A'}${lines[at]!.slice(1)}`
    expect(() => checkConsentLogProof({ ...log, tlogProof: lines.join('\n') }, UPDATE.claim, TRUST)).toThrow(expect.objectContaining({ code: 'LEDGER_ROOT_MISMATCH' }))
    expect(() => checkConsentLogProof(log, UPDATE.claim, { logKey: signerFromSeed(new Uint8Array(32).fill(22)).publicKey })).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })

  it('resolves an envelope embedded by blob from the bundle’s envelope, and refuses a body of another hash', () => {
    // The update entry re-signed with its envelope by reference, as the decider logs one over 32 KiB.
    const draft = HARNESS.drafts[UPDATE.seq]!
    const body = draft.body as { envelope: { body: Uint8Array; sig: Uint8Array } } & Record<string, CanonicalValue>
    const byBlob = { ...draft, body: { ...body, envelope: { blob: sha256(body.envelope.body), sig: body.envelope.sig } } }
    const entries = ENTRIES.map((e) => e.bytes)
    entries[UPDATE.seq] = signEntry(COORDINATOR, UPDATE.seq, UPDATE.seq === 0 ? GENESIS_PREV_HASH : ENTRIES[UPDATE.seq - 1]!.hash, byBlob).bytes
    const leaves = entries.map(hashLeaf)
    const checkpoint = signCheckpoint(COORDINATOR, { origin: ORIGIN, size: entries.length, root: rootOf(RFC6962_SHA256, leaves) })
    const prove = (envelopeBody?: Uint8Array) =>
      makeConsentLogProof({ index: UPDATE.seq, entryBytes: entries[UPDATE.seq]!, proof: inclusionProof(RFC6962_SHA256, leaves, UPDATE.seq, entries.length), checkpoint, envelopeBody })
    expect(checkConsentLogProof(prove(body.envelope.body), UPDATE.claim, TRUST).seq).toBe(UPDATE.seq)
    expect(() => checkConsentLogProof(prove(), UPDATE.claim, TRUST)).toThrow(expect.objectContaining({ code: 'COORD_LINEAGE_RECORD_INVALID' }))
    expect(() => checkConsentLogProof(prove(encodeCanonical({ other: 1 })), UPDATE.claim, TRUST)).toThrow(expect.objectContaining({ code: 'COORD_LINEAGE_RECORD_INVALID' }))
  })

  it("with a reward, proves the site's patient-rewards entry under the same checkpoint and checks its root and amount", () => {
    // A site's patient-rewards entry and its consent update of the same round.
    const records = ENTRIES.map((e) => readLineageRecord(e.entry))
    const rewards = records.find((r) => r.kind === ENTRY_KINDS.PATIENT_REWARDS)
    if (rewards?.kind !== ENTRY_KINDS.PATIENT_REWARDS) throw new Error('the script logs no patient rewards')
    const update = records.find((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.round === rewards.body.round && r.body.site === rewards.body.site)
    if (update?.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) throw new Error('no update of the rewarded site and round')
    const summary = consentSummaryOf(decodeStatement('update', inlineEnvelopeBody(update.body.envelope)).ext)!
    const statement = decodeStatement('patient-rewards', rewards.body.statement.body)
    const claim = { round: update.body.round, root: summary.root, count: summary.count, reward: { root: statement.root, siteAmount: statement.amount } }
    const proofOf = (seq: number) => inclusionProof(RFC6962_SHA256, LEAVES, seq, ENTRIES.length)
    const log = makeConsentLogProof({
      index: update.seq,
      entryBytes: ENTRIES[update.seq]!.bytes,
      proof: proofOf(update.seq),
      checkpoint: CHECKPOINT,
      rewards: { index: rewards.seq, entryBytes: ENTRIES[rewards.seq]!.bytes, proof: proofOf(rewards.seq) },
    })

    expect(checkConsentLogProof(log, claim, TRUST)).toMatchObject({ seq: update.seq, rewardsSeq: rewards.seq })
    const codeOf = (f: () => unknown) => {
      try {
        f()
        return 'passed'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    expect(codeOf(() => checkConsentLogProof(log, { ...claim, reward: { ...claim.reward, siteAmount: statement.amount + 1n } }, TRUST))).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
    expect(codeOf(() => checkConsentLogProof(log, { ...claim, reward: { ...claim.reward, root: new Uint8Array(32) } }, TRUST))).toBe('PROTOCOL_CONSENT_BUNDLE_MISMATCH')
    expect(codeOf(() => checkConsentLogProof({ ...log, rewards: undefined }, claim, TRUST))).toBe('PROTOCOL_CONSENT_INVALID')
    expect(codeOf(() => checkConsentLogProof({ ...log, rewards: log.tlogProof }, claim, TRUST))).toBe('PROTOCOL_CONSENT_INVALID')
  })
})
