/**
 * The study CA, held by the hub: `<dir>/ca.key` (an Ed25519 identity file,
 * 0600, like every fedlineage key) and `<dir>/ca.crt`, the certificate every
 * party trusts. It only signs the enrolled public keys of the study's parties.
 */
import type { KeyObject, X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { loadSigner, writeIdentity } from '../ledger/index.ts'
import { issueCaCertificate, parseCertificate, rawEd25519Key } from './certificate.ts'
import { CertificateInvalidError, ProvisionExistsError } from './errors.ts'

export const CA_KEY_NAME = 'ca'
export const CA_CERT_FILE = 'ca.crt'

export interface StudyCa {
  readonly cert: X509Certificate
  readonly key: KeyObject
  /** The CA certificate as PEM, what every party's `tls.ca` file holds. */
  readonly certPem: string
}

export interface CreateStudyCaInit {
  readonly validDays: number
  readonly force?: boolean
}

/** Creates the study CA in `dir`: a fresh key and its self-signed certificate. */
export async function createStudyCa(dir: string, study: string, init: CreateStudyCaInit): Promise<{ readonly keyFile: string; readonly certFile: string }> {
  const certFile = path.join(dir, CA_CERT_FILE)
  let written: Awaited<ReturnType<typeof writeIdentity>>
  try {
    written = await writeIdentity(dir, CA_KEY_NAME, { force: init.force === true })
  } catch (err) {
    if ((err as { code?: string }).code === 'LEDGER_IDENTITY_INVALID' && /already exists/.test((err as Error).message))
      throw new ProvisionExistsError(`${dir} already holds a study CA; pass --force to replace it (every certificate it issued stops being trusted)`, { cause: err })
    throw err
  }
  const key = await identityKey(written.keyFile)
  await writeFile(certFile, issueCaCertificate(study, key, init.validDays), { mode: 0o644 })
  return { keyFile: written.keyFile, certFile }
}

/** The private key of an identity file (a party's TLS key, the CA's signing key): the file's signer's own key. */
export async function identityKey(keyFile: string): Promise<KeyObject> {
  const { privateKey } = await loadSigner(keyFile)
  if (privateKey === undefined) throw new CertificateInvalidError(`${keyFile}: its key cannot be exported for TLS`)
  return privateKey
}

/** Loads the study CA from `dir` and checks that its key and certificate belong together. */
export async function loadStudyCa(dir: string): Promise<StudyCa> {
  const certFile = path.join(dir, CA_CERT_FILE)
  let certPem: string
  try {
    certPem = await readFile(certFile, 'utf8')
  } catch (err) {
    throw new CertificateInvalidError(`${certFile}: cannot read the study CA certificate (${(err as Error).message}); create the CA with \`fedlineage provision ca --out ${dir}\``, { cause: err })
  }
  const cert = parseCertificate(certPem, certFile)
  const key = await identityKey(path.join(dir, `${CA_KEY_NAME}.key`))
  const certKey = rawEd25519Key(cert)
  if (certKey === undefined || !cert.verify(cert.publicKey) || !cert.ca) throw new CertificateInvalidError(`${certFile}: not a self-signed Ed25519 CA certificate`)
  if (!cert.checkPrivateKey(key)) throw new CertificateInvalidError(`${certFile}: does not belong to ${CA_KEY_NAME}.key in ${dir}`)
  return { cert, key, certPem }
}

/** Reads a CA certificate file (what a party trusts); `what` names it in errors. */
export async function readCaCertificate(file: string, what: string): Promise<X509Certificate> {
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (err) {
    throw new CertificateInvalidError(`${what} ${file}: cannot read (${(err as Error).message}); the hub hands out its study CA certificate (ca.crt)`, { cause: err })
  }
  const cert = parseCertificate(pem, `${what} ${file}`)
  if (!cert.ca) throw new CertificateInvalidError(`${what} ${file}: not a CA certificate; point it at the study's ca.crt`)
  return cert
}
