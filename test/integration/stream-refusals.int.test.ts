/**
 * Server-streaming calls that the coordinator refuses before sending anything
 * (a `Tasks` stream with an unknown session token, a `DownloadModel` of a model
 * outside the lineage) must fail at once with their gRPC status and the
 * `fl-error-code` trailer, not hang until the client's deadline. Driven by a
 * raw grpc-js client built from `protos/index.ts`, as an outside client would.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { signStatement } from '../../protocol/index.ts'
import { toHex } from '../../ledger/index.ts'
import { createFederationClient, ERROR_CODE_METADATA_KEY, grpc, type FederationClient, type HelloResponse__Output, type RoundStatusResponse__Output } from '../../protos/index.ts'
import { CoordinatorClient, SiteRequestRejectedError } from '../../site-agent/index.ts'
import { createFederation, type TestFederation } from '../helpers/federation.ts'

/** The client's deadline; a refusal must arrive far sooner. */
const DEADLINE_MS = 10_000
const PROMPT_MS = 2_000

interface Outcome {
  readonly err: grpc.ServiceError | undefined
  readonly messages: number
  readonly ms: number
}

/** Runs a server stream to its end and reports how it ended and how long that took. */
function drain(start: (deadline: Date) => grpc.ClientReadableStream<unknown>): Promise<Outcome> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const call = start(new Date(Date.now() + DEADLINE_MS))
    let messages = 0
    call.on('data', () => messages++)
    call.on('error', (err: grpc.ServiceError) => resolve({ err, messages, ms: performance.now() - t0 }))
    call.on('end', () => resolve({ err: undefined, messages, ms: performance.now() - t0 }))
  })
}

