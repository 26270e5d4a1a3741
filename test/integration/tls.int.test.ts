/**
 * gRPC over mutual TLS with the study's own CA, on 127.0.0.1: a whole study
 * runs over it, and a client without a certificate, with a certificate from
 * another CA, or with another party's certificate is refused, at the TLS
 * layer or with COORD_PEER_MISMATCH.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { HubClient, RemoteCoordinatorError } from '../../coordinator/index.ts'
import { clientCredentials, createStudyCa, issuePartyCertificate, loadPartyTls, loadStudyCa, CA_CERT_FILE } from '../../pki/index.ts'
import { signStatement } from '../../protocol/index.ts'
import { grpc } from '../../protos/index.ts'
import { CoordinatorClient, SiteRequestRejectedError } from '../../site-agent/index.ts'
import { createFederation, type TestFederation, type TestSite } from '../helpers/federation.ts'

/** A site's credentials as its config names them: the study CA, `certName`'s certificate, `keyName`'s key file. */
async function credentialsOf(fed: TestFederation, certName: string, keyName: string, ca = path.join(fed.dir, 'ca', CA_CERT_FILE)) {
  return clientCredentials(await loadPartyTls({ ca, cert: path.join(fed.dir, `${certName}.crt`), keyFile: path.join(fed.dir, `${keyName}.key`) }))
}

function helloOf(fed: TestFederation, site: TestSite) {
  return signStatement(site.signer, { t: 'hello', study: fed.config.study.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
}

async function refusal(p: Promise<unknown>): Promise<{ code?: string; grpc?: number; message: string }> {
  try {
    await p
  } catch (err) {
    if (err instanceof SiteRequestRejectedError || err instanceof RemoteCoordinatorError) return { code: err.remoteCode, message: err.message }
    const e = err as { code?: number; message?: string; cause?: { code?: number } }
    return { grpc: e.cause?.code ?? e.code, message: String(e.message) }
  }
  return { message: 'ACCEPTED' }
}

describe('gRPC over mutual TLS with the study CA', () => {
  it('runs a whole study: every site and the hub on their own certificates', async () => {
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 }, tls: true })
    const summaries = await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    expect(fed.coordinator.runner.state.committedRounds).toBe(2)
    expect(summaries.every((s) => s.rounds === 2)).toBe(true)
    const hub = new HubClient(fed.coordinator.address, await credentialsOf(fed, 'hub', 'hub'))
    try {
      expect((await hub.status()).done).toBe(true)
    } finally {
      hub.close()
    }
  })

  it('refuses a client without a certificate, with one from another CA, and a plaintext client, at the TLS layer', async () => {
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, tls: true })
    const caPem = await readFile(path.join(fed.dir, 'ca', CA_CERT_FILE))
    // A second CA that issued a certificate for the same site key.
    const otherDir = path.join(fed.dir, 'other-ca')
    await createStudyCa(otherDir, 'test-study', { validDays: 1 })
    await writeFile(
      path.join(fed.dir, 'forged.crt'),
      issuePartyCertificate({ name: fed.sites[0]!.id, role: 'site', publicKey: fed.sites[0]!.signer.publicKey, validDays: 1 }, await loadStudyCa(otherDir)),
    )
    const forged = clientCredentials(await loadPartyTls({ ca: path.join(otherDir, CA_CERT_FILE), cert: path.join(fed.dir, 'forged.crt'), keyFile: path.join(fed.dir, `${fed.sites[0]!.id}.key`) }))
    const clients = {
      'no certificate': new CoordinatorClient(fed.coordinator.address, grpc.credentials.createSsl(caPem)),
      'another CA': new CoordinatorClient(fed.coordinator.address, forged),
      plaintext: new CoordinatorClient(fed.coordinator.address),
    }
    try {
      for (const [what, client] of Object.entries(clients)) {
        const r = await refusal(client.hello(helloOf(fed, fed.sites[0]!), 3_000))
        expect(r.message, what).not.toBe('ACCEPTED')
        expect(r.code, `${what}: refused before any handler ran`).toBeUndefined()
      }
    } finally {
      for (const c of Object.values(clients)) c.close()
    }
  })

  it("refuses a site speaking with another party's certificate, and a round start not on the hub's", async () => {
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, tls: true })
    const [a, b] = fed.sites
    const asA = new CoordinatorClient(fed.coordinator.address, await credentialsOf(fed, a!.id, a!.id))
    const hubAsA = new HubClient(fed.coordinator.address, await credentialsOf(fed, a!.id, a!.id))
    const hub = new HubClient(fed.coordinator.address, await credentialsOf(fed, 'hub', 'hub'))
    try {
      // Site b's validly signed hello, sent over site a's connection.
      const wrong = await refusal(asA.hello(helloOf(fed, b!)))
      expect(wrong.code).toBe('COORD_PEER_MISMATCH')
      expect(wrong.message).toContain(`site "${b!.id}"`)
      // Its own hello goes through.
      expect((await asA.hello(helloOf(fed, a!))).studyId).toBe(fed.config.study.id)
      // The hub key signs the request, but the connection is site a's.
      expect((await refusal(hubAsA.startNextRound(fed.hub))).code).toBe('COORD_PEER_MISMATCH')
      expect(Number((await hub.startNextRound(fed.hub)).round)).toBe(1)
    } finally {
      asA.close()
      hubAsA.close()
      hub.close()
    }
  })
})
