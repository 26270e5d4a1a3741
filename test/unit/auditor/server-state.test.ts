/**
 * The audit of a stateful strategy: a 3-round synthetic study of each server
 * optimiser, written by the protocol's decider, replays with every round
 * re-derived from the server state the log names; a stored state that was
 * tampered with, or a commit that names another state than the round
 * leaves, fails with AUDIT_SERVER_STATE_MISMATCH.
 */
import { describe, expect, it } from 'vitest'
import { AuditServerStateMismatchError, replayLog } from '../../../auditor/index.ts'
import { sha256, toHex } from '../../../ledger/index.ts'
import { decodeWeights, hashWeights, type StrategySpecInput } from '../../../models/core/index.ts'
import { createStrategy, type LineageRecord } from '../../../protocol/index.ts'
import { draftRecords, findRecord, memorySource, signLog, syntheticStudy, withBody } from '../../helpers/audit.ts'

type Spec = Extract<StrategySpecInput, { name: 'fedavgm' | 'fedadagrad' | 'fedadam' | 'fedyogi' | 'scaffold' }>

const STRATEGIES: readonly Spec[] = [
  { name: 'fedavgm', serverLearningRate: 1, serverMomentum: 0.9 },
  { name: 'fedadagrad' },
  { name: 'fedadam' },
  { name: 'fedyogi' },
  // SCAFFOLD's state is its server control variate c; with η_g = 1 its model step is FedAvg's, so c is what the audit checks.
  { name: 'scaffold', serverLearningRate: 1 },
]

function study(strategy: Spec) {
  const s = syntheticStudy({ study: { strategy, rounds: 3 } })
  const records = draftRecords(s.drafts)
  const commits = [1, 2, 3].map((round) => findRecord(records, 'round-committed', (r) => r.body.round === round))
  const blob = (hash: Uint8Array) => s.blobs.find((b) => toHex(sha256(b)) === toHex(hash))!
  return { s, records, commits, blob }
}

describe.each(STRATEGIES)('the audit of a 3-round $name study', (strategy) => {
  it('re-derives every round from the logged server state, which each round changes', async () => {
    // Prepare
    const { s, commits, blob } = study(strategy)
    const states = commits.map((c) => c.body.state)

    // Execute
    const { report, error } = await replayLog(memorySource(signLog(s.coordinator, s.drafts), s.blobs))

    // Assert: every round re-derived; three distinct states, each stored.
    expect(error).toBeUndefined()
    expect(report.rounds.map((r) => [r.round, r.status, r.rederived])).toEqual([
      [1, 'committed', true],
      [2, 'committed', true],
      [3, 'committed', true],
    ])
    expect(states.every((h) => h instanceof Uint8Array)).toBe(true)
    expect(new Set(states.map((h) => toHex(h!))).size).toBe(3)
    for (const h of states) expect(blob(h!)).toBeDefined()

    // Assert: round 2's model is the strategy's step from round 1's stored state, and not from no state.
    const c2 = commits[1]!
    const parent = decodeWeights(blob(c2.body.parent), s.shapes)
    const replies = c2.body.inputs.map((i) => ({ siteId: i.site, exampleCount: i.examples, delta: decodeWeights(blob(i.delta), s.shapes) }))
    const aggregate = (state: Uint8Array | undefined, siteCount = replies.length) => {
      const out = createStrategy(s.spec.strategy).aggregateRound({
        round: 2,
        global: parent,
        replies,
        failures: [],
        state: state ? decodeWeights(blob(state)) : null,
        seed: 0,
        training: s.spec.training,
        siteCount,
      })
      if (out.kind !== 'model') throw new Error('no model')
      return { model: toHex(hashWeights(out.weights)), state: out.state === null ? undefined : toHex(hashWeights(out.state)) }
    }
    expect(aggregate(states[0])).toEqual({ model: toHex(c2.body.model), state: toHex(states[1]!) })
    if (strategy.name !== 'scaffold') expect(aggregate(undefined).model).not.toBe(toHex(c2.body.model))
    // SCAFFOLD's c cancels out when every site replies (c + mean(−c − Δy_i/(K·η_l))); with one of N sites absent it carries over.
    else expect(aggregate(undefined, replies.length + 1).state).not.toBe(aggregate(states[0], replies.length + 1).state)
  })

  it.each([1, 3])('fails with AUDIT_SERVER_STATE_MISMATCH when the stored state of round %i was tampered with', async (round) => {
    // Prepare: the state blob of `round` holds other bytes (another round's state, well formed).
    const { s, commits, blob } = study(strategy)
    const victim = commits[round - 1]!.body.state!
    const source = memorySource(signLog(s.coordinator, s.drafts), s.blobs)
    source.blobs.set(toHex(victim), blob(commits[round === 1 ? 1 : 0]!.body.state!))

    // Execute
    const { report, error } = await replayLog(source)

    // Assert
    expect(error).toBeInstanceOf(AuditServerStateMismatchError)
    expect(report.failure).toMatchObject({ code: 'AUDIT_SERVER_STATE_MISMATCH', expected: toHex(victim) })
    expect(report.failure?.message).toMatch(/server state was tampered with/)
  })

  it('fails with AUDIT_SERVER_STATE_MISMATCH at a commit that names a stale state', async () => {
    // Prepare: round 2's commit names round 1's state (stored, well formed) instead of its own.
    const { s, commits } = study(strategy)
    const c2 = commits[1]!
    const drafts = [...s.drafts]
    drafts[c2.seq] = withBody(drafts[c2.seq]!, { state: commits[0]!.body.state! })

    // Execute
    const { report, error } = await replayLog(memorySource(signLog(s.coordinator, drafts), s.blobs))

    // Assert
    expect(error).toBeInstanceOf(AuditServerStateMismatchError)
    expect(report.failure).toMatchObject({ seq: c2.seq, code: 'AUDIT_SERVER_STATE_MISMATCH', expected: toHex(commits[0]!.body.state!), calculated: toHex(c2.body.state!) })
  })
})

describe('a stateless strategy', () => {
  it('logs no server state', () => {
    const s = syntheticStudy({ study: { rounds: 2 } })
    const commits = draftRecords(s.drafts).filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === 'round-committed')
    expect(commits.map((c) => c.body.state)).toEqual([undefined, undefined])
  })
})
