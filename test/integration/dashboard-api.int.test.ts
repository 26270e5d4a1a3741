/**
 * The dashboard's JSON API on the coordinator's HTTP port, over a real study:
 * every documented path answers the study view of the log, the event stream
 * says when the log grows, and nothing secret leaves (no key seed, no delta
 * bytes: deltas appear by hash only).
 */
import { describe, expect, it } from 'vitest'
import { toHex } from '../../ledger/index.ts'
import { HubClient } from '../../coordinator/index.ts'
import { createFederation } from '../helpers/federation.ts'

const HTTP = { http: { listen: '127.0.0.1:0' } }
const PATHS = ['/api/dashboard', '/api/study', '/api/sites', '/api/rounds', '/api/rounds/current', '/api/lineage', '/api/refusals', '/api/rewards', '/api/log'] as const

describe('dashboard JSON API', () => {
  it('answers every documented path from the log, and sends no key or delta bytes', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, study: { rounds: 1 }, hub: HTTP })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const base = `http://${fed.coordinator.httpAddress}`
    // Execute
    const bodies = new Map<string, string>()
    for (const p of PATHS) {
      const res = await fetch(base + p)
      expect(res.status, p).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      bodies.set(p, await res.text())
    }
    const page = await fetch(`${base}/`)
    const asset = await fetch(`${base}/assets/uplot.js`)
    // Assert
    const view = JSON.parse(bodies.get('/api/dashboard')!)
    const state = fed.coordinator.runner.state
    expect(view.study.id).toBe(state.studyId)
    expect(view.lineage.map((n: { model: string }) => n.model)).toEqual([toHex(state.genesis), toHex(state.rounds.get(1)!.commit!.body.model)])
    expect(view.siteStatus.map((s: { id: string }) => s.id)).toEqual(fed.sites.map((s) => s.id).sort())
    expect(view.log.size).toBe(fed.coordinator.ledger.length)
    expect(view.log.head).toBe(toHex(fed.coordinator.ledger.headHash))
    expect(JSON.parse(bodies.get('/api/lineage')!)).toEqual(view.lineage)
    // Every site downloaded round 1's base model (the genesis) before training, and the view says when.
    const current = JSON.parse(bodies.get('/api/rounds/current')!)
    expect(Object.keys(current.downloadedMs).sort()).toEqual(fed.sites.map((s) => s.id).sort())
    for (const at of Object.values(current.downloadedMs)) expect(at).toBeGreaterThanOrEqual(state.rounds.get(1)!.openedMs)
    const all = [...bodies.values()].join('\n')
    // The test keys' seeds are n repeated 32 times (hub 1, sites 10+i); no seed appears.
    for (const n of [1, 10, 11]) expect(all).not.toContain(toHex(new Uint8Array(32).fill(n)))
    const delta = await fed.coordinator.ledger.getBlob(state.rounds.get(1)!.commit!.body.inputs[0]!.delta)
    expect(all).not.toContain(toHex(delta.subarray(0, 64)))
    expect(all).not.toContain(Buffer.from(delta.subarray(0, 64)).toString('base64'))
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(await page.text()).not.toMatch(/https?:\/\/(?!127)/)
    expect(asset.status).toBe(200)
  })

  it('sends an update event when the log grows', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 2, autoAdvance: false, hub: HTTP })
    const res = await fetch(`http://${fed.coordinator.httpAddress}/api/events`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (want: RegExp) => {
      while (!want.test(text)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`event stream ended before ${want}: ${text}`)
        text += decoder.decode(value)
      }
    }
    await readUntil(/event: update\ndata: \{"logSize":\d+\}\n\n/)
    const size = fed.coordinator.ledger.length
    // Execute
    const hub = new HubClient(fed.coordinator.address)
    await hub.startNextRound(fed.hub)
    hub.close()
    // Assert
    await readUntil(new RegExp(`"logSize":${size + 1}`))
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    await reader.cancel()
  })
})
