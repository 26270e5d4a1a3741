/**
 * Session tokens issued at hello: a site proves its key once per connection,
 * then names itself by an unguessable token on the stream and download calls.
 * Held in memory on purpose: after a coordinator restart every site says
 * hello again, which re-checks its key against the (possibly updated) study.
 */
import { randomBytes } from 'node:crypto'
import { toHex } from '../ledger/index.ts'
import { SessionInvalidError } from './errors.ts'
import { UpdateReplayedError } from '../protocol/index.ts'

const DEFAULT_TTL_MS = 24 * 3600 * 1000

export class SessionTable {
  private readonly sessions = new Map<string, { siteId: string; expiresMs: number }>()
  /** Hellos already used, by hash, until they would be stale anyway: a signed hello opens one session. */
  private readonly usedHellos = new Map<string, number>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

  /**
   * Spends hello `hash`, signed at `signedMs`, which freshness lets in for
   * `maxAgeMs` either side of the clock. Throws UpdateReplayedError when it
   * was spent before. Spent hellos are forgotten once they are stale, so the
   * table holds at most the hellos of one freshness window.
   */
  spendHello(hash: Uint8Array, signedMs: number, maxAgeMs: number): void {
    const now = this.now()
    for (const [h, until] of this.usedHellos) if (until < now) this.usedHellos.delete(h)
    const id = toHex(hash)
    if (this.usedHellos.has(id)) throw new UpdateReplayedError('this signed hello was already used; sign a fresh one')
    this.usedHellos.set(id, signedMs + maxAgeMs)
  }

  issue(siteId: string): Uint8Array {
    const token = randomBytes(32)
    this.sessions.set(toHex(token), { siteId, expiresMs: this.now() + this.ttlMs })
    return token
  }

  /** The site a token belongs to; throws SessionInvalidError for unknown or expired tokens. */
  siteOf(token: Uint8Array | undefined): string {
    const key = token ? toHex(token) : ''
    const s = this.sessions.get(key)
    if (!s || s.expiresMs < this.now()) {
      this.sessions.delete(key)
      throw new SessionInvalidError('unknown or expired session token; say hello again')
    }
    return s.siteId
  }
}
