/**
 * Rounds of many sites (lineage.ts COMPACT_LIST_SITES): past 256 sites the
 * `round-opened` plan logs the instructions every site shares once, and
 * `round-committed` logs the hash of its input list instead of the list, so
 * both entries stay within a tlog-tiles bundle at thousands of sites. The
 * fold rebuilds the full plan and input list, and a commit whose hash is not
 * that of the round's accepted updates does not fold.
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../../ledger/core/index.ts'
import { COMPACT_LIST_SITES, ENTRY_BODY_MAX_BYTES, ENTRY_KINDS, encodeInstructions, fitTask, inputsListHash, rewardedAllocationsFields, type LineageRecord } from '../../../protocol/index.ts'
import { foldDrafts } from '../../helpers/audit.ts'
import { DeciderHarness, kindsOf } from '../../helpers/protocol.ts'

const SITES = 600

/** A study of 600 sites (the 3 synthetic ones and 597 more), FedProx so every site gets instructions. */
function manySites(): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 1, minSites: 2, roundDeadlineMs: 86_400_000, strategy: { name: 'fedprox', proximalMu: 0.01 } } })
  for (let i = 3; i < SITES; i++) h.enroll(`lab-${String(i).padStart(4, '0')}`, 1000 + i, 30 + (i % 17))
  return h
}

describe('rounds of many sites', () => {
  it('logs a compact plan and a compact commit, both within an entry’s size, and the fold rebuilds the lists', () => {
    // Prepare
    const h = manySites()

    // Execute
    const opened = h.openRound()
    const committed = h.submit()

    // Assert: the plan shares the instructions once; each FitTask still carries them all.
    const open = opened.records[0] as Extract<LineageRecord, { kind: 'round-opened' }>
    expect(open.body.plan).toHaveLength(SITES)
    expect(open.body.shared).toMatchObject({ proximalMu: 0.01 })
    expect(open.body.plan.every((p) => Object.keys(p.instructions).length === 0)).toBe(true)
    const round = h.state.rounds.get(1)!
    const task = fitTask(h.state, round, 'lab-0500')
    expect(task?.kind === 'fit' && encodeInstructions(task.instructions)).toEqual(encodeInstructions(open.body.shared!))
    // Assert: the commit names its inputs by hash, and the fold has the full, sorted list.
    expect(kindsOf(committed)).toContain(ENTRY_KINDS.ROUND_COMMITTED)
    const commitDraft = committed.entries.find((e) => e.kind === ENTRY_KINDS.ROUND_COMMITTED)!
    const body = commitDraft.body as { inputs: unknown[]; inputsHash: Uint8Array }
    expect(body.inputs).toEqual([])
    const folded = round.commit!.body.inputs
    expect(folded).toHaveLength(SITES)
    expect(inputsListHash(folded)).toEqual(body.inputsHash)
    for (const e of [...opened.entries, ...committed.entries]) expect(encodeCanonical(e.body).length).toBeLessThan(ENTRY_BODY_MAX_BYTES)
    expect(foldDrafts(h.drafts)).toEqual(h.state)
  })

  it('keeps small rounds as they always were (full plan, listed inputs)', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2, strategy: { name: 'fedprox', proximalMu: 0.01 } } })

    // Execute
    const opened = h.openRound()
    h.submit()

    // Assert
    expect(COMPACT_LIST_SITES).toBe(256)
    const open = opened.records[0] as Extract<LineageRecord, { kind: 'round-opened' }>
    expect(open.body.shared).toBeUndefined()
    expect(open.body.plan[0]!.instructions).toMatchObject({ proximalMu: 0.01 })
    const commit = h.state.rounds.get(1)!.commit!.body
    expect(commit.inputsHash).toBeUndefined()
    expect(commit.inputs).toHaveLength(3)
  })

  it('does not fold a compact commit whose hash is not that of the round’s accepted updates', () => {
    // Prepare
    const h = manySites()
    h.openRound()
    h.submit()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.ROUND_COMMITTED)
    const forged = h.drafts.map((d, i) => (i === at ? { ...d, body: { ...(d.body as object), inputsHash: new Uint8Array(32).fill(7) } } : d))

    // Execute
    const folding = () => foldDrafts(forged as typeof h.drafts)

    // Assert
    expect(folding).toThrow(/inputs hash .* is not the hash of the round's 600 accepted updates/)
  })
})

describe('rewarded rounds of many sites', () => {
  /** A rewarded study of `n` sites (examples method): one allocation per input. */
  function rewardedSites(n: number): DeciderHarness {
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2, roundDeadlineMs: 86_400_000, rewards: { poolPerRound: '1000000', method: 'examples' } } })
    for (let i = 3; i < n; i++) h.enroll(`lab-${String(i).padStart(4, '0')}`, 1000 + i, 30 + (i % 17))
    return h
  }

  it('logs the allocations of 1,700 sites as columns within an entry’s size (a list would not fit), and the fold pays each site', () => {
    // Prepare
    const h = rewardedSites(1700)
    h.openRound()

    // Execute
    const committed = h.submit()

    // Assert: the entry is compact and fits; the same allocations as a list would not.
    const rewarded = committed.entries.find((e) => e.kind === ENTRY_KINDS.ROUND_REWARDED)
    expect(rewarded).toBeDefined()
    const body = rewarded!.body as { allocations: unknown[]; columns: { site: string[]; amount: bigint[] } }
    expect(body.allocations).toEqual([])
    expect(body.columns.site).toHaveLength(1700)
    expect(encodeCanonical(rewarded!.body).length).toBeLessThan(ENTRY_BODY_MAX_BYTES)
    const folded = h.state.rounds.get(1)!.rewards!.body
    expect(folded.columns).toBeUndefined()
    expect(folded.allocations).toHaveLength(1700)
    const { columns: _columns, ...asList } = body
    expect(encodeCanonical({ ...asList, allocations: folded.allocations } as never).length).toBeGreaterThan(ENTRY_BODY_MAX_BYTES)
    // Assert: every site is credited its column's amount, and the fold of the drafts is the decider's state.
    expect(h.state.balances.get('lab-1699')).toBe(body.columns.amount[body.columns.site.indexOf('lab-1699')])
    expect(foldDrafts(h.drafts)).toEqual(h.state)
  })

  it('keeps the list below 257 allocations', () => {
    // Prepare / Execute
    const fields = rewardedAllocationsFields([{ site: 'a', amount: 3n, raw: 1, payable: 1 }])
    // Assert
    expect(fields).toEqual({ allocations: [{ site: 'a', amount: 3n, raw: 1, payable: 1 }] })
  })

  it('does not fold allocation columns that do not line up', () => {
    // Prepare
    const h = rewardedSites(300)
    h.openRound()
    h.submit()
    const at = h.drafts.findIndex((d) => d.kind === ENTRY_KINDS.ROUND_REWARDED)
    const body = h.drafts[at]!.body as { columns: { amount: bigint[] } }
    const forged = h.drafts.map((d, i) => (i === at ? { ...d, body: { ...body, columns: { ...body.columns, amount: body.columns.amount.slice(1) } } } : d))

    // Execute
    const folding = () => foldDrafts(forged as typeof h.drafts)

    // Assert
    expect(folding).toThrow(/allocation columns of unequal lengths \(site 300, amount 299/)
  })
})
