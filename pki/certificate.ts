/**
 * X.509 certificates for the study's TLS, built from their ASN.1 structures
 * (`@peculiar/asn1-x509`) and signed with node:crypto's Ed25519.
 *
 * Every key is Ed25519 (RFC 8410): the certificate of a site, the hub or an
 * auditor carries that party's enrolled identity key, so TLS proves the same
 * key the log knows, and nobody but the party ever holds its private key (the
 * CA signs a public key, not a key pair it made).
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import * as asn from '@peculiar/asn1-x509'
import { createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { publicKeyFromRaw, rawPublicKey } from '../ledger/index.ts'
import { PARTY_ROLES } from './constants.ts'
import { CertificateInvalidError } from './errors.ts'

const ED25519_OID = '1.3.101.112'
const COMMON_NAME_OID = '2.5.4.3'
const ORGANIZATIONAL_UNIT_OID = '2.5.4.11'
/** Backdating absorbs small clock differences between the CA and the parties. */
const BACKDATE_MS = 5 * 60_000

/** Who holds a certificate; the coordinator's is a server certificate, every other a client one. */
export type PartyRole = (typeof PARTY_ROLES)[number]
export { PARTY_ROLES }

export interface CertificateRequest {
  /** The party's name: a site id, `hub`, `coordinator`, an auditor's name. */
  readonly name: string
  readonly role: PartyRole
  /** The party's raw 32-byte Ed25519 public key (its enrolled identity). */
  readonly publicKey: Uint8Array
  /** Host names and IP addresses the coordinator is reached at (server certificates only). */
  readonly hosts?: readonly string[]
  readonly validDays: number
}

/** The Ed25519 public key object of a party's raw key; a key that is not one is a CertificateInvalidError. */
function partyPublicKey(raw: Uint8Array): KeyObject {
  try {
    return publicKeyFromRaw(raw)
  } catch (err) {
    throw new CertificateInvalidError(`an Ed25519 public key is 32 bytes of a valid point, got ${raw.length} bytes that are not one`, { cause: err })
  }
}

/** The raw 32-byte Ed25519 key of a certificate's subject, or undefined when its key is not Ed25519. */
export function rawEd25519Key(cert: X509Certificate): Uint8Array | undefined {
  return rawPublicKey(cert.publicKey)
}

function distinguishedName(cn: string, ou?: string): asn.Name {
  const attr = (type: string, value: string) => new asn.RelativeDistinguishedName([new asn.AttributeTypeAndValue({ type, value: new asn.AttributeValue({ utf8String: value }) })])
  return new asn.Name([...(ou === undefined ? [] : [attr(ORGANIZATIONAL_UNIT_OID, ou)]), attr(COMMON_NAME_OID, cn)])
}

function extension(id: string, critical: boolean, value: unknown): asn.Extension {
  return new asn.Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) })
}

