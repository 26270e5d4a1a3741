/**
 * The coordinator's limits against clients that hold resources without
 * working (issue 10, item 4), each with short limits so the test runs in
 * seconds: connection caps (total and per address), the deadline to send a
 * first request (per connection and per call), the minimum upload rate, and
 * the cap on upload bytes in flight (COORD_BUSY, unlogged, envelope unspent).
 * Everything is real gRPC, raw HTTP/2 or raw TCP on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto'
import http2 from 'node:http2'
import net from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import type { HubConfigInput } from '../../coordinator/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema, type StudySpecInput } from '../../models/index.ts'
import { signStatement, type SignedStatement } from '../../protocol/index.ts'
import { createFederationClient, ERROR_CODE_METADATA_KEY, grpc } from '../../protos/index.ts'
import { CoordinatorClient } from '../../site-agent/index.ts'
import { createFederation, openRoundWithEnvelopes, TEST_STUDY, loggedRejections } from '../helpers/federation.ts'

type Limits = NonNullable<HubConfigInput['limits']>

/** A federation with `limits`, round 1 open and, for each site, a valid envelope for a delta of the study model. */
function openRound(limits: Limits, study: Partial<StudySpecInput> = {}) {
  return openRoundWithEnvelopes({ study, hub: { limits } })
}

/** Opens a raw TCP connection from `localAddress`; resolves once connected, with a promise of how long it stayed open. */
function rawConnection(port: number, localAddress = '127.0.0.1'): Promise<{ socket: net.Socket; closedAfterMs: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress })
    const t0 = performance.now()
    const closedAfterMs = new Promise<number>((r) => socket.once('close', () => r(performance.now() - t0)))
    socket.on('error', () => undefined)
    socket.once('connect', () => resolve({ socket, closedAfterMs }))
    socket.once('error', reject)
  })
}

