/**
 * Logs `site disconnected` when a site's task stream ends, cleanly or not:
 * the site, how long it was connected, and why (the site cancelled it, which
 * is also what a lost connection looks like; the coordinator ended it at
 * shutdown; or it failed with a code, such as COORD_STREAM_REPLACED when the
 * site opened a newer one). A site's task stream is its presence: the hub
 * reads here when a site went away, not only that it did.
 */
import type { Logger } from 'pino'
import { ERROR_CODE_METADATA_KEY } from '../../protos/index.ts'

/** The events of a grpc-js server stream this needs. */
export interface EndingStream {
  once(event: 'cancelled' | 'finish' | 'close', listener: () => void): unknown
  once(event: 'error', listener: (err: unknown) => void): unknown
  getPeer(): string
}

/** The stable code of a stream error (the `fl-error-code` trailer `failStream` sets), else its gRPC status code. */
function codeOf(err: unknown): string {
  const e = err as { metadata?: { get(key: string): unknown[] }; code?: unknown }
  const trailer = e.metadata?.get(ERROR_CODE_METADATA_KEY)?.[0]
  if (typeof trailer === 'string') return trailer
  return e.code === undefined ? 'UNKNOWN' : `grpc status ${String(e.code)}`
}

export function logDisconnect(stream: EndingStream, site: string, logger: Logger, now: () => number = Date.now): void {
  const since = now()
  const peer = stream.getPeer()
  let said = false
  const say = (reason: string, code?: string) => {
    if (said) return
    said = true
    logger.info({ site, peer, connectedMs: now() - since, reason, ...(code === undefined ? {} : { code }) }, 'site disconnected')
  }
  stream.once('cancelled', () => say('cancelled by the site (it stopped, or the connection was lost)'))
  stream.once('error', (err) => say('ended with an error', codeOf(err)))
  stream.once('finish', () => say('ended by the coordinator'))
  stream.once('close', () => say('closed'))
}
