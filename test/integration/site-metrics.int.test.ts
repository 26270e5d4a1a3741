/**
 * The site agent's own metrics port: a real site agent trains in a real study
 * (coordinator over gRPC on 127.0.0.1) while its events feed the metrics, and
 * a scrape of `/metrics` holds the training it did and the uploads the
 * coordinator accepted, as the log records them.
 */
import { describe, expect, it } from 'vitest'
import { mirrorLog, toHex, type Ledger } from '../../ledger/index.ts'
import { ENTRY_KINDS, readLineageRecord } from '../../protocol/index.ts'
import { startSiteMetrics, type SiteAgentEvent } from '../../site-agent/index.ts'
import { createFederation } from '../helpers/federation.ts'
import { createLedger, testDrafts } from '../helpers/ledger.ts'
import { parsePrometheusText } from '../helpers/prometheus.ts'

describe('site agent metrics on /metrics', () => {
  it('counts training time and examples, accepted uploads and evaluations as the site did them', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 } })
    const metrics = await startSiteMetrics('127.0.0.1:0', (err) => {
      throw err
    })
    const events: SiteAgentEvent[] = []
    const [a, b] = fed.sites
    // Execute
    await Promise.all([
      fed.runSite(a!, (e) => {
        events.push(e)
        metrics.record(e)
      }),
      fed.runSite(b!),
    ])
    await fed.coordinator.completed
    const res = await fetch(`http://${metrics.address}/metrics`)
    const m = parsePrometheusText(await res.text())
    const post = await fetch(`http://${metrics.address}/metrics`, { method: 'POST' })
    await metrics.close()
    // Assert
    const trained = events.filter((e) => e.type === 'trained')
    let logged = 0
    for await (const { entry } of fed.coordinator.ledger.scan()) {
      const r = readLineageRecord(entry)
      if (r.kind === ENTRY_KINDS.UPDATE_ACCEPTED && r.body.site === a!.id) logged++
    }
    expect(res.status).toBe(200)
    expect(trained).toHaveLength(2)
    expect(m.value('fedlineage_site_training_seconds_count')).toBe(2)
    expect(m.value('fedlineage_site_training_seconds_sum')).toBeCloseTo(
      trained.reduce((s, e) => s + e.durationMs / 1000, 0),
      6,
    )
    expect(m.value('fedlineage_site_training_examples_total')).toBe(trained.reduce((s, e) => s + e.examples, 0))
    expect(m.value('fedlineage_site_uploads_total', { code: 'OK' })).toBe(logged)
    expect(m.value('fedlineage_site_round')).toBe(2)
    expect(m.value('fedlineage_site_evaluations_total', { outcome: 'reported' })).toBeGreaterThanOrEqual(2)
    expect(m.value('fedlineage_site_last_evaluation', { metric: 'accuracy' })).toBeGreaterThan(0)
    expect(post.status).toBe(405)
  })
})

describe('site metrics port serving the replica as tlog-tiles', () => {
  it('serves the replica it is given as tiles that mirror to the same log, and says so when it holds none', async () => {
    // Prepare: a replica of 300 entries (a full level-0 tile and a partial one) under a signed checkpoint.
    const replica = await createLedger()
    await replica.ledger.append(replica.signer, testDrafts(300))
    await replica.ledger.checkpoint(replica.signer, 'site-tiles-test')
    let held: Ledger | undefined
    const metrics = await startSiteMetrics(
      '127.0.0.1:0',
      (err) => {
        throw err
      },
      () => held,
    )
    const target = await createLedger()
    try {
      // Execute
      const before = await fetch(`http://${metrics.address}/checkpoint`)
      held = replica.ledger
      const mirrored = await mirrorLog({ url: `http://${metrics.address}`, logKey: replica.signer.publicKey, origin: 'site-tiles-test', into: target.ledger })

      // Assert
      expect(before.status).toBe(404)
      expect(await before.text()).toMatch(/holds no replica of the log/)
      expect(mirrored.checkpoint.size).toBe(300)
      expect(target.ledger.length).toBe(300)
      expect(toHex(target.ledger.headHash)).toBe(toHex(replica.ledger.headHash))
    } finally {
      await metrics.close()
      await target.close()
      await replica.close()
    }
  })
})
