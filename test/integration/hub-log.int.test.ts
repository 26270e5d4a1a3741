/**
 * The hub's log over real gRPC on loopback: every refused hello, stream and
 * upload is logged with the site id it claimed (or "unknown"), the peer
 * address, the code and the reason; a flood of refusals from one peer is one
 * line plus one count per window, not one line each; and a site's task
 * stream ending logs `site disconnected` with the site, how long it was
 * connected and why.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeStatement, signStatement, type SignedStatement } from '../../protocol/index.ts'
import { createFederationClient, type FederationClient, type HelloResponse__Output } from '../../protos/index.ts'
import { CoordinatorClient } from '../../site-agent/index.ts'
import { capturingLogger, createFederation, openRoundWithEnvelopes, testSigner, type TestFederation } from '../helpers/federation.ts'

function hello(fed: TestFederation, init: { site?: string; study?: string; signer?: ReturnType<typeof testSigner> } = {}): SignedStatement {
  const site = fed.sites[0]!
  return signStatement(init.signer ?? site.signer, { t: 'hello', study: init.study ?? fed.config.study.id, site: init.site ?? site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
}

function sayHello(client: FederationClient, signed: SignedStatement): Promise<HelloResponse__Output> {
  return new Promise((resolve, reject) => client.Hello({ hello: signed }, { deadline: Date.now() + 5000 }, (err, r) => (err || !r ? reject(err) : resolve(r))))
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const refusals = (lines: Record<string, unknown>[]) => lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('request refused'))

describe("the hub's log of refusals and disconnects", () => {
  it('logs each refused hello, task stream and upload with the claimed site, the peer, the code and the reason', async () => {
    // Prepare: a window of 1 ms, so that no refusal here is held back by the rate limit (the hello and the upload share a code).
    const { logger, lines } = capturingLogger()
    const { fed, delta, envelopes } = await openRoundWithEnvelopes({ logger, refusalLogWindowMs: 1 })
    const client = createFederationClient(fed.coordinator.address)
    const site = fed.sites[0]!
    const forged = signStatement(testSigner(77), decodeStatement('update', envelopes[1]!.body))

    // Execute: an unknown site, another study, an enrolled site's id under another key, a bad session token, a forged upload.
    const outcomes = await Promise.allSettled([
      sayHello(client, hello(fed, { site: 'intruder-lab', signer: testSigner(77) })),
      sayHello(client, hello(fed, { study: 'another-study' })),
      sayHello(client, hello(fed, { signer: testSigner(78) })),
    ])
    await new Promise<void>((resolve) => {
      const call = client.Tasks({ sessionToken: randomBytes(32) })
      call.on('error', () => resolve())
      call.on('data', () => undefined)
    })
    const uploader = new CoordinatorClient(fed.coordinator.address)
    await new Promise((r) => setTimeout(r, 20))
    await uploader.uploadUpdate(forged, delta).catch(() => undefined)
    uploader.close()
    client.close()

    // Assert
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected'])
    const got = refusals(lines).map((l) => [l['rpc'], l['site'], l['code']])
    expect(got).toEqual(
      expect.arrayContaining([
        ['Hello', 'intruder-lab', 'COORD_UNKNOWN_SITE'],
        ['Hello', site.id, 'COORD_STUDY_MISMATCH'],
        ['Hello', site.id, 'COORD_BAD_SIGNATURE'],
        ['Tasks', 'unknown', 'COORD_SESSION_INVALID'],
        ['UploadUpdate', fed.sites[1]!.id, 'COORD_BAD_SIGNATURE'],
      ]),
    )
    for (const l of refusals(lines)) {
      expect(l['peer']).toMatch(/^(ipv4:)?127\.0\.0\.1:\d+$/)
      expect(String(l['reason']).length).toBeGreaterThan(10)
      expect(l['level']).toBe(40)
    }
    expect(refusals(lines).find((l) => l['site'] === 'intruder-lab')!['reason']).toMatch(/not enrolled in study "test-study"/)
  })

  it('rate-limits a flood from one peer: one line for the first refusal, one with the count when the window ends', async () => {
    // Prepare
    const { logger, lines } = capturingLogger()
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, logger, refusalLogWindowMs: 2000 })
    const client = createFederationClient(fed.coordinator.address)

    // Execute: 60 hellos from an unknown site, as fast as they go.
    const flood = await Promise.allSettled(Array.from({ length: 60 }, () => sayHello(client, hello(fed, { site: 'intruder-lab', signer: testSigner(77) }))))
    const during = refusals(lines).length
    await until(() => refusals(lines).length >= 2, 'the count at the end of the window', 5000)
    client.close()

    // Assert
    expect(flood.every((o) => o.status === 'rejected')).toBe(true)
    expect(during).toBe(1)
    const [first, count] = refusals(lines)
    expect([first!['site'], first!['code'], first!['repeated']]).toEqual(['intruder-lab', 'COORD_UNKNOWN_SITE', undefined])
    expect([count!['code'], count!['repeated']]).toEqual(['COORD_UNKNOWN_SITE', 59])
    expect(count!['msg']).toMatch(/^request refused, repeated: 59 more refusals from this peer with this code in the last 2 s/)
    expect(fed.coordinator.refusalStats()).toEqual({ logged: 2, suppressed: 59 })
  })

  it('logs `site disconnected` with the site, how long it was connected and why: cancelled, or replaced by a newer stream', async () => {
    // Prepare
    const { logger, lines } = capturingLogger()
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, logger })
    const client = createFederationClient(fed.coordinator.address)
    const site = fed.sites[0]!
    const token = (await sayHello(client, hello(fed))).sessionToken
    const disconnects = () => lines.filter((l) => l['msg'] === 'site disconnected')

    // Execute: a stream replaced by a newer one, then the newer one cancelled by the site.
    const first = client.Tasks({ sessionToken: token })
    first.on('error', () => undefined)
    first.on('data', () => undefined)
    await until(() => fed.coordinator.runner.state.sites.has(site.id) && lines.some((l) => l['msg'] === 'site hello'), 'the hello')
    await new Promise((r) => setTimeout(r, 200))
    const second = client.Tasks({ sessionToken: token })
    second.on('error', () => undefined)
    second.on('data', () => undefined)
    await until(() => disconnects().length >= 1, 'the replaced stream to be logged')
    await new Promise((r) => setTimeout(r, 300))
    second.cancel()
    await until(() => disconnects().length >= 2, 'the cancelled stream to be logged')
    client.close()

    // Assert
    const [replaced, cancelled] = disconnects()
    expect([replaced!['site'], replaced!['reason'], replaced!['code']]).toEqual([site.id, 'ended with an error', 'COORD_STREAM_REPLACED'])
    expect(replaced!['connectedMs']).toBeGreaterThanOrEqual(150)
    expect([cancelled!['site'], cancelled!['reason']]).toEqual([site.id, 'cancelled by the site (it stopped, or the connection was lost)'])
    expect(cancelled!['connectedMs']).toBeGreaterThanOrEqual(250)
    expect(cancelled!['peer']).toMatch(/127\.0\.0\.1:\d+$/)
  })
})
