/**
 * How a hub command reaches the coordinator: `--tls-ca` and `--tls-cert` (the
 * hub's certificate, for the key in `--key`), or plaintext on loopback, or
 * `--insecure` on a trusted network. Shared by `round start` and `status`.
 */
import type { Command } from 'commander'
import { clientCredentials, loadPartyTls, TlsConfigError, transportMode, transportNotice } from '../../pki/index.ts'
import { HubClient } from '../hub-client.ts'

export interface ConnectOptions {
  readonly coordinator: string
  readonly key?: string
  readonly tlsCa?: string
  readonly tlsCert?: string
  readonly insecure?: boolean
}

export function addConnectOptions(cmd: Command): Command {
  return cmd
    .option('--tls-ca <file>', 'the study CA certificate (ca.crt) for mutual TLS')
    .option('--tls-cert <file>', 'the certificate the study CA issued for the key in --key')
    .option('--insecure', 'plaintext gRPC to a non-loopback coordinator (a trusted test network only)', false)
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
