/**
 * The coordinator's limits against clients that hold resources without doing
 * work: how many connections, how long a connection or call may go without
 * presenting its first request, how slowly an upload may trickle, and how many
 * upload bytes may be in flight at once. Every one is set in `hub.json`
 * `limits`; these are the defaults, documented in the README.
 */

/** A connection, or a call on it, that has not sent its first request message by then is closed. */
export const AUTH_DEADLINE_MS = 10_000
/** An upload must move at least this many bytes a second, judged over each window (a trickle holds a slot). */
export const UPLOAD_MIN_BYTES_PER_SECOND = 16 * 1024
/** The window over which an upload's rate is judged. */
export const UPLOAD_RATE_WINDOW_MS = 10_000
/** Upload bytes the coordinator takes at once, across all uploads (each reserves its delta's size). */
export const UPLOAD_BYTES_IN_FLIGHT = 1024 * 1024 * 1024
/** A download whose client reads nothing for this long (its flow-control window stays full) is ended. */
export const DOWNLOAD_STALL_MS = 60_000
/** The server pings a connection after this long without a ping (HTTP/2 PING), to find dead peers. */
export const KEEPALIVE_TIME_MS = 30_000
/**
 * A connection whose peer has not answered the ping in this time is dropped,
 * with every call on it. The answer is read on the coordinator's event loop,
 * so the timeout is also a bound on how long one turn of that loop may take.
 */
export const KEEPALIVE_TIMEOUT_MS = 10_000
/** Fewest connections allowed from one address, however small the study. */
export const MIN_CONNECTIONS_PER_ADDRESS = 64
/** Total connections are this many times the per-address cap. */
export const CONNECTIONS_PER_ADDRESS_FACTOR = 4

export interface ServerLimits {
  /** Open connections at once, from all addresses; more are closed as they arrive. */
  readonly maxConnections: number
  /** Open connections at once from one remote address. */
  readonly maxConnectionsPerAddress: number
  readonly authDeadlineMs: number
  /** 0 turns the rate check off (the idle limit still holds). */
  readonly uploadMinBytesPerSecond: number
  readonly uploadRateWindowMs: number
  readonly uploadBytesInFlight: number
  readonly downloadStallMs: number
  readonly keepaliveTimeMs: number
  readonly keepaliveTimeoutMs: number
}

/** What `hub.json` `limits` may set; anything unset takes its default. */
export type ServerLimitsInput = Partial<ServerLimits>

/**
 * The limits in force. The connection caps default to the study's size: every
 * enrolled site and named auditor may sit behind one address (a NAT, or all on
 * one test host) with room for the hub's commands and reconnects, and never
 * fewer than MIN_CONNECTIONS_PER_ADDRESS.
 */
export function resolveLimits(input: ServerLimitsInput, participants: number): ServerLimits {
  const perAddress = input.maxConnectionsPerAddress ?? Math.min(Math.max(MIN_CONNECTIONS_PER_ADDRESS, participants + 16), input.maxConnections ?? Number.POSITIVE_INFINITY)
  return {
    maxConnections: input.maxConnections ?? CONNECTIONS_PER_ADDRESS_FACTOR * perAddress,
    maxConnectionsPerAddress: perAddress,
    authDeadlineMs: input.authDeadlineMs ?? AUTH_DEADLINE_MS,
    uploadMinBytesPerSecond: input.uploadMinBytesPerSecond ?? UPLOAD_MIN_BYTES_PER_SECOND,
    uploadRateWindowMs: input.uploadRateWindowMs ?? UPLOAD_RATE_WINDOW_MS,
    uploadBytesInFlight: input.uploadBytesInFlight ?? UPLOAD_BYTES_IN_FLIGHT,
    downloadStallMs: input.downloadStallMs ?? DOWNLOAD_STALL_MS,
    keepaliveTimeMs: input.keepaliveTimeMs ?? KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: input.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS,
  }
}
