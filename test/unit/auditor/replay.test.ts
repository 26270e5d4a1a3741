/**
 * auditor/replay.ts over an in-memory AuditSource (the narrow interface is
 * the only thing stubbed): the honest synthetic log passes, and the audit
 * trusts nothing the source says. A source that skips verification, lies in
 * its decoded fields, hands out other blob bytes or ends early is caught by
 * the audit itself.
 */
import { describe, expect, it } from 'vitest'
import { auditLog, formatAuditVerdict, replayLog, type AuditSource } from '../../../auditor/index.ts'
import {
  LedgerBlobMissingError,
  RemoteBlobMissingError,
  ReplicaUnavailableError,
  decodeEntry,
  encodeCanonical,
  encodeEntry,
  entryHash,
  sha256,
  toHex,
  type AppendedEntry,
  type EntryDraft,
} from '../../../ledger/index.ts'
import { encodeWeights, type Weights } from '../../../models/core/index.ts'
import { draftRecords, findRecord, memorySource, signLog, syntheticDelta, syntheticStudy, withBody, withMalleatedSignature, type SyntheticStudy } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { embedStatement, type LineageRecord, decodeStatement, signStatement } from '../../../protocol/index.ts'
import { inlineEnvelopeBody } from '../../helpers/protocol.ts'

function honest(study: SyntheticStudy = syntheticStudy()) {
  const entries = signLog(study.coordinator, study.drafts)
  return { study, entries, records: draftRecords(study.drafts), source: memorySource(entries, study.blobs) }
}

/** The study with site `siteIndex`'s round-`round` delta replaced by `bytes`, its envelope re-signed by the site. */
function withDelta(study: SyntheticStudy, round: number, siteIndex: number, bytes: Uint8Array): SyntheticStudy {
  const site = study.sites[siteIndex]!
  const records = draftRecords(study.drafts)
  const update = findRecord(records, 'update-accepted', (r) => r.body.round === round && r.body.site === site.id)
  const commit = findRecord(records, 'round-committed', (r) => r.body.round === round)
  const envelope = signStatement(site.signer, { ...decodeStatement('update', inlineEnvelopeBody(update.body.envelope)), delta: sha256(bytes), size: bytes.length })
  const drafts = [...study.drafts]
  drafts[update.seq] = withBody(drafts[update.seq]!, { envelope: embedStatement(envelope), delta: sha256(bytes) })
  const inputs = commit.body.inputs.map((i) => (i.site === site.id ? { ...i, delta: sha256(bytes), envelope: sha256(envelope.body) } : i))
  drafts[commit.seq] = withBody(drafts[commit.seq]!, { inputs })
  return { ...study, drafts, blobs: [...study.blobs, bytes] }
}

function replaceDraft(study: SyntheticStudy, seq: number, draft: EntryDraft): SyntheticStudy {
  const drafts = [...study.drafts]
  drafts[seq] = draft
  return { ...study, drafts }
}

function commitOf(records: readonly LineageRecord[], round: number) {
  return findRecord(records, 'round-committed', (r) => r.body.round === round)
}

