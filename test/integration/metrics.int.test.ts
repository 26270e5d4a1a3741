/**
 * The coordinator's HTTP port with Prometheus metrics: a real coordinator and
 * real site agents over gRPC on 127.0.0.1, scraped on `/metrics`, parsed as
 * the text format, and its numbers held against the log the study wrote.
 */
import http from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import { sha256 } from '../../ledger/index.ts'
import { ENTRY_KINDS, readLineageRecord } from '../../protocol/index.ts'
import { CoordinatorClient, SiteRequestRejectedError } from '../../site-agent/index.ts'
import { createFederation, openRoundWithEnvelopes } from '../helpers/federation.ts'
import { parsePrometheusText } from '../helpers/prometheus.ts'

const HTTP = { http: { listen: '127.0.0.1:0' } }

async function scrape(address: string | undefined) {
  const res = await fetch(`http://${address}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await res.text())
}

describe('coordinator metrics on /metrics', () => {
  it('counts rounds, updates, appends and bytes as the log and the wire say', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 }, hub: HTTP })
    // Execute
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const m = await scrape(fed.coordinator.httpAddress)
    // Assert
    const kinds = new Map<string, number>()
    for await (const { entry } of fed.coordinator.ledger.scan()) kinds.set(readLineageRecord(entry).kind, (kinds.get(readLineageRecord(entry).kind) ?? 0) + 1)
    expect(m.types.get('fedlineage_rounds_committed_total')).toBe('counter')
    expect(m.value('fedlineage_rounds_committed_total')).toBe(kinds.get(ENTRY_KINDS.ROUND_COMMITTED))
    expect(m.value('fedlineage_rounds_committed_total')).toBe(2)
    expect(m.value('fedlineage_updates_logged_total', { outcome: 'accepted' })).toBe(kinds.get(ENTRY_KINDS.UPDATE_ACCEPTED))
    expect(m.value('fedlineage_upload_calls_total', { code: 'OK' })).toBe(kinds.get(ENTRY_KINDS.UPDATE_ACCEPTED))
    expect(m.value('fedlineage_log_entries')).toBe(fed.coordinator.ledger.length)
    // Entries written once the coordinator was up (the study's creation and round 1, opened at start, precede its metrics), counted by kind.
    for (const kind of [ENTRY_KINDS.UPDATE_ACCEPTED, ENTRY_KINDS.ROUND_COMMITTED, ENTRY_KINDS.EVALUATION_REPORTED])
      expect(m.value('fedlineage_log_entries_appended_total', { kind })).toBe(kinds.get(kind))
    expect(m.value('fedlineage_log_entries_appended_total')).toBeLessThan(fed.coordinator.ledger.length)
    expect(m.value('fedlineage_log_appends_total')).toBeGreaterThan(0)
    expect(m.value('fedlineage_round_duration_seconds_count', { status: 'committed' })).toBe(2)
    expect(m.value('fedlineage_grpc_bytes_received_total')).toBeGreaterThan(2 * fed.coordinator.runner.state.deltaSizeBytes * 2)
    expect(m.value('fedlineage_grpc_bytes_sent_total')).toBeGreaterThan(0)
    expect(m.value('fedlineage_current_round')).toBe(2)
    expect(m.value('fedlineage_enrolled_sites')).toBe(2)
    // Each site's replica cosigns the checkpoints it verified: its lag is the log's size minus the newest it cosigned.
    expect(m.types.get('fedlineage_replication_lag_entries')).toBe('gauge')
    await vi.waitFor(
      async () => {
        const lag = (await scrape(fed.coordinator.httpAddress)).samples.filter((s) => s.name === 'fedlineage_replication_lag_entries')
        expect(lag.map((s) => s.labels['peer']).sort()).toEqual(fed.sites.map((s) => s.id).sort())
        const sites = (await (await fetch(`http://${fed.coordinator.httpAddress}/api/sites`)).json()) as { id: string; cosignedSize: number | null }[]
        for (const s of lag) expect(s.value).toBe(fed.coordinator.ledger.length - sites.find((x) => x.id === s.labels['peer'])!.cosignedSize!)
      },
      { timeout: 10_000 },
    )
  })

  it('counts a refused upload under its code, logged or not, and moves the counter between scrapes', async () => {
    // Prepare
    const { fed, delta, envelopes } = await openRoundWithEnvelopes({ hub: HTTP })
    const client = new CoordinatorClient(fed.coordinator.address)
    const before = await scrape(fed.coordinator.httpAddress)
    // Execute: bytes that do not hash to what the envelope signed.
    const wrong = new Uint8Array(delta)
    wrong[0]! ^= 1
    const refused = await client.uploadUpdate(envelopes[0]!, wrong).then(
      () => 'accepted',
      (err: unknown) => (err instanceof SiteRequestRejectedError ? err.remoteCode : String(err)),
    )
    await client.uploadUpdate(envelopes[1]!, delta)
    client.close()
    const after = await scrape(fed.coordinator.httpAddress)
    // Assert
    expect(refused).toBe('COORD_DELTA_INTEGRITY')
    expect(before.value('fedlineage_upload_calls_total', { code: 'COORD_DELTA_INTEGRITY' })).toBeUndefined()
    expect(after.value('fedlineage_upload_calls_total', { code: 'COORD_DELTA_INTEGRITY' })).toBe(1)
    expect(after.value('fedlineage_upload_calls_total', { code: 'OK' })).toBe(1)
    expect(after.value('fedlineage_updates_logged_total', { outcome: 'rejected', code: 'COORD_DELTA_INTEGRITY' })).toBe(1)
    expect(after.value('fedlineage_grpc_calls_total', { method: 'UploadUpdate' })).toBe(2)
    expect(after.value('fedlineage_grpc_bytes_received_total')!).toBeGreaterThan(before.value('fedlineage_grpc_bytes_received_total')! + 2 * delta.length)
    expect(sha256(wrong)).not.toEqual(sha256(delta))
  })

  it('is read-only, bound where told, and off unless configured', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, hub: HTTP })
    const off = await createFederation({ siteCount: 2 })
    const base = `http://${fed.coordinator.httpAddress}`
    // Execute
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })
    const put = await fetch(`${base}/api/dashboard`, { method: 'PUT', body: 'x' })
    const missing = await fetch(`${base}/nothing-here`)
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' })
    // A page that rebinds its own name to 127.0.0.1 sends that name as Host.
    const rebound = await new Promise<number>((resolve, reject) => {
      const [h, p] = fed.coordinator.httpAddress!.split(':')
      http
        .get({ host: h, port: Number(p), path: '/api/dashboard', headers: { Host: `evil.example:${p}` } }, (res) => {
          res.resume()
          resolve(res.statusCode!)
        })
        .on('error', reject)
    })
    // Assert
    expect(fed.coordinator.httpAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect(put.status).toBe(405)
    expect(missing.status).toBe(404)
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect(rebound).toBe(421)
    expect(off.coordinator.httpAddress).toBeUndefined()
  })
})
