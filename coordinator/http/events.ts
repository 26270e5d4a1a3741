/**
 * Server-sent events for the dashboard (`/api/events`): each client gets an
 * `update` event whenever the log grows or a site's presence or task changes,
 * with the log's size, and re-reads `/api/dashboard`. A comment line every
 * HEARTBEAT_MS keeps proxies from closing an idle stream.
 */
import type http from 'node:http'

const HEARTBEAT_MS = 15_000

export class EventStreams {
  private readonly clients = new Set<http.ServerResponse>()
  private readonly heartbeat: NodeJS.Timeout

  constructor() {
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n')
    }, HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  get size(): number {
    return this.clients.size
  }

  /** Holds `res` open as an event stream until its client goes away. */
  add(req: http.IncomingMessage, res: http.ServerResponse, hello: unknown): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
    res.write(`retry: 2000\nevent: update\ndata: ${JSON.stringify(hello)}\n\n`)
    this.clients.add(res)
    req.on('close', () => this.clients.delete(res))
  }

  send(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of this.clients) res.write(frame)
  }

  close(): void {
    clearInterval(this.heartbeat)
    for (const res of this.clients) res.end()
    this.clients.clear()
  }
}
