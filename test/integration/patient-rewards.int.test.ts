/**
 * Patient rewards, end to end (real gRPC, LevelDB, TF.js): a 2-site study
 * with consent that pays 1000 credits a round by examples.
 *
 * - After each commit, each site splits its credit over the patients it
 *   trained on that round and sends a signed `patient-rewards` statement;
 *   the coordinator logs it with the site's amount and consent count.
 * - A patient's `consent prove` bundle carries their amount and its proof;
 *   `consent verify` checks it offline and against the log, and a tampered
 *   amount or path fails.
 * - The audit passes, and fails with AUDIT_PATIENT_REWARDS_* on a rewritten
 *   log whose statement (re-signed by the site) claims another amount or count.
 * - The coordinator refuses a wrong amount or count over gRPC, and a second
 *   statement for the same site and round.
 */
import { cp, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { HubClient } from '../../coordinator/index.ts'
import { sha256, toHex } from '../../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema, type StudySpecInput } from '../../models/index.ts'
import { CoordinatorClient, SYNTHETIC_SCHEMA, SiteRequestRejectedError, loadConsentRound, loadSiteSecret } from '../../site-agent/index.ts'
import { auditDir, draftOf, readStoredLog, rewriteLog } from '../helpers/audit.ts'
import { createFederation, tempDir, testSigner, TEST_STUDY, type TestSite } from '../helpers/federation.ts'
import { cli, consentFederation, consentFiles } from '../helpers/consent.ts'
import {
  ENTRY_KINDS,
  embedStatement,
  readLineageRecord,
  type LineageRecord,
  consentClaimOf,
  consentTreeOf,
  decodeStatement,
  encodeConsentClaim,
  pseudonymOf,
  signStatement,
  splitToPatients,
  type ConsentClaim,
} from '../../protocol/index.ts'
import { inlineEnvelopeBody } from '../helpers/protocol.ts'

const PURPOSE = 'HRESCH'
const STUDY: Partial<StudySpecInput> = {
  rounds: 2,
  consent: { purpose: PURPOSE },
  data: { ...SYNTHETIC_SCHEMA, patientIdColumn: 'patient_id' },
  rewards: { poolPerRound: '1000', method: 'examples' },
}

/** Patients 1 … n-20 consented since 2020; the last 20 have no row. */
function consentCsv(site: TestSite): string {
  const rows = ['patient_id,status,valid_from,valid_until,purposes']
  for (let k = 1; k <= site.patients - 20; k++) rows.push(`${site.id}-${k},active,2020-01-01,,${PURPOSE}`)
  return `${rows.join('\n')}\n`
}

type Rec<K extends LineageRecord['kind']> = Extract<LineageRecord, { kind: K }>

describe('patient rewards', () => {
  it("passes each site's round credit on to its patients, logs it, proves a patient's amount, and audits", async () => {
    // Prepare: the study, both sites' consents imported with `consent import`.
    const { fed, io } = await consentFederation(STUDY, consentCsv)
    const [siteA] = fed.sites as [TestSite, TestSite]
    const runs = fed.sites.map((s) => fed.runSite(s))
    const hub = new HubClient(fed.coordinator.address)

    // Execute: two rounds, each evaluated.
    for (const round of [1, 2]) {
      const evaluated = new Promise<void>((resolve) => fed.coordinator.on('round-evaluated', (r: number) => r === round && resolve()))
      await hub.startNextRound(fed.hub)
      await evaluated
    }
    await Promise.all(runs)
    hub.close()
    await fed.coordinator.close()

    // Assert: one patient-rewards entry per site and round, with the site's credit and consent count, before study-completed.
    const log = (await readStoredLog(fed.config.dataDir)).map((e) => readLineageRecord(e.entry))
    const completed = log.findIndex((r) => r.kind === ENTRY_KINDS.STUDY_COMPLETED)
    const patientRewards = log.filter((r): r is Rec<'patient-rewards'> => r.kind === ENTRY_KINDS.PATIENT_REWARDS)
    expect(patientRewards).toHaveLength(4)
    for (const round of [1, 2]) {
      const rewarded = log.find((r): r is Rec<'round-rewarded'> => r.kind === ENTRY_KINDS.ROUND_REWARDED && r.body.round === round)!
      for (const site of fed.sites) {
        const entry = patientRewards.find((r) => r.body.round === round && r.body.site === site.id)!
        const st = decodeStatement('patient-rewards', entry.body.statement.body)
        const update = log.find((r): r is Rec<'update-accepted'> => r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.round === round && r.body.site === site.id)!
        expect(st.amount, `round ${round} ${site.id}`).toBe(rewarded.body.allocations.find((a) => a.site === site.id)!.amount)
        expect(st.amount).toBeGreaterThan(0n)
        expect(st.count).toBe(consentClaimOf(decodeStatement('update', inlineEnvelopeBody(update.body.envelope)).ext)!.count)
        expect(st.count).toBe(site.patients - 20)
        expect(entry.seq).toBeGreaterThan(rewarded.seq)
        expect(entry.seq).toBeLessThan(completed)
      }
    }

    // Execute / Assert: a patient's amount is proven, offline and against the log.
    const siteConfig = await fed.writeSiteConfig(siteA)
    const proofFile = path.join(fed.dir, 'proof.json')
    const patient = `${siteA.id}-7`
    await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', patient, '--round', '1', '--out', proofFile)
    const bundle = JSON.parse(await readFile(proofFile, 'utf8'))
    const entryA1 = patientRewards.find((r) => r.body.round === 1 && r.body.site === siteA.id)!
    const stA1 = decodeStatement('patient-rewards', entryA1.body.statement.body)
    const pseudonym = pseudonymOf(await loadSiteSecret(path.join(fed.dir, consentFiles(siteA).secretFile)), patient)
    const leaves = (await loadConsentRound(path.join(fed.dir, `${siteA.id}-replica-consent`), 1)).record.leaves
    const want = splitToPatients(
      stA1.amount,
      leaves.map((l) => ({ pseudonym: toHex(l.pseudonym), weight: 1n })),
    ).allocations.find((a) => a.pseudonym === toHex(pseudonym))!.amount
    expect(bundle.reward).toMatchObject({ amount: want.toString(), siteAmount: stA1.amount.toString(), root: toHex(stA1.root), count: stA1.count })
    expect(await cli(io, 'consent', 'verify', '--proof', proofFile)).toContain(`the patient's reward is ${want} of the site's ${stA1.amount} credits`)
    expect(await cli(io, 'consent', 'verify', '--proof', proofFile, '--db', fed.config.dataDir, '--site', siteA.id)).toContain(`as site "${siteA.id}" signed it (log entry ${entryA1.seq})`)

    // Assert: a tampered reward fails.
    const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
    const tampered: [string, object, string[], RegExp][] = [
      ['amount', { ...bundle, reward: { ...bundle.reward, amount: String(want + 1n) } }, [], /^LEDGER_ROOT_MISMATCH$/],
      ['path', { ...bundle, reward: { ...bundle.reward, path: [flip(bundle.reward.path[0], 3), ...bundle.reward.path.slice(1)] } }, [], /^LEDGER_ROOT_MISMATCH$/],
      ['index', { ...bundle, reward: { ...bundle.reward, index: bundle.reward.index + 1 } }, [], /^LEDGER_ROOT_MISMATCH$/],
      [
        'root, against the log',
        { ...bundle, reward: { ...bundle.reward, root: toHex(sha256(new Uint8Array(1))) } },
        ['--db', fed.config.dataDir],
        /^(LEDGER_ROOT_MISMATCH|PROTOCOL_PATIENT_REWARD_INVALID)$/,
      ],
      ['site amount, against the log', { ...bundle, reward: { ...bundle.reward, siteAmount: String(stA1.amount + 1n) } }, ['--db', fed.config.dataDir], /^AUDIT_PATIENT_REWARDS_NOT_LOGGED$/],
    ]
    const tamperedFile = path.join(fed.dir, 'tampered.json')
    for (const [what, value, extra, code] of tampered) {
      await writeFile(tamperedFile, JSON.stringify(value))
      await expect(cli(io, 'consent', 'verify', '--proof', tamperedFile, ...extra), what).rejects.toMatchObject({ code: expect.stringMatching(code) })
    }

    // Execute / Assert: --format tlog-proof also proves the site's patient-rewards entry, so the site's amount is checked with no replica.
    const tlogFile = path.join(fed.dir, 'proof.tlog.json')
    expect(await cli(io, 'consent', 'prove', '--config', siteConfig, '--patient-id', patient, '--round', '1', '--format', 'tlog-proof', '--out', tlogFile)).toContain(
      `and of its patient-rewards (entry ${entryA1.seq})`,
    )
    const tlogBundle = JSON.parse(await readFile(tlogFile, 'utf8'))
    const hubKey = ['--coordinator-key', toHex(fed.hub.publicKey)]
    expect(await cli(io, 'consent', 'verify', '--proof', tlogFile, ...hubKey)).toContain(`to the reward's allocation root in its patient-rewards entry ${entryA1.seq}`)
    for (const [what, value, code] of [
      ['site amount, offline', { ...tlogBundle, reward: { ...tlogBundle.reward, siteAmount: String(stA1.amount + 1n) } }, 'PROTOCOL_CONSENT_BUNDLE_MISMATCH'],
      ['no patient-rewards proof', { ...tlogBundle, log: { ...tlogBundle.log, rewards: undefined } }, 'PROTOCOL_CONSENT_INVALID'],
      ["the update's proof as the patient-rewards proof", { ...tlogBundle, log: { ...tlogBundle.log, rewards: tlogBundle.log.tlogProof } }, 'PROTOCOL_CONSENT_INVALID'],
    ] as const) {
      await writeFile(tamperedFile, JSON.stringify(value))
      await expect(cli(io, 'consent', 'verify', '--proof', tamperedFile, ...hubKey), what).rejects.toMatchObject({ code })
    }

    // Assert: the audit passes.
    const honest = await auditDir(fed.config.dataDir)
    expect(honest.error).toBeUndefined()
    expect(honest.report.rounds.map((r) => r.patientRewards?.map((p) => p.site))).toEqual([fed.sites.map((s) => s.id), fed.sites.map((s) => s.id)])
    expect(honest.report.rounds[0]!.patientRewards![0]).toEqual({ site: siteA.id, amount: stA1.amount.toString(), count: stA1.count, root: toHex(stA1.root) })

    // Execute / Assert: a log whose statement (re-signed by the site) claims another amount or count fails.
    const dishonest: [string, Record<string, unknown>, string][] = [
      ['amount + 1', { amount: stA1.amount + 1n }, 'AUDIT_PATIENT_REWARDS_AMOUNT_MISMATCH'],
      ['count + 1', { count: stA1.count + 1 }, 'AUDIT_PATIENT_REWARDS_COUNT_MISMATCH'],
    ]
    for (const [what, patch, code] of dishonest) {
      const dir = path.join(await tempDir('fedlineage-patient-rewards-dishonest-'), 'ledger')
      await cp(fed.config.dataDir, dir, { recursive: true })
      const statement = signStatement(testSigner(10), { ...stA1, ...patch })
      await rewriteLog(dir, {
        from: entryA1.seq,
        signer: testSigner(1),
        edit: (entry) => (entry.seq === entryA1.seq ? { ...draftOf(entry), body: { ...(entry.body as Record<string, never>), statement: embedStatement(statement) } } : draftOf(entry)),
      })
      const { report } = await auditDir(dir)
      expect(report.failure, what).toMatchObject({ code, seq: entryA1.seq })
    }
  })

  it('refuses a wrong amount or count, and a second statement for the same round, over gRPC', async () => {
    // Prepare: a round opened by hand, both sites' updates with consent claims made here.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, study: STUDY })
    const spec = StudySpecSchema.parse({ ...TEST_STUDY, ...STUDY })
    const shapes = modelShapes(spec.model, inputWidth(spec.data))
    // Distinct deltas: a copy of another site's earns nothing (stale-copy).
    const deltaOf = (i: number) => encodeWeights({ tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.01 * (i + 1)) })) })
    const hub = new HubClient(fed.coordinator.address)
    const client = new CoordinatorClient(fed.coordinator.address)
    const tree = consentTreeOf(Array.from({ length: 8 }, (_, k) => ({ pseudonym: sha256(new Uint8Array([1, k])), receiptHash: sha256(new Uint8Array([2, k])) })))
    const r1 = await hub.startNextRound(fed.hub)
    const at = Number((await hub.status()).rounds.find((r) => r.round === '1')!.openedMs)
    const claim: ConsentClaim = { at, root: tree.root, count: tree.count, excluded: { noConsent: 0, expired: 0, notYetValid: 0, revoked: 0 }, revoked: [], nonInclusion: [] }
    for (const [i, site] of fed.sites.entries()) {
      const delta = deltaOf(i)
      const envelope = signStatement(site.signer, {
        t: 'update',
        study: spec.id,
        round: 1,
        site: site.id,
        base: new Uint8Array(r1.baseModelHash),
        delta: sha256(delta),
        size: delta.length,
        examples: 50 + 50 * i,
        metrics: { trainLoss: 0.5 },
        nonce: new Uint8Array(16).fill(i + 1),
        time: Date.now(),
        ext: { consent: encodeConsentClaim(claim) },
      })
      await client.uploadUpdate(envelope, delta)
    }
    const credit = BigInt((await hub.status()).rounds.find((r) => r.round === '1')!.rewards.find((r) => r.siteId === fed.sites[0]!.id)!.amount)
    let time = Date.now()
    const send = async (amount: bigint, count: number): Promise<string> => {
      const st = signStatement(fed.sites[0]!.signer, { t: 'patient-rewards', study: spec.id, round: 1, site: fed.sites[0]!.id, amount, count, root: sha256(new Uint8Array([9])), time: ++time })
      try {
        await client.submitPatientRewards(st)
        return 'ACCEPTED'
      } catch (err) {
        if (err instanceof SiteRequestRejectedError) return err.remoteCode ?? 'UNKNOWN'
        throw err
      }
    }

    // Execute
    const codes = [await send(credit + 1n, tree.count), await send(credit, tree.count + 1), await send(credit, tree.count), await send(credit, tree.count)]
    hub.close()
    client.close()
    const log: LineageRecord[] = []
    for await (const { entry } of fed.coordinator.ledger.scan()) log.push(readLineageRecord(entry))

    // Assert
    expect(credit).toBe(333n)
    expect(codes).toEqual(['COORD_PATIENT_REWARDS_AMOUNT_MISMATCH', 'COORD_PATIENT_REWARDS_COUNT_MISMATCH', 'ACCEPTED', 'COORD_PATIENT_REWARDS_INVALID'])
    expect(log.filter((r) => r.kind === ENTRY_KINDS.PATIENT_REWARDS).map((r) => [r.body.round, (r as Rec<'patient-rewards'>).body.site])).toEqual([[1, fed.sites[0]!.id]])
  })
})
