/**
 * protocol/decider.ts: `step(state, input, timeMs)` for each input kind,
 * through the DeciderHarness (test/helpers/protocol.ts), which folds every
 * step's entries the way the coordinator does. For each input: the entries
 * that come out (kinds and decoded bodies), the tasks, and the refusals.
 *
 * The refusal rule under test: a statement that is validly signed by an
 * enrolled site and new is refused *with* a logged rejection entry carrying
 * its code and reason, whatever the timing; junk (bad signature, unknown
 * site, undecodable, a replay) is refused without one.
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical, readAll, sha256, toHex } from '../../../ledger/core/index.ts'
import { decodeWeights, encodeWeights, fedAvg, hashWeights, initialWeights, inputWidth, type Weights } from '../../../models/core/index.ts'
import {
  ENTRY_KINDS,
  StudyState,
  UpdateTooLargeError,
  decodeStatement,
  encodeSpec,
  needsBlobs,
  roundSeed,
  step,
  type DeciderInput,
  type LineageRecord,
  type SignedStatement,
} from '../../../protocol/index.ts'
import { SYNTHETIC_PATIENTS, SYNTHETIC_REQUEST_MAX_AGE_MS, foldDrafts, signLog, syntheticConsentExt, syntheticDelta } from '../../helpers/audit.ts'
import { testSigner } from '../../helpers/ledger.ts'
import { CONSENT_STUDY, DeciderHarness, everyKindScript, REWARDED_CONSENT_STUDY, kindsOf, type Fed, type HarnessInit } from '../../helpers/protocol.ts'

type RecordOf<K extends LineageRecord['kind']> = Extract<LineageRecord, { kind: K }>

/** The one record of `kind` a step wrote; fails the test when there is not exactly one. */
function only<K extends LineageRecord['kind']>(fed: Fed, kind: K): RecordOf<K> {
  const found = fed.records.filter((r): r is RecordOf<K> => r.kind === kind)
  expect(found, `${kind} entries of the step`).toHaveLength(1)
  return found[0]!
}

const bytesOf = (s: SignedStatement) => ({ body: s.body, sig: s.signature })

/** Table rows `[what, setup, code, init?]` reordered `[what, code, setup, init]`, so that '%s: %s' titles read "what: CODE". */
function named<S>(rows: readonly (readonly [string, S, string, HarnessInit?])[]): [string, string, S, HarnessInit | undefined][] {
  return rows.map(([what, setup, code, init]) => [what, code, setup, init])
}

/** A harness whose round 1 is open (the three sites planned). */
function withOpenRound(init: HarnessInit = {}): DeciderHarness {
  const h = new DeciderHarness(init)
  h.openRound()
  return h
}

// ---- create and enroll ---------------------------------------------------------------------------

describe('step: create', () => {
  it('writes study-created and one site-enrolled per site, sorted by site id, with the genesis model as a blob', () => {
    // Prepare
    const h = new DeciderHarness()
    const genesis = encodeWeights(initialWeights(h.spec.model, inputWidth(h.spec.data), h.spec.seed))

    // Execute: the harness created the study; read back what that step wrote.
    const records = h.records()

    // Assert
    expect(records.map((r) => r.kind)).toEqual([ENTRY_KINDS.STUDY_CREATED, ENTRY_KINDS.SITE_ENROLLED, ENTRY_KINDS.SITE_ENROLLED, ENTRY_KINDS.SITE_ENROLLED])
    const created = records[0] as RecordOf<'study-created'>
    expect(created.body).toEqual({ study: h.spec.id, spec: encodeSpec(h.spec), genesis: sha256(genesis), hub: h.hub.publicKey, requestMaxAgeMs: SYNTHETIC_REQUEST_MAX_AGE_MS })
    expect(records.slice(1).map((r) => (r as RecordOf<'site-enrolled'>).body)).toEqual(h.sites.map((s) => ({ site: s.id, key: s.signer.publicKey })))
    expect(h.blobs.get(toHex(sha256(genesis)))).toEqual(genesis)
  })

  it('sorts enrolments by site id whatever order the config lists them in, and logs the validation set by hash', () => {
    // Prepare
    const h = new DeciderHarness()
    const validation = new TextEncoder().encode('validation set bytes')
    const input = h.createInput() as Extract<DeciderInput, { kind: 'create' }>

    // Execute
    const result = step(new StudyState(), { ...input, sites: [...input.sites].reverse(), validation }, 0)
    const fresh = step0(result)

    // Assert
    expect(fresh.entries.slice(1).map((e) => (e.body as { site: string }).site)).toEqual(h.sites.map((s) => s.id))
    expect((fresh.entries[0]!.body as { validation: Uint8Array }).validation).toEqual(sha256(validation))
    expect(fresh.blobs).toContainEqual(validation)
  })

  it('refuses to create a study twice (a broken precondition, thrown)', () => {
    const h = new DeciderHarness()
    expect(() => h.decide(h.createInput())).toThrow(expect.objectContaining({ code: 'COORD_ROUND_STATE' }))
  })
})

/** A decision, failing the test if it asks for blobs. */
function step0<T extends ReturnType<DeciderHarness['decide']>>(result: T): Exclude<T, { needs: unknown }> {
  if (needsBlobs(result)) throw new Error('unexpected needs')
  return result as Exclude<T, { needs: unknown }>
}

describe('step: enroll', () => {
  it('enrols a new site, ignores a known one with its key, and refuses a known one with another key', () => {
    // Prepare
    const h = new DeciderHarness()

    // Execute
    const added = h.enroll('delta-lab', 20)
    const again = h.feed({ kind: 'enroll', site: 'delta-lab', publicKey: testSigner(20).publicKey })

    // Assert
    expect(only(added, 'site-enrolled').body).toEqual({ site: 'delta-lab', key: testSigner(20).publicKey })
    expect(again.entries).toEqual([])
    expect(() => h.decide({ kind: 'enroll', site: 'delta-lab', publicKey: testSigner(21).publicKey })).toThrow(expect.objectContaining({ code: 'COORD_STUDY_MISMATCH' }))
  })
})

