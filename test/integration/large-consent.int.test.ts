/**
 * Entries fit tlog-tiles bundles (at most 65,535 bytes) even when a site
 * reports 200 withdrawals: its update envelope then carries 200
 * non-inclusion proofs (~700 bytes each over a tree of 60 patients, ~147 KB in all), so the decider
 * embeds it by reference, its body a blob the entry names by hash, with the
 * fields the state fold reads beside it (protocol/lineage.ts). The log is
 * appended to a real LevelDB ledger and audited from it; the audit reads the
 * envelope back from its blob, and fails when the blob is gone. The same
 * entry with the envelope inline is refused at append.
 */
import { describe, expect, it } from 'vitest'
import { Ledger, MAX_ENTRY_BYTES, openLevelStorage, sha256, toHex } from '../../ledger/index.ts'
import {
  ENTRY_KINDS,
  STATEMENT_INLINE_MAX_BYTES,
  consentTreeOf,
  embedStatement,
  encodeConsentClaim,
  isEmbeddedByBlob,
  proveConsentNonInclusion,
  type UpdateAcceptedBody,
} from '../../protocol/index.ts'
import { SYNTHETIC_T0_MS, auditDir, deleteBlob, syntheticConsentLeaf, syntheticPseudonym } from '../helpers/audit.ts'
import { createTempDir, testSigner } from '../helpers/ledger.ts'
import { CONSENT_STUDY, DeciderHarness } from '../helpers/protocol.ts'

const PATIENTS = 260
const REVOKED = 200
const COORDINATOR = testSigner(1)

/** Site 0's consent claim of the open round: PATIENTS patients, the first REVOKED withdrawn before the round, each proven absent. */
function largeConsentExt(h: DeciderHarness) {
  const tree = consentTreeOf(Array.from({ length: PATIENTS - REVOKED }, (_, k) => syntheticConsentLeaf(0, REVOKED + k)))
  const revoked = Array.from({ length: REVOKED }, (_, k) => ({ pseudonym: syntheticPseudonym(0, k), time: SYNTHETIC_T0_MS + 10 }))
  const claim = {
    at: h.state.openRound!.openedMs,
    root: tree.root,
    count: tree.count,
    excluded: { noConsent: 0, expired: 0, notYetValid: 0, revoked: REVOKED },
    revoked,
    nonInclusion: revoked.map((r) => proveConsentNonInclusion(tree, r.pseudonym)),
  }
  return { consent: encodeConsentClaim(claim) }
}

/** A one-round consent study in which site 0 reports REVOKED withdrawals. */
function study() {
  const h = new DeciderHarness({ study: { ...CONSENT_STUDY, rounds: 1, minSites: 2 } })
  h.openRound()
  const large = h.update(0, {}, { ext: largeConsentExt(h) })
  const fed = h.feed({ kind: 'update', envelope: large.envelope, delta: large.delta })
  if (fed.refusal) throw fed.refusal
  h.submit([1, 2])
  h.evaluate()
  return { h, envelope: large.envelope }
}

async function appendAll(h: DeciderHarness, drafts = h.drafts) {
  const dir = await createTempDir()
  const ledger = await Ledger.open(await openLevelStorage(dir))
  try {
    await ledger.append(COORDINATOR, drafts, [...h.blobs.values()])
  } finally {
    await ledger.close()
  }
  return dir
}

describe('an update envelope with 200 consent proofs', () => {
  it('is embedded by reference: the entry fits a tile bundle, the body is a blob, and the log audits', async () => {
    // Prepare
    const { h, envelope } = study()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.UPDATE_ACCEPTED)
    const body = h.drafts[at]!.body as unknown as UpdateAcceptedBody

    // Execute
    const dir = await appendAll(h)
    const out = await auditDir(dir)

    // Assert
    expect(envelope.body.length).toBeGreaterThan(2 * MAX_ENTRY_BYTES)
    expect(isEmbeddedByBlob(body.envelope)).toBe(true)
    expect(body.envelope).toMatchObject({ blob: sha256(envelope.body) })
    expect(body.summary?.consent).toMatchObject({ count: PATIENTS - REVOKED, excluded: { revoked: REVOKED } })
    expect(h.blobs.get(toHex(sha256(envelope.body)))).toEqual(envelope.body)
    expect(h.drafts.filter((d) => d.kind === ENTRY_KINDS.CONSENT_REVOKED)).toHaveLength(REVOKED)
    expect(h.state.rounds.get(1)!.accepted.get(h.site(0).id)!.envelopeHash).toEqual(sha256(envelope.body))
    expect(out.error).toBeUndefined()
    expect(out.report.ok).toBe(true)
    const ledger = await Ledger.open(await openLevelStorage(dir))
    try {
      for await (const { bytes } of ledger.scan()) expect(bytes.length).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    } finally {
      await ledger.close()
    }
  })

  it('fails the audit at its entry when the envelope blob is gone', async () => {
    // Prepare
    const { h, envelope } = study()
    const dir = await appendAll(h)
    await deleteBlob(dir, sha256(envelope.body))

    // Execute
    const out = await auditDir(dir)

    // Assert
    expect(out.report.ok).toBe(false)
    expect(out.error?.code).toBe('AUDIT_BLOB_MISSING')
    expect(out.error?.seq).toBe(h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.UPDATE_ACCEPTED))
  })

  it('inline, would make an entry the ledger refuses at append (LEDGER_ENTRY_TOO_LARGE)', async () => {
    // Prepare: the same entry with the envelope embedded inline, as before the blob move.
    const { h, envelope } = study()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.UPDATE_ACCEPTED)
    const { summary: _summary, ...rest } = h.drafts[at]!.body as unknown as UpdateAcceptedBody
    const inline = h.drafts.map((d, i) => (i === at ? { ...d, body: { ...rest, envelope: embedStatement(envelope) } } : d))

    // Execute
    const appended = appendAll(h, inline)

    // Assert
    expect(envelope.body.length).toBeGreaterThan(STATEMENT_INLINE_MAX_BYTES)
    await expect(appended).rejects.toMatchObject({ code: 'LEDGER_ENTRY_TOO_LARGE', seq: at, kind: ENTRY_KINDS.UPDATE_ACCEPTED })
  })
})
