/**
 * Every way an update, a report or a hub request can be wrong, sent over real
 * gRPC to a real coordinator: each is refused with its stable code, the valid
 * update accepted before them is still there afterwards, and the refusals of
 * authenticated sites are written into the log.
 */
import { stat } from 'node:fs/promises'
import { beforeEach, describe, expect, it } from 'vitest'
import { HubClient, RemoteCoordinatorError, type HubConfigInput } from '../../coordinator/index.ts'
import { parseHubConfig, startCoordinator } from '../../coordinator/index.ts'
import { sha256, toHex, type Signer } from '../../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema, type TensorShape, type Weights } from '../../models/index.ts'
import { CoordinatorClient, SiteRequestRejectedError } from '../../site-agent/index.ts'
import { createFederation, quietLogger, tempDir, testSigner, TEST_STUDY, type TestFederation } from '../helpers/federation.ts'
import { ENTRY_KINDS, readLineageRecord, signStatement, type SignedStatement } from '../../protocol/index.ts'

function weightsOf(shapes: readonly TensorShape[], value: number): Weights {
  return { tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(value) })) }
}

interface Harness {
  fed: TestFederation
  client: CoordinatorClient
  hubClient: HubClient
  base: Uint8Array
  shapes: readonly TensorShape[]
  envelope(signer: Signer, over?: Partial<{ study: string; site: string; round: number; base: Uint8Array; delta: Uint8Array; size: number; examples: number }>, delta?: Uint8Array): SignedStatement
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    if (err instanceof SiteRequestRejectedError) return err.remoteCode
    if (err instanceof RemoteCoordinatorError) return err.remoteCode
    throw err
  }
  return 'ACCEPTED'
}

