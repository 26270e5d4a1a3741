/**
 * Session tokens issued at hello: a site proves its key once per connection,
 * then names itself by an unguessable token on the stream and download calls.
 * Held in memory on purpose: after a coordinator restart every site says
 * hello again, which re-checks its key against the (possibly updated) study.
 */
import { randomBytes } from 'node:crypto'
import { toHex } from '../ledger/index.ts'
import { SessionInvalidError } from './errors.ts'

const DEFAULT_TTL_MS = 24 * 3600 * 1000

export class SessionTable {
  private readonly sessions = new Map<string, { siteId: string; expiresMs: number }>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

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
