/**
 * The audit of a real federation's log (3 sites, 3 rounds, real gRPC,
 * LevelDB and TF.js): the honest log passes with every round re-derived, and
 * each dishonest copy fails at the entry that lies, with the code that says
 * how. The copies are what a dishonest coordinator holding its own key could
 * write: every entry validly signed and chained, unless the test is about the
 * chain itself.
 */
import { describe, expect, it } from 'vitest'
import { AuditBlobMismatchError, AuditBlobMissingError, AuditChainBrokenError, AuditModelMismatchError, AuditStatementMismatchError, type AuditStatementSignatureError } from '../../auditor/index.ts'
import { decodeEntry, encodeCanonical, entryHash, isCanonicalScalar, sha256, toHex, type CanonicalValue } from '../../ledger/index.ts'
import { decodeWeights, encodeWeights, hashWeights, inputWidth, modelShapes, type Weights } from '../../models/core/index.ts'
import {
  auditDir,
  bodyOf,
  deleteBlob,
  deleteEntry,
  draftOf,
  findRecord,
  readBlob,
  replaceEntry,
  rewriteLog,
  storeBlobAs,
  useRecordedFederation,
  withBody,
  withMalleatedSignature,
  type RecordedLog,
} from '../helpers/audit.ts'
import { testSigner } from '../helpers/ledger.ts'
import { createStrategy, type LineageRecord, decodeStatement, signStatement } from '../../protocol/index.ts'
import { inlineEnvelopeBody } from '../helpers/protocol.ts'

const recorded = useRecordedFederation()

/** The enrolled site ids, in log (= id) order. */
function siteIds(log: RecordedLog): string[] {
  return log.records.flatMap((r) => (r.kind === 'site-enrolled' ? [r.body.site] : []))
}

function update(log: RecordedLog, round: number, site: string) {
  return findRecord(log.records, 'update-accepted', (r) => r.body.round === round && r.body.site === site)
}

function commit(log: RecordedLog, round: number) {
  return findRecord(log.records, 'round-committed', (r) => r.body.round === round)
}

function scaled(delta: Weights, factor: number): Weights {
  return { tensors: delta.tensors.map((t) => ({ ...t, values: t.values.map((v) => v * factor) })) }
}

/** Round `round` of the recorded log re-aggregated with FedAvg at server learning rate `lr`. */
async function aggregateWith(log: RecordedLog, round: number, lr: number) {
  const shapes = modelShapes(log.spec.model, inputWidth(log.spec.data))
  const c = commit(log, round)
  const parent = decodeWeights(await readBlob(log.dir, c.body.parent), shapes)
  const updates = []
  // One at a time: each read opens the LevelDB directory, which allows a single holder.
  for (const i of c.body.inputs) updates.push({ siteId: i.site, exampleCount: i.examples, delta: decodeWeights(await readBlob(log.dir, i.delta), shapes) })
  const outcome = createStrategy({ name: 'fedavg', serverLearningRate: lr }).aggregateRound({ round, global: parent, replies: updates, failures: [], state: null, seed: 0 })
  if (outcome.kind !== 'model') throw new Error(`round ${round}: no model to re-aggregate`)
  return { weights: outcome.weights, hash: hashWeights(outcome.weights), metrics: outcome.metrics }
}

describe('audit of an honest federation', () => {
  it('passes, with every round re-derived and the lineage from genesis to the final model', async () => {
    // Prepare
    const log = await recorded()
    const commits = log.records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === 'round-committed')
    const created = findRecord(log.records, 'study-created')

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(error).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.failure).toBeUndefined()
    expect(report.study).toBe(log.spec.id)
    expect(report.entries).toBe(log.entries.length)
    expect(report.head).toBe(toHex(log.entries.at(-1)!.hash))
    expect(report.coordinatorKey).toBe(toHex(log.coordinator.publicKey))
    expect(report.completed).toBe(true)
    expect(report.rounds.map((r) => [r.round, r.status, r.rederived])).toEqual([
      [1, 'committed', true],
      [2, 'committed', true],
      [3, 'committed', true],
    ])
    expect(report.rounds.map((r) => r.model)).toEqual(commits.map((c) => toHex(c.body.model)))
    expect(report.lineage).toEqual([toHex(created.body.genesis), ...commits.map((c) => toHex(c.body.model))])
    expect(report.sites.map((s) => [s.id, s.updates, s.evaluations, s.rejected])).toEqual(siteIds(log).map((id) => [id, 3, 4, 0]))
  })

  it('passes with the coordinator key pinned, and fails at entry 0 with another key pinned', async () => {
    // Prepare
    const log = await recorded()

    // Execute
    const pinned = await auditDir(log.dir, { trustedCoordinatorKey: log.coordinator.publicKey })
    const other = await auditDir(log.dir, { trustedCoordinatorKey: testSigner(2).publicKey })

    // Assert
    expect(pinned.report.ok).toBe(true)
    expect(other.report.failure).toMatchObject({ seq: 0, code: 'AUDIT_AUTHOR_UNTRUSTED', expected: toHex(log.coordinator.publicKey), calculated: toHex(testSigner(2).publicKey) })
  })

  it('reports progress from 0 to every entry', async () => {
    // Prepare
    const log = await recorded()
    const calls: [number, number][] = []

    // Execute
    await auditDir(log.dir, { onProgress: (done, total) => calls.push([done, total]) })

    // Assert
    const n = log.entries.length
    expect(calls[0]).toEqual([0, n])
    expect(calls.at(-1)).toEqual([n, n])
    expect(calls).toHaveLength(n + 1)
  })
})