// ---- round-start ---------------------------------------------------------------------------------

describe('step: round-start', () => {
  it('opens round 1 on the base model with the plan, seed and deadline, and gives each planned site its fit task', () => {
    // Prepare
    const h = new DeciderHarness()
    const request = h.roundStart()

    // Execute
    const fed = h.feed({ kind: 'round-start', request })

    // Assert
    expect(fed.refusal).toBeUndefined()
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.ROUND_OPENED])
    expect(fed.recordedAt).toBe(0)
    const opened = only(fed, 'round-opened')
    const instructions = { optimizer: h.spec.training.optimizer, learningRate: 0.1, batchSize: 8, localSteps: 4 }
    expect(opened.body).toEqual({
      round: 1,
      base: h.state.genesis,
      deadline: fed.timeMs + h.spec.roundDeadlineMs,
      seed: roundSeed(h.spec.seed, 1),
      request: bytesOf(request),
      plan: h.sites.map((s) => ({ site: s.id, instructions })),
    })
    expect(opened.timeMs).toBe(fed.timeMs)
    expect(fed.tasks).toEqual(
      h.sites.map((s) => ({
        siteId: s.id,
        task: {
          kind: 'fit',
          round: 1,
          base: h.state.genesis,
          baseRound: 0,
          seed: roundSeed(h.spec.seed, 1),
          deadlineMs: fed.timeMs + h.spec.roundDeadlineMs,
          deltaSizeBytes: h.state.deltaSizeBytes,
          openedMs: fed.timeMs,
          instructions,
        },
      })),
    )
  })

  it('opens round 2 on round 1’s model, with fit tasks that name round 1 as the base round', () => {
    // Prepare
    const h = new DeciderHarness()
    h.runRound()
    const model1 = h.state.modelOfRound(1)!

    // Execute
    const fed = h.openRound()

    // Assert
    expect(only(fed, 'round-opened').body).toMatchObject({ round: 2, base: model1 })
    expect(fed.tasks.map((t) => t.task)).toEqual(h.sites.map(() => expect.objectContaining({ kind: 'fit', round: 2, base: model1, baseRound: 1 })))
  })

  it.each(
    named<(h: DeciderHarness) => SignedStatement>([
      ['a request not signed by the hub (a site key)', (h) => h.roundStart({}, h.site(0).signer), 'COORD_NOT_HUB'],
      ['another study', (h) => h.roundStart({ study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
      ['a request signed too long ago', (h) => h.roundStart({ time: h.timeMs - SYNTHETIC_REQUEST_MAX_AGE_MS - 2000 }), 'COORD_STALE_REQUEST'],
      ['a request signed too far ahead', (h) => h.roundStart({ time: h.timeMs + SYNTHETIC_REQUEST_MAX_AGE_MS + 2000 }), 'COORD_STALE_REQUEST'],
      ['a round that is not the next one', (h) => h.roundStart({ round: 2 }), 'COORD_WRONG_ROUND'],
      ['bytes that are not a round-start statement', () => ({ body: Uint8Array.of(0xa0), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ]),
  )('refuses %s: %s, without a log entry', (_what, code, request) => {
    // Prepare
    const h = new DeciderHarness()

    // Execute
    const fed = h.feed({ kind: 'round-start', request: request(h) })

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(fed.entries).toEqual([])
    expect(fed.tasks).toEqual([])
  })

  it('refuses a second request while a round is open, and the same request bytes again, without a log entry', () => {
    // Prepare
    const h = new DeciderHarness()
    const request = h.roundStart()
    h.feed({ kind: 'round-start', request })

    // Execute
    const replay = h.feed({ kind: 'round-start', request })
    const another = h.feed({ kind: 'round-start', request: h.roundStart({ round: 2 }) })

    // Assert
    expect([replay.refusal?.code, another.refusal?.code]).toEqual(['COORD_UPDATE_REPLAYED', 'COORD_ROUND_STATE'])
    expect([...replay.entries, ...another.entries]).toEqual([])
  })

  it('refuses a round past the study’s target once its rounds are committed', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()

    // Execute
    const fed = h.feed({ kind: 'round-start', request: h.roundStart() })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_ROUND_STATE')
    expect(fed.entries).toEqual([])
  })
})

// ---- update: accepted, and the round closing ------------------------------------------------------

describe('step: update accepted', () => {
  it('logs update-accepted with the embedded envelope and keeps the delta; the round stays open until every planned site is in', () => {
    // Prepare
    const h = withOpenRound()
    const { envelope, delta } = h.update(0)

    // Execute
    const fed = h.feed({ kind: 'update', envelope, delta })

    // Assert
    expect(fed.refusal).toBeUndefined()
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED])
    expect(fed.recordedAt).toBe(0)
    expect(only(fed, 'update-accepted').body).toEqual({ round: 1, site: h.site(0).id, envelope: bytesOf(envelope), delta: sha256(delta), examples: h.site(0).examples })
    expect(fed.blobs).toEqual([delta])
    expect(fed.tasks).toEqual([])
    expect(h.state.openRound?.accepted.has(h.site(0).id)).toBe(true)
  })

  it('commits the round with the last planned update: FedAvg of the deltas in site order, inputs sorted, and an evaluate task for all', () => {
    // Prepare
    const h = withOpenRound()
    const base = h.state.genesis
    // The last update to arrive is alpha's, the first by site id: inputs must still come out sorted.
    h.submit([2, 1])

    // Execute
    const fed = h.feed(h.updateInput(0))

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED])
    const commit = only(fed, 'round-committed')
    const deltas = h.sites.map((_, i) => syntheticDelta(h.shapes, 1, i))
    const expected = fedAvg(
      decodeWeights(h.blobs.get(toHex(base))!, h.shapes),
      deltas.map((delta, i) => ({ siteId: h.site(i).id, exampleCount: h.site(i).examples, delta })),
    )
    const accepted = h.state.rounds.get(1)!.accepted
    expect(commit.body).toMatchObject({
      round: 1,
      parent: base,
      model: hashWeights(expected),
      inputs: h.sites.map((s, i) => ({ site: s.id, delta: sha256(encodeWeights(deltas[i]!)), examples: s.examples, envelope: accepted.get(s.id)!.envelopeHash })),
      strategy: { name: 'fedavg' },
      failures: [],
      exclusions: [],
    })
    expect(commit.body.metrics['examples']).toBe(150)
    expect(commit.body.metrics['trainLoss']).toBeCloseTo((0.5 * 40 + 0.51 * 50 + 0.52 * 60) / 150, 12)
    expect(fed.blobs.map((b) => toHex(sha256(readAll(b))))).toContain(toHex(commit.body.model))
    expect(fed.tasks).toEqual([{ siteId: null, task: { kind: 'evaluate', round: 1, model: commit.body.model, deadlineMs: fed.timeMs + h.spec.evaluationDeadlineMs } }])
    expect(h.state.rounds.get(1)?.status).toBe('committed')
  })

  it('writes round-rewarded after the commit in a study with rewards: the pool split by examples', () => {
    // Prepare
    const h = withOpenRound({ study: REWARDED_CONSENT_STUDY })

    // Execute
    const fed = h.submit()

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED, ENTRY_KINDS.ROUND_REWARDED])
    const rewarded = only(fed, 'round-rewarded')
    expect(rewarded.body).toMatchObject({ round: 1, method: 'examples', pool: 600n, unallocated: 0n })
    expect(rewarded.body.allocations.map((a) => [a.site, a.amount])).toEqual([
      [h.site(0).id, 160n],
      [h.site(1).id, 200n],
      [h.site(2).id, 240n],
    ])
  })

  it('logs the revocations an update first reports just before it, and only once', () => {
    // Prepare: beta-hospital withdraws patient 3 from round 1 on.
    const h = withOpenRound({ study: CONSENT_STUDY, revocations: [{ site: 1, patient: 3, round: 1 }] })

    // Execute
    const fed = h.feed(h.updateInput(1))

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.CONSENT_REVOKED, ENTRY_KINDS.UPDATE_ACCEPTED])
    expect(fed.recordedAt).toBe(1)
    expect(only(fed, 'consent-revoked').body).toMatchObject({ round: 1, site: h.site(1).id })
    expect(h.state.revokedPseudonyms(h.site(1).id)).toHaveLength(1)
    // Round 2: the same revocation is proven again but not logged again.
    h.submit([0, 2])
    h.openRound()
    expect(kindsOf(h.feed(h.updateInput(1)))).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED])
  })

  it('asks for the blobs a commit needs instead of deciding without them', () => {
    // Prepare
    const h = withOpenRound()
    h.submit([0, 1])
    const last = h.updateInput(2)

    // Execute: with no blob view, as a shell that has loaded nothing yet.
    const result = step(h.state, last, h.timeMs + 1000)

    // Assert: the base model and the two stored deltas (the fresh one comes with the input).
    expect(needsBlobs(result) && result.needs.map(toHex).sort()).toEqual([h.state.genesis, ...[0, 1].map((i) => h.state.openRound!.accepted.get(h.site(i).id)!.delta)].map(toHex).sort())
  })
})

