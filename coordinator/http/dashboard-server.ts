/**
 * The coordinator's HTTP port (`--http 127.0.0.1:PORT`, hub.json `http`):
 * Prometheus metrics on `/metrics`, the live dashboard on `/`, its JSON API
 * under `/api/` and its live updates on `/api/events`. Read-only, off unless
 * configured; it serves public log data and counters, never a key, a delta's
 * bytes or a session token.
 *
 * Routes (the README's "Dashboard and metrics" section documents each):
 *   GET /                       the dashboard page
 *   GET /assets/<name>          its scripts and styles (web/)
 *   GET /metrics                Prometheus text format
 *   GET /api/dashboard          everything below in one object
 *   GET /api/study | /api/sites | /api/rounds | /api/rounds/current | /api/lineage | /api/refusals | /api/rewards | /api/log
 *   GET /api/events             server-sent `update` events
 *   GET /checkpoint             the log's newest signed checkpoint (c2sp.org/tlog-tiles)
 *   GET /tile/<L>/<N>[.p/<W>]   its Merkle tree as hash tiles
 *   GET /tile/entries/<N>[.p/<W>]  its entries as entry bundles
 *
 * The tiles serve nothing a participant's replica does not already hold
 * (every entry is replicated to every participant over libp2p), but they
 * serve it to whoever reaches the port: entries name sites, pseudonyms of
 * withdrawn patients, metrics and the hashes of models and deltas (never the
 * blobs). On the default loopback bind, with its Host check, that is the
 * operator; binding it wider publishes the log to that network, as the
 * README's "Serving the log as tiles" says.
 */
import type http from 'node:http'
import type { Logger } from 'pino'
import { isWebAsset, readDashboardPage, readWebAsset, webAssetContentType } from '../../web/index.ts'
import { isTileRoute, sendTile, toHex, type Ledger } from '../../ledger/index.ts'
import type { RoundRunner } from '../round-runner.ts'
import type { SitePresence } from '../task-broker.ts'
import { dashboardView, type DashboardView } from './dashboard-view.ts'
import { EventStreams } from './events.ts'
import type { CoordinatorMetrics } from './metrics.ts'
import { startHttpServer, type RunningHttpServer } from '../../web/index.ts'

export interface DashboardServerComponents {
  readonly runner: RoundRunner
  readonly ledger: Ledger
  readonly metrics: CoordinatorMetrics
  readonly presence: () => readonly SitePresence[]
  readonly fitTasksSent: (round: number) => ReadonlyMap<string, number>
  readonly modelDownloads: (modelHex: string) => ReadonlyMap<string, number>
  readonly logger: Logger
  readonly now: () => number
}

/** How often presence and task delivery are compared for a change worth an event. */
const PRESENCE_POLL_MS = 500

/** The slices of the dashboard view each `/api/` path answers. */
const API_SLICES: Readonly<Record<string, (v: DashboardView) => unknown>> = {
  '/api/dashboard': (v) => v,
  '/api/study': (v) => v.study,
  '/api/sites': (v) => v.siteStatus,
  '/api/rounds': (v) => v.rounds,
  '/api/rounds/current': (v) => (v.current === null ? null : { ...v.current, view: v.rounds.find((r) => r.round === v.current!.round) ?? null }),
  '/api/lineage': (v) => v.lineage,
  '/api/refusals': (v) => v.refusals,
  '/api/rewards': (v) => ({
    balances: v.balances,
    rounds: v.rounds.map((r) => ({ round: r.round, allocations: r.sites.filter((s) => s.reward !== null).map((s) => ({ site: s.site, amount: s.reward })) })),
  }),
  '/api/log': (v) => v.log,
}

function send(res: http.ServerResponse, status: number, type: string, body: string, cache = 'no-store'): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': cache, 'Content-Length': Buffer.byteLength(body) })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

export async function startDashboardServer(c: DashboardServerComponents, host: string, port: number): Promise<RunningHttpServer> {
  const events = new EventStreams()
  const view = () => dashboardView({ ...c, cosignedSizes: () => c.metrics.cosignedSizes() })
  const changed = () => events.send('update', { logSize: c.ledger.length })
  c.runner.on('appended', changed)
  c.runner.on('cosigned', changed)
  // Presence and task delivery are not log entries: compared on a timer, and sent when they change.
  let last = ''
  const poll = setInterval(() => {
    if (events.size === 0) return
    const round = c.runner.state.lastRound
    const base = c.runner.state.rounds.get(round)?.base
    const now = JSON.stringify([c.presence().map((p) => [p.site, p.online]), [...c.fitTasksSent(round)], base === undefined ? [] : [...c.modelDownloads(toHex(base))]])
    if (now !== last) changed()
    last = now
  }, PRESENCE_POLL_MS)
  poll.unref()

  const server = await startHttpServer(
    host,
    port,
    async (req, res, url) => {
      const path = url.pathname
      if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', await readDashboardPage())
      if (path.startsWith('/assets/')) {
        const name = path.slice('/assets/'.length)
        if (!isWebAsset(name)) return send(res, 404, 'text/plain; charset=utf-8', `no asset ${name}\n`)
        return send(res, 200, webAssetContentType(name), await readWebAsset(name), 'public, max-age=300')
      }
      if (path === '/metrics') return send(res, 200, c.metrics.contentType, await c.metrics.text())
      if (path === '/api/events') return events.add(req, res, { logSize: c.ledger.length })
      if (isTileRoute(path)) return sendTile(c.ledger, req, res, path)
      const slice = API_SLICES[path]
      if (slice !== undefined) return send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(slice(await view()))}\n`)
      send(res, 404, 'text/plain; charset=utf-8', `no such page: ${path} (see / for the dashboard, /api/dashboard for its data, /metrics for Prometheus, /checkpoint and /tile/ for the log)\n`)
    },
    (err) => c.logger.error({ err }, 'dashboard request failed'),
  )
  return {
    ...server,
    close: async () => {
      clearInterval(poll)
      c.runner.off('appended', changed)
      c.runner.off('cosigned', changed)
      events.close()
      await server.close()
    },
  }
}
