/**
 * The browser side of fedlineage: the static files of the coordinator's
 * live dashboard and of the audit's self-contained HTML report, served from
 * this package (never from a CDN: nothing to fetch from the network to open
 * either). Plain ES2020 scripts, no build step, each a `<script>` that adds
 * to `window.FL`:
 *
 * - `charts.js`: per-round metric charts (uPlot, bundled from npm);
 * - `lineage.js`: the model lineage as an SVG graph;
 * - `views.js`: the study's tables (rounds, sites, refusals, rewards), shared
 *   by the dashboard and the report, so both show a study view the same way;
 * - `dashboard.js` / `report.js`: the two pages' own logic.
 *
 * Both pages read the `StudyView` JSON of protocol/study-view.ts.
 *
 * It also holds the one read-only HTTP server (`startHttpServer`: GET and
 * HEAD only, bound where told, strict headers) that the coordinator's
 * dashboard and the site agent's metrics port run on.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

/** Every file the pages load, by the name they are served under (`/assets/<name>`). */
const ASSET_FILES = {
  'style.css': fileURLToPath(new URL('./assets/style.css', import.meta.url)),
  'charts.js': fileURLToPath(new URL('./assets/charts.js', import.meta.url)),
  'lineage.js': fileURLToPath(new URL('./assets/lineage.js', import.meta.url)),
  'views.js': fileURLToPath(new URL('./assets/views.js', import.meta.url)),
  'dashboard.js': fileURLToPath(new URL('./assets/dashboard.js', import.meta.url)),
  'report.js': fileURLToPath(new URL('./assets/report.js', import.meta.url)),
  'uplot.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
} as const

export type WebAssetName = keyof typeof ASSET_FILES

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
}

export function isWebAsset(name: string): name is WebAssetName {
  return Object.hasOwn(ASSET_FILES, name)
}

/** The text of a page asset. */
export function readWebAsset(name: WebAssetName): Promise<string> {
  return readFile(ASSET_FILES[name], 'utf8')
}

/** The Content-Type an asset is served with. */
export function webAssetContentType(name: WebAssetName): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream'
}

/** The dashboard page (it loads its assets from `/assets/`). */
export function readDashboardPage(): Promise<string> {
  return readFile(fileURLToPath(new URL('./assets/dashboard.html', import.meta.url)), 'utf8')
}

/** The scripts the report inlines, in load order. */
export const REPORT_SCRIPTS: readonly WebAssetName[] = ['uplot.js', 'charts.js', 'lineage.js', 'views.js', 'report.js']
/** The styles the report inlines. */
export const REPORT_STYLES: readonly WebAssetName[] = ['uplot.css', 'style.css']

export { SECURITY_HEADERS, hostAllowed, startHttpServer, type HttpHandler, type RunningHttpServer } from './http-server.ts'