// ---- update: logged refusals ----------------------------------------------------------------------

/** A scenario that ends with an update input to refuse, and the code it must be refused with. */
type RefusalCase = readonly [what: string, setup: (h: DeciderHarness) => DeciderInput, code: string, init?: HarnessInit]

/** A harness with round 1 committed at its deadline with alpha and beta only (minSites 2), gamma never sent. */
function committedWithoutGamma(h: DeciderHarness): void {
  h.openRound()
  h.submit([0, 1])
  h.tick(h.state.openRound!.deadlineMs)
}

const sameSizeOtherShape = (h: DeciderHarness): Weights => {
  const d = syntheticDelta(h.shapes, 1, 0)
  return { tensors: d.tensors.map((t) => (t.name === 'output/kernel' ? { ...t, shape: [...t.shape].reverse() } : t)) }
}

const UPDATE_REFUSALS: RefusalCase[] = [
  ['early: before any round opened', (h) => h.updateInput(0, { round: 1 }), 'COORD_WRONG_ROUND'],
  [
    'early: for the next round while round 1 is open',
    (h) => {
      h.openRound()
      return h.updateInput(0, { round: 2 })
    },
    'COORD_WRONG_ROUND',
  ],
  [
    'late: after the round committed at its deadline',
    (h) => {
      committedWithoutGamma(h)
      return h.updateInput(2, { round: 1, base: h.state.genesis })
    },
    'COORD_WRONG_ROUND',
  ],
  [
    'late: after the round was abandoned',
    (h) => {
      h.openRound()
      h.submit([0])
      h.tick(h.state.openRound!.deadlineMs)
      return h.updateInput(1, { round: 1, base: h.state.genesis })
    },
    'COORD_WRONG_ROUND',
  ],
  [
    'a duplicate: a second, newly signed update from a site already in',
    (h) => {
      h.openRound()
      h.submit([0])
      return h.updateInput(0)
    },
    'COORD_DUPLICATE_UPDATE',
  ],
  [
    'a wrong round number for a round that exists',
    (h) => {
      committedWithoutGamma(h)
      h.openRound()
      return h.updateInput(2, { round: 1 })
    },
    'COORD_WRONG_ROUND',
  ],
  [
    'another study',
    (h) => {
      h.openRound()
      return h.updateInput(0, { study: 'other-study' })
    },
    'COORD_STUDY_MISMATCH',
  ],
  [
    'another base model',
    (h) => {
      h.openRound()
      return h.updateInput(0, { base: sha256(Uint8Array.of(1)) })
    },
    'COORD_WRONG_BASE_MODEL',
  ],
  [
    'a site enrolled after the round opened, so outside its plan',
    (h) => {
      h.openRound()
      h.enroll('delta-lab', 20)
      return h.updateInput('delta-lab')
    },
    'COORD_WRONG_ROUND',
  ],
  [
    'a declared size above the study model’s delta size',
    (h) => {
      h.openRound()
      return h.updateInput(0, { size: h.state.deltaSizeBytes + 1 })
    },
    'COORD_UPDATE_TOO_LARGE',
  ],
  [
    'an oversize stream the transport cut off',
    (h) => {
      h.openRound()
      const { envelope } = h.update(0)
      return { kind: 'update', envelope, transport: { code: UpdateTooLargeError.code, reason: 'more bytes than the envelope declares' } }
    },
    'COORD_UPDATE_TOO_LARGE',
  ],
  [
    'delta bytes that do not hash to the signed delta',
    (h) => {
      h.openRound()
      const { envelope, delta } = h.update(0)
      const flipped = Uint8Array.from(delta)
      flipped[flipped.length - 1]! ^= 1
      return { kind: 'update', envelope, delta: flipped }
    },
    'COORD_DELTA_INTEGRITY',
  ],
  [
    'fewer delta bytes than the signed size',
    (h) => {
      h.openRound()
      const { envelope, delta } = h.update(0)
      return { kind: 'update', envelope, delta: delta.subarray(0, delta.length - 4) }
    },
    'COORD_DELTA_INTEGRITY',
  ],
  [
    'a delta of another layout (same size, transposed kernel)',
    (h) => {
      h.openRound()
      return h.updateInput(0, {}, { delta: sameSizeOtherShape(h) })
    },
    'COORD_DELTA_SHAPE',
  ],
  [
    'a delta with a NaN',
    (h) => {
      h.openRound()
      const d = syntheticDelta(h.shapes, 1, 0)
      d.tensors[0]!.values[0] = Number.NaN
      return h.updateInput(0, {}, { delta: d })
    },
    'COORD_NON_FINITE',
  ],
  [
    'no consent claim in a study that requires consent',
    (h) => {
      h.openRound()
      return h.updateInput(0, {}, { ext: null })
    },
    'COORD_CONSENT_MISSING',
    { study: CONSENT_STUDY },
  ],
  [
    'a consent claim decided at another time than the round’s',
    (h) => {
      h.openRound()
      const round = h.state.openRound!
      return h.updateInput(0, {}, { ext: syntheticConsentExt(0, 1, round.openedMs - 1) })
    },
    'COORD_CONSENT_INVALID',
    { study: CONSENT_STUDY },
  ],
]

