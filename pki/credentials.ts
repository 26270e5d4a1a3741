/**
 * gRPC credentials for mutual TLS. Each party's TLS key is its enrolled
 * Ed25519 identity key (its key file), and its certificate, issued by the
 * study CA, must carry exactly that key: a certificate for another key is
 * refused at load, before it could confuse a peer.
 */
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js'
import { readFile } from 'node:fs/promises'
import type { X509Certificate } from 'node:crypto'
import { toHex } from '../ledger/index.ts'
import { checkIssuedBy, parseCertificate } from './certificate.ts'
import { CertificateInvalidError, CertificateKeyMismatchError } from './errors.ts'
import { identityKey, readCaCertificate } from './study-ca.ts'

/** Where a party's TLS material is: the study CA certificate, its own certificate, its identity key file. */
export interface TlsFiles {
  readonly ca: string
  readonly cert: string
  readonly keyFile: string
}

/** A party's checked TLS material. */
export interface PartyTls {
  readonly ca: X509Certificate
  readonly cert: X509Certificate
  /** The raw Ed25519 key the certificate carries (= the identity key). */
  readonly publicKey: Uint8Array
  readonly caPem: Buffer
  readonly certPem: Buffer
  readonly keyPem: Buffer
}

/**
 * Loads and checks a party's TLS files: the certificate is issued by the CA,
 * valid now, and carries the key in `files.keyFile`.
 */
export async function loadPartyTls(files: TlsFiles): Promise<PartyTls> {
  const ca = await readCaCertificate(files.ca, 'tls.ca')
  let certPem: Buffer
  try {
    certPem = await readFile(files.cert)
  } catch (err) {
    throw new CertificateInvalidError(`tls.cert ${files.cert}: cannot read (${(err as Error).message}); the hub issues it with \`fedlineage provision issue\``, { cause: err })
  }
  const cert = parseCertificate(certPem, `tls.cert ${files.cert}`)
  const publicKey = checkIssuedBy(cert, ca, `tls.cert ${files.cert}`)
  const key = await identityKey(files.keyFile)
  const keyPem = Buffer.from(key.export({ format: 'pem', type: 'pkcs8' }) as string)
  if (!cert.checkPrivateKey(key))
    throw new CertificateKeyMismatchError(`tls.cert ${files.cert} carries key ${toHex(publicKey)}, not the identity key in ${files.keyFile}; ask the hub for a certificate of this key`)
  return { ca, cert, publicKey, caPem: Buffer.from(ca.toString()), certPem, keyPem }
}

/** Server credentials that require a client certificate from the study CA. */
export function serverCredentials(tls: PartyTls): ServerCredentials {
  return ServerCredentials.createSsl(tls.caPem, [{ private_key: tls.keyPem, cert_chain: tls.certPem }], true)
}

/** Client credentials: trust only the study CA, present the party's certificate. */
export function clientCredentials(tls: PartyTls): ChannelCredentials {
  return ChannelCredentials.createSsl(tls.caPem, tls.keyPem, tls.certPem)
}
