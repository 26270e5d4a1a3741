/**
 * SCAFFOLD as the decider drives it: the spec and its preconditions, the plan
 * that tells each site where the server control variate is, the instructions
 * a site applies, the state a commit names, and who may read that state.
 */
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../ledger/index.ts'
import { StrategySpecSchema, StudySpecSchema, type TrainingSpec, type Weights } from '../../../models/core/index.ts'
import { applyInstructions, blobAudience, createStrategy, decodeInstructions, encodeInstructions, mayFetch } from '../../../protocol/index.ts'
import { SYNTHETIC_STUDY, draftRecords, findRecord, foldDrafts, syntheticStudy } from '../../helpers/audit.ts'

const TRAINING: TrainingSpec = { optimizer: 'sgd', learningRate: 0.25, batchSize: 8, localSteps: 4 }
const vector = (values: number[]): Weights => ({ tensors: [{ name: 'v', shape: [values.length], values: Float32Array.from(values) }] })

describe('the scaffold spec', () => {
  it('parses FLamby bench spec and defaults serverLearningRate to 1, with the shared options', () => {
    expect(StrategySpecSchema.parse({ name: 'scaffold', serverLearningRate: 1 })).toEqual({ name: 'scaffold', serverLearningRate: 1, controlVariateWeights: 'uniform' })
    expect(StrategySpecSchema.parse({ name: 'scaffold' })).toEqual({ name: 'scaffold', serverLearningRate: 1, controlVariateWeights: 'uniform' })
    expect(StrategySpecSchema.parse({ name: 'scaffold', clipNorm: 2, sampling: { fraction: 0.5 } })).toMatchObject({ clipNorm: 2, sampling: { fraction: 0.5 } })
    expect(StrategySpecSchema.safeParse({ name: 'scaffold', serverLearningRate: 0 }).success).toBe(false)
    expect(StrategySpecSchema.safeParse({ name: 'scaffold', eta: 1 }).success).toBe(false)
  })

  it('refuses a study whose sites train with Adam, or that sets the control variate itself, naming the field', () => {
    const adam = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy: { name: 'scaffold' }, training: { ...SYNTHETIC_STUDY.training, optimizer: 'adam' } })
    expect(adam.success).toBe(false)
    expect(adam.error?.issues[0]).toMatchObject({ path: ['training', 'optimizer'] })
    expect(adam.error?.issues[0]?.message).toMatch(/scaffold.*sgd/)
    const preset = StudySpecSchema.safeParse({ ...SYNTHETIC_STUDY, strategy: { name: 'scaffold' }, training: { ...SYNTHETIC_STUDY.training, serverControlVariate: '' } })
    expect(preset.error?.issues[0]).toMatchObject({ path: ['training', 'serverControlVariate'] })
  })
})

describe('the scaffold plan', () => {
  it('tells every site the study settings and the hash of the state holding c ("" before the first commit)', () => {
    // Prepare
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'scaffold' }))
    const hash = new Uint8Array(32).fill(0xab)

    // Execute
    const first = strategy.configureRound({ round: 1, siteIds: ['b', 'a'], training: TRAINING, state: null, seed: 1 })
    const later = strategy.configureRound({ round: 2, siteIds: ['b', 'a'], training: TRAINING, state: null, stateHash: hash, seed: 2 })

    // Assert
    expect(first.sites.map((s) => s.siteId)).toEqual(['a', 'b'])
    expect(first.sites[0]!.instructions).toEqual({ optimizer: 'sgd', learningRate: 0.25, batchSize: 8, localSteps: 4, serverControlVariate: '' })
    expect(later.sites[1]!.instructions['serverControlVariate']).toBe('ab'.repeat(32))
  })

  it('is applied by a site: the instruction is known and round-trips through the task config', () => {
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'scaffold' }))
    const plan = strategy.configureRound({ round: 2, siteIds: ['a'], training: TRAINING, state: null, stateHash: new Uint8Array(32).fill(1), seed: 2 })
    const applied = applyInstructions(TRAINING, decodeInstructions(encodeInstructions(plan.sites[0]!.instructions)))
    expect(applied.serverControlVariate).toBe('01'.repeat(32))
    expect(() => applyInstructions(TRAINING, { serverControlVariate: 'not-hex' })).toThrow(/serverControlVariate/)
  })

  it('aggregates only with the training settings and site count the decider gives', () => {
    const strategy = createStrategy(StrategySpecSchema.parse({ name: 'scaffold' }))
    const replies = [{ siteId: 'a', exampleCount: 1, delta: vector([1, 0]) }]
    const init = { round: 1, global: vector([0, 0]), replies, failures: [], state: null, seed: 0 }
    expect(() => strategy.aggregateRound(init)).toThrow(/training settings and site count/)
    const out = strategy.aggregateRound({ ...init, training: TRAINING, siteCount: 2 })
    if (out.kind !== 'model') throw new Error('no model')
    // c = (1/2)·(−[1, 0]/(4·0.25)) = [−0.5, 0]
    expect(out.state?.tensors.map((t) => [t.name, [...t.values]])).toEqual([['c/v', [-0.5, 0]]])
    expect(strategy.parameters).toEqual({ serverLearningRate: 1, controlVariateWeights: 'uniform' })
  })
})

describe('the scaffold state in the log', () => {
  it('is named by each commit, and every participant may read it (not so a server optimiser’s moments)', () => {
    // Prepare
    const scaffold = syntheticStudy({ study: { strategy: { name: 'scaffold' }, rounds: 2 } })
    const adam = syntheticStudy({ study: { strategy: { name: 'fedadam' }, rounds: 2 } })
    const stateOf = (drafts: typeof scaffold.drafts) => findRecord(draftRecords(drafts), 'round-committed', (r) => r.body.round === 1).body.state!
    const opened2 = findRecord(draftRecords(scaffold.drafts), 'round-opened', (r) => r.body.round === 2)

    // Execute
    const s = foldDrafts(scaffold.drafts)
    const a = foldDrafts(adam.drafts)

    // Assert: round 2's plan points at round 1's state; a site may fetch it in SCAFFOLD, not in FedAdam.
    expect(opened2.body.plan[0]!.instructions['serverControlVariate']).toBe(toHex(stateOf(scaffold.drafts)))
    expect(s.isSharedState(stateOf(scaffold.drafts))).toBe(true)
    expect(blobAudience(s, stateOf(scaffold.drafts))).toBe('participants')
    expect(mayFetch({ role: 'site', site: scaffold.sites[0]!.id }, blobAudience(s, stateOf(scaffold.drafts)))).toBe(true)
    expect(a.isSharedState(stateOf(adam.drafts))).toBe(false)
    expect(blobAudience(a, stateOf(adam.drafts))).toBe('coordinator-and-auditors')
  })
})
