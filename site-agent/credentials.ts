/**
 * The site's TLS credentials from its config: the study CA it trusts and its
 * certificate, whose key must be the site's identity key (`keyFile`).
 */
import type { ChannelCredentials } from '@grpc/grpc-js'
import { clientCredentials, loadPartyTls } from '../pki/index.ts'
import type { SiteConfig } from './config.ts'

/** Mutual-TLS credentials for `config`, or undefined when it names no tls files (plaintext on loopback or `insecure`). */
export async function siteCredentials(config: SiteConfig): Promise<ChannelCredentials | undefined> {
  if (config.tls === undefined) return undefined
  return clientCredentials(await loadPartyTls({ ...config.tls, keyFile: config.keyFile }))
}
