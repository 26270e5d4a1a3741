/**
 * A federation's log, served as C2SP tlog-tiles on the coordinator's HTTP
 * port (hub.json `http`), mirrored with `fedlineage log mirror` into a temp
 * dir and checked there with `log verify` and `audit` (blobs fetched from the
 * coordinator over libp2p, since tiles carry entries only). A proxy that
 * flips one bit of one tile makes the mirror fail with LEDGER_TILE_MISMATCH
 * and store nothing.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Ledger, checkpointVerifierKey, cosignatureVerifierKey, logOrigin, openLevelStorage, toHex, writeIdentity } from '../../ledger/index.ts'
import { runTool } from '../helpers/cli.ts'
import { createFederation, tempDir, testSigner } from '../helpers/federation.ts'

const HTTP = { http: { listen: '127.0.0.1:0' } }
/** The study's auditor (seed 60): the mirror is audited under its key, fetching blobs from the coordinator. */
const AUDITOR_SEED = 60
const AUDITOR = { name: 'regulator', publicKey: toHex(testSigner(AUDITOR_SEED).publicKey) }

/** A finished one-round study with its HTTP port on. */
async function finishedFederation() {
  const fed = await createFederation({ siteCount: 2, study: { rounds: 1, auditors: [AUDITOR] }, hub: HTTP })
  await Promise.all(fed.sites.map((s) => fed.runSite(s)))
  await fed.coordinator.completed
  return { fed, url: `http://${fed.coordinator.httpAddress}`, vkey: checkpointVerifierKey(logOrigin(fed.config.study.id), fed.hub.publicKey) }
}

/** An HTTP proxy to `target` that flips the first byte of the body of every GET whose path starts with `prefix`. */
async function tamperingProxy(target: string, prefix: string): Promise<string> {
  const server = http.createServer(async (req, res) => {
    const upstream = await fetch(target + req.url)
    const body = new Uint8Array(await upstream.arrayBuffer())
    if (req.url!.startsWith(prefix) && body.length > 0) body[0] = body[0]! ^ 1
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'application/octet-stream' })
    res.end(body)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  onTestFinished(() => new Promise<void>((done) => server.close(() => done())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('log mirror from tlog-tiles', () => {
  it('mirrors a federation log from the coordinator HTTP port; the mirror verifies and audits', { timeout: 120_000 }, async () => {
    // Prepare
    const { fed, url, vkey } = await finishedFederation()
    const out = await tempDir()
    const mirror = `${out}/mirror`
    const keys = await tempDir()
    const { keyFile } = await writeIdentity(keys, 'regulator', { seed: new Uint8Array(32).fill(AUDITOR_SEED) })

    // Execute
    const checkpoint = await fetch(`${url}/checkpoint`)
    const tile = await fetch(`${url}/tile/0/000.p/${fed.coordinator.ledger.length}`)
    const mirrored = await runTool(['log', 'mirror', '--url', url, '--out', mirror, '--verifier-key', vkey])
    const verified = await runTool(['log', 'verify', '--db', mirror, '--author', toHex(fed.hub.publicKey)])
    const audited = await runTool(['audit', '--db', mirror, '--key', keyFile, '--fetch-from', ...fed.coordinator.p2pAddrs])

    // Assert
    const size = fed.coordinator.ledger.length
    expect(checkpoint.headers.get('cache-control')).toBe('no-cache')
    expect(await checkpoint.text()).toBe((await fed.coordinator.ledger.cosignedCheckpointAt(size))!.note)
    expect(tile.headers.get('cache-control')).toBe('public, max-age=60')
    expect((await tile.arrayBuffer()).byteLength).toBe(size * 32)
    expect(mirrored.stderr).toBe('')
    expect(mirrored.status).toBe(0)
    expect(mirrored.stdout).toMatch(new RegExp(`^mirrored ${logOrigin(fed.config.study.id)}: ${size} entries, root [0-9a-f]{64}\\n`))
    expect(verified.status).toBe(0)
    expect(verified.stdout).toContain(`log verified: ${size} entries, head ${toHex(fed.coordinator.ledger.headHash)}`)
    expect(audited.stderr).toBe('')
    expect(audited.stdout).toMatch(/audit passed/)
  })

  it('needs exactly one key to check the log against', async () => {
    const out = `${await tempDir()}/mirror`
    const none = await runTool(['log', 'mirror', '--url', 'http://127.0.0.1:1', '--out', out])
    const witnessKey = await runTool(['log', 'mirror', '--url', 'http://127.0.0.1:1', '--out', out, '--verifier-key', cosignatureVerifierKey(testSigner(3).publicKey)])
    expect(none.stderr).toMatch(/^LEDGER_INVALID_ARGUMENT: give exactly one of --log-key HEX/)
    expect(witnessKey.stderr).toMatch(/^LEDGER_INVALID_ARGUMENT: --verifier-key: key type 0x4, want 0x01/)
  })

  it('refuses a tampered tile with LEDGER_TILE_MISMATCH and stores nothing', { timeout: 120_000 }, async () => {
    // Prepare
    const { url, vkey } = await finishedFederation()
    const proxy = await tamperingProxy(url, '/tile/0/')
    const mirror = `${await tempDir()}/mirror`

    // Execute
    const run = await runTool(['log', 'mirror', '--url', proxy, '--out', mirror, '--verifier-key', vkey])

    // Assert
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/^LEDGER_TILE_MISMATCH: tile tile\/0\/000\.p\/\d+: hash 0 /)
    const ledger = await Ledger.open(await openLevelStorage(mirror))
    expect(ledger.length).toBe(0)
    await ledger.close()
  })
})
