/**
 * How a hub command reaches the coordinator: `--tls-ca` and `--tls-cert` (the
 * hub's certificate, for the key in `--key`), or plaintext on loopback, or
 * `--insecure` on a trusted network. Shared by `round start`, `status` and
 * `membership`; the options themselves are defined in ../cli.ts.
 */
import { clientCredentials, loadPartyTls, TlsConfigError, transportMode, transportNotice } from '../../pki/index.ts'
import { HubClient } from '../hub-client.ts'

export interface ConnectOptions {
  readonly coordinator: string
  readonly key?: string
  readonly tlsCa?: string
  readonly tlsCert?: string
  readonly insecure?: boolean
}

/** A HubClient over mutual TLS when the TLS files are given; refuses plaintext off loopback without --insecure. */
export async function connectHub(opts: ConnectOptions, warn: (line: string) => void): Promise<HubClient> {
  const tls = opts.tlsCa !== undefined || opts.tlsCert !== undefined
  if (tls && (opts.tlsCa === undefined || opts.tlsCert === undefined || opts.key === undefined))
    throw new TlsConfigError('mutual TLS needs all three: --tls-ca (the study CA certificate), --tls-cert (your certificate) and --key (the key it was issued for)')
  const mode = transportMode(opts.coordinator, tls, opts.insecure === true, '--coordinator')
  if (mode !== 'tls') warn(`warning: ${transportNotice(mode).message}`)
  if (!tls) return new HubClient(opts.coordinator)
  return new HubClient(opts.coordinator, clientCredentials(await loadPartyTls({ ca: opts.tlsCa!, cert: opts.tlsCert!, keyFile: opts.key! })))
}