describe('auditLog over an honest log', () => {
  it('passes and re-derives every round', async () => {
    // Prepare
    const { source, entries } = honest()

    // Execute
    const report = await auditLog(source)

    // Assert
    expect(report.ok).toBe(true)
    expect(report.entries).toBe(entries.length)
    expect(report.head).toBe(toHex(entries.at(-1)!.hash))
    expect(report.rounds.map((r) => r.rederived)).toEqual([true, true])
    expect(report.lineage).toHaveLength(3)
  })

  it('passes a log that ends in an abandoned round and an unfinished study', async () => {
    // Prepare: round 2 opened, one update accepted, then abandoned at its deadline (minSites 2).
    const base = syntheticStudy({ rounds: 2 })
    const records = draftRecords(base.drafts)
    const secondUpdate = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site === base.sites[1]!.id)
    const drafts: EntryDraft[] = [
      ...base.drafts.slice(0, secondUpdate.seq),
      { kind: 'round-abandoned', timeMs: 1_800_000_000_000, body: { round: 2, reason: 'deadline passed with 1 accepted updates, the study needs 2', accepted: 1 } },
    ]
    const { source } = honest({ ...base, drafts })

    // Execute
    const report = await auditLog(source)

    // Assert
    expect(report.ok).toBe(true)
    expect(report.completed).toBe(false)
    expect(report.rounds.map((r) => [r.round, r.status, r.rederived])).toEqual([
      [1, 'committed', true],
      [2, 'abandoned', false],
    ])
  })

  it('reports progress from 0 to every entry', async () => {
    // Prepare
    const { source, entries } = honest()
    const calls: number[] = []

    // Execute
    await auditLog(source, { onProgress: (done, total) => calls.push(done * 1000 + total) })

    // Assert
    expect(calls).toEqual(Array.from({ length: entries.length + 1 }, (_, i) => i * 1000 + entries.length))
  })

  it("passes with the coordinator key pinned, and fails at entry 0 with the hub's key pinned instead", async () => {
    // Prepare
    const { source, study } = honest()

    // Execute
    const pinned = await auditLog(source, { trustedCoordinatorKey: study.coordinator.publicKey })
    const wrong = await auditLog(source, { trustedCoordinatorKey: study.hub.publicKey })

    // Assert
    expect(pinned.ok).toBe(true)
    expect(wrong.failure).toMatchObject({ seq: 0, code: 'AUDIT_AUTHOR_UNTRUSTED' })
  })
})

describe('auditLog trusts nothing the source says', () => {
  it('re-checks every signature itself: an S + L signature the source handed out fails', async () => {
    // Prepare
    const { entries, records, study } = honest()
    const k = commitOf(records, 1).seq
    const bytes = withMalleatedSignature(entries[k]!.entry)
    const tampered = [...entries.slice(0, k), { ...entries[k]!, bytes }, ...signLog(study.coordinator, study.drafts.slice(k + 1), k + 1, entryHash(bytes))]

    // Execute
    const report = await auditLog(memorySource(tampered, study.blobs))

    // Assert
    expect(report.failure).toMatchObject({ seq: k, code: 'AUDIT_SIGNATURE_INVALID' })
  })

  it("ignores the source's decoded entry and hash and reads only the bytes", async () => {
    // Prepare
    const { entries, study } = honest()
    const lying: AppendedEntry[] = entries.map((e, i) => ({ bytes: e.bytes, entry: entries[0]!.entry, hash: entries[(i + 1) % entries.length]!.hash }))

    // Execute
    const report = await auditLog(memorySource(lying, study.blobs))

    // Assert
    expect(report.ok).toBe(true)
  })

  it.each([
    {
      desc: 'an entry from a log chained differently',
      code: 'AUDIT_CHAIN_BROKEN',
      swap: (e: AppendedEntry[], s: SyntheticStudy, k: number) => ({ ...e[k]!, bytes: signLog(s.coordinator, [s.drafts[k]!], k, sha256(new Uint8Array([1])))[0]!.bytes }),
    },
    { desc: 'bytes with a trailing byte', code: 'AUDIT_ENTRY_MALFORMED', swap: (e: AppendedEntry[], _s: SyntheticStudy, k: number) => ({ ...e[k]!, bytes: Uint8Array.from([...e[k]!.bytes, 0]) }) },
    { desc: 'the next entry in place of this one', code: 'AUDIT_SEQ_GAP', swap: (e: AppendedEntry[], _s: SyntheticStudy, k: number) => e[k + 1]! },
    {
      desc: 'an entry with a flipped signature bit',
      code: 'AUDIT_SIGNATURE_INVALID',
      swap: (e: AppendedEntry[], _s: SyntheticStudy, k: number) => ({ ...e[k]!, bytes: flipLastSignatureBit(e[k]!.bytes) }),
    },
  ])('refuses $desc: $code at that entry', async ({ code, swap }) => {
    // Prepare
    const { entries, study } = honest()
    const k = 7
    const tampered = entries.map((e, i) => (i === k ? swap(entries, study, k) : e))

    // Execute
    const report = await auditLog(memorySource(tampered, study.blobs))

    // Assert
    expect(report.failure).toMatchObject({ seq: k, code })
    expect(report.entries).toBe(k)
    expect(report.head).toBe(toHex(entries[k - 1]!.hash))
  })

  it('re-hashes every blob: other bytes handed out for a delta fail at its update', async () => {
    // Prepare
    const { source, records, study } = honest()
    const update = findRecord(records, 'update-accepted', (r) => r.body.round === 2 && r.body.site === study.sites[2]!.id)
    source.blobs.set(toHex(update.body.delta), encodeWeights(syntheticDelta(study.shapes, 2, 0)))

    // Execute
    const report = await auditLog(source)

    // Assert
    expect(report.failure).toMatchObject({ seq: update.seq, code: 'AUDIT_BLOB_MISMATCH', expected: toHex(update.body.delta) })
  })

  it('fails at the first entry a source holding fewer than its length never yields: AUDIT_SEQ_GAP', async () => {
    // Prepare
    const { entries, study } = honest()
    const short: AuditSource = { ...memorySource(entries.slice(0, 10), study.blobs), length: entries.length }

    // Execute
    const report = await auditLog(short)

    // Assert
    expect(report.failure).toMatchObject({ seq: 10, code: 'AUDIT_SEQ_GAP' })
  })

  it('fails an empty source: AUDIT_LOG_EMPTY', async () => {
    // Execute
    const report = await auditLog(memorySource([], []))

    // Assert
    expect(report).toMatchObject({ ok: false, entries: 0, study: '', failure: { seq: 0, code: 'AUDIT_LOG_EMPTY' } })
  })

  it('fails a blob the source does not hold: AUDIT_BLOB_MISSING', async () => {
    // Prepare
    const { source, records } = honest()
    const commit = commitOf(records, 2)
    source.blobs.delete(toHex(commit.body.model))

    // Execute
    const { report, error } = await replayLog(source)

    // Assert
    expect(report.failure).toMatchObject({ seq: commit.seq, code: 'AUDIT_BLOB_MISSING' })
    expect(error?.seq).toBe(commit.seq)
  })

  it('rejects, rather than reporting a verdict, when the source itself fails', async () => {
    // Prepare
    const { source } = honest()
    const broken: AuditSource = { length: source.length, scan: (from, to) => source.scan(from, to), getBlob: () => Promise.reject(Object.assign(new Error('disk on fire'), { code: 'EIO' })) }

    // Execute / Assert
    await expect(auditLog(broken)).rejects.toMatchObject({ code: 'EIO' })
  })
})

