/**
 * `fedlineage provision` as a hub runs it: a study CA, then a certificate per
 * party from the party's own `.pub` file (the hub never sees a private key),
 * which the party's key file then loads as its TLS identity. Bad input fails
 * with its code and says what to do.
 */
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { loadPartyTls } from '../../pki/index.ts'
import { tempDir } from '../helpers/federation.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))

async function fedlineage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('fedlineage provision', () => {
  it("issues a site's certificate from its .pub file, which its key file then loads as its TLS identity", async () => {
    const dir = await tempDir()
    const ca = path.join(dir, 'ca')
    expect((await fedlineage('provision', 'ca', '--study', 'heart', '--out', ca)).code).toBe(0)
    expect((await stat(path.join(ca, 'ca.key'))).mode & 0o777).toBe(0o600)
    expect((await fedlineage('keygen', '--out', path.join(dir, 'site'), '--name', 'alpha')).code).toBe(0)
    const out = path.join(dir, 'alpha.crt')
    const issued = await fedlineage('provision', 'issue', '--ca', ca, '--name', 'alpha', '--role', 'site', '--pub-file', path.join(dir, 'site', 'alpha.pub'), '--out', out)
    expect(issued.code).toBe(0)
    expect(issued.stdout).toMatch(/site certificate for "alpha"/)
    const cert = new X509Certificate(await readFile(out))
    expect(cert.subject).toBe('OU=site\nCN=alpha')
    const tls = await loadPartyTls({ ca: path.join(ca, 'ca.crt'), cert: out, keyFile: path.join(dir, 'site', 'alpha.key') })
    expect(Buffer.from(tls.publicKey).toString('hex')).toBe((await readFile(path.join(dir, 'site', 'alpha.pub'), 'utf8')).trim())
  })

  it('refuses to replace a CA without --force, an unknown role, and a coordinator certificate without hosts', async () => {
    const dir = await tempDir()
    const ca = path.join(dir, 'ca')
    await fedlineage('provision', 'ca', '--study', 'heart', '--out', ca)
    const again = await fedlineage('provision', 'ca', '--study', 'heart', '--out', ca)
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^PKI_EXISTS: .*pass --force/m)
    const key = '11'.repeat(32)
    const role = await fedlineage('provision', 'issue', '--ca', ca, '--name', 'x', '--role', 'nurse', '--public-key', key, '--out', path.join(dir, 'x.crt'))
    expect(role.code).toBe(2)
    expect(role.stderr).toMatch(/^PKI_TLS_CONFIG: --role: "nurse" is not one of coordinator, hub, site, auditor/m)
    const noHost = await fedlineage('provision', 'issue', '--ca', ca, '--name', 'coordinator', '--role', 'coordinator', '--public-key', key, '--out', path.join(dir, 'c.crt'))
    expect(noHost.code).toBe(1)
    expect(noHost.stderr).toMatch(/^PKI_CERT_INVALID: .*--host/m)
  })
})
