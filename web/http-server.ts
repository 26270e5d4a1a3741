/**
 * A read-only HTTP server: it answers GET and HEAD and refuses every other
 * method with 405, binds only the host:port it is given, and sends headers
 * that keep its pages from loading anything from elsewhere. What it serves
 * is the route table's business (routes.ts).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopbackHost } from '../pki/index.ts'

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void> | void

export interface RunningHttpServer {
  /** host:port actually bound. */
  readonly address: string
  readonly port: number
  close(): Promise<void>
}

/** Pages load only what this server serves; no frames, no referrer, no sniffing. */
export const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const

/**
 * On a loopback bind, a request must name a loopback host: a page on another
 * site that points its own DNS name at 127.0.0.1 (DNS rebinding) would
 * otherwise read the dashboard through the visitor's browser. A wider bind
 * is the operator's choice of who may connect, and any Host is taken.
 */
export function hostAllowed(boundHost: string, hostHeader: string | undefined): boolean {
  if (!isLoopbackHost(`${boundHost}:0`)) return true
  if (hostHeader === undefined) return false
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d+$/, '')
  return isLoopbackHost(`${name}:0`)
}

/** Starts serving on `host:port` (port 0 picks a free one). */
export function startHttpServer(host: string, port: number, handle: HttpHandler, onError: (err: unknown) => void): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`${req.method} is not allowed: this server is read-only (GET, HEAD)\n`)
      return
    }
    if (!hostAllowed(host, req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`Host ${req.headers.host ?? '(none)'} is not this server's: it listens on loopback; use http://127.0.0.1:PORT/ or http://localhost:PORT/\n`)
      return
    }
    // The Host header is the client's; only the path and query are read from it.
    const url = new URL(req.url ?? '/', 'http://localhost')
    Promise.resolve()
      .then(() => handle(req, res, url))
      .catch((err: unknown) => {
        onError(err)
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end('internal error (see the coordinator log)\n')
      })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      const bound = (server.address() as AddressInfo).port
      resolve({
        address: `${host}:${bound}`,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            // Server-sent event streams stay open until told otherwise.
            server.closeAllConnections()
          }),
      })
    })
  })
}
