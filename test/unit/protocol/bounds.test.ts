/**
 * No signed update can wedge a study: an update's example count (its weight
 * in the mean) is bounded by the study, so one site cannot dominate the
 * aggregate or overflow its sum, and the round still commits.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_EXAMPLES_PER_SITE } from '../../../models/index.ts'
import { sha256 } from '../../../ledger/index.ts'
import { ENTRY_KINDS, MAX_LOGGED_REFUSALS_PER_ROUND } from '../../../protocol/index.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

describe("an update's example count", () => {
  it.each([
    ['2^40, which would dominate the mean', 2 ** 40],
    ['2^53 - 1, which made FedAvg throw at every close', Number.MAX_SAFE_INTEGER],
    ['one above the default bound', DEFAULT_MAX_EXAMPLES_PER_SITE + 1],
  ])('is refused and logged when it is %s; the round then commits with the others', (_what, examples) => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2 } })
    h.openRound()

    // Execute
    const refused = h.feed(h.updateInput(0, { examples }))
    const committed = h.submit()

    // Assert
    expect(refused.refusal?.code).toBe('COORD_EXAMPLES_OUT_OF_RANGE')
    expect(kindsOf(refused)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(kindsOf(committed)).toContain(ENTRY_KINDS.ROUND_COMMITTED)
  })

  it("follows the study's own bound", () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2, maxExamplesPerSite: 100 } })
    h.openRound()

    // Execute / Assert
    expect(h.feed(h.updateInput(0, { examples: 101 })).refusal?.code).toBe('COORD_EXAMPLES_OUT_OF_RANGE')
    expect(h.feed(h.updateInput(1, { examples: 100 })).refusal).toBeUndefined()
  })
})

describe('a straggler after the study completed', () => {
  it('is refused with COORD_ROUND_STATE and nothing is appended, so the log still passes its audit', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()
    h.evaluate(1)
    expect(h.state.completed).toBe(true)
    const before = h.drafts.length

    // Execute
    const late = h.feed(h.updateInput(0, { round: 1 }))

    // Assert
    expect(late.refusal?.code).toBe('COORD_ROUND_STATE')
    expect(late.refusal?.message).toMatch(/is complete/)
    expect(h.drafts.length).toBe(before)
  })
})

describe('a round the strategy cannot aggregate', () => {
  it('closes as abandoned with the strategy’s reason, and the study goes on', () => {
    // Prepare: at serverLearningRate 10, a finite 3e38 delta takes the aggregate past float32.
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2, strategy: { name: 'fedavg', serverLearningRate: 10 } } })
    h.openRound()
    const huge = { tensors: h.shapes.map((t) => ({ name: t.name, shape: [...t.shape], values: new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(3e38) })) }

    // Execute
    h.submit([0, 1])
    const closed = h.feed(h.updateInput(2, {}, { delta: huge }))

    // Assert
    expect(closed.refusal).toBeUndefined()
    expect(kindsOf(closed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_ABANDONED])
    expect((closed.entries[1]!.body as { reason: string }).reason).toMatch(/the strategy could not aggregate/)
    expect(closed.tasks).toEqual([{ siteId: null, task: { kind: 'cancel', round: 1, reason: (closed.entries[1]!.body as { reason: string }).reason } }])
    expect(h.state.openRound).toBeUndefined()
    expect(h.openRound().refusal).toBeUndefined()
  })
})

describe("a site's refusals in one round", () => {
  it(`are logged up to ${MAX_LOGGED_REFUSALS_PER_ROUND}, then refused without an entry, and logged again once the next round opens`, () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    h.openRound()
    const wrongBase = () => h.feed(h.updateInput(0, { base: sha256(Uint8Array.of(h.drafts.length)) }))

    // Execute: 20 validly signed updates with a wrong base.
    const first = Array.from({ length: 20 }, wrongBase)
    h.submit([1, 2])
    h.tick(h.state.openRound!.deadlineMs)
    h.openRound()
    const next = wrongBase()

    // Assert
    expect(first.every((f) => f.refusal?.code === 'COORD_WRONG_BASE_MODEL')).toBe(true)
    expect(first.map((f) => f.entries.length)).toEqual([...Array(MAX_LOGGED_REFUSALS_PER_ROUND).fill(1), ...Array(20 - MAX_LOGGED_REFUSALS_PER_ROUND).fill(0)])
    expect(kindsOf(next)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
  })
})

describe('an input whose entry would not fit a tlog-tiles bundle', () => {
  it('is refused without an entry (COORD_ENTRY_TOO_LARGE), and the study goes on', () => {
    // Prepare: a committed round, and an evaluation with 6,000 metrics (~80 KB of body).
    const h = new DeciderHarness({ study: { rounds: 2, minSites: 2 } })
    h.runRound()
    const metrics = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`metric-${i}`, i / 3]))
    const entries = h.drafts.length

    // Execute
    const refused = h.feed({ kind: 'evaluation', report: h.evaluation(0, 1, { metrics }) })
    const accepted = h.feed({ kind: 'evaluation', report: h.evaluation(0, 1) })

    // Assert
    expect(refused.refusal?.code).toBe('COORD_ENTRY_TOO_LARGE')
    expect(refused.refusal?.message).toMatch(/^evaluation: its evaluation-reported entry would have a body of \d+ bytes, over the 65023/)
    expect(refused.entries).toEqual([])
    expect(h.drafts.length).toBe(entries + kindsOf(accepted).length)
    expect(kindsOf(accepted)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED])
  })
})
