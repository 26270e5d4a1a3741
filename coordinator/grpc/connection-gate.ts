/**
 * The coordinator's own TCP listener in front of grpc-js. grpc-js has no
 * option to cap connections or to time out a connection that never speaks
 * (its idle timer starts only once HTTP/2 is up, so a client trickling the
 * preface or the TLS handshake is held forever). The gate accepts each socket
 * itself, refuses it when the total or its address's cap is reached, and
 * hands the rest to grpc-js through `Server.createConnectionInjector`, its
 * supported way to serve sockets it did not accept. A connection that has not
 * delivered a first request message within the auth deadline is destroyed:
 * the `firstMessageDeadline` interceptor reports each connection's first
 * message here by its remote address and port.
 */
import net, { type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { RefusalLog } from './refusal-log.ts'

export interface ConnectionGateInit {
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
  /** A connection with no request message after this long is destroyed. */
  readonly authDeadlineMs: number
}

export interface ConnectionGateComponents {
  /** Hands an accepted socket to the gRPC server. */
  readonly inject: (socket: Socket) => void
  readonly logger: Logger
  /** Where refused and timed-out connections are logged for the hub (rate-limited); debug lines only when absent. */
  readonly refusals?: RefusalLog
}

/** What the gate has done since it started (tests, the abuse bench, logs). */
/** Node's own accept-queue length, the least the gate asks for. */
const DEFAULT_BACKLOG = 511

export interface ConnectionGateStats {
  readonly open: number
  readonly refused: number
  readonly timedOut: number
  /** Bytes read from and written to every connection the gate admitted (TLS and HTTP/2 framing included). */
  readonly bytesIn: number
  readonly bytesOut: number
}

interface Held {
  readonly socket: Socket
  readonly address: string
  /** Set until the connection's first request message; fires the deadline. */
  timer: NodeJS.Timeout | undefined
}

/** `remoteAddress` and `remotePort` as one key; the interceptor sees the same pair on its call. */
function connectionKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? '?'}|${port ?? 0}`
}

export class ConnectionGate {
  private readonly server: net.Server
  private readonly held = new Map<string, Held>()
  private readonly perAddress = new Map<string, number>()
  private refused = 0
  private timedOut = 0
  /** Bytes of connections already closed; open ones are counted live from their sockets. */
  private closedBytesIn = 0
  private closedBytesOut = 0

  constructor(
    private readonly init: ConnectionGateInit,
    private readonly components: ConnectionGateComponents,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
  }

  /** Binds `host:port` (port 0 picks a free one); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      // The accept queue holds connections the event loop has not yet taken. Node's default of
      // 511 overflows when a study's sites all connect at once (1,000 sites at a round's start),
      // and the kernel then resets the surplus (ECONNRESET at the site, a reconnect). Sized to the
      // connections the gate admits; the kernel caps it at net.core.somaxconn.
      this.server.listen({ host, port, backlog: Math.max(DEFAULT_BACKLOG, this.init.maxConnections) }, () => {
        this.server.off('error', reject)
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  /** The connection at `address`:`port` sent a request message: it keeps its slot past the deadline. */
  markActive(address: string | undefined, port: number | undefined): void {
    const h = this.held.get(connectionKey(address, port))
    if (h?.timer === undefined) return
    clearTimeout(h.timer)
    h.timer = undefined
  }

  stats(): ConnectionGateStats {
    let bytesIn = this.closedBytesIn
    let bytesOut = this.closedBytesOut
    for (const h of this.held.values()) {
      bytesIn += h.socket.bytesRead
      bytesOut += h.socket.bytesWritten
    }
    return { open: this.held.size, refused: this.refused, timedOut: this.timedOut, bytesIn, bytesOut }
  }

  /** Stops accepting and destroys every connection still open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const h of this.held.values()) h.socket.destroy()
    await closed
  }

  private accept(socket: Socket): void {
    // A reset from a refused or timed-out client is expected; without a listener it would throw.
    socket.on('error', (err) => this.components.logger.debug({ err }, 'connection error'))
    const address = socket.remoteAddress ?? '?'
    const fromAddress = this.perAddress.get(address) ?? 0
    if (this.held.size >= this.init.maxConnections || fromAddress >= this.init.maxConnectionsPerAddress) {
      this.refused++
      const which = this.held.size >= this.init.maxConnections ? `the cap of ${this.init.maxConnections} connections` : `the cap of ${this.init.maxConnectionsPerAddress} connections from one address`
      this.components.logger.debug({ address, open: this.held.size, fromAddress }, `connection refused: ${which} is reached`)
      this.components.refusals?.refused({
        rpc: 'connect',
        site: undefined,
        peer: `${address}:${socket.remotePort ?? 0}`,
        code: 'COORD_CONNECTION_CAP',
        message: `connection refused: ${which} is reached`,
      })
      socket.destroy()
      return
    }
    const key = connectionKey(socket.remoteAddress, socket.remotePort)
    const held: Held = { socket, address, timer: undefined }
    held.timer = setTimeout(() => {
      this.timedOut++
      this.components.logger.debug({ address }, `connection closed: no request within ${this.init.authDeadlineMs} ms`)
      this.components.refusals?.refused({
        rpc: 'connect',
        site: undefined,
        peer: `${address}:${socket.remotePort ?? 0}`,
        code: 'COORD_AUTH_DEADLINE',
        message: `connection closed: no request within ${this.init.authDeadlineMs} ms`,
      })
      socket.destroy()
    }, this.init.authDeadlineMs)
    held.timer.unref()
    this.held.set(key, held)
    this.perAddress.set(address, fromAddress + 1)
    socket.once('close', () => {
      clearTimeout(held.timer)
      this.held.delete(key)
      this.closedBytesIn += socket.bytesRead
      this.closedBytesOut += socket.bytesWritten
      const left = (this.perAddress.get(address) ?? 1) - 1
      if (left > 0) this.perAddress.set(address, left)
      else this.perAddress.delete(address)
    })
    this.components.inject(socket)
  }
}
