/**
 * The replica addresses a deployment sets: the coordinator announces the
 * address its sites dial (here a DNS name for a fixed loopback port), sites
 * learn it at hello and replicate through it; and a site whose state folder
 * cannot be written refuses to start, instead of training on with no replica.
 */
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseSiteConfig, SiteAgent } from '../../site-agent/index.ts'
import { createFederation, quietLogger } from '../helpers/federation.ts'

/** A TCP port free on 127.0.0.1 right now (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('replica listen and announce addresses', () => {
  it('gives sites the announced address at hello, and they replicate the whole log through it', async () => {
    // Prepare: the coordinator binds a fixed port on loopback and announces it by name.
    const port = await freePort()
    const fed = await createFederation({ siteCount: 2, study: { rounds: 1 }, hub: { p2p: { listen: [`/ip4/127.0.0.1/tcp/${port}`], announce: [`/dns4/localhost/tcp/${port}`] } } })
    const peerId = fed.coordinator.replica!.peerId.toString()

    // Execute
    const summaries = await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed

    // Assert: only the announced address is handed out, and every site's replica holds the whole log.
    expect(fed.coordinator.p2pAddrs).toEqual([`/dns4/localhost/tcp/${port}/p2p/${peerId}`])
    for (const s of summaries) expect(s.replicaEntries).toBe(fed.coordinator.ledger.length)
  })

  it('refuses to start a site whose replica folder cannot be written, naming the field', async () => {
    // Prepare: the replica folder lies under a regular file, so it can never be created (root or not).
    const fed = await createFederation({ siteCount: 2, autoAdvance: false })
    const blocker = path.join(fed.dir, 'read-only')
    await writeFile(blocker, '')
    const site = fed.sites[0]!
    const config = parseSiteConfig({ ...fed.siteConfig(site), p2p: { dataDir: path.join(blocker, 'replica') } }, 'site.json', fed.dir)
    const agent = new SiteAgent({ signer: site.signer, logger: quietLogger }, config)

    // Execute
    const run = agent.run(AbortSignal.timeout(20_000))

    // Assert: refused before any contact with the coordinator.
    await expect(run).rejects.toMatchObject({
      code: 'SITE_CONFIG_INVALID',
      message: expect.stringMatching(/^p2p\.dataDir .*read-only\/replica: cannot write there \(.*read-only is not a folder\).*"stateDir"/),
    })
  })
})
