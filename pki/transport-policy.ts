/**
 * When plaintext gRPC is allowed. Deltas, metrics and session tokens must not
 * cross a network in the clear: without TLS, a coordinator listens and a
 * client connects only on a loopback address, unless the operator says
 * `insecure` explicitly (and is told loudly what that means).
 */
import { isIP } from 'node:net'
import { TlsConfigError } from './errors.ts'

export type TransportMode = 'tls' | 'loopback-plaintext' | 'insecure-plaintext'

/** True for `127.x.x.x`, `::1` and `localhost` (the host part of host:port). */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

/**
 * The transport a party will use, or a TlsConfigError saying what to do.
 * `what` names the setting, e.g. `hub.json: listen`.
 */
export function transportMode(address: string, hasTls: boolean, insecure: boolean, what: string): TransportMode {
  if (hasTls) return 'tls'
  if (insecure) return 'insecure-plaintext'
  if (isLoopbackHost(address)) return 'loopback-plaintext'
  throw new TlsConfigError(
    `${what} ${address} is not a loopback address, and no TLS is configured: updates and metrics would cross the network in the clear. Provision certificates (\`fedlineage provision\`) and set "tls": { "ca", "cert" }, or, on a network you trust for testing only, set "insecure": true`,
  )
}

/** The line a party logs about its transport: loud when it is plaintext. */
export function transportNotice(mode: TransportMode): { readonly level: 'info' | 'warn'; readonly message: string } {
  if (mode === 'tls') return { level: 'info', message: 'gRPC over mutual TLS (study CA)' }
  if (mode === 'loopback-plaintext') return { level: 'warn', message: 'gRPC in PLAINTEXT on loopback: fine for a local demo or test, never across machines' }
  return { level: 'warn', message: 'gRPC in PLAINTEXT on a network (insecure: true): deltas, metrics and session tokens can be read and altered in transit' }
}