describe('step: update refusals of a binding envelope are logged', () => {
  it.each(named(UPDATE_REFUSALS))('%s: %s, with an update-rejected entry', (_what, code, setup, init) => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 2 }, ...init, ...(init?.study ? { study: { minSites: 2, ...init.study } } : {}) })
    const input = setup(h) as Extract<DeciderInput, { kind: 'update' }>
    const env = decodeStatement('update', input.envelope.body)
    const before = h.drafts.length

    // Execute
    const fed = h.feed(input)

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(only(fed, 'update-rejected').body).toEqual({ round: env.round, site: env.site, code, reason: fed.refusal!.message, envelope: bytesOf(input.envelope) })
    expect(fed.tasks).toEqual([])
    expect(fed.blobs).toEqual([])
    expect(h.drafts).toHaveLength(before + 1)
    // The rejection binds: the same bytes again are a replay, refused without a second entry.
    const replay = h.feed(input)
    expect(replay.refusal).toBeDefined()
    expect(replay.entries).toEqual([])
    expect(h.state.seenStatements.has(toHex(sha256(input.envelope.body)))).toBe(true)
  })

  it('regression: refuses an update that arrives at or after the round’s deadline, even before the tick closed the round', () => {
    // Prepare: minSites 3, two updates in; the third arrives at the deadline, before any tick.
    const h = new DeciderHarness({ study: { minSites: 3 } })
    h.openRound()
    h.submit([0, 1])
    const deadline = h.state.openRound!.deadlineMs
    const late = h.updateInput(2)

    // Execute
    const fed = h.feed(late, deadline)
    const closed = h.tick(deadline + 5)

    // Assert: the late update is logged as refused, and the round closes as the deadline found it (abandoned).
    expect(fed.refusal?.code).toBe('COORD_WRONG_ROUND')
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(kindsOf(closed)).toEqual([ENTRY_KINDS.ROUND_ABANDONED])
    expect(only(closed, 'round-abandoned').body.accepted).toBe(2)
  })

  it('takes an update one millisecond before the deadline', () => {
    const h = new DeciderHarness({ study: { minSites: 3 } })
    h.openRound()
    h.submit([0, 1])
    const fed = h.feed(h.updateInput(2), h.state.openRound!.deadlineMs - 1)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED])
  })

  it('names the refused site’s last refusal code in the commit’s failures', () => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 2 } })
    h.openRound()
    h.submit([0, 1])
    h.feed(h.updateInput(2, { base: sha256(Uint8Array.of(9)) }))

    // Execute
    const fed = h.tick(h.state.openRound!.deadlineMs)

    // Assert
    expect(only(fed, 'round-committed').body.failures).toEqual([{ site: h.site(2).id, reason: 'COORD_WRONG_BASE_MODEL' }])
  })

  it('does not let an unplanned site’s update count towards closing the round', () => {
    // Prepare: delta-lab joins while round 1 is open; two of the three planned sites are in.
    const h = withOpenRound()
    h.enroll('delta-lab', 20)
    h.submit([0, 1])

    // Execute
    const intruder = h.feed(h.updateInput('delta-lab'))

    // Assert: still waiting for gamma-center, the plan's third site.
    expect(kindsOf(intruder)).toEqual([ENTRY_KINDS.UPDATE_REJECTED])
    expect(h.state.openRound?.round).toBe(1)
    expect(kindsOf(h.feed(h.updateInput(2)))).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED])
  })
})

