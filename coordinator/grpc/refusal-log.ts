/**
 * The hub's log of refused requests: a hello from a site the study does not
 * know, a wrong key or study, a bad session token, a refused upload or
 * statement, a connection over the caps. Each names the site id the request
 * claimed ("unknown" when it claimed none that decodes), the peer address,
 * the refusal code and its message, so the hub can tell a misconfigured
 * site from an attack.
 *
 * Rate-limited per peer address and code, because a client that retries in
 * a loop (or floods on purpose) must not fill the disk: the first refusal of
 * a window is logged at once, the rest of the window only counted, and the
 * count logged in one line when the window ends. At most `maxKeys` peer and
 * code pairs are tracked; refusals past that share one overflow count.
 */
import type { Logger } from 'pino'

export interface RefusalLogInit {
  /** The window per peer address and code: one line at its first refusal, one with the count at its end. */
  readonly windowMs: number
  /** Peer and code pairs tracked at once (memory bound under a flood from many addresses). */
  readonly maxKeys?: number
}

export interface RefusalLogComponents {
  readonly logger: Logger
}

export interface Refusal {
  /** The call refused (`Hello`, `Tasks`, `UploadUpdate`, …) or `connect` for a connection over the caps. */
  readonly rpc: string
  /** The site id the request claimed; undefined when it claimed none that decodes. */
  readonly site: string | undefined
  /** The peer as grpc-js reports it (`host:port`). */
  readonly peer: string
  readonly code: string
  readonly message: string
}

/** Refusals logged by a coordinator, and how many the rate limit held back (tests, metrics). */
export interface RefusalLogStats {
  readonly logged: number
  readonly suppressed: number
}

/** How long the refusals of one peer and code are counted before their count is logged. */
export const REFUSAL_LOG_WINDOW_MS = 10_000
const DEFAULT_MAX_KEYS = 1024
const OVERFLOW = '*'

interface Window {
  count: number
  last: Refusal
  readonly timer: NodeJS.Timeout
}

/** The address part of a grpc-js peer (`1.2.3.4:5678`, `[::1]:5678`, `ipv4:…`): one client reconnecting keeps its address, not its port. */
export function peerAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '')
  const bracket = /^\[([^\]]+)\]/.exec(bare)
  if (bracket) return bracket[1]!
  const colon = bare.lastIndexOf(':')
  return colon > 0 && bare.indexOf(':') === colon ? bare.slice(0, colon) : bare
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>()
  private logged = 0
  private suppressed = 0

  constructor(
    private readonly init: RefusalLogInit,
    private readonly components: RefusalLogComponents,
  ) {}

  refused(r: Refusal): void {
    const key = `${peerAddress(r.peer)}|${r.code}`
    const open = this.windows.get(key) ?? (this.windows.size >= (this.init.maxKeys ?? DEFAULT_MAX_KEYS) ? this.windows.get(OVERFLOW) : undefined)
    if (open !== undefined) {
      open.count++
      open.last = r
      this.suppressed++
      return
    }
    const overflow = this.windows.size >= (this.init.maxKeys ?? DEFAULT_MAX_KEYS)
    const windowKey = overflow ? OVERFLOW : key
    this.line(r, 0)
    const timer = setTimeout(() => this.close(windowKey), this.init.windowMs)
    timer.unref()
    this.windows.set(windowKey, { count: 0, last: r, timer })
  }

  stats(): RefusalLogStats {
    return { logged: this.logged, suppressed: this.suppressed }
  }

  /** Logs every pending count and stops the timers (at shutdown). */
  flush(): void {
    for (const key of [...this.windows.keys()]) this.close(key)
  }

  private close(key: string): void {
    const w = this.windows.get(key)
    if (w === undefined) return
    clearTimeout(w.timer)
    this.windows.delete(key)
    if (w.count > 0) this.line(w.last, w.count, key === OVERFLOW)
  }

  private line(r: Refusal, repeated: number, overflow = false): void {
    this.logged++
    const fields = { rpc: r.rpc, site: r.site ?? 'unknown', peer: r.peer, code: r.code, reason: r.message }
    if (repeated === 0) {
      this.components.logger.warn(fields, 'request refused')
      return
    }
    const what = overflow ? 'refusals from other peers (too many peers to count apart)' : 'more refusals from this peer with this code'
    this.components.logger.warn(
      { ...fields, repeated, windowMs: this.init.windowMs },
      `request refused, repeated: ${repeated} ${what} in the last ${Math.round(this.init.windowMs / 1000)} s (the last shown)`,
    )
  }
}
