/**
 * Secure aggregation through the decider (secagg-rules.ts, secagg-commit.ts),
 * with the sites' real sessions (protocol/secagg/): the four phases in the
 * log, the committed model equal to FedAvg of the quantized deltas with and
 * without a site dropping out after it shared its keys, and the refusals
 * that keep a coordinator from learning one site's input.
 */
import { describe, expect, it } from 'vitest'
import { decodeWeights, encodeHeader, encodeWeights, type StudySpecInput, type Weights } from '../../../models/core/index.ts'
import {
  ENTRY_KINDS,
  SiteSecAggSession,
  decodeStatement,
  dequantizeSum,
  encodeMaskedInput,
  quantizeDelta,
  signStatement,
  survivorsHash,
  weightRatio,
  type SiteTask,
  type SignedStatement,
} from '../../../protocol/index.ts'
import { foldDrafts, syntheticDelta } from '../../helpers/audit.ts'
import { DeciderHarness, kindsOf, type Fed } from '../../helpers/protocol.ts'

type SecAggTask = Extract<SiteTask, { kind: 'secagg' }>

function flat(w: Weights): Float32Array {
  return Float32Array.from(w.tensors.flatMap((t) => [...t.values]))
}

/** Four sites (the three synthetic ones and a fourth), secure aggregation with the default complete graph (k 3, t 2). */
function harness(study: Partial<StudySpecInput> = {}): DeciderHarness {
  const h = new DeciderHarness({ study: { rounds: 2, minSites: 3, secureAggregation: { phaseDeadlineMs: 5000 }, ...study } })
  h.enroll('delta-lab', 40, 70)
  return h
}

function tasksOf(fed: Fed, phase: SecAggTask['phase']): Map<string, SecAggTask> {
  return new Map(fed.tasks.flatMap((t) => (t.task.kind === 'secagg' && t.task.phase === phase ? [[t.siteId!, t.task] as const] : [])))
}

/**
 * Runs round 1 up to its commit: keys, shares, masked inputs from every site
 * but `drop` (which shared and then went silent), the input phase closed at
 * its deadline when someone dropped, then the reveals (none with
 * `untilUnmask`: the unmask phase is left open). Returns the last step, the
 * quantized words each survivor sent and the sites' sessions.
 */
async function runRound(
  h: DeciderHarness,
  drop: readonly string[] = [],
  opts: { readonly untilUnmask?: boolean } = {},
): Promise<{ last: Fed; words: Map<string, Uint32Array>; sessions: Map<string, SiteSecAggSession> }> {
  h.openRound()
  const round = 1
  const seed = h.state.rounds.get(1)!.seed
  const sessions = new Map(h.sites.map((s) => [s.id, new SiteSecAggSession({ study: h.spec.id, round, site: s.id, seed })]))
  let fed!: Fed
  for (const s of h.sites) {
    const { cPk, sPk } = sessions.get(s.id)!.advertise()
    fed = h.feed({ kind: 'secagg', statement: signStatement(s.signer, { t: 'secagg-keys', study: h.spec.id, round, site: s.id, cPk, sPk, time: h.timeMs }) })
  }
  for (const [site, task] of tasksOf(fed, 'shares')) {
    if (task.phase !== 'shares') throw new Error('phase')
    const peers = new Map(task.keys.map((k) => decodeStatement('secagg-keys', k.body)).map((k) => [k.site, { cPk: k.cPk, sPk: k.sPk }]))
    const { shares, bCommit } = await sessions.get(site)!.shareKeys(peers, { k: task.k, t: task.t })
    fed = h.feed({ kind: 'secagg', statement: signStatement(h.site(site).signer, { t: 'secagg-shares', study: h.spec.id, round, site, bCommit, shares: [...shares], time: h.timeMs }) })
  }
  const words = new Map<string, Uint32Array>()
  const inputs = tasksOf(fed, 'input')
  for (const [site, task] of inputs) {
    if (task.phase !== 'input' || drop.includes(site)) continue
    const session = sessions.get(site)!
    session.receiveShares(new Map(task.boxes.map((b) => [b.from, b.box])))
    const index = h.sites.findIndex((s) => s.id === site)
    const q = quantizeDelta(flat(syntheticDelta(h.shapes, round, index)), weightRatio(h.site(site).examples, h.spec.secureAggregation!.maxWeight), h.spec.secureAggregation!)
    words.set(site, q)
    fed = h.feed(h.updateInput(site, {}, { delta: encodeMaskedInput(encodeHeader(h.shapes), session.maskInput(q)) }))
    expect(fed.refusal).toBeUndefined()
  }
  if (drop.length > 0) fed = h.tick(h.state.openRound!.deadlineMs + 5000)
  if (opts.untilUnmask === true) return { last: fed, words, sessions }
  for (const [site, task] of tasksOf(fed, 'unmask')) {
    const reveals = sessions.get(site)!.revealShares(task.sites)
    fed = h.feed({
      kind: 'secagg',
      statement: signStatement(h.site(site).signer, { t: 'secagg-unmask', study: h.spec.id, round, site, survivors: survivorsHash(task.sites), reveals, time: h.timeMs }),
    })
  }
  return { last: fed, words, sessions }
}