/** Resolves with how long `p` took, or `undefined` if it has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())])
}

describe('connection caps', () => {
  it('closes connections over the per-address cap and over the total cap as they arrive, and keeps the others', async () => {
    // Prepare: 3 connections from one address, 4 in all.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: { limits: { maxConnections: 4, maxConnectionsPerAddress: 3, authDeadlineMs: 20_000 } } })
    const port = fed.coordinator.port

    // Execute: 4 from 127.0.0.1 (the 4th over its address's cap), then 2 from 127.0.0.2 (the 2nd over the total).
    const first = await Promise.all([1, 2, 3, 4].map(() => rawConnection(port)))
    const second = await Promise.all([1, 2].map(() => rawConnection(port, '127.0.0.2')))
    const closed = await Promise.all([...first, ...second].map((c) => within(c.closedAfterMs, 1000)))

    // Assert: the 4th of the first address and the 2nd of the second were closed at once; the other 4 are open.
    const refused = closed.map((ms) => ms !== undefined)
    expect(refused.filter(Boolean)).toHaveLength(2)
    expect(refused.slice(0, 4).filter(Boolean)).toHaveLength(1)
    expect(refused.slice(4).filter(Boolean)).toHaveLength(1)
    expect(fed.coordinator.connectionStats()).toMatchObject({ open: 4, refused: 2 })
    for (const c of [...first, ...second]) c.socket.destroy()
  })
})

describe('the deadline to send a first request', () => {
  const limits = { authDeadlineMs: 400 }

  it('closes a connection that trickles the HTTP/2 preface', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: { limits } })
    const { socket, closedAfterMs } = await rawConnection(fed.coordinator.port)
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
    let sent = 0
    const trickle = setInterval(() => {
      if (sent < preface.length && !socket.destroyed) socket.write(preface.subarray(sent, ++sent))
    }, 50)
    // Execute
    const ms = await within(closedAfterMs, 5000)
    clearInterval(trickle)
    // Assert: closed at the deadline, well before grpc-js's own 30 s idle timer.
    expect(ms).toBeDefined()
    expect(ms!).toBeGreaterThanOrEqual(350)
    expect(ms!).toBeLessThan(2000)
    expect(fed.coordinator.connectionStats().timedOut).toBe(1)
  })

  /** A raw HTTP/2 call that sends its headers and, when `message` is given, one gRPC frame of it. */
  function rawCall(session: http2.ClientHttp2Session, method: string, message?: Uint8Array) {
    const stream = session.request({ ':method': 'POST', ':path': `/fedlineage.v1.Federation/${method}`, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false })
    stream.on('error', () => undefined)
    if (message !== undefined) {
      const frame = Buffer.alloc(5 + message.length)
      frame.writeUInt32BE(message.length, 1)
      frame.set(message, 5)
      stream.end(frame)
    }
    const headers = new Promise<http2.IncomingHttpHeaders>((r) => {
      let first: http2.IncomingHttpHeaders | undefined
      // A trailers-only answer carries grpc-status in its response headers.
      stream.once('response', (h) => (h['grpc-status'] === undefined ? (first = h) : r(h)))
      stream.once('trailers', (t) => r({ ...first, ...t }))
      stream.once('close', () => r(first ?? {}))
    })
    return { stream, headers }
  }

  it('ends a call that never sends its request with DEADLINE_EXCEEDED, COORD_AUTH_DEADLINE', async () => {
    // Prepare: a raw HTTP/2 connection that has made one call (RoundStatus, an empty message) and so is active.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: { limits } })
    const session = http2.connect(`http://${fed.coordinator.address}`)
    session.on('error', () => undefined)
    expect((await rawCall(session, 'RoundStatus', new Uint8Array(0)).headers)['grpc-status']).toBe('0')

    const loggedBefore = fed.coordinator.refusalStats().logged

    // Execute: a Tasks call with headers only.
    const t0 = performance.now()
    const headers = await within(rawCall(session, 'Tasks').headers, 5000)
    const ms = performance.now() - t0

    // Assert: the call ended at the deadline with its code; the connection, which had sent a request, stays.
    expect(headers?.['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED))
    expect(headers?.[ERROR_CODE_METADATA_KEY]).toBe('COORD_AUTH_DEADLINE')
    expect(ms).toBeGreaterThanOrEqual(350)
    expect(ms).toBeLessThan(2000)
    expect(session.closed).toBe(false)
    expect(fed.coordinator.connectionStats().timedOut).toBe(0)
    // The hub sees it: one refusal line naming the peer, the call and COORD_AUTH_DEADLINE.
    expect(fed.coordinator.refusalStats().logged).toBe(loggedBefore + 1)
    session.destroy()
  })

  it('closes a connection whose calls never send their request', async () => {
    // Prepare: 20 Tasks calls with headers only on one raw HTTP/2 connection.
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: { limits } })
    const session = http2.connect(`http://${fed.coordinator.address}`)
    session.on('error', () => undefined)
    const t0 = performance.now()
    const closed = new Promise<number>((r) => session.once('close', () => r(performance.now() - t0)))
    for (let i = 0; i < 20; i++) rawCall(session, 'Tasks')
    // Execute
    const ms = await within(closed, 5000)
    // Assert
    expect(ms).toBeDefined()
    expect(ms!).toBeLessThan(2000)
    await vi.waitFor(() => expect(fed.coordinator.connectionStats()).toMatchObject({ open: 0, timedOut: 1 }), { timeout: 1000 })
  })

  it('leaves a connection that has sent a request open past the deadline', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: { limits } })
    const client = createFederationClient(fed.coordinator.address)
    const status = () => new Promise<void>((resolve, reject) => client.RoundStatus({ fromRound: '0' }, (err) => (err ? reject(err) : resolve())))
    // Execute: one call, three deadlines of quiet, another call.
    await status()
    await new Promise((r) => setTimeout(r, 3 * limits.authDeadlineMs))
    await status()
    client.close()
    // Assert: the connection was never cut.
    expect(fed.coordinator.connectionStats()).toMatchObject({ timedOut: 0, refused: 0 })
  })

  it('leaves the connections of a whole study over mutual TLS alone', async () => {
    // Prepare: TLS sockets are wrapped by grpc-js; the gate must still know them by their remote end.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 }, tls: true, hub: { limits } })
    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    // Assert
    expect(fed.coordinator.connectionStats().timedOut).toBe(0)
  })
})

describe('the minimum upload rate', () => {
  it('drops an upload that trickles under the rate, unlogged, and takes the same envelope sent again', async () => {
    // Prepare: at least 1000 bytes a second over 300 ms windows; a delta of a few KiB.
    const { fed, delta, envelopes } = await openRound({ uploadMinBytesPerSecond: 1000, uploadRateWindowMs: 300 }, { model: { kind: 'mlp', hidden: [64] } })
    expect(delta.length).toBeGreaterThan(1000)
    const raw = createFederationClient(fed.coordinator.address)

    // Execute: the envelope, then one byte every 20 ms (50 bytes a second), each a message, so the idle limit never fires.
    const t0 = performance.now()
    let sent = 0
    let trickle: NodeJS.Timeout | undefined
    const outcome = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.UploadUpdate((err) => resolve(err))
      call.write({ envelope: envelopes[0] })
      trickle = setInterval(() => call.write({ data: delta.subarray(sent, ++sent) }), 20)
    })
    clearInterval(trickle)
    const ms = performance.now() - t0
    raw.close()
    const client = new CoordinatorClient(fed.coordinator.address)
    const again = await client.uploadUpdate(envelopes[0]!, delta)
    client.close()

    // Assert
    expect(outcome?.code).toBe(grpc.status.DEADLINE_EXCEEDED)
    expect(outcome?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_UPLOAD_STALLED'])
    expect(ms).toBeLessThan(2000)
    expect(await loggedRejections(fed)).toEqual([])
    expect(again.round).toBe(1)
  })
})