describe('the coordinator refuses bad input and keeps what it accepted', () => {
  let h: Harness
  beforeEach(async () => {
    const fed = await createFederation({ siteCount: 2, autoAdvance: false })
    const hubClient = new HubClient(fed.coordinator.address)
    const opened = await hubClient.startNextRound(fed.hub)
    const spec = StudySpecSchema.parse(TEST_STUDY)
    const shapes = modelShapes(spec.model, inputWidth(spec.data))
    const client = new CoordinatorClient(fed.coordinator.address)
    let nonce = 0
    h = {
      fed,
      client,
      hubClient,
      base: new Uint8Array(opened.baseModelHash),
      shapes,
      envelope(signer, over = {}, delta = encodeWeights(weightsOf(shapes, 0.01))) {
        return signStatement(signer, {
          t: 'update',
          study: over.study ?? spec.id,
          round: over.round ?? 1,
          site: over.site ?? fed.sites[0]!.id,
          base: over.base ?? h.base,
          delta: over.delta ?? sha256(delta),
          size: over.size ?? delta.length,
          examples: over.examples ?? 100,
          metrics: { trainLoss: 0.5 },
          nonce: new Uint8Array(16).fill(++nonce),
          time: Date.now(),
        })
      },
    }
    return () => {
      client.close()
      hubClient.close()
    }
  })

  const site0 = () => h.fed.sites[0]!
  const valid = () => encodeWeights(weightsOf(h.shapes, 0.01))

  it('accepts a valid update, then refuses its replay and a second update from the same site', async () => {
    // Prepare
    const env = h.envelope(site0().signer)
    // Execute
    const first = await codeOf(h.client.uploadUpdate(env, valid()))
    const replay = await codeOf(h.client.uploadUpdate(env, valid()))
    const second = await codeOf(h.client.uploadUpdate(h.envelope(site0().signer), valid()))
    // Assert
    expect(first).toBe('ACCEPTED')
    expect(replay).toBe('COORD_UPDATE_REPLAYED')
    expect(second).toBe('COORD_DUPLICATE_UPDATE')
    expect(h.fed.coordinator.runner.state.openRound?.accepted.size).toBe(1)
  })

  const loggedRejections = async (): Promise<string[]> => {
    const codes: string[] = []
    for await (const { entry } of h.fed.coordinator.ledger.scan()) {
      const r = readLineageRecord(entry)
      if (r.kind === ENTRY_KINDS.UPDATE_REJECTED) codes.push(r.body.code)
    }
    return codes
  }

  // Only an envelope validly signed by an enrolled site binds it, so only those refusals are logged.
  it.each([
    ['a bad signature', () => h.envelope(testSigner(99), { site: site0().id }), 'COORD_BAD_SIGNATURE', false],
    ['an unknown site', () => h.envelope(testSigner(99), { site: 'intruder' }), 'COORD_UNKNOWN_SITE', false],
    ['another study', () => h.envelope(site0().signer, { study: 'some-other-study' }), 'COORD_STUDY_MISMATCH', true],
    ['a wrong round', () => h.envelope(site0().signer, { round: 2 }), 'COORD_WRONG_ROUND', true],
    ['a wrong base model', () => h.envelope(site0().signer, { base: sha256(new Uint8Array([1])) }), 'COORD_WRONG_BASE_MODEL', true],
  ] as const)('refuses an envelope with %s', async (_what, makeEnvelope, want, logged) => {
    expect(await codeOf(h.client.uploadUpdate(makeEnvelope(), valid()))).toBe(want)
    expect(h.fed.coordinator.runner.state.openRound?.accepted.size).toBe(0)
    expect(await loggedRejections()).toEqual(logged ? [want] : [])
  })

  it('refuses a stale update for a round that has closed', async () => {
    // Prepare: both sites complete round 1, the hub opens round 2.
    const [a, b] = h.fed.sites
    const late = h.envelope(a!.signer, { site: a!.id })
    expect(await codeOf(h.client.uploadUpdate(h.envelope(b!.signer, { site: b!.id }), valid()))).toBe('ACCEPTED')
    expect(await codeOf(h.client.uploadUpdate(h.envelope(a!.signer, { site: a!.id }), valid()))).toBe('ACCEPTED')
    await h.hubClient.startNextRound(h.fed.hub)
    // Execute: a (different) round-1 envelope arrives now.
    const code = await codeOf(h.client.uploadUpdate(late, valid()))
    // Assert
    expect(code).toBe('COORD_WRONG_ROUND')
    expect(h.fed.coordinator.runner.state.rounds.get(1)?.status).toBe('committed')
  })

  it('refuses deltas of the wrong shape, with NaN or ±Infinity, or not matching the signed hash', async () => {
    // Prepare: a delta for a model one input narrower, and non-finite deltas.
    const narrow = encodeWeights(
      weightsOf(
        h.shapes.map((s, i) => (i === 0 ? { name: s.name, shape: [s.shape[0]! - 1, s.shape[1]!] } : s)),
        0.01,
      ),
    )
    const withValue = (v: number) => {
      const w = weightsOf(h.shapes, 0.01)
      w.tensors[0]!.values[3] = v
      return encodeWeights(w)
    }
    const cases: [Uint8Array, string][] = [
      [narrow, 'COORD_DELTA_SHAPE'],
      [withValue(Number.NaN), 'COORD_NON_FINITE'],
      [withValue(Number.POSITIVE_INFINITY), 'COORD_NON_FINITE'],
      [withValue(Number.NEGATIVE_INFINITY), 'COORD_NON_FINITE'],
    ]
    // Execute + Assert: each is signed correctly by an enrolled site, so each is refused after reading the bytes.
    for (const [delta, want] of cases) expect(await codeOf(h.client.uploadUpdate(h.envelope(site0().signer, {}, delta), delta))).toBe(want)
    const lying = h.envelope(site0().signer, { delta: sha256(new Uint8Array([9])) })
    expect(await codeOf(h.client.uploadUpdate(lying, valid()))).toBe('COORD_DELTA_INTEGRITY')
    // The refusals of an authenticated site are in the log, with their codes.
    expect(await loggedRejections()).toEqual(['COORD_DELTA_SHAPE', 'COORD_NON_FINITE', 'COORD_NON_FINITE', 'COORD_NON_FINITE', 'COORD_DELTA_INTEGRITY'])
  })

  it('refuses oversize uploads, declared or actual, without losing the accepted update', async () => {
    // Prepare: one valid update from site 1 is accepted first.
    const other = h.fed.sites[1]!
    expect(await codeOf(h.client.uploadUpdate(h.envelope(other.signer, { site: other.id }), valid()))).toBe('ACCEPTED')
    const big = new Uint8Array(valid().length + 5 * 1024 * 1024)
    // Execute
    const declared = await codeOf(h.client.uploadUpdate(h.envelope(site0().signer, { size: big.length }, big), big))
    const actual = await codeOf(h.client.uploadUpdate(h.envelope(site0().signer, {}, valid()), big))
    // Assert
    expect(declared).toBe('COORD_UPDATE_TOO_LARGE')
    expect(actual).toBe('COORD_UPDATE_TOO_LARGE')
    expect([...h.fed.coordinator.runner.state.openRound!.accepted.keys()]).toEqual([other.id])
  })

  it('lets only the hub start a round, and only a fresh request', async () => {
    // Prepare: round 1 is open; finish it so round 2 could start.
    const req = (signer: Signer, round: number, time = Date.now()) => signStatement(signer, { t: 'round-start', study: TEST_STUDY.id, round, time, nonce: new Uint8Array(16).fill(round) })
    const start = (s: SignedStatement) =>
      h.fed.coordinator.runner.startRound(s).then(
        () => 'ACCEPTED',
        (e: { code?: string }) => e.code,
      )
    // Execute + Assert
    expect(await start(req(site0().signer, 2))).toBe('COORD_NOT_HUB')
    expect(await start(req(h.fed.hub, 2))).toBe('COORD_ROUND_STATE')
    expect(await start(req(h.fed.hub, 2, Date.now() - 3_600_000))).toBe('COORD_STALE_REQUEST')
    expect(await codeOf(h.hubClient.startNextRound(site0().signer))).toBe('COORD_NOT_HUB')
  })
})

