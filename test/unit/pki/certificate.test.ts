/**
 * The study CA and party certificates: what they carry, who signed them, and
 * that an independent stack (OpenSSL) reads and verifies them the same way.
 */
import { execFileSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../ledger/index.ts'
import { CA_CERT_FILE, checkIssuedBy, createStudyCa, issueCaCertificate, issuePartyCertificate, loadPartyTls, loadStudyCa, rawEd25519Key, transportMode, isLoopbackHost } from '../../../pki/index.ts'
import { tempDir, testSigner } from '../../helpers/federation.ts'

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

async function writeKey(dir: string, name: string, seedByte: number): Promise<string> {
  const file = path.join(dir, `${name}.key`)
  const signer = testSigner(seedByte)
  await writeFile(file, JSON.stringify({ type: 'ed25519', publicKey: toHex(signer.publicKey), seed: toHex(new Uint8Array(32).fill(seedByte)) }), { mode: 0o600 })
  return file
}

describe('the study CA', () => {
  it('is a self-signed Ed25519 CA certificate whose key is ca.key, and refuses to be overwritten without force', async () => {
    const dir = await tempDir()
    await createStudyCa(dir, 'heart-study', { validDays: 30 })
    const ca = await loadStudyCa(dir)
    expect(ca.cert.ca).toBe(true)
    expect(ca.cert.subject).toContain('CN=heart-study study CA')
    expect(ca.cert.verify(ca.cert.publicKey)).toBe(true)
    await expect(createStudyCa(dir, 'heart-study', { validDays: 30 })).rejects.toMatchObject({ code: 'PKI_EXISTS' })
    await createStudyCa(dir, 'heart-study', { validDays: 30, force: true })
    expect((await loadStudyCa(dir)).cert.fingerprint256).not.toBe(ca.cert.fingerprint256)
  })

  it('refuses a CA directory whose key and certificate do not belong together', async () => {
    const a = await tempDir()
    const b = await tempDir()
    await createStudyCa(a, 's', { validDays: 1 })
    await createStudyCa(b, 's', { validDays: 1 })
    const other = await loadStudyCa(b)
    await writeFile(path.join(a, CA_CERT_FILE), other.certPem)
    await expect(loadStudyCa(a)).rejects.toMatchObject({ code: 'PKI_CERT_INVALID', message: expect.stringMatching(/does not belong to ca.key/) })
  })
})

describe('a party certificate', () => {
  it("carries the party's enrolled key, its name and role, and is verified by the study CA only", async () => {
    const dir = await tempDir()
    await createStudyCa(dir, 's', { validDays: 1 })
    const ca = await loadStudyCa(dir)
    const site = testSigner(10)
    const cert = new X509Certificate(issuePartyCertificate({ name: 'alpha-clinic', role: 'site', publicKey: site.publicKey, validDays: 1 }, ca))
    expect(cert.subject).toBe('OU=site\nCN=alpha-clinic')
    expect(rawEd25519Key(cert)).toEqual(site.publicKey)
    expect(checkIssuedBy(cert, ca.cert, 'site cert')).toEqual(site.publicKey)
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2'])
    const stranger = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 99)]), format: 'der', type: 'pkcs8' })
    const strangerCa = new X509Certificate(issueCaCertificate('s', stranger, 1))
    expect(() => checkIssuedBy(cert, strangerCa, 'site cert')).toThrow(/not issued by the study CA/)
  })

  it('for the coordinator, is a server certificate naming its hosts, and cannot be issued without them', async () => {
    const dir = await tempDir()
    await createStudyCa(dir, 's', { validDays: 1 })
    const ca = await loadStudyCa(dir)
    const cert = new X509Certificate(issuePartyCertificate({ name: 'coordinator', role: 'coordinator', publicKey: testSigner(1).publicKey, hosts: ['fl.example.org', '10.0.0.5'], validDays: 1 }, ca))
    expect(cert.subjectAltName).toBe('DNS:fl.example.org, IP Address:10.0.0.5')
    expect(cert.checkHost('fl.example.org')).toBe('fl.example.org')
    expect(cert.checkIP('10.0.0.5')).toBe('10.0.0.5')
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    expect(() => issuePartyCertificate({ name: 'coordinator', role: 'coordinator', publicKey: testSigner(1).publicKey, validDays: 1 }, ca)).toThrow(/--host/)
  })

  it('is refused at load when it carries another key than the party’s key file', async () => {
    const dir = await tempDir()
    await createStudyCa(path.join(dir, 'ca'), 's', { validDays: 1 })
    const ca = await loadStudyCa(path.join(dir, 'ca'))
    const keyFile = await writeKey(dir, 'alpha', 10)
    await writeFile(path.join(dir, 'mine.crt'), issuePartyCertificate({ name: 'alpha', role: 'site', publicKey: testSigner(10).publicKey, validDays: 1 }, ca))
    await writeFile(path.join(dir, 'theirs.crt'), issuePartyCertificate({ name: 'beta', role: 'site', publicKey: testSigner(11).publicKey, validDays: 1 }, ca))
    const caFile = path.join(dir, 'ca', CA_CERT_FILE)
    expect((await loadPartyTls({ ca: caFile, cert: path.join(dir, 'mine.crt'), keyFile })).publicKey).toEqual(testSigner(10).publicKey)
    await expect(loadPartyTls({ ca: caFile, cert: path.join(dir, 'theirs.crt'), keyFile })).rejects.toMatchObject({ code: 'PKI_CERT_KEY_MISMATCH' })
  })

  it.skipIf(!hasOpenssl)('is read and verified by OpenSSL, an independent X.509 stack', async () => {
    const dir = await tempDir()
    await createStudyCa(dir, 's', { validDays: 1 })
    const ca = await loadStudyCa(dir)
    const siteCrt = path.join(dir, 'site.crt')
    const srvCrt = path.join(dir, 'coordinator.crt')
    await writeFile(siteCrt, issuePartyCertificate({ name: 'alpha-clinic', role: 'site', publicKey: testSigner(10).publicKey, validDays: 1 }, ca))
    await writeFile(srvCrt, issuePartyCertificate({ name: 'coordinator', role: 'coordinator', publicKey: testSigner(1).publicKey, hosts: ['127.0.0.1'], validDays: 1 }, ca))
    const caFile = path.join(dir, CA_CERT_FILE)
    expect(execFileSync('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', siteCrt], { encoding: 'utf8' })).toContain('OK')
    expect(execFileSync('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslserver', srvCrt], { encoding: 'utf8' })).toContain('OK')
    expect(() => execFileSync('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslserver', siteCrt], { stdio: 'pipe' })).toThrow()
    const text = execFileSync('openssl', ['x509', '-in', siteCrt, '-noout', '-text'], { encoding: 'utf8' })
    expect(text).toContain('ED25519')
    expect(text.replace(/[\s:]/g, '')).toContain(toHex(testSigner(10).publicKey))
  })
})

describe('the transport policy', () => {
  it('allows plaintext on loopback only, or when insecure is explicit; TLS anywhere', () => {
    expect(isLoopbackHost('127.0.0.1:50051')).toBe(true)
    expect(isLoopbackHost('localhost:1')).toBe(true)
    expect(isLoopbackHost('[::1]:1')).toBe(true)
    expect(isLoopbackHost('10.0.0.5:1')).toBe(false)
    expect(isLoopbackHost('127.example.org:1')).toBe(false)
    expect(transportMode('127.0.0.1:1', false, false, 'listen')).toBe('loopback-plaintext')
    expect(transportMode('10.0.0.5:1', true, false, 'listen')).toBe('tls')
    expect(transportMode('10.0.0.5:1', false, true, 'listen')).toBe('insecure-plaintext')
    expect(() => transportMode('10.0.0.5:1', false, false, 'listen')).toThrow(/not a loopback address, and no TLS is configured/)
  })
})