function toPem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64')
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`
}

function signCertificate(tbs: asn.TBSCertificate, issuerKey: KeyObject): string {
  const signature = sign(null, Buffer.from(AsnConvert.serialize(tbs)), issuerKey)
  const cert = new asn.Certificate({ tbsCertificate: tbs, signatureAlgorithm: new asn.AlgorithmIdentifier({ algorithm: ED25519_OID }), signatureValue: arrayBufferOf(signature) })
  return toPem(AsnConvert.serialize(cert))
}

/** A fresh ArrayBuffer holding exactly `bytes` (asn1-schema takes ArrayBuffers for byte strings). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.length)
  new Uint8Array(out).set(bytes)
  return out
}

function serialNumber(): ArrayBuffer {
  const serial = randomBytes(16)
  serial[0]! &= 0x7f // positive, as RFC 5280 §4.1.2.2 requires
  serial[0]! |= 0x01 // and no leading zero byte to strip
  return arrayBufferOf(serial)
}

function validity(validDays: number): asn.Validity {
  const now = Date.now()
  return new asn.Validity({ notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + validDays * 86_400_000) })
}

/** A self-signed study CA certificate for `caKey` (the hub keeps the key). */
export function issueCaCertificate(study: string, caKey: KeyObject, validDays: number): string {
  const name = distinguishedName(`${study} study CA`, 'fedlineage')
  const tbs = new asn.TBSCertificate({
    version: asn.Version.v3,
    serialNumber: serialNumber(),
    signature: new asn.AlgorithmIdentifier({ algorithm: ED25519_OID }),
    issuer: name,
    subject: name,
    validity: validity(validDays),
    subjectPublicKeyInfo: AsnConvert.parse(createPublicKey(caKey).export({ format: 'der', type: 'spki' }), asn.SubjectPublicKeyInfo),
    extensions: new asn.Extensions([
      extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension(asn.id_ce_keyUsage, true, new asn.KeyUsage(asn.KeyUsageFlags.keyCertSign | asn.KeyUsageFlags.cRLSign)),
    ]),
  })
  return signCertificate(tbs, caKey)
}

/**
 * A certificate for one party, signed by the study CA: CN is the party's
 * name, OU its role. The coordinator's is a server certificate naming its
 * hosts; every other party's a client certificate.
 */
export function issuePartyCertificate(req: CertificateRequest, ca: { readonly cert: X509Certificate; readonly key: KeyObject }): string {
  const server = req.role === 'coordinator'
  const hosts = req.hosts ?? []
  if (server && hosts.length === 0) throw new CertificateInvalidError('a coordinator certificate names the hosts sites reach it at: give --host (e.g. --host coordinator.example.org --host 10.0.0.5)')
  const exts = [
    extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: false })),
    extension(asn.id_ce_keyUsage, true, new asn.KeyUsage(asn.KeyUsageFlags.digitalSignature)),
    extension(asn.id_ce_extKeyUsage, false, new asn.ExtendedKeyUsage([server ? asn.id_kp_serverAuth : asn.id_kp_clientAuth])),
  ]
  if (hosts.length > 0) {
    const names = hosts.map((h) => new asn.GeneralName(isIP(h) ? { iPAddress: h } : { dNSName: h }))
    exts.push(extension(asn.id_ce_subjectAltName, false, new asn.SubjectAlternativeName(names)))
  }
  const tbs = new asn.TBSCertificate({
    version: asn.Version.v3,
    serialNumber: serialNumber(),
    signature: new asn.AlgorithmIdentifier({ algorithm: ED25519_OID }),
    issuer: AsnConvert.parse(ca.cert.raw, asn.Certificate).tbsCertificate.subject,
    subject: distinguishedName(req.name, req.role),
    validity: validity(req.validDays),
    subjectPublicKeyInfo: AsnConvert.parse(partyPublicKey(req.publicKey).export({ format: 'der', type: 'spki' }), asn.SubjectPublicKeyInfo),
    extensions: new asn.Extensions(exts),
  })
  return signCertificate(tbs, ca.key)
}

/** Parses a PEM certificate; `what` names it in errors. */
export function parseCertificate(pem: string | Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (err) {
    throw new CertificateInvalidError(`${what}: not a PEM X.509 certificate (${(err as Error).message})`, { cause: err })
  }
}

/**
 * Checks that `cert` was issued by the study CA, is valid at `nowMs` and
 * carries an Ed25519 key; returns that raw key.
 */
export function checkIssuedBy(cert: X509Certificate, ca: X509Certificate, what: string, nowMs = Date.now()): Uint8Array {
  if (!cert.verify(ca.publicKey) || cert.issuer !== ca.subject) throw new CertificateInvalidError(`${what}: not issued by the study CA (${ca.subject.replace(/\n/g, ', ')})`)
  if (Date.parse(cert.validFrom) > nowMs || Date.parse(cert.validTo) < nowMs)
    throw new CertificateInvalidError(`${what}: valid from ${cert.validFrom} to ${cert.validTo}, not now; issue a new one with \`fedlineage provision issue\``)
  const key = rawEd25519Key(cert)
  if (key === undefined) throw new CertificateInvalidError(`${what}: its key is not Ed25519; fedlineage certificates carry the party's Ed25519 identity key`)
  return key
}