describe('hub config validation', () => {
  const good = (): HubConfigInput => ({
    study: TEST_STUDY,
    listen: '127.0.0.1:0',
    dataDir: 'ledger',
    keyFile: 'hub.key',
    sites: [
      { id: 'a', publicKey: 'aa'.repeat(32) },
      { id: 'b', publicKey: 'bb'.repeat(32) },
    ],
  })

  it.each([
    ['a non-positive learning rate', (c: HubConfigInput) => ({ ...c, study: { ...c.study, training: { ...c.study.training, learningRate: -1 } } }), 'study.training.learningRate'],
    ['an unknown model kind', (c: HubConfigInput) => ({ ...c, study: { ...c.study, model: { kind: 'transformer' } } }), 'study.model.kind'],
    ['a short public key', (c: HubConfigInput) => ({ ...c, sites: [{ id: 'a', publicKey: 'abc' }] }), 'sites.0.publicKey'],
    ['duplicate site ids', (c: HubConfigInput) => ({ ...c, sites: [c.sites[0], c.sites[0]] }), 'sites.1.id'],
    ['more minimum sites than enrolled', (c: HubConfigInput) => ({ ...c, study: { ...c.study, minSites: 5 } }), 'study.minSites'],
    ['an unknown field', (c: HubConfigInput) => ({ ...c, lsiten: 'x' }), '(root)'],
  ] as const)('refuses %s and names the field', (_what, mutate, field) => {
    expect(() => parseHubConfig(mutate(good()), 'hub.json', '/tmp')).toThrowError(expect.objectContaining({ code: 'COORD_CONFIG_INVALID', message: expect.stringContaining(`hub.json: ${field}`) }))
  })

  it("refuses autoAdvance with a hub key other than the coordinator's own, at start, saying what to do", async () => {
    // Prepare: the coordinator's key is testSigner(1); the hub's is testSigner(2).
    const dir = await tempDir()
    const config = parseHubConfig({ ...good(), autoAdvance: true, hubPublicKey: toHex(testSigner(2).publicKey) }, 'hub.json', dir)

    // Execute
    const started = startCoordinator(config, { signer: testSigner(1), logger: quietLogger })

    // Assert: refused before anything is written.
    await expect(started).rejects.toMatchObject({ code: 'COORD_CONFIG_INVALID', message: expect.stringMatching(/autoAdvance.*hubPublicKey.*remove hubPublicKey.*fedlineage round start/) })
    await expect(stat(config.dataDir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('accepts the valid config', () => {
    expect(parseHubConfig(good(), 'hub.json', '/tmp').sites).toHaveLength(2)
  })
})