describe('audit of a dishonest copy', () => {
  it('(a) a stored delta swapped for another valid delta fails at its update: AUDIT_BLOB_MISMATCH', async () => {
    // Prepare: site A's round-2 delta blob now holds site B's (a well-formed delta, just not the one named).
    const log = await recorded()
    const [a, b] = siteIds(log)
    const victim = update(log, 2, a!)
    const other = update(log, 2, b!)
    await storeBlobAs(log.dir, victim.body.delta, await readBlob(log.dir, other.body.delta))

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: victim.seq, code: 'AUDIT_BLOB_MISMATCH', expected: toHex(victim.body.delta), calculated: toHex(other.body.delta) })
    expect(error).toBeInstanceOf(AuditBlobMismatchError)
    expect(report.entries).toBe(victim.seq)
  })

  it('(a) a logged delta hash other than the one the site signed fails at its update: AUDIT_STATEMENT_MISMATCH', async () => {
    // Prepare: the coordinator stores a doubled delta for site A in round 2 and
    // names it in both the update entry and the commit; it cannot re-sign the site's envelope.
    const log = await recorded()
    const [a] = siteIds(log)
    const victim = update(log, 2, a!)
    const shapes = modelShapes(log.spec.model, inputWidth(log.spec.data))
    const forged = encodeWeights(scaled(decodeWeights(await readBlob(log.dir, victim.body.delta), shapes), 2))
    const forgedHash = sha256(forged)
    await rewriteLog(log.dir, {
      from: victim.seq,
      signer: log.coordinator,
      blobs: [forged],
      edit: (entry, record) => {
        if (record.seq === victim.seq) return withBody(draftOf(entry), { delta: forgedHash })
        if (record.kind === 'round-committed' && record.body.round === 2) {
          const inputs = record.body.inputs.map((i) => (i.site === a ? { ...i, delta: forgedHash } : i))
          return withBody(draftOf(entry), { inputs: inputs as unknown as CanonicalValue })
        }
        return draftOf(entry)
      },
    })

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: victim.seq, code: 'AUDIT_STATEMENT_MISMATCH', expected: toHex(forgedHash), calculated: toHex(victim.body.delta) })
    expect(error).toBeInstanceOf(AuditStatementMismatchError)
    expect((error as AuditStatementMismatchError).field).toBe('delta')
  })

  it('(a) a model blob nobody kept fails at its commit: AUDIT_BLOB_MISSING', async () => {
    // Prepare
    const log = await recorded()
    const c = commit(log, 3)
    await deleteBlob(log.dir, c.body.model)

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: c.seq, code: 'AUDIT_BLOB_MISSING' })
    expect(error).toBeInstanceOf(AuditBlobMissingError)
    expect(report.rounds.map((r) => r.rederived)).toEqual([true, true, false])
  })

  // Every value a commit logs is re-derived by re-running the decider, not only the model: here one
  // value at a time is altered and the whole rest of the log re-signed by the coordinator's own key.
  it.each([
    {
      field: 'metrics.trainLoss',
      code: 'AUDIT_METRICS_MISMATCH',
      edit: (b: Record<string, CanonicalValue>) => ({ metrics: { ...(b.metrics as Record<string, number>), trainLoss: (b.metrics as Record<string, number>).trainLoss! + 1e-9 } }),
    },
    {
      field: 'metrics.examples',
      code: 'AUDIT_METRICS_MISMATCH',
      edit: (b: Record<string, CanonicalValue>) => ({ metrics: { ...(b.metrics as Record<string, number>), examples: (b.metrics as Record<string, number>).examples! + 1 } }),
    },
    { field: 'failures', code: 'AUDIT_ENTRY_MISMATCH', edit: () => ({ failures: [{ site: 'nobody', reason: 'no-update' }] }) },
  ])('(f) a commit whose logged $field was altered and re-signed fails there: $code', async ({ field, code, edit }) => {
    // Prepare
    const log = await recorded()
    const c = commit(log, 2)
    await rewriteLog(log.dir, { from: c.seq, signer: log.coordinator, edit: (entry, record) => (record.seq === c.seq ? withBody(draftOf(entry), edit(bodyOf(entry))) : draftOf(entry)) })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: c.seq, code })
    expect(report.failure?.message).toContain(`: ${field}`)
    expect(report.entries).toBe(c.seq)
  })

  it('(f) a round whose logged instructions for a site were altered and re-signed fails at its opening: AUDIT_ENTRY_MISMATCH', async () => {
    // Prepare: the coordinator tells the log one learning rate and could tell a site another.
    const log = await recorded()
    const opened = findRecord(log.records, 'round-opened', (r) => r.body.round === 2)
    const plan = opened.body.plan.map((p, i) => (i === 0 ? { site: p.site, instructions: { ...p.instructions, learningRate: 0.5 } } : p))
    await rewriteLog(log.dir, {
      from: opened.seq,
      signer: log.coordinator,
      edit: (entry, record) => (record.seq === opened.seq ? withBody(draftOf(entry), { plan: plan as unknown as CanonicalValue }) : draftOf(entry)),
    })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: opened.seq, code: 'AUDIT_ENTRY_MISMATCH', expected: '0.5' })
    expect(report.failure?.message).toContain('plan.0.instructions.learningRate')
  })

  it('(b) a commit aggregated with serverLearningRate 0.5 while the log says 1 fails: AUDIT_MODEL_MISMATCH', async () => {
    // Prepare: round 2 committed to the lr-0.5 model, strategy params left at 1.
    const log = await recorded()
    const c = commit(log, 2)
    const half = await aggregateWith(log, 2, 0.5)
    await rewriteLog(log.dir, {
      from: c.seq,
      signer: log.coordinator,
      blobs: [encodeWeights(half.weights)],
      edit: (entry, record) => (record.seq === c.seq ? withBody(draftOf(entry), { model: half.hash, metrics: { ...c.body.metrics, ...half.metrics } }) : draftOf(entry)),
    })

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert: expected is what the log claims, calculated what FedAvg at lr 1 gives (the honest model).
    expect(report.failure).toMatchObject({ seq: c.seq, code: 'AUDIT_MODEL_MISMATCH', expected: toHex(half.hash), calculated: toHex(c.body.model) })
    expect(error).toBeInstanceOf(AuditModelMismatchError)
    expect((error as AuditModelMismatchError).round).toBe(2)
    expect(report.lineage).toHaveLength(2)
  })

  it('(b) a commit that honestly logs serverLearningRate 0.5 when the study says 1 fails: AUDIT_STRATEGY_MISMATCH', async () => {
    // Prepare
    const log = await recorded()
    const c = commit(log, 2)
    const half = await aggregateWith(log, 2, 0.5)
    await rewriteLog(log.dir, {
      from: c.seq,
      signer: log.coordinator,
      blobs: [encodeWeights(half.weights)],
      edit: (entry, record) =>
        record.seq === c.seq
          ? withBody(draftOf(entry), { model: half.hash, metrics: { ...c.body.metrics, ...half.metrics }, strategy: { name: 'fedavg', params: { serverLearningRate: 0.5 } } })
          : draftOf(entry),
    })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: c.seq, code: 'AUDIT_STRATEGY_MISMATCH' })
    // The finding names the first differing field and both values.
    expect(report.failure).toMatchObject({ expected: '0.5', calculated: '1' })
    expect(report.failure?.message).toContain('strategy.params.serverLearningRate')
  })

  it('(c) an entry deleted from the store leaves a gap: AUDIT_SEQ_GAP at its position', async () => {
    // Prepare
    const log = await recorded()
    const [, b] = siteIds(log)
    const dropped = update(log, 2, b!)
    await deleteEntry(log.dir, dropped.seq)

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: dropped.seq, code: 'AUDIT_SEQ_GAP' })
    expect(report.entries).toBe(dropped.seq)
  })

  it('(c) an entry dropped and the rest renumbered without re-chaining: AUDIT_CHAIN_BROKEN', async () => {
    // Prepare: entries after the dropped one are re-signed at their new positions, but keep chaining to the dropped entry.
    const log = await recorded()
    const [, b] = siteIds(log)
    const dropped = update(log, 2, b!)
    await rewriteLog(log.dir, {
      from: dropped.seq,
      signer: log.coordinator,
      prevHash: log.entries[dropped.seq]!.hash,
      edit: (entry, record) => (record.seq === dropped.seq ? null : draftOf(entry)),
    })

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({
      seq: dropped.seq,
      code: 'AUDIT_CHAIN_BROKEN',
      expected: toHex(log.entries[dropped.seq]!.hash),
      calculated: toHex(log.entries[dropped.seq - 1]!.hash),
    })
    expect(error).toBeInstanceOf(AuditChainBrokenError)
  })

  it('(c) an update dropped and the whole rest re-signed: the state fold refuses the commit that still names it', async () => {
    // Prepare
    const log = await recorded()
    const [, b] = siteIds(log)
    const dropped = update(log, 2, b!)
    const c = commit(log, 2)
    await rewriteLog(log.dir, { from: dropped.seq, signer: log.coordinator, edit: (entry, record) => (record.seq === dropped.seq ? null : draftOf(entry)) })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert: the commit moved up by one.
    expect(report.failure).toMatchObject({ seq: c.seq - 1, code: 'AUDIT_STATE_INVALID' })
    expect(report.failure?.message).toContain(b)
  })

  it('(d) a signature with S + L in place of S fails at that entry: AUDIT_SIGNATURE_INVALID', async () => {
    // Prepare: malleate round 2's commit and re-chain everything after it, so the scalar is the only defect.
    const log = await recorded()
    const c = commit(log, 2)
    const malleated = withMalleatedSignature(log.entries[c.seq]!.entry)
    const decoded = decodeEntry(malleated, c.seq)
    expect(isCanonicalScalar(decoded.signature)).toBe(false)
    await replaceEntry(log.dir, c.seq, malleated)
    await rewriteLog(log.dir, { from: c.seq + 1, signer: log.coordinator, prevHash: entryHash(malleated) })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: c.seq, code: 'AUDIT_SIGNATURE_INVALID' })
    expect(report.entries).toBe(c.seq)
  })

  it('(e) an update envelope with inflated examples and a forged signature fails at its update: AUDIT_STATEMENT_SIGNATURE_INVALID', async () => {
    // Prepare: site B's round-3 weight ×10, "signed" by a key that is not B's.
    const log = await recorded()
    const [, b] = siteIds(log)
    const victim = update(log, 3, b!)
    const envelope = decodeStatement('update', inlineEnvelopeBody(victim.body.envelope))
    const examples = envelope.examples * 10
    const forged = signStatement(testSigner(99), { ...envelope, examples })
    await rewriteLog(log.dir, {
      from: victim.seq,
      signer: log.coordinator,
      edit: (entry, record) => {
        if (record.seq === victim.seq) return withBody(draftOf(entry), { envelope: { body: forged.body, sig: forged.signature }, examples })
        if (record.kind === 'round-committed' && record.body.round === 3) {
          const inputs = record.body.inputs.map((i) => (i.site === b ? { ...i, examples, envelope: sha256(forged.body) } : i))
          return withBody(draftOf(entry), { inputs: inputs as unknown as CanonicalValue })
        }
        return draftOf(entry)
      },
    })

    // Execute
    const { report, error } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: victim.seq, code: 'AUDIT_STATEMENT_SIGNATURE_INVALID' })
    expect(toHex((error as AuditStatementSignatureError).key)).toBe(toHex(findRecord(log.records, 'site-enrolled', (r) => r.body.site === b).body.key))
  })

  it('an entry signed by another key mid-log fails there: AUDIT_AUTHOR_UNTRUSTED', async () => {
    // Prepare: from round 2's opening on, a second key signs (chain and signatures valid).
    const log = await recorded()
    const opened = findRecord(log.records, 'round-opened', (r) => r.body.round === 2)
    await rewriteLog(log.dir, { from: opened.seq, signer: testSigner(7) })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: opened.seq, code: 'AUDIT_AUTHOR_UNTRUSTED', expected: toHex(testSigner(7).publicKey), calculated: toHex(log.coordinator.publicKey) })
  })

  it("a genesis hash that is not the spec's initial model fails at entry 0: AUDIT_GENESIS_MISMATCH", async () => {
    // Prepare: the coordinator claims round 1 started from another model, and stores it.
    const log = await recorded()
    const created = findRecord(log.records, 'study-created')
    const other = encodeCanonical({ not: 'the initial model' })
    await rewriteLog(log.dir, {
      from: 0,
      signer: log.coordinator,
      blobs: [other],
      edit: (entry, record) => (record.seq === 0 ? { ...draftOf(entry), body: { ...bodyOf(entry), genesis: sha256(other) } } : draftOf(entry)),
    })

    // Execute
    const { report } = await auditDir(log.dir)

    // Assert
    expect(report.failure).toMatchObject({ seq: 0, code: 'AUDIT_GENESIS_MISMATCH', expected: toHex(sha256(other)), calculated: toHex(created.body.genesis) })
    expect(report.entries).toBe(0)
  })
})