describe("auditLog over a participant's replica (it holds only what its holder may read)", () => {
  /** The honest log as site `index`'s replica holds it: every entry, only the blobs in `keep`. */
  function replicaOf(index: number, keep: (hash: string, study: SyntheticStudy) => boolean, fetch?: (hash: Uint8Array) => Uint8Array | undefined) {
    const { study, entries, records, source } = honest()
    for (const hash of [...source.blobs.keys()]) if (!keep(hash, study)) source.blobs.delete(hash)
    const replica: AuditSource = {
      ...source,
      holder: { key: study.sites[index]!.signer.publicKey },
      ...(fetch === undefined
        ? {}
        : {
            fetchBlob: async (hash: Uint8Array) => {
              const bytes = fetch(hash)
              if (bytes === undefined) throw Object.assign(new Error('refused'), { code: 'LEDGER_ACCESS_DENIED' })
              source.blobs.set(toHex(hash), bytes)
            },
          }),
    }
    return { study, entries, records, replica }
  }

  it('holding no blob: a partial verdict naming, per round, the deltas the site may not see and its own not fetched; never passed', async () => {
    // Prepare
    const { study, entries, replica } = replicaOf(0, () => false)
    const [own, ...others] = study.sites

    // Execute
    const { report, error } = await replayLog(replica)

    // Assert
    expect(error).toBeUndefined()
    expect(report).toMatchObject({ ok: false, verdict: 'partial', entries: entries.length, holder: `site "${own!.id}"` })
    expect(report.rounds.map((r) => [r.rederived, r.unchecked])).toEqual([
      [false, true],
      [false, true],
    ])
    const hidden = `2 of 3 deltas are not visible to site "${own!.id}" (sites ${others.map((s) => `"${s.id}"`).join(', ')})`
    expect(report.unchecked).toEqual(
      [1, 2].map((r) => `round ${r}: aggregation not re-derived (model taken by hash): ${hidden}; the delta of site "${own!.id}" is not in this replica and was not fetched`),
    )
    expect(formatAuditVerdict(report)).toMatch(/^audit PARTIAL of site "alpha-clinic"'s replica: /)
  })

  it('fetches only what its holder may read: its own deltas, checked; the others are never asked for', async () => {
    // Prepare: the peer serves anything; the replay must not ask for other sites' deltas.
    const asked: string[] = []
    const all = honest().source.blobs
    const { study, records, replica } = replicaOf(
      0,
      () => false,
      (hash) => {
        asked.push(toHex(hash))
        return all.get(toHex(hash))
      },
    )
    const own = study.sites[0]!.id
    const ownDeltas = records.filter((r): r is Extract<LineageRecord, { kind: 'update-accepted' }> => r.kind === 'update-accepted' && r.body.site === own).map((r) => toHex(r.body.delta))

    // Execute
    const { report } = await replayLog(replica)

    // Assert
    expect(report.verdict).toBe('partial')
    expect(asked.sort()).toEqual(ownDeltas.sort())
    expect(report.unchecked?.every((u) => u.endsWith(`site "${own}"'s own update and delta checked`))).toBe(true)
  })

  it("a site's key on a store that holds every blob passes: the policy governs what is fetched, not what is read", async () => {
    // Prepare
    const { replica } = replicaOf(0, () => true)

    // Execute
    const { report } = await replayLog(replica)

    // Assert
    expect(report).toMatchObject({ ok: true, verdict: 'passed', holder: 'site "alpha-clinic"' })
    expect(report.rounds.map((r) => r.rederived)).toEqual([true, true])
  })

  it('a replica that fetches everything its holder lacks, and may read it all, passes', async () => {
    // Prepare: the coordinator's own key holds this replica (it may read every blob).
    const all = honest().source.blobs
    const { study, replica } = replicaOf(
      0,
      () => false,
      (hash) => all.get(toHex(hash)),
    )
    const coordinatorReplica: AuditSource = { ...replica, holder: { key: study.coordinator.publicKey } }

    // Execute
    const { report, error } = await replayLog(coordinatorReplica)

    // Assert
    expect(error).toBeUndefined()
    expect(report).toMatchObject({ ok: true, verdict: 'passed' })
    expect(report.unchecked).toBeUndefined()
    expect(report.rounds.map((r) => r.rederived)).toEqual([true, true])
  })

  it('a delta its holder may read but the peer will not give: named with the error, still partial', async () => {
    // Prepare
    const { study, replica } = replicaOf(
      0,
      () => false,
      () => undefined,
    )

    // Execute
    const { report } = await replayLog(replica)

    // Assert
    expect(report.verdict).toBe('partial')
    expect(report.unchecked?.[0]).toMatch(new RegExp(`the delta of site "${study.sites[0]!.id}" could not be fetched \\(LEDGER_ACCESS_DENIED: refused\\)$`))
  })

  it("a delta no peer holds, which the study's retention let go, is replayed hash-only as in a full store; one it still keeps fails", async () => {
    // Prepare: a study keeping deltas for 1 later round; round 1's deltas are gone from every peer.
    const base = honest(syntheticStudy({ study: { retention: { deltaRounds: 1 } } }))
    const deltas = (round: number) => base.records.flatMap((r) => (r.kind === 'update-accepted' && r.body.round === round ? [toHex(r.body.delta)] : []))
    /** A replica holding no blob, whose peers hold `peerBlobs` and answer not-found for the rest. */
    const fetchingReplica = (peerBlobs: ReadonlyMap<string, Uint8Array>): AuditSource => {
      const held = new Map<string, Uint8Array>()
      return {
        length: base.entries.length,
        scan: (from, to) => base.source.scan(from, to),
        getBlob: async (hash) => held.get(toHex(hash)) ?? Promise.reject(new LedgerBlobMissingError(hash)),
        holder: { key: base.study.coordinator.publicKey },
        fetchBlob: async (hash) => {
          const bytes = peerBlobs.get(toHex(hash))
          if (bytes === undefined) throw new ReplicaUnavailableError(`blob ${toHex(hash)}`, [new RemoteBlobMissingError('peer-1', hash)])
          held.set(toHex(hash), bytes)
        },
      }
    }
    const pruned = new Map([...base.source.blobs].filter(([h]) => !deltas(1).includes(h)))
    const lostKept = new Map([...pruned].filter(([h]) => h !== deltas(2)[0]))

    // Execute
    const afterRetention = await replayLog(fetchingReplica(pruned))
    const lost = await replayLog(fetchingReplica(lostKept))

    // Assert
    expect(afterRetention.report).toMatchObject({ ok: true, verdict: 'passed' })
    expect(afterRetention.report.rounds.map((r) => [r.rederived, r.hashOnly === true])).toEqual([
      [false, true],
      [true, false],
    ])
    expect(lost.report.failure?.code).toBe('AUDIT_BLOB_MISSING')
  })

  it('still holds every update entry to the envelope the site signed, delta or not: AUDIT_STATEMENT_MISMATCH', async () => {
    // Prepare: another site's update entry logs 10× the examples its envelope signs.
    const base = honest()
    const update = findRecord(base.records, 'update-accepted', (r) => r.body.round === 1 && r.body.site === base.study.sites[1]!.id)
    const study = replaceDraft(base.study, update.seq, withBody(base.study.drafts[update.seq]!, { examples: update.body.examples * 10 }))
    const entries = signLog(study.coordinator, study.drafts)
    const replica: AuditSource = { ...memorySource(entries, []), holder: { key: study.sites[0]!.signer.publicKey } }

    // Execute
    const { report } = await replayLog(replica)

    // Assert
    expect(report).toMatchObject({ ok: false, verdict: 'failed', failure: { seq: update.seq, code: 'AUDIT_STATEMENT_MISMATCH' } })
  })
})

describe('auditLog refuses what an honest coordinator cannot write', () => {
  it.each([
    {
      desc: 'an entry kind the lineage does not know',
      code: 'AUDIT_RECORD_INVALID',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => replaceDraft(s, 4, { kind: 'model-published', timeMs: 1, body: { model: findRecord(r, 'study-created').body.genesis } }),
      seq: () => 4,
    },
    {
      desc: 'a body missing a field',
      code: 'AUDIT_RECORD_INVALID',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => {
        const { examples: _, ...body } = findRecord(r, 'update-accepted').body
        return replaceDraft(s, findRecord(r, 'update-accepted').seq, { kind: 'update-accepted', timeMs: 1, body: body as never })
      },
      seq: (r: readonly LineageRecord[]) => findRecord(r, 'update-accepted').seq,
    },
    {
      desc: 'a second round opened while one is open',
      code: 'AUDIT_STATE_INVALID',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => replaceDraft(s, findRecord(r, 'update-accepted').seq, s.drafts[findRecord(r, 'round-opened').seq]!),
      seq: (r: readonly LineageRecord[]) => findRecord(r, 'update-accepted').seq,
    },
    {
      desc: 'an envelope that is not an update statement',
      code: 'AUDIT_STATEMENT_INVALID',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => {
        const u = findRecord(r, 'update-accepted')
        return replaceDraft(s, u.seq, withBody(s.drafts[u.seq]!, { envelope: { body: encodeCanonical({ t: 'hello' }), sig: u.body.envelope.sig } }))
      },
      seq: (r: readonly LineageRecord[]) => findRecord(r, 'update-accepted').seq,
    },
    {
      desc: 'a round start signed by the coordinator instead of the hub',
      code: 'AUDIT_STATEMENT_SIGNATURE_INVALID',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => {
        const o = findRecord(r, 'round-opened', (x) => x.body.round === 2)
        const request = signStatement(s.coordinator, decodeStatement('round-start', o.body.request.body))
        return replaceDraft(s, o.seq, withBody(s.drafts[o.seq]!, { request: embedStatement(request) }))
      },
      seq: (r: readonly LineageRecord[]) => findRecord(r, 'round-opened', (x) => x.body.round === 2).seq,
    },
    {
      desc: 'a completion naming another final model',
      // The decider writes the completion itself; the log's differs in one field, which the finding names.
      code: 'AUDIT_ENTRY_MISMATCH',
      edit: (s: SyntheticStudy, r: readonly LineageRecord[]) => replaceDraft(s, s.drafts.length - 1, withBody(s.drafts.at(-1)!, { model: commitOf(r, 1).body.model })),
      seq: (_r: readonly LineageRecord[], s: SyntheticStudy) => s.drafts.length - 1,
    },
  ])('refuses $desc: $code', async ({ code, edit, seq }) => {
    // Prepare
    const study = syntheticStudy()
    const records = draftRecords(study.drafts)
    const tampered = edit(study, records)

    // Execute
    const report = await auditLog(memorySource(signLog(tampered.coordinator, tampered.drafts), tampered.blobs))

    // Assert
    expect(report.failure).toMatchObject({ seq: seq(records, study), code })
  })

  it.each([
    {
      desc: 'a non-finite value',
      delta: (s: SyntheticStudy): Weights => ({ tensors: s.shapes.map((t, i) => ({ ...t, values: new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(i === 0 ? Number.NaN : 0) })) }),
    },
    { desc: 'another layout', delta: (): Weights => ({ tensors: [{ name: 'output/kernel', shape: [2, 1], values: new Float32Array(2) }] }) },
  ])('refuses a site-signed delta with $desc: AUDIT_BLOB_INVALID at its update', async ({ delta }) => {
    // Prepare
    const base = syntheticStudy()
    const study = withDelta(base, 1, 0, encodeWeights(delta(base)))
    const update = findRecord(draftRecords(study.drafts), 'update-accepted', (r) => r.body.round === 1 && r.body.site === study.sites[0]!.id)

    // Execute
    const report = await auditLog(memorySource(signLog(study.coordinator, study.drafts), study.blobs))

    // Assert
    expect(report.failure).toMatchObject({ seq: update.seq, code: 'AUDIT_BLOB_INVALID' })
  })

  it('refuses a commit of an aggregate past float32, which the protocol abandons with its reason: AUDIT_STATE_INVALID at the commit', async () => {
    // Prepare: at serverLearningRate 10, one site's 3e38 delta pushes the model past the float32 range.
    const base = syntheticStudy({ study: { strategy: { name: 'fedavg', serverLearningRate: 10 } } })
    const huge: Weights = { tensors: base.shapes.map((t) => ({ ...t, values: new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(3e38) })) }
    const study = withDelta(base, 1, 2, encodeWeights(huge))

    // Execute
    const report = await auditLog(memorySource(signLog(study.coordinator, study.drafts), study.blobs))

    // Assert: no input may wedge a study, so the protocol abandons that round; the log's commit is what differs.
    const commit = commitOf(draftRecords(study.drafts), 1).seq
    expect(report.failure).toMatchObject({ seq: commit, code: 'AUDIT_STATE_INVALID', message: expect.stringMatching(/writes a round-abandoned entry here, the log holds round-committed/) })
  })

  it("refuses a signature by another key than the coordinator's mid-log: AUDIT_AUTHOR_UNTRUSTED", async () => {
    // Prepare
    const { entries, study } = honest()
    const k = 9
    const tampered = [...entries.slice(0, k), ...signLog(testSigner(5), study.drafts.slice(k), k, entries[k - 1]!.hash)]

    // Execute
    const report = await auditLog(memorySource(tampered, study.blobs))

    // Assert
    expect(report.failure).toMatchObject({ seq: k, code: 'AUDIT_AUTHOR_UNTRUSTED', expected: toHex(testSigner(5).publicKey), calculated: toHex(study.coordinator.publicKey) })
  })
})

function flipLastSignatureBit(bytes: Uint8Array): Uint8Array {
  const entry = decodeEntry(bytes)
  const signature = Uint8Array.from(entry.signature)
  signature[0]! ^= 1
  return encodeEntry({ ...entry, signature })
}
