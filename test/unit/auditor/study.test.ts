/**
 * auditor/core/study.ts: the study spec, the genesis model, round openings,
 * commit strategies and the completion record, each checked against a
 * synthetic honest log and its mutated siblings.
 */
import { describe, expect, it } from 'vitest'
import { type AuditGenesisMismatchError, checkCompletion, checkGenesis, checkRoundOpening, checkStrategy, checkStudySpec, type AuditError } from '../../../auditor/core/index.ts'
import { decodeCanonical, encodeCanonical, sha256, toHex, type CanonicalValue } from '../../../ledger/core/index.ts'
import { hashWeights } from '../../../models/core/index.ts'
import { SYNTHETIC_STUDY, draftRecords, findRecord, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'
import { type RoundCommittedBody, type StudyCreatedBody } from '../../../protocol/index.ts'

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
const created = findRecord(records, 'study-created')
const committed = findRecord(records, 'round-committed', (r) => r.body.round === 1)
const opened = findRecord(records, 'round-opened', (r) => r.body.round === 2)
const completed = findRecord(records, 'study-completed')

describe('checkStudySpec', () => {
  it('returns the logged spec, parsed', () => {
    // Execute
    const spec = checkStudySpec(created.seq, created.body, decodeCanonical(created.body.spec))

    // Assert
    expect(spec).toEqual(study.spec)
  })

  const specBytes = (value: unknown) => encodeCanonical(value as CanonicalValue)
  it.each([
    { desc: 'a spec naming another study', body: { ...created.body, study: 'other-study' } },
    { desc: 'a spec logged without its defaults', body: { ...created.body, spec: specBytes(SYNTHETIC_STUDY) } },
    { desc: 'a spec with a field out of range', body: { ...created.body, spec: specBytes({ ...study.spec, rounds: 0 }) } },
    { desc: 'a spec with an unknown field', body: { ...created.body, spec: specBytes({ ...study.spec, extra: true }) } },
  ])('refuses $desc: AUDIT_SPEC_INVALID', ({ body }) => {
    // Execute
    const err = thrown(() => checkStudySpec(0, body as StudyCreatedBody, decodeCanonical(body.spec)))

    // Assert
    expect(err.code).toBe('AUDIT_SPEC_INVALID')
    expect(err.seq).toBe(0)
    expect(err.message).toMatch(/^entry 0 \(study-created\): /)
  })
})

describe('checkGenesis', () => {
  it('returns the initial weights when the genesis hash is theirs', () => {
    // Execute
    const weights = checkGenesis(0, created.body, study.spec)

    // Assert
    expect(toHex(hashWeights(weights))).toBe(toHex(created.body.genesis))
  })

  it.each([
    { desc: 'another hash', genesis: sha256(new Uint8Array([1])), spec: study.spec },
    { desc: 'the genesis of another seed', genesis: created.body.genesis, spec: { ...study.spec, seed: study.spec.seed + 1 } },
  ])('refuses $desc: AUDIT_GENESIS_MISMATCH with both hashes', ({ genesis, spec }) => {
    // Execute
    const err = thrown(() => checkGenesis(0, { ...created.body, genesis }, spec))

    // Assert
    expect(err.code).toBe('AUDIT_GENESIS_MISMATCH')
    expect(toHex((err as AuditGenesisMismatchError).expected as Uint8Array)).toBe(toHex(genesis))
    expect(err.message).toContain(toHex(genesis))
  })
})

describe('checkRoundOpening', () => {
  it('accepts the honest round 2', () => {
    // Prepare
    const state = foldDrafts(study.drafts, opened.seq + 1)

    // Execute / Assert
    expect(() => checkRoundOpening(opened.seq, state, study.spec, opened.body)).not.toThrow()
  })

  it.each([
    { desc: 'a seed other than roundSeed(spec.seed, round)', body: { ...opened.body, seed: opened.body.seed + 1 }, spec: study.spec },
    { desc: "a round past the spec's rounds", body: opened.body, spec: { ...study.spec, rounds: 1 } },
  ])('refuses $desc: AUDIT_STATE_INVALID', ({ body, spec }) => {
    // Prepare
    const state = foldDrafts(study.drafts, opened.seq + 1)

    // Execute
    const err = thrown(() => checkRoundOpening(opened.seq, state, spec, body))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
    expect(err.seq).toBe(opened.seq)
  })
})

describe('checkStrategy', () => {
  it('accepts the strategy the spec resolves to, and returns it parsed', () => {
    // Execute / Assert
    expect(checkStrategy(committed.seq, study.spec, committed.body)).toEqual({ name: 'fedavg', serverLearningRate: 1 })
  })

  type LoggedStrategy = { name: string; params: Record<string, number | string | boolean> }
  const withStrategy = (strategy: LoggedStrategy): RoundCommittedBody => ({ ...committed.body, strategy })
  it.each<{ desc: string; strategy: LoggedStrategy }>([
    { desc: 'another server learning rate', strategy: { name: 'fedavg', params: { serverLearningRate: 0.5 } } },
    { desc: 'another strategy name', strategy: { name: 'fedprox', params: { serverLearningRate: 1 } } },
    { desc: 'parameters left to their defaults', strategy: { name: 'fedavg', params: {} } },
    { desc: 'an extra parameter', strategy: { name: 'fedavg', params: { serverLearningRate: 1, mu: 0.1 } } },
    { desc: 'a parameter named "name"', strategy: { name: 'fedavg', params: { serverLearningRate: 1, name: 'fedavg' } } },
    { desc: 'a parameter of the wrong type', strategy: { name: 'fedavg', params: { serverLearningRate: '1' } } },
  ])('refuses $desc: AUDIT_STRATEGY_MISMATCH', ({ strategy }) => {
    // Execute
    const err = thrown(() => checkStrategy(committed.seq, study.spec, withStrategy(strategy)))

    // Assert
    expect(err.code).toBe('AUDIT_STRATEGY_MISMATCH')
    expect(err.message).toContain(JSON.stringify(strategy))
    expect(err.message).toContain('"serverLearningRate":1')
  })

  it("refuses the spec's strategy when the study says another rate", () => {
    // Execute
    const err = thrown(() => checkStrategy(committed.seq, { ...study.spec, strategy: { name: 'fedavg', serverLearningRate: 0.5 } }, committed.body))

    // Assert
    expect(err.code).toBe('AUDIT_STRATEGY_MISMATCH')
  })
})

describe('checkCompletion', () => {
  it('accepts the honest completion', () => {
    // Prepare
    const state = foldDrafts(study.drafts)

    // Execute / Assert
    expect(() => checkCompletion(completed.seq, state, completed.body)).not.toThrow()
  })

  it.each([
    { desc: 'another round count', body: { ...completed.body, rounds: 3 } },
    { desc: 'another final model', body: { ...completed.body, model: committed.body.model } },
  ])('refuses $desc: AUDIT_STATE_INVALID', ({ body }) => {
    // Prepare
    const state = foldDrafts(study.drafts)

    // Execute
    const err = thrown(() => checkCompletion(completed.seq, state, body))

    // Assert
    expect(err.code).toBe('AUDIT_STATE_INVALID')
    expect(err.message).toMatch(new RegExp(`^entry ${completed.seq} \\(study-completed\\): `))
  })
})
