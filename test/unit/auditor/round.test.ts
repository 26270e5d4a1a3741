/**
 * auditor/core/round.ts: the closing rule of a round, the updates a commit
 * aggregates, and the re-derivation of its model with deriveRoundModel.
 */
import { describe, expect, it } from 'vitest'
import { AuditMetricsMismatchError, AuditModelMismatchError, checkRoundClose, commitUpdates, rederiveRound, type AuditError } from '../../../auditor/core/index.ts'
import { sha256, toHex } from '../../../ledger/core/index.ts'
import { decodeWeights, type Weights } from '../../../models/core/index.ts'
import { draftRecords, findRecord, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { type AcceptedUpdate, type RoundCommittedBody, type RoundRecord } from '../../../protocol/index.ts'

function thrown(fn: () => unknown): AuditError {
  try {
    fn()
  } catch (err) {
    return err as AuditError
  }
  throw new Error('expected a throw')
}

const study = syntheticStudy()
const records = draftRecords(study.drafts)
const committed = findRecord(records, 'round-committed', (r) => r.body.round === 2)
const blob = (hash: Uint8Array) => study.blobs.find((b) => toHex(sha256(b)) === toHex(hash))!
const parent = decodeWeights(blob(committed.body.parent), study.shapes)
const deltas = new Map<string, Weights>(committed.body.inputs.map((i) => [i.site, decodeWeights(blob(i.delta), study.shapes)]))
const updates = committed.body.inputs.map((i) => ({ siteId: i.site, exampleCount: i.examples, delta: deltas.get(i.site)! }))

/** A collecting round with `n` accepted updates. */
function roundWith(n: number): RoundRecord {
  const accepted = new Map<string, AcceptedUpdate>()
  for (const s of study.sites.slice(0, n)) accepted.set(s.id, { seq: 0, site: s.id, envelopeHash: new Uint8Array(32), delta: new Uint8Array(32), examples: s.examples, metrics: {} })
  return { round: 3, base: new Uint8Array(32), openedMs: 0, deadlineMs: 1, seed: 0, status: 'collecting', accepted, rejected: [], revocations: [], patientRewards: new Map() }
}

describe('checkRoundClose', () => {
  const commit = { kind: 'round-committed' as const, body: committed.body }
  const abandon = (accepted: number) => ({ kind: 'round-abandoned' as const, body: { round: 3, reason: 'deadline', accepted } })

  it.each([
    { desc: 'a commit with every enrolled site', n: 3, minSites: 3, record: commit },
    { desc: 'a commit with minSites of them', n: 2, minSites: 2, record: commit },
    { desc: 'an abandon short of both', n: 1, minSites: 2, record: abandon(1) },
  ])('accepts $desc', ({ n, minSites, record }) => {
    // Execute / Assert
    expect(() => checkRoundClose(9, roundWith(n), 3, minSites, record)).not.toThrow()
  })

  it.each([
    { desc: 'a commit short of minSites and of every site', n: 1, minSites: 2, record: commit },
    { desc: 'an abandon with enough updates to aggregate', n: 2, minSites: 2, record: abandon(2) },
    { desc: 'an abandon that miscounts its accepted updates', n: 1, minSites: 2, record: abandon(0) },
  ])('refuses $desc: AUDIT_STATE_INVALID', ({ n, minSites, record }) => {
    // Execute
    const err = thrown(() => checkRoundClose(9, roundWith(n), 3, minSites, record))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
    expect(err.message).toMatch(new RegExp(`^entry 9 \\(${record.kind}\\): round 3 `))
  })
})

describe('commitUpdates', () => {
  const state = foldDrafts(study.drafts, committed.seq + 1)
  const round = state.rounds.get(2)!

  it("returns every accepted update, in the commit's input order", () => {
    // Execute
    const got = commitUpdates(committed.seq, round, committed.body, deltas)

    // Assert
    expect(got.map((u) => [u.siteId, u.exampleCount])).toEqual(study.sites.map((s) => [s.id, s.examples]))
    expect(got[0]!.delta).toBe(deltas.get(study.sites[0]!.id))
  })

  it('refuses a commit that leaves out an accepted update: AUDIT_STATE_INVALID', () => {
    // Prepare
    const body: RoundCommittedBody = { ...committed.body, inputs: committed.body.inputs.slice(1) }

    // Execute
    const err = thrown(() => commitUpdates(committed.seq, round, body, deltas))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
    expect(err.message).toContain(study.sites[0]!.id)
  })

  it('refuses an input naming another envelope: AUDIT_STATE_INVALID', () => {
    // Prepare
    const inputs = committed.body.inputs.map((i, k) => (k === 2 ? { ...i, envelope: sha256(new Uint8Array([9])) } : i))

    // Execute
    const err = thrown(() => commitUpdates(committed.seq, round, { ...committed.body, inputs }, deltas))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
    expect(err.message).toContain(toHex(sha256(new Uint8Array([9]))))
  })
})

describe('rederiveRound', () => {
  it('re-derives the logged model bit for bit', () => {
    // Execute
    const derived = rederiveRound(committed.seq, study.spec.strategy, committed.body, parent, updates)

    // Assert
    expect(toHex(derived.hash)).toBe(toHex(committed.body.model))
    expect(toHex(sha256(blob(committed.body.model)))).toBe(toHex(derived.hash))
  })

  it('gets the same model whatever order the updates come in', () => {
    // Execute
    const derived = rederiveRound(committed.seq, study.spec.strategy, committed.body, parent, [...updates].reverse())

    // Assert
    expect(toHex(derived.hash)).toBe(toHex(committed.body.model))
  })

  it.each([
    { desc: 'another logged model', body: { ...committed.body, model: sha256(new Uint8Array([4])) }, strategy: study.spec.strategy, ups: updates },
    { desc: 'another server learning rate', body: committed.body, strategy: { name: 'fedavg' as const, serverLearningRate: 0.5 }, ups: updates },
    { desc: "one update's examples changed", body: committed.body, strategy: study.spec.strategy, ups: updates.map((u, k) => (k === 0 ? { ...u, exampleCount: u.exampleCount + 1 } : u)) },
    { desc: 'one update left out', body: committed.body, strategy: study.spec.strategy, ups: updates.slice(1) },
  ])('refuses $desc: AUDIT_MODEL_MISMATCH with both hashes', ({ body, strategy, ups }) => {
    // Execute
    const err = thrown(() => rederiveRound(committed.seq, strategy, body, parent, ups))

    // Assert
    expect(err).toBeInstanceOf(AuditModelMismatchError)
    const mismatch = err as AuditModelMismatchError
    expect(mismatch.round).toBe(2)
    expect(toHex(mismatch.expected as Uint8Array)).toBe(toHex(body.model))
    expect(err.message).toContain(toHex(mismatch.calculated as Uint8Array))
  })

  const withoutMeanDeltaNorm = Object.fromEntries(Object.entries(committed.body.metrics).filter(([k]) => k !== 'meanDeltaNorm'))
  it.each<{ desc: string; metrics: Record<string, number>; metric: string }>([
    { desc: 'a changed metric', metrics: { ...committed.body.metrics, updateNorm: 1 }, metric: 'updateNorm' },
    { desc: 'a missing metric', metrics: withoutMeanDeltaNorm, metric: 'meanDeltaNorm' },
  ])('refuses $desc: AUDIT_METRICS_MISMATCH', ({ metrics, metric }) => {
    // Execute
    const err = thrown(() => rederiveRound(committed.seq, study.spec.strategy, { ...committed.body, metrics }, parent, updates))

    // Assert
    expect(err).toBeInstanceOf(AuditMetricsMismatchError)
    expect((err as AuditMetricsMismatchError).metric).toBe(metric)
  })

  it('refuses a commit with nothing to aggregate: AUDIT_STATE_INVALID', () => {
    // Execute
    const err = thrown(() => rederiveRound(committed.seq, study.spec.strategy, committed.body, parent, []))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
  })
})