describe('step: update refusals without a log entry', () => {
  it.each(
    named<(h: DeciderHarness) => DeciderInput>([
      ['a signature by another key', (h) => h.updateInput(0, {}, { signer: testSigner(77) }), 'COORD_BAD_SIGNATURE'],
      ['a site that is not enrolled', (h) => h.updateInput(0, { site: 'nowhere' }), 'COORD_UNKNOWN_SITE'],
      ['bytes that are not an update envelope', () => ({ kind: 'update', envelope: { body: Uint8Array.of(0xa0), signature: new Uint8Array(64) }, delta: new Uint8Array() }), 'COORD_STATEMENT_INVALID'],
      ['an envelope signed by a site for another site', (h) => h.updateInput(0, { site: h.site(1).id }, { signer: h.site(0).signer }), 'COORD_BAD_SIGNATURE'],
    ]),
  )('%s: %s, without a log entry', (_what, code, setup) => {
    // Prepare
    const h = withOpenRound()
    const before = h.drafts.length

    // Execute
    const fed = h.feed(setup(h))

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(fed.entries).toEqual([])
    expect(h.drafts).toHaveLength(before)
  })

  it('refuses the bytes of an accepted update again as a replay', () => {
    // Prepare
    const h = withOpenRound()
    const input = h.updateInput(0)
    h.feed(input)

    // Execute
    const fed = h.feed(input)

    // Assert
    expect(fed.refusal?.code).toBe('COORD_UPDATE_REPLAYED')
    expect(fed.entries).toEqual([])
  })

  it('logs nothing once the study is complete', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1, minSites: 2 } })
    committedWithoutGamma(h)
    h.evaluate(1)
    expect(h.state.completed).toBe(true)

    // Execute
    const fed = h.feed(h.updateInput(2, { round: 1, base: h.state.genesis }))

    // Assert
    expect(fed.refusal).toBeDefined()
    expect(fed.entries).toEqual([])
  })
})

// ---- evaluation -----------------------------------------------------------------------------------

