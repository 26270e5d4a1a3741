/**
 * The attacks of the abuse bench, each against a coordinator at `port` on
 * 127.0.0.1, and the probes that watch it meanwhile: its memory (VmRSS and
 * VmHWM from /proc) and the latency of an honest RoundStatus call on a
 * connection of its own. Every attack resolves with what it measured.
 */
import http2 from 'node:http2'
import net from 'node:net'
import { grpc, type FederationClient } from '../../protos/index.ts'
import { ownClient } from '../support/own-client.ts'
import { memoryOf } from '../support/process-memory.ts'

/** Samples the peak resident memory of `pid` every 50 ms until stopped. */
export function watchPeak(pid: number): { stop(): number } {
  let peak = memoryOf(pid).rssBytes
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rssBytes)), 50)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, memoryOf(pid).rssBytes)
    },
  }
}

/** Calls RoundStatus every `everyMs` on a connection of its own until stopped; resolves with each call's latency after the first (ms; a failure counts as its time to fail). */
export function probeLatency(address: string, everyMs = 25): { stop(): Promise<number[]> } {
  const client = ownClient(address)
  const samples: number[] = []
  let running = true
  const call = () => new Promise<void>((resolve) => client.RoundStatus({ fromRound: '0' }, { deadline: Date.now() + 10_000 }, () => resolve()))
  const loop = (async () => {
    // The first call opens the connection: not a sample.
    await call()
    while (running) {
      const t0 = performance.now()
      await call()
      samples.push(performance.now() - t0)
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      client.close()
      return samples
    },
  }
}

/**
 * Opens `count` Tasks streams with one session, `parallel` at a time; each new
 * stream replaces the site's older one, which the coordinator ends. Resolves
 * once all but the newest have ended, with how many ended with an error.
 */
export async function taskStreams(client: FederationClient, sessionToken: Uint8Array, count: number, parallel: number, onProgress: (opened: number) => void): Promise<{ ended: number; ms: number }> {
  let opened = 0
  let ended = 0
  const open: grpc.ClientReadableStream<unknown>[] = []
  const t0 = performance.now()
  const worker = async () => {
    while (opened < count) {
      opened++
      if (opened % 1000 === 0) onProgress(opened)
      const call = client.Tasks({ sessionToken })
      open.push(call)
      await new Promise<void>((resolve) => {
        call.on('data', () => undefined)
        call.on('error', () => resolve())
        call.on('end', () => resolve())
      })
      ended++
    }
  }
  // The newest stream is never replaced: its worker is let go once every other stream has ended.
  await Promise.race([Promise.all(Array.from({ length: parallel }, worker)), until(() => ended >= count - 1)])
  const ms = performance.now() - t0
  for (const call of open) call.cancel()
  return { ended, ms }
}

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (!cond()) return
      clearInterval(t)
      resolve()
    }, 20)
  })
}

/** Times from `t0` until each of `closes` settles, or `capMs` when it has not by then. */
async function closeTimes(closes: Promise<number>[], capMs: number): Promise<number[]> {
  return Promise.all(closes.map((p) => Promise.race([p, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), capMs).unref())])))
}

/** `count` Tasks calls that send headers and never their request, over raw HTTP/2 connections of `perConnection` calls. */
export async function silentStreams(address: string, count: number, perConnection: number, capMs: number): Promise<number[]> {
  const t0 = performance.now()
  const closes: Promise<number>[] = []
  const sessions: http2.ClientHttp2Session[] = []
  for (let i = 0; i < count; i += perConnection) {
    const session = http2.connect(`http://${address}`)
    session.on('error', () => undefined)
    sessions.push(session)
    for (let k = 0; k < Math.min(perConnection, count - i); k++) {
      const stream = session.request({ ':method': 'POST', ':path': '/fedlineage.v1.Federation/Tasks', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false })
      stream.on('error', () => undefined)
      // The call is over for the client once it has its status (trailers-only) or its stream closes.
      closes.push(
        new Promise((r) => {
          const done = () => r(performance.now() - t0)
          stream.once('response', (h) => h['grpc-status'] !== undefined && done())
          stream.once('close', done)
        }),
      )
    }
  }
  const times = await closeTimes(closes, capMs)
  for (const s of sessions) s.destroy()
  return times
}

/** `count` TCP connections that send the HTTP/2 preface one byte a second; resolves with when each was closed. */
export async function tricklePreface(port: number, count: number, capMs: number): Promise<number[]> {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
  const t0 = performance.now()
  const sockets: net.Socket[] = []
  const closes = Array.from(
    { length: count },
    () =>
      new Promise<number>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port })
        sockets.push(socket)
        socket.on('error', () => undefined)
        socket.on('data', () => undefined)
        let sent = 0
        const trickle = setInterval(() => {
          if (sent < preface.length) socket.write(preface.subarray(sent, ++sent))
        }, 1000)
        socket.once('close', () => {
          clearInterval(trickle)
          resolve(performance.now() - t0)
        })
      }),
  )
  const times = await closeTimes(closes, capMs)
  for (const s of sockets) s.destroy()
  return times
}

/** An upload with a valid envelope, then one delta byte a second, each its own message; resolves with when the coordinator ended it. */
export async function trickleUpload(client: FederationClient, envelope: { body: Uint8Array; signature: Uint8Array }, delta: Uint8Array, capMs: number): Promise<{ ms: number; code: string }> {
  const t0 = performance.now()
  let trickle: NodeJS.Timeout | undefined
  let call: grpc.ClientWritableStream<unknown> | undefined
  const ended = new Promise<{ ms: number; code: string }>((resolve) => {
    const c = client.UploadUpdate((err) => resolve({ ms: performance.now() - t0, code: err ? String(err.metadata.get('fl-error-code')[0] ?? err.code) : 'ACCEPTED' }))
    call = c as grpc.ClientWritableStream<unknown>
    c.write({ envelope })
    let sent = 0
    trickle = setInterval(() => sent < delta.length && c.write({ data: delta.subarray(sent, ++sent) }), 1000)
  })
  const out = await Promise.race([ended, new Promise<{ ms: number; code: string }>((r) => setTimeout(() => r({ ms: Number.POSITIVE_INFINITY, code: 'still open' }), capMs).unref())])
  clearInterval(trickle)
  call?.cancel()
  return out
}

/** `count` uploads at once, each one message of `bytes` bytes, over `connections` connections; resolves once all have ended. */
export async function bigMessages(address: string, count: number, bytes: number, connections: number): Promise<string[]> {
  const clients = Array.from({ length: connections }, () => ownClient(address))
  const payload = new Uint8Array(bytes).fill(7)
  const codes = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<string>((resolve) => {
          const call = clients[i % connections]!.UploadUpdate({ deadline: Date.now() + 60_000 }, (err) => resolve(err ? grpc.status[err.code] : 'OK'))
          call.write({ data: payload })
          call.end()
        }),
    ),
  )
  for (const c of clients) c.close()
  return codes
}
