/**
 * The audit of a study with site-level DP: with the noise seeds (an
 * authorised auditor) every model is re-derived bit for bit; without them
 * everything but the noise is (clip norms, weights, noise scale, ε), the
 * verdict is partial and says the model cannot be re-derived; a tampered
 * accounting or clip norm fails either way, and a tampered model fails with
 * the seeds.
 */
import { describe, expect, it } from 'vitest'
import { replayLog } from '../../../auditor/index.ts'
import { sha256, toHex, type EntryDraft } from '../../../ledger/index.ts'
import { ENTRY_KINDS, parseNoiseSeeds, encodeNoiseSeeds } from '../../../protocol/index.ts'
import { bodyOf, memorySource, signLog, withBody } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { DeciderHarness } from '../../helpers/protocol.ts'

const COORDINATOR = testSigner(1)
const SEEDS = [new Uint8Array(32).fill(11), new Uint8Array(32).fill(12)]

/** Two DP rounds, every site in each, evaluated: the study completes. The seeds stay out of the log's blobs. */
function dpStudy(adaptive = false): { h: DeciderHarness; blobs: Uint8Array[] } {
  const dp = { clipNorm: 0.01, noiseMultiplier: 0.8, delta: 1e-5, ...(adaptive ? { adaptiveClipping: { clippedCountStddev: 1 } } : {}) }
  const h = new DeciderHarness({ study: { dp, rounds: 2, minSites: 3 } })
  for (const seed of SEEDS) {
    h.feed({ kind: 'round-start', request: h.roundStart(), noiseSeed: seed })
    h.blobs.set(toHex(sha256(seed)), seed) // the coordinator's private store, as the harness's blob view
    h.submit()
    h.evaluate()
  }
  const seedHashes = new Set(SEEDS.map((s) => toHex(sha256(s))))
  return { h, blobs: [...h.blobs.entries()].filter(([k]) => !seedHashes.has(k)).map(([, b]) => b) }
}

const seedsFile = () => parseNoiseSeeds(encodeNoiseSeeds(SEEDS), 'dp-seeds.json')

function audit(drafts: readonly EntryDraft[], blobs: readonly Uint8Array[], withSeeds: boolean) {
  return replayLog(memorySource(signLog(COORDINATOR, drafts), blobs), withSeeds ? { noiseSeeds: seedsFile() } : {})
}

/** `drafts` with the n-th round-committed body patched. */
function patchCommit(drafts: readonly EntryDraft[], n: number, patch: (body: Record<string, unknown>) => Record<string, unknown>): EntryDraft[] {
  let seen = 0
  return drafts.map((d) => (d.kind === ENTRY_KINDS.ROUND_COMMITTED && seen++ === n ? withBody(d, patch(bodyOf(d)) as never) : d))
}

describe('audit of a DP study', () => {
  it.each([false, true])('re-derives every DP model bit for bit with the seeds (adaptive clipping %s)', async (adaptive) => {
    const { h, blobs } = dpStudy(adaptive)
    const out = await audit(h.drafts, blobs, true)
    expect(h.state.completed).toBe(true)
    expect(out.error).toBeUndefined()
    expect(out.report.verdict).toBe('passed')
    expect(out.report.rounds.map((r) => r.rederived)).toEqual([true, true])
  })

  it.each([false, true])('without the seeds checks all but the noise, and says the model cannot be re-derived (partial; adaptive clipping %s)', async (adaptive) => {
    const { h, blobs } = dpStudy(adaptive)
    const out = await audit(h.drafts, blobs, false)
    expect(out.error).toBeUndefined()
    expect(out.report.verdict).toBe('partial')
    expect(out.report.rounds.map((r) => r.rederived)).toEqual([false, false])
    expect(out.report.unchecked).toHaveLength(2)
    expect(out.report.unchecked![0]).toMatch(/^round 1: its DP noise seed was not given .* cannot be re-derived without the seed/)
  })

  it.each([
    ['an ε understated', (b: Record<string, unknown>) => ({ ...b, dp: { ...(b['dp'] as object), epsilon: 0.5 } })],
    ['a noise scale overstated', (b: Record<string, unknown>) => ({ ...b, dp: { ...(b['dp'] as object), noiseStddev: 1 } })],
    ['a clip norm hidden', (b: Record<string, unknown>) => ({ ...b, clipped: [] })],
  ])('fails %s, with or without the seeds', async (_what, patch) => {
    const { h, blobs } = dpStudy()
    // Site gamma-center's delta (norm 0.0125) is clipped to 0.01 in round 2.
    expect(bodyOf(h.drafts.findLast((d) => d.kind === ENTRY_KINDS.ROUND_COMMITTED)!)['clipped']).toHaveLength(1)
    const drafts = patchCommit(h.drafts, 1, patch)
    for (const withSeeds of [true, false]) {
      const out = await audit(drafts, blobs, withSeeds)
      expect(out.report.verdict).toBe('failed')
      expect(out.report.failure?.seq).toBe(h.drafts.findLastIndex((d) => d.kind === ENTRY_KINDS.ROUND_COMMITTED))
    }
  })

  it('fails a model other than the seed makes, given the seeds', async () => {
    // Prepare: the second commit names round 1's model (a stored blob) as its own.
    const { h, blobs } = dpStudy()
    const first = h.drafts.find((d) => d.kind === ENTRY_KINDS.ROUND_COMMITTED)!
    const drafts = patchCommit(h.drafts, 1, (b) => ({ ...b, model: bodyOf(first)['model'] }))

    // Execute
    const out = await audit(drafts, blobs, true)

    // Assert
    expect(out.report.verdict).toBe('failed')
    expect(out.report.failure?.code).toBe('AUDIT_MODEL_MISMATCH')
  })
})