describe('step: evaluation', () => {
  it('logs evaluation-reported with the embedded report, for round 0 and a committed round', () => {
    // Prepare
    const h = new DeciderHarness()
    const baseline = h.evaluation(0, 0)

    // Execute
    const fed = h.feed({ kind: 'evaluation', report: baseline })

    // Assert
    expect(fed.refusal).toBeUndefined()
    expect(fed.recordedAt).toBe(0)
    expect(only(fed, 'evaluation-reported').body).toEqual({ round: 0, site: h.site(0).id, model: h.state.genesis, report: bytesOf(baseline) })
    expect(h.state.evaluations.get(0)?.get(h.site(0).id)).toMatchObject({ examples: 20, metrics: { loss: 0.7, accuracy: 0.6 } })
    h.runRound()
    expect(kindsOf(h.feed({ kind: 'evaluation', report: h.evaluation(1, 1) }))).toEqual([ENTRY_KINDS.EVALUATION_REPORTED])
  })

  it('takes an evaluation of an older model once a newer round opened', () => {
    // Prepare
    const h = new DeciderHarness()
    h.runRound()
    h.openRound()

    // Execute
    const fed = h.feed({ kind: 'evaluation', report: h.evaluation(2, 1) })

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED])
  })

  it.each(
    named<(h: DeciderHarness) => SignedStatement>([
      [
        'early: of a round that has not committed',
        (h) => {
          h.openRound()
          return h.evaluation(0, 1)
        },
        'COORD_WRONG_ROUND',
      ],
      ['of a round that never opened', (h) => h.evaluation(0, 5), 'COORD_WRONG_ROUND'],
      [
        'of another model than the round’s',
        (h) => {
          h.runRound()
          return h.evaluation(0, 1, { model: h.state.genesis })
        },
        'COORD_WRONG_BASE_MODEL',
      ],
      [
        'a duplicate: a second, newly signed report of the same round',
        (h) => {
          h.evaluate(0, [0])
          return h.evaluation(0, 0, { time: h.timeMs + 1 })
        },
        'COORD_DUPLICATE_UPDATE',
      ],
      ['another study', (h) => h.evaluation(0, 0, { study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
    ]),
  )('%s: %s, with a statement-rejected entry', (_what, code, setup) => {
    // Prepare
    const h = new DeciderHarness()
    const report = setup(h)
    const ev = decodeStatement('evaluation', report.body)

    // Execute
    const fed = h.feed({ kind: 'evaluation', report })

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect(only(fed, 'statement-rejected').body).toEqual({ type: 'evaluation', round: ev.round, site: ev.site, code, reason: fed.refusal!.message, statement: bytesOf(report) })
    expect(h.feed({ kind: 'evaluation', report }).entries).toEqual([])
  })

  it.each(
    named<(h: DeciderHarness) => SignedStatement>([
      ['a signature by another key', (h) => h.evaluation(0, 0, {}, testSigner(77)), 'COORD_BAD_SIGNATURE'],
      ['a site that is not enrolled', (h) => h.evaluation(0, 0, { site: 'nowhere' }), 'COORD_UNKNOWN_SITE'],
      ['undecodable bytes', () => ({ body: Uint8Array.of(0x01), signature: new Uint8Array(64) }), 'COORD_STATEMENT_INVALID'],
    ]),
  )('%s: %s, without a log entry', (_what, code, setup) => {
    // Prepare
    const h = new DeciderHarness()

    // Execute
    const fed = h.feed({ kind: 'evaluation', report: setup(h) })

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(fed.entries).toEqual([])
  })

  it('refuses the bytes of a logged report again as a replay, without a log entry', () => {
    // Prepare
    const h = new DeciderHarness()
    const report = h.evaluation(0, 0)
    h.feed({ kind: 'evaluation', report })

    // Execute
    const fed = h.feed({ kind: 'evaluation', report })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_UPDATE_REPLAYED')
    expect(fed.entries).toEqual([])
  })
})

// ---- patient rewards ------------------------------------------------------------------------------

/** A one-round study with consent and rewards whose round 1 has committed and been rewarded. */
function rewarded(study = REWARDED_CONSENT_STUDY, rounds = 1): DeciderHarness {
  const h = new DeciderHarness({ study: { ...study, rounds } })
  h.runRound()
  return h
}

describe('step: patient-rewards', () => {
  it('logs a patient-rewards entry with the embedded statement', () => {
    // Prepare
    const h = rewarded(REWARDED_CONSENT_STUDY, 2)
    const statement = h.patientRewards(1, 1)

    // Execute
    const fed = h.feed({ kind: 'patient-rewards', statement })

    // Assert
    expect(fed.refusal).toBeUndefined()
    expect(fed.recordedAt).toBe(0)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.PATIENT_REWARDS])
    expect(only(fed, 'patient-rewards').body).toEqual({ round: 1, site: h.site(1).id, statement: bytesOf(statement) })
    expect(h.state.rounds.get(1)?.patientRewards.get(h.site(1).id)).toMatchObject({ amount: 200n, count: SYNTHETIC_PATIENTS })
  })

  it.each(
    named<(h: DeciderHarness) => SignedStatement>([
      ['for a round not rewarded (not yet opened)', (h) => h.patientRewards(0, 2, { amount: 1n, count: SYNTHETIC_PATIENTS }), 'COORD_PATIENT_REWARDS_INVALID'],
      ['another amount', (h) => h.patientRewards(0, 1, { amount: 161n }), 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH'],
      ['another patient count', (h) => h.patientRewards(0, 1, { count: SYNTHETIC_PATIENTS + 1 }), 'COORD_PATIENT_REWARDS_COUNT_MISMATCH'],
      ['another study', (h) => h.patientRewards(0, 1, { study: 'other-study' }), 'COORD_STUDY_MISMATCH'],
      [
        'a second, newly signed statement for a round already passed on',
        (h) => {
          h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0, 1) })
          return h.patientRewards(0, 1, { time: h.timeMs + 1 })
        },
        'COORD_PATIENT_REWARDS_INVALID',
      ],
    ]),
  )('%s: %s, with a statement-rejected entry', (_what, code, setup) => {
    // Prepare
    const h = rewarded(REWARDED_CONSENT_STUDY, 2)
    const statement = setup(h)
    const st = decodeStatement('patient-rewards', statement.body)

    // Execute
    const fed = h.feed({ kind: 'patient-rewards', statement })

    // Assert
    expect(fed.refusal?.code).toBe(code)
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.STATEMENT_REJECTED])
    expect(only(fed, 'statement-rejected').body).toEqual({ type: 'patient-rewards', round: st.round, site: st.site, code, reason: fed.refusal!.message, statement: bytesOf(statement) })
  })

  it('refuses a site with no accepted update in the round, and one whose update carried no consent claim, with a logged rejection', () => {
    // Prepare: rewards without required consent; gamma sends no update, beta's carries no claim.
    const h = new DeciderHarness({ study: { rewards: { poolPerRound: '600', method: 'examples' }, minSites: 2 } })
    h.openRound()
    h.feed(h.updateInput(0, {}, { ext: syntheticConsentExt(0, 1, h.state.openRound!.openedMs) }))
    h.feed(h.updateInput(1))
    h.tick(h.state.openRound!.deadlineMs)

    // Execute
    const absent = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(2, 1, { amount: 1n }) })
    const unclaimed = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(1, 1) })
    const claimed = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0, 1) })

    // Assert
    expect([absent.refusal?.code, unclaimed.refusal?.code]).toEqual(['COORD_PATIENT_REWARDS_INVALID', 'COORD_PATIENT_REWARDS_INVALID'])
    expect([kindsOf(absent), kindsOf(unclaimed), kindsOf(claimed)]).toEqual([[ENTRY_KINDS.STATEMENT_REJECTED], [ENTRY_KINDS.STATEMENT_REJECTED], [ENTRY_KINDS.PATIENT_REWARDS]])
  })

  it.each(
    named<(h: DeciderHarness) => SignedStatement>([
      ['a signature by another key', (h) => h.patientRewards(0, 1, {}, testSigner(77)), 'COORD_BAD_SIGNATURE'],
      ['a site that is not enrolled', (h) => h.patientRewards(0, 1, { site: 'nowhere' }), 'COORD_UNKNOWN_SITE'],
    ]),
  )('%s: %s, without a log entry', (_what, code, setup) => {
    const h = rewarded(REWARDED_CONSENT_STUDY, 2)
    const fed = h.feed({ kind: 'patient-rewards', statement: setup(h) })
    expect(fed.refusal?.code).toBe(code)
    expect(fed.entries).toEqual([])
  })

  it('refuses a valid statement after the study completed with COORD_ROUND_STATE, without a log entry', () => {
    // Prepare: one round, evaluated by all; the deadline completes the study with the rewards still owed.
    const h = rewarded()
    h.evaluate(1)
    h.tick(h.state.rounds.get(1)!.commit!.timeMs + h.spec.evaluationDeadlineMs)
    expect(h.state.completed).toBe(true)

    // Execute
    const fed = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0, 1) })

    // Assert
    expect(fed.refusal?.code).toBe('COORD_ROUND_STATE')
    expect(fed.entries).toEqual([])
  })
})

// ---- tick -----------------------------------------------------------------------------------------

