/**
 * `fedlineage audit --html`: the report of a real federation's log (a
 * coordinator and three site agents over gRPC, LevelDB copied to a temp dir)
 * is one file that loads nothing from elsewhere; opened from disk in
 * Chromium it shows every round, the lineage and the charts; for a tampered
 * log its failing entry comes first, highlighted.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseAuditOptions, runAudit } from '../../auditor/index.ts'
import type { CliIo } from '../../cli/index.ts'
import { readBlob, storeBlobAs, useRecordedFederation } from '../helpers/audit.ts'
import { BROWSER_SKIP_REASON, openBrowserPage, screenshot } from '../helpers/browser.ts'
import { createTempDir } from '../helpers/ledger.ts'

const recorded = useRecordedFederation()

const quietIo = (): CliIo => ({ stdout: new PassThrough().resume(), stderr: Object.assign(new PassThrough().resume(), { isTTY: false }), setExitCode: () => undefined })

/** Runs `fedlineage audit --db DIR --html FILE` in-process; resolves with the file and the audit's error code, if any. */
async function auditHtml(dir: string): Promise<{ file: string; html: string; code: string | undefined }> {
  const file = path.join(await createTempDir(), 'report.html')
  const code = await runAudit(parseAuditOptions({ db: dir, html: file }), quietIo()).then(
    () => undefined,
    (err: unknown) => (err as { code?: string }).code,
  )
  return { file, html: await readFile(file, 'utf8'), code }
}

/** A log whose round-1 delta of one site holds another site's bytes: the audit fails at its update-accepted entry. */
async function tamperedLog() {
  const log = await recorded()
  const [a, b] = log.records.filter((r) => r.kind === 'update-accepted' && r.body.round === 1)
  if (a?.kind !== 'update-accepted' || b?.kind !== 'update-accepted') throw new Error('round 1 has two updates')
  await storeBlobAs(log.dir, a.body.delta, await readBlob(log.dir, b.body.delta))
  return { log, failingSeq: a.seq }
}

describe('audit --html writes one self-contained file', () => {
  it('inlines every script and style, loads nothing, and holds every round', async () => {
    // Prepare
    const log = await recorded()
    // Execute
    const { html, code } = await auditHtml(log.dir)
    // Assert
    expect(code).toBeUndefined()
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+rel="stylesheet"|url\(\s*['"]?https?:|(?:src|href)="https?:/)
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`)
    expect(html).toContain('uPlot')
    expect(html).toContain('@media print')
    expect(html.match(/<tr data-round="\d+" data-status="committed"/g)).toHaveLength(3)
    expect(html).not.toContain('id="failure"')
  })

  it('puts a failing entry first, before the verdict and the rounds', async () => {
    // Prepare
    const { log, failingSeq } = await tamperedLog()
    // Execute
    const { html, code } = await auditHtml(log.dir)
    // Assert
    expect(code).toBe('AUDIT_BLOB_MISMATCH')
    const failure = html.indexOf(`<section class="failure" id="failure" data-seq="${failingSeq}" data-code="AUDIT_BLOB_MISMATCH">`)
    expect(failure).toBeGreaterThan(0)
    expect(failure).toBeLessThan(html.indexOf('id="verdict"'))
    expect(failure).toBeLessThan(html.indexOf('<h2>Checks per round</h2>'))
    expect(html).toMatch(/<tr data-round="1" data-status="[a-z]+" class="failed-row">/)
  })
})

describe.skipIf(BROWSER_SKIP_REASON !== undefined)(`audit --html in Chromium${BROWSER_SKIP_REASON ? ` (skipped: ${BROWSER_SKIP_REASON})` : ''}`, () => {
  it('opens from a file and shows every round, one lineage node per model and the charts', async () => {
    // Prepare
    const log = await recorded()
    const { file } = await auditHtml(log.dir)
    const { page, errors } = await openBrowserPage()
    // Execute
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('body[data-rendered="yes"]', { timeout: 30_000 })
    // Assert
    expect(await page.$$eval('table.checks tbody tr', (rows) => rows.map((r) => r.getAttribute('data-round')))).toEqual(['1', '2', '3'])
    expect(await page.$$eval('#round-details section.round-detail', (s) => s.map((x) => x.getAttribute('data-round')))).toEqual(['1', '2', '3'])
    expect(await page.$$eval('#lineage .lineage-node', (n) => n.length)).toBe(4)
    expect(await page.$$eval('#charts .chart canvas', (c) => c.length)).toBe(3)
    expect(await page.textContent('#verdict')).toMatch(/^audit passed: 3 rounds re-derived/)
    await screenshot(page, 'audit-report-passed')
    await page.emulateMedia({ media: 'print' })
    await screenshot(page, 'audit-report-print')
    expect(errors).toEqual([])
  })

  it("shows a tampered log's failing entry first and highlighted", async () => {
    // Prepare
    const { log, failingSeq } = await tamperedLog()
    const { file } = await auditHtml(log.dir)
    const { page, errors } = await openBrowserPage()
    // Execute
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('body[data-rendered="yes"]', { timeout: 30_000 })
    // Assert: the first thing after the title is the failure, and the round that holds it leads the details, highlighted.
    const firstSection = await page.$eval('body > header + *', (e) => [e.id, e.getAttribute('data-seq'), e.getAttribute('data-code')])
    expect(firstSection).toEqual(['failure', String(failingSeq), 'AUDIT_BLOB_MISMATCH'])
    expect(await page.evaluate(`getComputedStyle(document.getElementById('failure')).borderTopColor`)).toBe('rgb(207, 34, 46)')
    expect(await page.$eval('#round-details section.round-detail', (s) => [s.getAttribute('data-round'), s.className])).toEqual(['1', 'round-detail failure'])
    expect(await page.$$eval('table.checks tr.failed-row', (r) => r.map((x) => x.getAttribute('data-round')))).toEqual(['1'])
    await screenshot(page, 'audit-report-failed')
    expect(errors).toEqual([])
  })
})