/** What FedAvg of the quantized inputs gives: the parent plus Σ w·q / scale / Σ w, rounded once per step as the commit does. */
function expectedModel(h: DeciderHarness, words: ReadonlyMap<string, Uint32Array>): Float32Array {
  const spec = h.spec.secureAggregation!
  const n = [...words.values()][0]!.length
  const sum = new Uint32Array(n)
  for (const w of words.values()) for (let i = 0; i < n; i++) sum[i] = (sum[i]! + w[i]!) >>> 0
  const weighted = dequantizeSum(sum, spec)
  const denominator = [...words.keys()].reduce((d, s) => d + weightRatio(h.site(s).examples, spec.maxWeight), 0)
  const parent = flat(decodeWeights(h.blobs.get(Buffer.from(h.state.rounds.get(1)!.base).toString('hex'))!, h.shapes))
  return Float32Array.from(parent, (p, i) => p + Math.fround(weighted[i]! / denominator))
}

function committedModel(h: DeciderHarness): Float32Array {
  const commit = h.state.rounds.get(1)!.commit!
  return flat(decodeWeights(h.blobs.get(Buffer.from(commit.body.model).toString('hex'))!, h.shapes))
}

describe('secure aggregation in the decider', () => {
  it('runs keys → shares → input → unmask and commits FedAvg of the quantized deltas', async () => {
    // Prepare
    const h = harness()

    // Execute
    const { last, words } = await runRound(h)

    // Assert
    expect(kindsOf(last)).toEqual([ENTRY_KINDS.SECAGG_UNMASK, ENTRY_KINDS.ROUND_COMMITTED])
    const phases = h
      .records()
      .filter((r) => r.kind === ENTRY_KINDS.SECAGG_PHASE)
      .map((r) => [r.body.phase, r.body.sites.length, r.body.k, r.body.t])
    expect(phases).toEqual([
      ['shares', 4, 3, 2],
      ['input', 4, undefined, undefined],
      ['unmask', 4, undefined, undefined],
    ])
    const got = committedModel(h)
    const want = expectedModel(h, words)
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6)
    expect(h.state.rounds.get(1)!.commit!.body.secagg).toEqual({ dropped: [], denominator: [...words.keys()].reduce((d, s) => d + weightRatio(h.site(s).examples, 1000), 0) })
  })

  it('folds to the decider’s state from the log alone, entry by entry, and the same inputs decide the same entries', async () => {
    // Prepare
    const h = harness()
    const fed = h.feed.bind(h)
    const inputs: { input: Parameters<DeciderHarness['feed']>[0]; timeMs: number }[] = []
    h.feed = (input, timeMs = h.timeMs + 1000) => {
      expect(foldDrafts(h.drafts)).toEqual(h.state)
      inputs.push({ input, timeMs })
      return fed(input, timeMs)
    }

    // Execute
    await runRound(h, ['delta-lab'])
    const again = harness()
    for (const { input, timeMs } of inputs) again.feed(input, timeMs)

    // Assert
    expect(foldDrafts(h.drafts)).toEqual(h.state)
    expect(new Set(h.drafts.map((d) => d.kind))).toEqual(
      new Set([...Object.values(ENTRY_KINDS).filter((k) => k.startsWith('secagg-')), 'round-committed', 'round-opened', 'update-accepted', 'study-created', 'site-enrolled']),
    )
    expect(again.drafts).toEqual(h.drafts)
  })

  it('commits the survivors’ sum when a site drops out after sharing its keys (its masks removed with its rebuilt key)', async () => {
    // Prepare
    const h = harness()

    // Execute
    const { words } = await runRound(h, ['delta-lab'])

    // Assert
    const commit = h.state.rounds.get(1)!.commit!.body
    expect(commit.secagg?.dropped).toEqual(['delta-lab'])
    expect(commit.inputs.map((i) => i.site)).toEqual([...words.keys()].sort())
    const reveals = h.records().filter((r) => r.kind === ENTRY_KINDS.SECAGG_UNMASK)
    for (const r of reveals) {
      const st = decodeStatement('secagg-unmask', r.body.statement.body)
      expect(st.reveals.find((x) => x.of === 'delta-lab')?.kind).toBe('s')
    }
    const got = committedModel(h)
    const want = expectedModel(h, words)
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6)
  })

  it('runs SecAgg+ over a sparse graph (6 sites, k 4, t 3) with a dropout, and commits the survivors’ sum', async () => {
    // Prepare
    const h = harness({ secureAggregation: { phaseDeadlineMs: 20_000, numShares: 4 } })
    h.enroll('echo-lab', 41, 80)
    h.enroll('fox-lab', 42, 90)

    // Execute
    const { words } = await runRound(h, ['echo-lab'])

    // Assert
    const u1 = h.state.rounds.get(1)!.secagg!.u1!
    expect([u1.sites.length, u1.k, u1.t]).toEqual([6, 4, 3])
    const commit = h.state.rounds.get(1)!.commit!.body
    expect(commit.secagg?.dropped).toEqual(['echo-lab'])
    const shares = h.records().filter((r) => r.kind === ENTRY_KINDS.SECAGG_SHARES)
    expect(shares.every((r) => decodeStatement('secagg-shares', r.body.statement.body).shares.length === 4)).toBe(true)
    const got = committedModel(h)
    const want = expectedModel(h, words)
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6)
  })

  it('refuses, and logs, reveals signed for a survivor set other than the logged one', async () => {
    // Prepare: the unmask phase open; the first survivor signs the hash of a set that still names the dropped site.
    const h = harness()
    const { sessions } = await runRound(h, ['delta-lab'], { untilUnmask: true })
    const u3 = h.state.openRound!.secagg!.u3!
    const [first] = u3
    const reveals = sessions.get(first!)!.revealShares(u3)

    // Execute
    const fed = h.feed({
      kind: 'secagg',
      statement: signStatement(h.site(first!).signer, { t: 'secagg-unmask', study: h.spec.id, round: 1, site: first!, survivors: survivorsHash([...u3, 'delta-lab']), reveals, time: h.timeMs }),
    })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_SECAGG_MESSAGE_INVALID')
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect(fed.refusal?.message).toMatch(/reveal only for the logged set/)
  })

  it('refuses, and logs, shares addressed to a site that is not the sender’s neighbour', async () => {
    // Prepare: the keys phase closed (all four sent keys); the first site addresses a box to an unknown site instead of a neighbour.
    const h = harness()
    h.openRound()
    let fed!: Fed
    for (const s of h.sites) {
      const session = new SiteSecAggSession({ study: h.spec.id, round: 1, site: s.id, seed: 1 })
      const { cPk, sPk } = session.advertise()
      fed = h.feed({ kind: 'secagg', statement: signStatement(s.signer, { t: 'secagg-keys', study: h.spec.id, round: 1, site: s.id, cPk, sPk, time: h.timeMs }) })
    }
    const sender = h.site(0)
    const neighbours = h.state.openRound!.secagg!.u1!.sites.filter((x) => x !== sender.id)
    const shares = neighbours.map((to, i) => ({ to: i === 0 ? 'not-a-site' : to, box: new Uint8Array(64).fill(i + 1) }))

    // Execute
    fed = h.feed({ kind: 'secagg', statement: signStatement(sender.signer, { t: 'secagg-shares', study: h.spec.id, round: 1, site: sender.id, bCommit: new Uint8Array(32), shares, time: h.timeMs }) })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_SECAGG_MESSAGE_INVALID')
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect(fed.refusal?.message).toMatch(/send one box to each neighbour/)
  })

  it('refuses, and logs, a reveal of the self-mask share of a site that dropped out (the share that would unmask it)', async () => {
    // Prepare: run to the unmask phase with one dropout, then forge the first survivor's reveal.
    const h = harness()
    const { sessions } = await runRound(h, ['delta-lab'], { untilUnmask: true })
    const [first] = [...h.state.openRound!.secagg!.u3!]
    const honest = sessions.get(first!)!.revealShares(h.state.openRound!.secagg!.u3!)
    const forged = honest.map((r) => (r.of === 'delta-lab' ? { ...r, kind: 'b' as const } : r))

    // Execute
    const fed = h.feed({
      kind: 'secagg',
      statement: signStatement(h.site(first!).signer, {
        t: 'secagg-unmask',
        study: h.spec.id,
        round: 1,
        site: first!,
        survivors: survivorsHash(h.state.openRound!.secagg!.u3!),
        reveals: forged,
        time: h.timeMs,
      }),
    })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_SECAGG_MESSAGE_INVALID')
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect(fed.refusal?.message).toMatch(/dropped out/)
  })

  it.each<[string, (h: DeciderHarness) => SignedStatement, string]>([
    [
      'shares before the keys phase closed',
      (h) => signStatement(h.site(0).signer, { t: 'secagg-shares', study: h.spec.id, round: 1, site: h.site(0).id, bCommit: new Uint8Array(32), shares: [], time: h.timeMs }),
      'COORD_SECAGG_MESSAGE_INVALID',
    ],
    [
      'keys that are a low-order point (all zero)',
      (h) => signStatement(h.site(0).signer, { t: 'secagg-keys', study: h.spec.id, round: 1, site: h.site(0).id, cPk: new Uint8Array(32), sPk: new Uint8Array(32).fill(9), time: h.timeMs }),
      'COORD_SECAGG_MESSAGE_INVALID',
    ],
    [
      'keys for another round',
      (h) => signStatement(h.site(0).signer, { t: 'secagg-keys', study: h.spec.id, round: 2, site: h.site(0).id, cPk: new Uint8Array(32).fill(1), sPk: new Uint8Array(32).fill(2), time: h.timeMs }),
      'COORD_WRONG_ROUND',
    ],
  ])('refuses %s', (_what, statement, code) => {
    // Prepare
    const h = harness()
    h.openRound()

    // Execute
    const fed = h.feed({ kind: 'secagg', statement: statement(h) })

    // Assert
    expect(fed.refusal?.code).toBe(code)
  })

  it('pays `examples` rewards by the declared example counts (no copied-delta check is possible on masked inputs)', async () => {
    // Prepare
    const h = harness({ rewards: { poolPerRound: '600', method: 'examples' } })

    // Execute
    await runRound(h)

    // Assert
    const rewarded = h.state.rounds.get(1)!.rewards!.body
    expect(rewarded.allocations.map((a) => [a.site, a.raw, a.reason])).toEqual(h.sites.map((s) => [s.id, s.examples, undefined]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))))
    expect(rewarded.allocations.reduce((n, a) => n + a.amount, 0n) + rewarded.unallocated).toBe(600n)
    expect(rewarded.allocations.every((a) => a.amount > 0n)).toBe(true)
  })

  it('refuses a masked input before the input phase, and logs it', () => {
    // Prepare
    const h = harness()
    h.openRound()

    // Execute
    const fed = h.feed(h.updateInput(0, {}, { delta: encodeWeights(syntheticDelta(h.shapes, 1, 0)) }))

    // Assert
    expect(fed.refusal?.code).toBe('COORD_SECAGG_MESSAGE_INVALID')
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
  })

  it('abandons the round, saying what to lower, when distributed DP noise could overflow the 32-bit sum', async () => {
    // Prepare: a quantization range near the 32-bit limit for 4 sites, and a large noise multiplier.
    const h = harness({ secureAggregation: { phaseDeadlineMs: 5000, quantizationRange: 2 ** 29 }, dp: { clipNorm: 1, noiseMultiplier: 50, delta: 1e-5 } })
    h.openRound()
    let fed!: Fed
    for (const s of h.sites) {
      const session = new SiteSecAggSession({ study: h.spec.id, round: 1, site: s.id, seed: 1 })
      const { cPk, sPk } = session.advertise()
      fed = h.feed({ kind: 'secagg', statement: signStatement(s.signer, { t: 'secagg-keys', study: h.spec.id, round: 1, site: s.id, cPk, sPk, time: h.timeMs }) })
    }

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.SECAGG_KEYS, ENTRY_KINDS.ROUND_ABANDONED])
    expect(h.state.rounds.get(1)!.abandonReason).toMatch(/would overflow 32 bits.*lower secureAggregation.quantizationRange/)
  })

  it('abandons the round when fewer than three sites send keys by the phase deadline', () => {
    // Prepare
    const h = harness()
    h.openRound()
    for (const s of h.sites.slice(0, 2))
      h.feed({
        kind: 'secagg',
        statement: signStatement(s.signer, { t: 'secagg-keys', study: h.spec.id, round: 1, site: s.id, cPk: new Uint8Array(32).fill(1), sPk: new Uint8Array(32).fill(2), time: h.timeMs }),
      })

    // Execute
    const fed = h.tick(h.timeMs + 10_000)

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.ROUND_ABANDONED])
    expect(h.state.rounds.get(1)!.abandonReason).toMatch(/2 sites sent keys/)
  })
})