describe('step: tick', () => {
  it('does nothing before the open round’s deadline, and closes it at the deadline', () => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 2 } })
    h.openRound()
    h.submit([0, 1])
    const deadline = h.state.openRound!.deadlineMs

    // Execute
    const early = h.tick(deadline - 1)
    const due = h.tick(deadline)

    // Assert
    expect(early.entries).toEqual([])
    expect(kindsOf(due)).toEqual([ENTRY_KINDS.ROUND_COMMITTED])
    expect(only(due, 'round-committed').body).toMatchObject({ round: 1, failures: [{ site: h.site(2).id, reason: 'no-update' }] })
    expect(only(due, 'round-committed').body.inputs.map((i) => i.site)).toEqual([h.site(0).id, h.site(1).id])
    expect(due.tasks).toEqual([{ siteId: null, task: expect.objectContaining({ kind: 'evaluate', round: 1, deadlineMs: deadline + h.spec.evaluationDeadlineMs }) }])
  })

  it('abandons the round at its deadline with fewer accepted updates than minSites; the base stays current', () => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 2 } })
    h.openRound()
    h.submit([0])

    // Execute
    const fed = h.tick(h.state.openRound!.deadlineMs)

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.ROUND_ABANDONED])
    expect(only(fed, 'round-abandoned').body).toEqual({ round: 1, reason: 'deadline passed with 1 accepted updates, the study needs 2', accepted: 1 })
    // Every site still training for it is told to drop the task, with the logged reason.
    expect(fed.tasks).toEqual([{ siteId: null, task: { kind: 'cancel', round: 1, reason: 'deadline passed with 1 accepted updates, the study needs 2' } }])
    expect(h.state.currentModel).toEqual(h.state.genesis)
    expect(kindsOf(h.openRound())).toEqual([ENTRY_KINDS.ROUND_OPENED])
  })

  it('does nothing with no round open and the study not complete, nor before creation', () => {
    const h = new DeciderHarness()
    h.runRound()
    expect(h.tick(h.timeMs + 10 * h.spec.evaluationDeadlineMs).entries).toEqual([])
    expect(step(new StudyState(), { kind: 'tick' }, 0)).toMatchObject({ entries: [] })
  })

  it('asks for the blobs of a commit at the deadline', () => {
    // Prepare
    const h = new DeciderHarness({ study: { minSites: 1 } })
    h.openRound()
    h.submit([0])

    // Execute
    const bare = step(h.state, { kind: 'tick' }, h.state.openRound!.deadlineMs)

    // Assert
    expect(needsBlobs(bare) && bare.needs.map(toHex).sort()).toEqual([h.state.genesis, h.state.openRound!.accepted.get(h.site(0).id)!.delta].map(toHex).sort())
  })
})

// ---- cosignature ----------------------------------------------------------------------------------

describe('step: cosignature', () => {
  it('takes an enrolled site’s own key as witness, without a log entry', () => {
    const h = new DeciderHarness()
    const fed = h.feed({ kind: 'cosignature', site: h.site(0).id, witness: h.site(0).signer.publicKey })
    expect(fed.refusal).toBeUndefined()
    expect([fed.entries, fed.tasks]).toEqual([[], []])
  })

  it.each([
    ['another site’s key', (h: DeciderHarness) => ({ site: h.site(0).id, witness: h.site(1).signer.publicKey })],
    ['an unknown site', (_h: DeciderHarness) => ({ site: 'nowhere', witness: testSigner(77).publicKey })],
  ])('refuses %s with COORD_BAD_SIGNATURE, without a log entry', (_what, cosig) => {
    const h = new DeciderHarness()
    const fed = h.feed({ kind: 'cosignature', ...cosig(h) })
    expect(fed.refusal?.code).toBe('COORD_BAD_SIGNATURE')
    expect(fed.entries).toEqual([])
  })
})

// ---- study completion -----------------------------------------------------------------------------

describe('step: study completion', () => {
  const evaluationDeadline = (h: DeciderHarness) => h.state.rounds.get(h.state.currentModelRound)!.commit!.timeMs + h.spec.evaluationDeadlineMs

  it('completes with the last evaluation of the last round in a study without patient rewards, with a done task for all', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()
    h.evaluate(1, [0, 1])
    expect(h.state.completed).toBe(false)

    // Execute
    const fed = h.feed({ kind: 'evaluation', report: h.evaluation(2, 1) })

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED, ENTRY_KINDS.STUDY_COMPLETED])
    expect(only(fed, 'study-completed').body).toEqual({ rounds: 1, model: h.state.modelOfRound(1) })
    expect(fed.tasks).toEqual([{ siteId: null, task: { kind: 'done', rounds: 1, model: h.state.modelOfRound(1) } }])
    expect(h.state.completed).toBe(true)
  })

  it('does not complete before the target rounds are committed', () => {
    const h = new DeciderHarness({ study: { rounds: 2 } })
    h.runRound()
    expect(kindsOf(h.evaluate(1))).toEqual([ENTRY_KINDS.EVALUATION_REPORTED])
    expect(h.state.completed).toBe(false)
  })

  it('evaluations first, then patient rewards: completes with the last owed statement', () => {
    // Prepare
    const h = rewarded()
    const evaluated = h.evaluate(1)
    h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0) })
    const second = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(1) })

    // Execute
    const last = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(2) })

    // Assert
    expect(kindsOf(evaluated)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED])
    expect(kindsOf(second)).toEqual([ENTRY_KINDS.PATIENT_REWARDS])
    expect(kindsOf(last)).toEqual([ENTRY_KINDS.PATIENT_REWARDS, ENTRY_KINDS.STUDY_COMPLETED])
    expect(last.tasks).toEqual([{ siteId: null, task: { kind: 'done', rounds: 1, model: h.state.modelOfRound(1) } }])
  })

  it('patient rewards first, then evaluations: completes with the last evaluation', () => {
    // Prepare
    const h = rewarded()
    for (const i of [2, 0, 1]) expect(kindsOf(h.feed({ kind: 'patient-rewards', statement: h.patientRewards(i) }))).toEqual([ENTRY_KINDS.PATIENT_REWARDS])
    h.evaluate(1, [0, 1])

    // Execute
    const last = h.feed({ kind: 'evaluation', report: h.evaluation(2, 1) })

    // Assert
    expect(kindsOf(last)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED, ENTRY_KINDS.STUDY_COMPLETED])
    expect(h.state.completed).toBe(true)
  })

  it('interleaved: completes exactly when the last of both kinds is in', () => {
    // Prepare
    const h = rewarded()
    const inputs: DeciderInput[] = [
      { kind: 'evaluation', report: h.evaluation(1, 1) },
      { kind: 'patient-rewards', statement: h.patientRewards(1) },
      { kind: 'patient-rewards', statement: h.patientRewards(0) },
      { kind: 'evaluation', report: h.evaluation(0, 1) },
      { kind: 'evaluation', report: h.evaluation(2, 1) },
      { kind: 'patient-rewards', statement: h.patientRewards(2) },
    ]

    // Execute
    const kinds = inputs.map((input) => kindsOf(h.feed(input)))

    // Assert
    expect(kinds.slice(0, 5).every((k) => k.length === 1)).toBe(true)
    expect(kinds[5]).toEqual([ENTRY_KINDS.PATIENT_REWARDS, ENTRY_KINDS.STUDY_COMPLETED])
  })

  it('does not wait for a site that owes nothing: credited without a consent claim', () => {
    // Prepare: rewards, consent optional; only alpha's update carries a claim.
    const h = new DeciderHarness({ study: { rounds: 1, rewards: { poolPerRound: '600', method: 'examples' } } })
    h.openRound()
    h.feed(h.updateInput(0, {}, { ext: syntheticConsentExt(0, 1, h.state.openRound!.openedMs) }))
    h.submit([1, 2])
    h.evaluate(1)
    expect(h.state.completed).toBe(false)

    // Execute
    const fed = h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0) })

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.PATIENT_REWARDS, ENTRY_KINDS.STUDY_COMPLETED])
  })

  it('at the latest round’s evaluation deadline, completes whatever is missing', () => {
    // Prepare: one evaluation and one patient-rewards statement are in.
    const h = rewarded()
    h.evaluate(1, [0])
    h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0) })
    const deadline = evaluationDeadline(h)

    // Execute
    const before = h.tick(deadline - 1)
    const at = h.tick(deadline)

    // Assert
    expect(before.entries).toEqual([])
    expect(kindsOf(at)).toEqual([ENTRY_KINDS.STUDY_COMPLETED])
    expect(at.tasks).toEqual([{ siteId: null, task: { kind: 'done', rounds: 1, model: h.state.modelOfRound(1) } }])
  })

  it('past the deadline, the next statement of the latest round completes the study in its own step', () => {
    // Prepare: no tick came at the deadline.
    const h = rewarded()
    const deadline = evaluationDeadline(h)

    // Execute
    const fed = h.feed({ kind: 'evaluation', report: h.evaluation(0, 1) }, deadline + 1)

    // Assert
    expect(kindsOf(fed)).toEqual([ENTRY_KINDS.EVALUATION_REPORTED, ENTRY_KINDS.STUDY_COMPLETED])
  })

  it('takes no entry after completion: a tick, an evaluation and an enrolment are no-ops or refused', () => {
    // Prepare
    const h = new DeciderHarness({ study: { rounds: 1 } })
    h.runRound()
    h.evaluate(1)

    // Execute / Assert
    expect(h.tick(h.timeMs + 10 * h.spec.evaluationDeadlineMs).entries).toEqual([])
    expect(h.feed({ kind: 'evaluation', report: h.evaluation(0, 0) }).entries).toEqual([])
    expect(() => h.decide({ kind: 'enroll', site: 'late-lab', publicKey: testSigner(30).publicKey })).toThrow(expect.objectContaining({ code: 'COORD_ROUND_STATE' }))
  })
})

