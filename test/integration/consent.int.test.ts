/**
 * Consent, end to end (real gRPC, LevelDB, TF.js): a 2-site study that
 * requires consent, each site with a consent store imported from CSV by
 * `fedlineage consent import`.
 *
 * - The sites train only on consented records; each update envelope commits
 *   to the consent root and count and counts what it left out.
 * - A revocation imported between rounds is honoured from the next round:
 *   the patient is left out, `consent-revoked` is logged with the site's
 *   update, and every later envelope proves the pseudonym absent.
 * - A patient's proof from `consent prove` verifies offline and against the
 *   log (`consent verify --db`), and fails when tampered with; with
 *   `--format tlog-proof` it carries the log's c2sp tlog-proof of the site's
 *   update, checked under the pinned log key and a witness policy's quorum.
 * - The audit passes, and fails with AUDIT_CONSENT_* on a log whose later
 *   envelope (re-signed by the site) commits to a root holding the revoked
 *   pseudonym, or drops its non-inclusion proof.
 * - The coordinator refuses updates without consent or without a valid
 *   proof, with typed errors logged as update-rejected.
 */
import { cp, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { HubClient } from '../../coordinator/index.ts'
import { checkpointVerifierKey, cosignatureVerifierKey, equalBytes, openCheckpoint, parseTlogProof, sha256, toHex, writeIdentity } from '../../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema, type StudySpecInput } from '../../models/index.ts'
import { CoordinatorClient, SYNTHETIC_SCHEMA, SiteRequestRejectedError, loadConsentRound, loadSiteSecret, type SiteAgentEvent } from '../../site-agent/index.ts'
import { auditDir, draftOf, readStoredLog, rewriteLog } from '../helpers/audit.ts'
import { cli, consentFederation, consentFiles } from '../helpers/consent.ts'
import { createFederation, tempDir, testSigner, TEST_STUDY, type TestFederation, type TestSite } from '../helpers/federation.ts'
import {
  ENTRY_KINDS,
  embedStatement,
  readLineageRecord,
  type LineageRecord,
  checkConsentNonInclusion,
  consentClaimOf,
  consentTreeOf,
  decodeStatement,
  encodeConsentClaim,
  proveConsentNonInclusion,
  pseudonymOf,
  signStatement,
  type ConsentClaim,
} from '../../protocol/index.ts'
import { inlineEnvelopeBody } from '../helpers/protocol.ts'

const PURPOSE = 'HRESCH'
const CONSENT_STUDY: Partial<StudySpecInput> = { rounds: 3, consent: { purpose: PURPOSE }, data: { ...SYNTHETIC_SCHEMA, patientIdColumn: 'patient_id' } }

/**
 * The consent register of a site of `n` patients (ids `<site>-1` … `<site>-n`):
 * 1 … n-40 consented since 2020; the next 10 consented until 2021 (expired);
 * 5 consent from 2999 on (not yet valid); 5 consent to another purpose only;
 * the last 20 have no row.
 */
function consentCsv(site: TestSite): string {
  const n = site.patients
  const rows = ['patient_id,status,valid_from,valid_until,purposes']
  for (let k = 1; k <= n - 40; k++) rows.push(`${site.id}-${k},active,2020-01-01,,${PURPOSE}`)
  for (let k = n - 39; k <= n - 30; k++) rows.push(`${site.id}-${k},active,2020-01-01,2021-12-31,${PURPOSE}`)
  for (let k = n - 29; k <= n - 25; k++) rows.push(`${site.id}-${k},active,2999-01-01,,${PURPOSE}`)
  for (let k = n - 24; k <= n - 20; k++) rows.push(`${site.id}-${k},active,2020-01-01,,HTEST`)
  return `${rows.join('\n')}\n`
}

/** Resolves when the coordinator emits `event` for `round`; rejects after `timeoutMs`. */
function roundEvent(fed: TestFederation, event: 'round-evaluated', round: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} for round ${round} within ${timeoutMs} ms`)), timeoutMs)
    fed.coordinator.on(event, (r: number) => {
      if (r === round) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

function records(entries: { entry: Parameters<typeof readLineageRecord>[0] }[]): LineageRecord[] {
  return entries.map((e) => readLineageRecord(e.entry))
}

function claimOf(r: LineageRecord): ConsentClaim {
  if (r.kind !== ENTRY_KINDS.UPDATE_ACCEPTED) throw new Error(`entry ${r.seq} is ${r.kind}`)
  return consentClaimOf(decodeStatement('update', inlineEnvelopeBody(r.body.envelope)).ext)!
}

describe('consent across the federation', () => {
  it("trains on consented records only, logs and honours a revocation, proves a patient's consent, and audits", async () => {
    // Prepare: the study, both sites' consents, and the patient who will withdraw.
    const { fed, io, authority, authorityKeyFile } = await consentFederation(CONSENT_STUDY, consentCsv)
    const [siteA, siteB] = fed.sites as [TestSite, TestSite]
    const withdrawing = `${siteA.id}-5`
    const events: SiteAgentEvent[] = []
    const runs = fed.sites.map((s) => fed.runSite(s, (e) => events.push(e)))
    const hub = new HubClient(fed.coordinator.address)

    // Execute: round 1; a revocation imported between rounds; rounds 2 and 3.
    let evaluated = roundEvent(fed, 'round-evaluated', 1)
    await hub.startNextRound(fed.hub)
    await evaluated
    const revokedAt = new Date()
    const revocationCsv = path.join(fed.dir, 'revocation.csv')
    // With a refusal from a patient who never consented, which withdraws nothing.
    await writeFile(revocationCsv, `patient_id,status,valid_from,valid_until,purposes\n${withdrawing},revoked,,${revokedAt.toISOString()},\nnever-consented-1,revoked,,${revokedAt.toISOString()},\n`)
    const imported = await cli(
      io,
      'consent',
      'import',
      '--csv',
      revocationCsv,
      '--store',
      path.join(fed.dir, consentFiles(siteA).store),
      '--secret',
      path.join(fed.dir, consentFiles(siteA).secretFile),
      '--authority-key',
      authorityKeyFile,
      '--study',
      fed.config.study.id,
    )
    expect(imported).toMatch(/^revocations: 1 of the 2 patients revoking withdraw a consent the store holds for test-study .*; 1 revoke no consent held/m)
    // An import signed by another authority key names the key and the fix; the store is not called corrupt.
    const otherKey = path.join(fed.dir, 'other-authority')
    await writeIdentity(fed.dir, 'other-authority', { seed: new Uint8Array(32).fill(91) })
    const importArgs = ['consent', 'import', '--csv', revocationCsv, '--store', path.join(fed.dir, consentFiles(siteA).store), '--secret', path.join(fed.dir, consentFiles(siteA).secretFile)]
    await expect(cli(io, ...importArgs, '--authority-key', `${otherKey}.key`, '--study', fed.config.study.id)).rejects.toMatchObject({
      code: 'SITE_CONSENT_AUTHORITY_UNTRUSTED',
      message: expect.stringMatching(/the store is intact, but its records\[0\] .* are signed by consent authority [0-9a-f]{64}, which is not among the trusted keys .*--trust [0-9a-f]{64}/),
    })
    for (const round of [2, 3]) {
      evaluated = roundEvent(fed, 'round-evaluated', round)
      await hub.startNextRound(fed.hub)
      await evaluated
    }
    await Promise.all(runs)
    const status = await hub.status()
    hub.close()
    await fed.coordinator.close()

    // Assert: the import report, the agents' consent events and RoundStatus.
    expect(imported).toContain('2 revocations')
    const nA = siteA.patients
    const consentEvents = events.filter((e): e is Extract<SiteAgentEvent, { type: 'consent' }> => e.type === 'consent')
    expect(consentEvents).toHaveLength(6)
    expect(status.rounds.find((r) => r.round === '2')!.revocations).toBe('1')
    expect(status.rounds.find((r) => r.round === '1')!.consent.map((c) => [c.siteId, c.count])).toEqual([
      [siteA.id, String(nA - 40)],
      [siteB.id, String(siteB.patients - 40)],
    ])

    // Assert: every envelope commits to its consent, with the exclusions counted.
    const log = records(await readStoredLog(fed.config.dataDir))
    const updates = (round: number, site: string) => log.find((r) => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.round === round && r.body.site === site)!
    for (const round of [1, 2, 3]) {
      for (const site of [siteA, siteB]) {
        const claim = claimOf(updates(round, site.id))
        const revoked = site === siteA && round >= 2 ? 1 : 0
        expect(claim.count, `round ${round} ${site.id}`).toBe(site.patients - 40 - revoked)
        expect(claim.excluded).toEqual({ noConsent: 25, expired: 10, notYetValid: 5, revoked })
        expect(claim.at).toBe(log.find((r) => r.kind === ENTRY_KINDS.ROUND_OPENED && r.body.round === round)!.timeMs)
      }
    }

    // Assert: the revocation is logged once, in round 2, just before site A's update, by pseudonym only.
    const secretA = await loadSiteSecret(path.join(fed.dir, consentFiles(siteA).secretFile))
    const pseudonym = pseudonymOf(secretA, withdrawing)
    const revocations = log.filter((r) => r.kind === ENTRY_KINDS.CONSENT_REVOKED)
    expect(revocations).toHaveLength(1)
    const revocation = revocations[0]! as Extract<LineageRecord, { kind: 'consent-revoked' }>
    expect(revocation.body).toMatchObject({ round: 2, site: siteA.id })
    expect(toHex(revocation.body.pseudonym)).toBe(toHex(pseudonym))
    expect(revocation.body.time).toBeGreaterThanOrEqual(revokedAt.getTime())
    expect(log[revocation.seq + 1]).toMatchObject({ kind: ENTRY_KINDS.UPDATE_ACCEPTED, body: { round: 2, site: siteA.id } })
    expect(JSON.stringify(revocation.body)).not.toContain(withdrawing)

    // Assert: round 3's envelope proves the pseudonym absent from its root; round 1's tree held it.
    expect(() => checkConsentNonInclusion(claimOf(updates(3, siteA.id)), [pseudonym])).not.toThrow()
    const roundsDir = path.join(fed.dir, `${siteA.id}-replica-consent`)
    expect((await loadConsentRound(roundsDir, 1)).record.leaves.some((l) => equalBytes(l.pseudonym, pseudonym))).toBe(true)
    expect((await loadConsentRound(roundsDir, 2)).record.leaves.some((l) => equalBytes(l.pseudonym, pseudonym))).toBe(false)

    // Execute / Assert: a patient's proof verifies offline, against the site's replica and the coordinator's log.
    const siteConfig = await fed.writeSiteConfig(siteA)
    const proofFile = path.join(fed.dir, 'proof.json')
    await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', `${siteA.id}-7`, '--round', '1', '--out', proofFile)
    expect(await cli(io, 'consent', 'verify', '--proof', proofFile)).toContain('consent proof verified offline')
    const againstReplica = await cli(io, 'consent', 'verify', '--proof', proofFile, '--db', path.join(fed.dir, `${siteA.id}-replica`), '--site', siteA.id)
    expect(againstReplica).toContain(`site "${siteA.id}" signed for round 1`)
    expect(againstReplica).toContain('round 1 committed a model with this update')
    expect(await cli(io, 'consent', 'verify', '--proof', proofFile, '--db', fed.config.dataDir, '--authority', toHex(authority.publicKey))).toContain('verified against the log')

    // … and the withdrawn patient gets a proof that round 2 left them out.
    const absentFile = path.join(fed.dir, 'absent.json')
    expect(await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', withdrawing, '--round', '2', '--out', absentFile)).toContain('non-inclusion proof')
    expect(await cli(io, 'consent', 'verify', '--proof', absentFile, '--db', fed.config.dataDir)).toContain('is not among')
    // … while a mistyped id is refused, unless the caller says the id is right.
    await expect(cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', `${withdrawing}x`, '--round', '2', '--out', absentFile)).rejects.toMatchObject({
      code: 'SITE_UNKNOWN_PATIENT',
      message: expect.stringContaining(`patient id "${withdrawing}x" has no consent receipt or revocation`),
    })
    expect(await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', `${withdrawing}x`, '--round', '2', '--out', absentFile, '--allow-unknown-patient')).toContain(
      'non-inclusion proof',
    )

    // Assert: tampered proofs fail.
    const bundle = JSON.parse(await readFile(proofFile, 'utf8'))
    const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
    const tampered: [string, object, string[], RegExp][] = [
      ['receipt', { ...bundle, receipt: flip(bundle.receipt, bundle.receipt.length - 10) }, [], /^PROTOCOL_(CONSENT_SIGNATURE_INVALID|CONSENT_INVALID)$/],
      ['path', { ...bundle, path: [flip(bundle.path[0], 2), ...bundle.path.slice(1)] }, [], /^LEDGER_ROOT_MISMATCH$/],
      ['index', { ...bundle, index: bundle.index + 1 }, [], /^LEDGER_ROOT_MISMATCH$/],
      ['count', { ...bundle, count: bundle.count * 2 }, [], /^LEDGER_(ROOT_MISMATCH|PROOF_WRONG_LENGTH)$/],
      ['root, against the log', { ...bundle, root: toHex(sha256(new Uint8Array(1))) }, ['--db', fed.config.dataDir], /^(LEDGER_ROOT_MISMATCH|AUDIT_CONSENT_NOT_LOGGED)$/],
      ['round, against the log', { ...bundle, round: 2 }, ['--db', fed.config.dataDir, '--site', siteA.id], /^PROTOCOL_CONSENT_BUNDLE_MISMATCH$/],
      ['authority', bundle, ['--authority', toHex(testSigner(77).publicKey)], /^PROTOCOL_CONSENT_UNTRUSTED_SIGNER$/],
    ]
    const tamperedFile = path.join(fed.dir, 'tampered.json')
    for (const [what, value, extra, code] of tampered) {
      await writeFile(tamperedFile, JSON.stringify(value))
      await expect(cli(io, 'consent', 'verify', '--proof', tamperedFile, ...extra), what).rejects.toMatchObject({ code: expect.stringMatching(code) })
    }

    // Execute / Assert: with --format tlog-proof the bundle carries the log's c2sp tlog-proof of the site's update, checked with no replica.
    const tlogFile = path.join(fed.dir, 'proof.tlog.json')
    expect(await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', `${siteA.id}-7`, '--round', '1', '--format', 'tlog-proof', '--out', tlogFile)).toMatch(
      /with the log's tlog-proof of the site's update \(entry \d+\)/,
    )
    const tlogBundle = JSON.parse(await readFile(tlogFile, 'utf8'))
    expect(tlogBundle).toMatchObject({ ...bundle, log: { format: 'c2sp.org/tlog-proof@v1', tlogProof: expect.stringMatching(/^c2sp\.org\/tlog-proof@v1\nextra /) } })
    const logProof = parseTlogProof(tlogBundle.log.tlogProof)
    expect(updates(1, siteA.id).seq).toBe(logProof.index)
    const origin = openCheckpoint(logProof.checkpoint, fed.hub.publicKey).origin
    const vkey = checkpointVerifierKey(origin, fed.hub.publicKey)
    const offline = await cli(io, 'consent', 'verify', '--proof', tlogFile, '--verifier-key', vkey, '--site', siteA.id)
    expect(offline).toContain(`the log's tlog-proof shows site "${siteA.id}" committed to that root in entry ${logProof.index}, in the log of ${origin}`)
    expect(await cli(io, 'consent', 'verify', '--proof', tlogFile, '--coordinator-key', toHex(fed.hub.publicKey), '--db', fed.config.dataDir)).toContain('verified against the log')
    // … the JSON default still verifies under a pinned key (no log part to check).
    expect(await cli(io, 'consent', 'verify', '--proof', proofFile, '--coordinator-key', toHex(fed.hub.publicKey))).toContain('consent proof verified offline')
    // … an unpinned log part, a tampered proof line, and another log's key fail.
    await expect(cli(io, 'consent', 'verify', '--proof', tlogFile)).rejects.toMatchObject({ code: 'AUDIT_CONSENT_LOG_UNVERIFIED' })
    const proofLines = tlogBundle.log.tlogProof.split('\n')
    const line = proofLines.findIndex((l: string) => l.startsWith('index ')) + 1
    proofLines[line] = `${proofLines[line][0] === 'A' ? 'B' : 'A'}${proofLines[line].slice(1)}`
    const tamperedTlog = path.join(fed.dir, 'tampered.tlog.json')
    await writeFile(tamperedTlog, JSON.stringify({ ...tlogBundle, log: { ...tlogBundle.log, tlogProof: proofLines.join('\n') } }))
    await expect(cli(io, 'consent', 'verify', '--proof', tamperedTlog, '--verifier-key', vkey)).rejects.toMatchObject({ code: 'LEDGER_ROOT_MISMATCH' })
    await expect(cli(io, 'consent', 'verify', '--proof', tlogFile, '--coordinator-key', toHex(testSigner(77).publicKey))).rejects.toMatchObject({ code: 'LEDGER_CHECKPOINT_INVALID' })
    // … a policy's quorum: none required passes; a witness that never cosigned fails, for consent verify and log check-proof alike.
    const policyFile = (quorum: string) => path.join(fed.dir, `policy-${quorum}.txt`)
    const absentWitness = cosignatureVerifierKey(testSigner(78).publicKey)
    await writeFile(policyFile('none'), `log ${vkey}\nwitness W ${absentWitness}\nquorum none\n`)
    await writeFile(policyFile('W'), `log ${vkey}\nwitness W ${absentWitness}\nquorum W\n`)
    expect(await cli(io, 'consent', 'verify', '--proof', tlogFile, '--verifier-key', vkey, '--policy', policyFile('none'))).toContain("cosigned by no witness (the policy's quorum met)")
    await expect(cli(io, 'consent', 'verify', '--proof', tlogFile, '--verifier-key', vkey, '--policy', policyFile('W'))).rejects.toMatchObject({
      code: 'LEDGER_WITNESS_QUORUM_NOT_MET',
      message: expect.stringContaining('does not satisfy quorum "W"'),
    })
    await expect(cli(io, 'consent', 'verify', '--proof', proofFile, '--policy', policyFile('none'))).rejects.toMatchObject({ code: 'AUDIT_INVALID_ARGUMENT' })
    const entryProof = path.join(fed.dir, 'entry.tlog-proof')
    await writeFile(entryProof, tlogBundle.log.tlogProof)
    expect(await cli(io, 'log', 'check-proof', '--proof', entryProof, '--verifier-key', vkey, '--policy', policyFile('none'))).toContain("meeting the policy's quorum")
    await expect(cli(io, 'log', 'check-proof', '--proof', entryProof, '--verifier-key', vkey, '--policy', policyFile('W'))).rejects.toMatchObject({ code: 'LEDGER_WITNESS_QUORUM_NOT_MET' })

    // Assert: the audit passes and reports the consent it checked.
    const honest = await auditDir(fed.config.dataDir)
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => r.revocations)).toEqual([0, 1, 0])
    expect(honest.report.rounds[0]!.consent!.map((c) => c.count)).toEqual([nA - 40, siteB.patients - 40])

    // Execute / Assert: a dishonest site re-signs round 3 with a root that holds the revoked patient, or without the proof.
    const update3 = updates(3, siteA.id)
    const leaves3 = (await loadConsentRound(roundsDir, 3)).record.leaves
    const revokedLeaf = (await loadConsentRound(roundsDir, 1)).record.leaves.find((l) => equalBytes(l.pseudonym, pseudonym))!
    const withRevoked = consentTreeOf([...leaves3, revokedLeaf])
    const claim3 = claimOf(update3)
    const dishonest: [string, ConsentClaim, string][] = [
      ['a root holding the revoked patient', { ...claim3, root: withRevoked.root, count: withRevoked.count }, 'AUDIT_CONSENT_COUNT_MISMATCH'],
      ['a root holding the revoked patient, count unchanged', { ...claim3, root: withRevoked.root }, 'AUDIT_CONSENT_PROOF_INVALID'],
      ['the non-inclusion proof dropped', { ...claim3, nonInclusion: [] }, 'AUDIT_CONSENT_PROOF_MISSING'],
    ]
    for (const [what, claim, code] of dishonest) {
      const dir = path.join(await tempDir('fedlineage-consent-dishonest-'), 'ledger')
      await cp(fed.config.dataDir, dir, { recursive: true })
      const envelope = signStatement(siteA.signer, {
        ...decodeStatement('update', inlineEnvelopeBody((update3 as Extract<LineageRecord, { kind: 'update-accepted' }>).body.envelope)),
        ext: { consent: encodeConsentClaim(claim) },
      })
      await rewriteLog(dir, {
        from: update3.seq,
        signer: testSigner(1),
        edit: (entry) => (entry.seq === update3.seq ? { ...draftOf(entry), body: { ...(entry.body as Record<string, never>), envelope: embedStatement(envelope) } } : draftOf(entry)),
      })
      const { report } = await auditDir(dir)
      expect(report.failure, what).toMatchObject({ code, seq: update3.seq })
    }
  })

  it('refuses updates without consent or without a valid non-inclusion proof, and logs the refusals', async () => {
    // Prepare: a study with consent, rounds opened by hand, envelopes made here.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, study: CONSENT_STUDY })
    const spec = StudySpecSchema.parse({ ...TEST_STUDY, ...CONSENT_STUDY })
    const shapes = modelShapes(spec.model, inputWidth(spec.data))
    const delta = encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.01) })) })
    const hub = new HubClient(fed.coordinator.address)
    const client = new CoordinatorClient(fed.coordinator.address)
    const leaves = Array.from({ length: 8 }, (_, k) => ({ pseudonym: sha256(new Uint8Array([1, k])), receiptHash: sha256(new Uint8Array([2, k])) }))
    const withdrawn = sha256(new Uint8Array([3]))
    const tree = consentTreeOf(leaves)
    let nonce = 0
    const send = async (site: TestSite, round: number, base: Uint8Array, consent: ConsentClaim | undefined): Promise<string> => {
      const envelope = signStatement(site.signer, {
        t: 'update',
        study: spec.id,
        round,
        site: site.id,
        base,
        delta: sha256(delta),
        size: delta.length,
        examples: 50,
        metrics: { trainLoss: 0.5 },
        nonce: new Uint8Array(16).fill(++nonce),
        time: Date.now(),
        ...(consent ? { ext: { consent: encodeConsentClaim(consent) } } : {}),
      })
      try {
        await client.uploadUpdate(envelope, delta)
        return 'ACCEPTED'
      } catch (err) {
        if (err instanceof SiteRequestRejectedError) return err.remoteCode ?? 'UNKNOWN'
        throw err
      }
    }
    const openedAt = async (round: number) => (await hub.status()).rounds.find((r) => r.round === String(round))!
    const claim = (at: number, revoked: boolean): ConsentClaim => ({
      at,
      root: tree.root,
      count: tree.count,
      excluded: { noConsent: 0, expired: 0, notYetValid: 0, revoked: revoked ? 1 : 0 },
      revoked: revoked ? [{ pseudonym: withdrawn, time: at - 1 }] : [],
      nonInclusion: revoked ? [proveConsentNonInclusion(tree, withdrawn)] : [],
    })
    const [a, b] = fed.sites as [TestSite, TestSite]

    // Execute: round 1, site A reports a withdrawal; round 2, site A's claims without and with a bad proof.
    const r1 = await hub.startNextRound(fed.hub)
    const at1 = Number((await openedAt(1)).openedMs)
    const base1 = new Uint8Array(r1.baseModelHash)
    const codes1 = [
      await send(a, 1, base1, undefined),
      await send(a, 1, base1, { ...claim(at1, true), at: at1 + 1 }),
      await send(a, 1, base1, claim(at1, true)),
      await send(b, 1, base1, claim(at1, false)),
    ]
    // Both sites are in: the round committed before site B's upload was answered.
    const r2 = await hub.startNextRound(fed.hub)
    const at2 = Number((await openedAt(2)).openedMs)
    const base2 = new Uint8Array(r2.baseModelHash)
    const other = consentTreeOf(leaves.slice(1))
    const codes2 = [
      await send(a, 2, base2, { ...claim(at2, false) }),
      await send(a, 2, base2, { ...claim(at2, true), nonInclusion: [proveConsentNonInclusion(other, withdrawn)] }),
      await send(a, 2, base2, claim(at2, true)),
    ]
    hub.close()
    client.close()
    const log: LineageRecord[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) log.push(readLineageRecord(entry))

    // Assert
    expect(codes1).toEqual(['COORD_CONSENT_MISSING', 'COORD_CONSENT_INVALID', 'ACCEPTED', 'ACCEPTED'])
    expect(codes2).toEqual(['COORD_CONSENT_PROOF_MISSING', 'COORD_CONSENT_PROOF_INVALID', 'ACCEPTED'])
    const rejected = log.filter((r) => r.kind === ENTRY_KINDS.UPDATE_REJECTED).map((r) => (r as Extract<LineageRecord, { kind: 'update-rejected' }>).body.code)
    expect(rejected).toEqual(['COORD_CONSENT_MISSING', 'COORD_CONSENT_INVALID', 'COORD_CONSENT_PROOF_MISSING', 'COORD_CONSENT_PROOF_INVALID'])
    const revoked = log.filter((r) => r.kind === ENTRY_KINDS.CONSENT_REVOKED)
    expect(revoked.map((r) => [r.body.round, toHex((r as Extract<LineageRecord, { kind: 'consent-revoked' }>).body.pseudonym)])).toEqual([[1, toHex(withdrawn)]])
  })
})