describe('the cap on upload bytes in flight', () => {
  it('answers an upload over the cap with RESOURCE_EXHAUSTED, COORD_BUSY, unlogged, and takes it once the bytes are back', async () => {
    // Prepare: room for one delta in flight.
    const study = { model: { kind: 'mlp' as const, hidden: [16] } }
    const spec = StudySpecSchema.parse({ ...TEST_STUDY, ...study })
    const size = encodeWeights({ tensors: modelShapes(spec.model, inputWidth(spec.data)).map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)) })) }).length
    const { fed, delta, envelopes } = await openRound({ uploadBytesInFlight: size }, study)
    const raw = createFederationClient(fed.coordinator.address)
    const upload = (envelope: SignedStatement, bytes: Uint8Array, end: boolean) => {
      let resolveDone: (err: grpc.ServiceError | null) => void = () => undefined
      const done = new Promise<grpc.ServiceError | null>((resolve) => (resolveDone = resolve))
      const call = raw.UploadUpdate((err) => resolveDone(err))
      call.write({ envelope })
      call.write({ data: bytes })
      if (end) call.end()
      return { call, done }
    }

    // Execute: site 0 sends half its delta and holds; site 1 uploads all of its delta meanwhile.
    const held = upload(envelopes[0]!, delta.subarray(0, delta.length >> 1), false)
    await new Promise((r) => setTimeout(r, 200))
    const inFlight = fed.coordinator.uploadBytesInFlight()
    const busy = await upload(envelopes[1]!, delta, true).done
    held.call.write({ data: delta.subarray(delta.length >> 1) })
    held.call.end()
    const first = await held.done
    const again = await upload(envelopes[1]!, delta, true).done
    raw.close()

    // Assert
    expect(inFlight).toBe(size)
    expect(busy?.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(busy?.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['COORD_BUSY'])
    expect(first).toBeNull()
    expect(again).toBeNull()
    expect(await loggedRejections(fed)).toEqual([])
    expect(fed.coordinator.uploadBytesInFlight()).toBe(0)
  })
})

describe('a download whose client stops reading', () => {
  it('is ended with DEADLINE_EXCEEDED, COORD_DOWNLOAD_STALLED, instead of holding its call and file', async () => {
    // Prepare: a model of many chunks (17 MB, far past HTTP/2's flow-control windows), and a session.
    const { fed } = await openRound({ downloadStallMs: 300 }, { model: { kind: 'mlp', hidden: [2048, 2048] } })
    const site = fed.sites[0]!
    const client = new CoordinatorClient(fed.coordinator.address)
    const hello = await client.hello(signStatement(site.signer, { t: 'hello', study: TEST_STUDY.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
    client.close()
    // A raw HTTP/2 client, whose paused stream stops granting flow-control credit (grpc-js's own client reads on regardless).
    const token = new Uint8Array(hello.sessionToken)
    const model = fed.coordinator.runner.state.genesis
    const request = Buffer.concat([Buffer.from([0x0a, token.length]), token, Buffer.from([0x12, model.length]), model])
    const frame = Buffer.alloc(5 + request.length)
    frame.writeUInt32BE(request.length, 1)
    frame.set(request, 5)
    const session = http2.connect(`http://${fed.coordinator.address}`)
    session.on('error', () => undefined)
    const stream = session.request({ ':method': 'POST', ':path': '/fedlineage.v1.Federation/DownloadModel', 'content-type': 'application/grpc', te: 'trailers' })
    stream.on('error', () => undefined)
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('trailers', resolve))
    // Execute: send the request, read nothing for a while, then read what is there.
    stream.end(frame)
    stream.pause()
    await new Promise((r) => setTimeout(r, 1500))
    stream.on('data', () => undefined)
    stream.resume()
    const t = await within(trailers, 10_000)
    session.close()
    // Assert
    expect(t?.['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED))
    expect(t?.[ERROR_CODE_METADATA_KEY]).toBe('COORD_DOWNLOAD_STALLED')
  })
})