// ---- determinism and purity -----------------------------------------------------------------------

describe('step: determinism', () => {
  const init = { study: { ...REWARDED_CONSENT_STUDY, rounds: 1, minSites: 2 }, revocations: [{ site: 2, patient: 4, round: 2 }] }

  it('gives byte-identical entries and blobs for the same inputs at the same times', () => {
    // Prepare
    const a = new DeciderHarness(init)
    const b = new DeciderHarness(init)

    // A round the hub aborts, in a study of its own (everyKindScript's rounds are numbered by other tests).
    const aborted = () => {
      const h = new DeciderHarness(init)
      h.openRound()
      h.submit([0])
      h.feed({ kind: 'round-abort', request: h.roundAbort() })
      return h
    }

    // Execute
    everyKindScript(a)
    everyKindScript(b)
    const [c, d] = [aborted(), aborted()]

    // Assert
    expect(a.state.completed).toBe(true)
    const kinds = new Set([...a.drafts, ...c.drafts].map((e) => e.kind))
    // The secure-aggregation kinds need a study of their own (secagg-round.test.ts checks those steps the same way).
    expect([...kinds].sort()).toEqual(
      Object.values(ENTRY_KINDS)
        .filter((k) => !k.startsWith('secagg-'))
        .sort(),
    )
    const encoded = (h: DeciderHarness) => h.drafts.map((e) => toHex(encodeCanonical({ kind: e.kind, timeMs: e.timeMs, body: e.body })))
    expect(encoded(a)).toEqual(encoded(b))
    expect(encoded(c)).toEqual(encoded(d))
    const signed = (h: DeciderHarness) => signLog(testSigner(1), h.drafts).map((e) => toHex(e.hash))
    expect(signed(a)).toEqual(signed(b))
    expect([...a.blobs.keys()].sort()).toEqual([...b.blobs.keys()].sort())
  })

  it('decides the same twice on one state and leaves the state as the fold of the log', () => {
    // Prepare
    const h = new DeciderHarness(init)
    h.evaluate(0)
    h.openRound()
    h.submit([0, 1])
    const input = h.updateInput(2)

    // Execute
    const first = step0(h.decide(input, h.timeMs + 5))
    const second = step0(h.decide(input, h.timeMs + 5))

    // Assert
    expect(kindsOf(first)).toEqual([ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED, ENTRY_KINDS.ROUND_REWARDED])
    expect(first.entries.map((e) => toHex(encodeCanonical(e.body)))).toEqual(second.entries.map((e) => toHex(encodeCanonical(e.body))))
    expect(h.state).toEqual(foldDrafts(h.drafts))
    expect(h.state.openRound?.accepted.size).toBe(2)
  })

  it('commits the same round whatever order the updates arrive in', () => {
    // Prepare: the same signed updates, fed in two orders.
    const a = withOpenRound()
    const b = withOpenRound()
    const inputs = [0, 1, 2].map((i) => a.updateInput(i))

    // Execute
    for (const i of [0, 1, 2]) a.feed(inputs[i]!)
    for (const i of [2, 0, 1]) b.feed(inputs[i]!)

    // Assert
    const commit = (h: DeciderHarness) => toHex(encodeCanonical(h.records().find((r) => r.kind === ENTRY_KINDS.ROUND_COMMITTED)!.body as never))
    expect(commit(a)).toEqual(commit(b))
  })
})