function expectRefused(o: Outcome, grpcCode: grpc.status, errorCode: string): void {
  expect(o.err, 'the stream ended without an error').toBeDefined()
  expect(o.err!.code).toBe(grpcCode)
  expect(o.err!.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual([errorCode])
  expect(o.messages).toBe(0)
  expect(o.ms).toBeLessThan(PROMPT_MS)
}

describe('refused server streams fail at once with their status and error code', () => {
  let fed: TestFederation
  let client: FederationClient

  beforeEach(async () => {
    fed = await createFederation({ siteCount: 2, autoAdvance: false })
    client = createFederationClient(fed.coordinator.address)
  })
  afterEach(() => client.close())

  async function session(): Promise<Uint8Array> {
    const site = fed.sites[0]!
    const hello = signStatement(site.signer, { t: 'hello', study: fed.config.study.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
    const res = await new Promise<HelloResponse__Output>((resolve, reject) => client.Hello({ hello }, { deadline: Date.now() + DEADLINE_MS }, (err, r) => (err || !r ? reject(err) : resolve(r))))
    return new Uint8Array(res.sessionToken)
  }

  it('Tasks with a random session token: UNAUTHENTICATED, COORD_SESSION_INVALID', async () => {
    const o = await drain((deadline) => client.Tasks({ sessionToken: randomBytes(32) }, { deadline }))
    expectRefused(o, grpc.status.UNAUTHENTICATED, 'COORD_SESSION_INVALID')
  })

  it('DownloadModel with a random session token: UNAUTHENTICATED, COORD_SESSION_INVALID', async () => {
    const o = await drain((deadline) => client.DownloadModel({ sessionToken: randomBytes(32), modelHash: randomBytes(32) }, { deadline }))
    expectRefused(o, grpc.status.UNAUTHENTICATED, 'COORD_SESSION_INVALID')
  })

  it('DownloadModel of a hash outside the lineage, with a valid session: NOT_FOUND, COORD_MODEL_NOT_FOUND', async () => {
    const token = await session()
    const o = await drain((deadline) => client.DownloadModel({ sessionToken: token, modelHash: randomBytes(32) }, { deadline }))
    expectRefused(o, grpc.status.NOT_FOUND, 'COORD_MODEL_NOT_FOUND')

    // The same session still downloads the genesis model: the refusal above was about the hash.
    const status = await new Promise<RoundStatusResponse__Output>((resolve, reject) =>
      client.RoundStatus({ fromRound: '0' }, { deadline: Date.now() + DEADLINE_MS }, (err, r) => (err || !r ? reject(err) : resolve(r))),
    )
    const ok = await drain((deadline) => client.DownloadModel({ sessionToken: token, modelHash: status.genesisModelHash }, { deadline }))
    expect(ok.err).toBeUndefined()
    expect(ok.messages).toBeGreaterThan(0)
  })

  it("the site agent's client surfaces the codes instead of waiting", async () => {
    const site = new CoordinatorClient(fed.coordinator.address)
    try {
      const t0 = performance.now()
      const tasks = site.tasks(new Uint8Array(randomBytes(32)))
      // A session refusal is transient for the agent (it says hello again), so the raw status comes through.
      const err = (await tasks.next().then(
        () => undefined,
        (e: unknown) => e,
      )) as grpc.ServiceError | undefined
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED)
      expect(err?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_SESSION_INVALID'])

      const token = await session()
      const download = await site.downloadModel(token, new Uint8Array(randomBytes(32))).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(download).toBeInstanceOf(SiteRequestRejectedError)
      expect((download as SiteRequestRejectedError).remoteCode).toBe('COORD_MODEL_NOT_FOUND')
      expect(performance.now() - t0).toBeLessThan(2 * PROMPT_MS)
    } finally {
      site.close()
    }
  })

  it('keeps one task stream per site: each new one ends the older with ABORTED, COORD_STREAM_REPLACED, and pending work goes out once', async () => {
    // Prepare
    const token = await session()
    const site = fed.sites[0]!.id
    const pending = fed.coordinator.runner.pendingTasks(site).length
    expect(pending).toBeGreaterThan(0)
    const streams = Array.from({ length: 20 }, () => client.Tasks({ sessionToken: token }, { deadline: Date.now() + DEADLINE_MS }))
    const counts = streams.map(() => 0)
    const ended = streams.map((call, i) => {
      call.on('data', () => counts[i]!++)
      return new Promise<grpc.ServiceError | undefined>((resolve) => {
        call.on('error', (err: grpc.ServiceError) => resolve(err))
        call.on('end', () => resolve(undefined))
      })
    })

    // Execute: the streams attach one after another; wait for the 19 older ones to be ended.
    const replaced = await Promise.all(ended.slice(0, -1))

    // Assert
    for (const err of replaced) {
      expect(err?.code).toBe(grpc.status.ABORTED)
      expect(err?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_STREAM_REPLACED'])
    }
    await new Promise((r) => setTimeout(r, 200))
    // Every stream got the pending work once at most (no stream got another's), and the live one got it.
    expect(counts.every((n) => n <= pending)).toBe(true)
    expect(counts.at(-1)).toBe(pending)
    streams.at(-1)!.cancel()
  })

  it('takes a signed hello once: a replay of it is refused with ALREADY_EXISTS, COORD_UPDATE_REPLAYED', async () => {
    // Prepare
    const site = fed.sites[0]!
    const hello = signStatement(site.signer, { t: 'hello', study: fed.config.study.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
    const send = () => new Promise<grpc.ServiceError | undefined>((resolve) => client.Hello({ hello }, { deadline: Date.now() + DEADLINE_MS }, (err) => resolve(err ?? undefined)))
    // Execute
    const first = await send()
    const replay = await send()
    // Assert
    expect(first).toBeUndefined()
    expect(replay?.code).toBe(grpc.status.ALREADY_EXISTS)
    expect(replay?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_UPDATE_REPLAYED'])
  })

  it('streams each of concurrent downloads from the blob file, never loading the model whole', async () => {
    // Prepare
    const token = await session()
    const genesis = fed.coordinator.runner.state.genesis
    const whole = vi.spyOn(fed.coordinator.ledger, 'getBlob')
    const streamed = vi.spyOn(fed.coordinator.ledger, 'openBlobStream')
    // Execute: 8 sites' worth of downloads at once.
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => drain((deadline) => client.DownloadModel({ sessionToken: token, modelHash: genesis }, { deadline }))))
    // Assert
    expect(outcomes.every((o) => o.err === undefined && o.messages > 0)).toBe(true)
    expect(whole.mock.calls.filter(([h]) => toHex(h) === toHex(genesis))).toHaveLength(0)
    expect(streamed.mock.calls.filter(([h]) => toHex(h) === toHex(genesis))).toHaveLength(8)
    whole.mockRestore()
    streamed.mockRestore()
  })

  it('answers request bytes that are not a message of the call with INVALID_ARGUMENT, COORD_REQUEST_UNDECODABLE, not INTERNAL', async () => {
    // Prepare: a raw client that sends bytes no protobuf decoder takes (field 31, wire type 7).
    const raw = new grpc.Client(fed.coordinator.address, grpc.credentials.createInsecure())
    const garbage = Buffer.from([0xff, 0xff, 0xff])
    const unary = (method: string) =>
      new Promise<grpc.ServiceError | undefined>((resolve) =>
        raw.makeUnaryRequest(
          `/fedlineage.v1.Federation/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          garbage,
          { deadline: Date.now() + DEADLINE_MS },
          (err) => resolve(err ?? undefined),
        ),
      )
    try {
      // Execute
      const outcomes = [await unary('Hello'), await unary('RoundStatus'), await unary('ReportEvaluation')]
      const stream = await drain((deadline) =>
        raw.makeServerStreamRequest(
          '/fedlineage.v1.Federation/Tasks',
          (b: Buffer) => b,
          (b: Buffer) => b,
          garbage,
          { deadline },
        ),
      )
      // Assert
      for (const err of outcomes) {
        expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT)
        expect(err?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_REQUEST_UNDECODABLE'])
      }
      expectRefused(stream, grpc.status.INVALID_ARGUMENT, 'COORD_REQUEST_UNDECODABLE')
    } finally {
      raw.close()
    }
  })
})
