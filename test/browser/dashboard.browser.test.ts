/**
 * The live dashboard in Debian's Chromium, against a real coordinator (gRPC
 * on 127.0.0.1, LevelDB in a temp dir) serving its HTTP port: the sites show,
 * a round's progress changes without a reload, the lineage graph has one node
 * per model, and a refused update shows with its code.
 */
import { describe, expect, it } from 'vitest'
import { CoordinatorClient, SiteRequestRejectedError } from '../../site-agent/index.ts'
import { BROWSER_SKIP_REASON, openBrowserPage, screenshot } from '../helpers/browser.ts'
import { createFederation, openRoundWithEnvelopes } from '../helpers/federation.ts'

const HTTP = { http: { listen: '127.0.0.1:0' } }
const WAIT = { timeout: 30_000 }

describe.skipIf(BROWSER_SKIP_REASON !== undefined)(`dashboard in Chromium${BROWSER_SKIP_REASON ? ` (skipped: ${BROWSER_SKIP_REASON})` : ''}`, () => {
  it('follows a real study live: sites come online, rounds progress without a reload, one lineage node per model', async () => {
    // Prepare: the page is open before any site connects.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2 }, hub: HTTP })
    const { page, errors } = await openBrowserPage()
    await page.goto(`http://${fed.coordinator.httpAddress}/`)
    await page.waitForSelector('table.sites tr[data-site]', WAIT)
    await page.evaluate('window.__sameDocument = true')
    const before = await page.$$eval('table.sites tr[data-site]', (rows) => rows.map((r) => [r.getAttribute('data-site'), r.getAttribute('data-online')]))
    await screenshot(page, 'dashboard-before-sites')
    // Execute: the sites run the study while the page watches.
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await page.waitForFunction(`document.querySelector('[data-field="status"] .value')?.textContent === 'study completed'`, undefined, WAIT)
    await page.waitForFunction(`document.querySelectorAll('#charts .chart[data-points="3"]').length === 3`, undefined, WAIT)
    // Assert
    expect(before).toEqual(fed.sites.map((s) => [s.id, 'no']))
    expect(await page.evaluate('window.__sameDocument')).toBe(true)
    const lineage = fed.coordinator.runner.state.committedRounds + 1
    expect(await page.$$eval('#lineage .lineage-node', (n) => n.length)).toBe(lineage)
    expect(await page.$$eval('#lineage .lineage-node', (n) => n.map((g) => g.getAttribute('data-round')))).toEqual(['0', '1', '2'])
    expect(await page.$$eval('#lineage .delta', (n) => n.length)).toBe(4)
    expect(await page.$$eval('table.rounds tbody tr', (rows) => rows.map((r) => r.getAttribute('data-status')))).toEqual(['committed', 'committed'])
    expect(await page.$$eval('table.round-sites tr[data-site]', (rows) => rows.map((r) => r.getAttribute('data-update')))).toEqual(['accepted', 'accepted'])
    const study = (await (await fetch(`http://${fed.coordinator.httpAddress}/api/study`)).json()) as { specHash: string }
    expect(await page.textContent('#spec-hash')).toBe(study.specHash)
    expect(study.specHash).toMatch(/^[0-9a-f]{64}$/)
    await screenshot(page, 'dashboard-study-completed')
    expect(errors).toEqual([])
  })

  it('shows a round open, a refused update with its code and an accepted one as they happen', async () => {
    // Prepare: round 1 open, two sites' envelopes signed; the page loaded once.
    const { fed, delta, envelopes } = await openRoundWithEnvelopes({ hub: HTTP })
    const [a, b] = fed.sites
    const { page, errors } = await openBrowserPage()
    await page.goto(`http://${fed.coordinator.httpAddress}/`)
    await page.waitForSelector(`table.round-sites tr[data-site="${a!.id}"][data-update="waiting"]`, WAIT)
    await page.waitForSelector('#live.on', WAIT)
    await page.evaluate('window.__sameDocument = true')
    const client = new CoordinatorClient(fed.coordinator.address)
    // Execute: site a's bytes do not match its envelope; site b's do.
    const wrong = new Uint8Array(delta)
    wrong[0]! ^= 1
    const refused = await client.uploadUpdate(envelopes[0]!, wrong).then(
      () => 'accepted',
      (err: unknown) => (err instanceof SiteRequestRejectedError ? err.remoteCode : String(err)),
    )
    await page.waitForSelector(`table.round-sites tr[data-site="${a!.id}"][data-update="refused"][data-code="COORD_DELTA_INTEGRITY"]`, WAIT)
    await screenshot(page, 'dashboard-refused-update')
    await client.uploadUpdate(envelopes[1]!, delta)
    client.close()
    await page.waitForSelector(`table.round-sites tr[data-site="${b!.id}"][data-update="accepted"]`, WAIT)
    // Assert
    expect(refused).toBe('COORD_DELTA_INTEGRITY')
    expect(await page.textContent(`table.round-sites tr[data-site="${a!.id}"]`)).toContain('COORD_DELTA_INTEGRITY')
    expect(await page.$$eval('table.refusals tr[data-code]', (rows) => rows.map((r) => [r.getAttribute('data-code'), r.querySelector('td.num')?.textContent]))).toEqual([
      ['COORD_DELTA_INTEGRITY', '1'],
    ])
    expect(await page.evaluate('window.__sameDocument')).toBe(true)
    await screenshot(page, 'dashboard-round-progress')
    expect(errors).toEqual([])
  })
})
