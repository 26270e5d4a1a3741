/**
 * The site agent's own optional metrics port (site.json `metrics.listen` or
 * `fedlineage site --metrics host:port`): Prometheus text on `/metrics`,
 * read-only, counted from the agent's events. It says how the site works
 * (rounds trained, training time, examples, uploads by outcome, evaluations,
 * reconnects), never what its records hold: no patient ids, no data.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { startHttpServer, type RunningHttpServer } from '../web/index.ts'
import { isTileRoute, sendTile, type Ledger } from '../ledger/index.ts'
import type { SiteAgentEvent } from './agent.ts'

const PREFIX = 'fedlineage_site_'
/** Local training per round: a second to an hour. */
const TRAINING_BUCKETS_S = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600]

export interface RunningSiteMetrics {
  /** host:port bound. */
  readonly address: string
  /** Counts one agent event (pass to `SiteAgent.onEvent`). */
  record(event: SiteAgentEvent): void
  close(): Promise<void>
}

/** The site's metrics, in a registry of their own (several agents may run in one process). */
export class SiteMetrics {
  readonly registry = new Registry()
  private readonly training: Histogram
  private readonly examples: Counter
  private readonly uploads: Counter<'code'>
  private readonly uploadBytes: Counter
  private readonly evaluations: Counter<'outcome'>
  private readonly lastEvaluation: Gauge<'metric'>
  private readonly reconnects: Counter
  private readonly declined: Counter<'code'>
  private readonly round: Gauge
  private readonly dpEpsilon: Gauge
  private readonly dpBudget: Gauge

  constructor() {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX })
    this.training = new Histogram({ name: `${PREFIX}training_seconds`, help: 'Local training time per round', buckets: TRAINING_BUCKETS_S, registers })
    this.examples = new Counter({ name: `${PREFIX}training_examples_total`, help: 'Records trained on, summed over rounds', registers })
    this.uploads = new Counter({ name: `${PREFIX}uploads_total`, help: 'Update uploads by outcome: OK, or the refusal code', labelNames: ['code'], registers })
    this.uploadBytes = new Counter({ name: `${PREFIX}upload_bytes_total`, help: 'Delta bytes of accepted uploads', registers })
    this.evaluations = new Counter({ name: `${PREFIX}evaluations_total`, help: 'Evaluations of committed models, reported or refused', labelNames: ['outcome'], registers })
    this.lastEvaluation = new Gauge({ name: `${PREFIX}last_evaluation`, help: "The site's newest evaluation of a committed model, per metric", labelNames: ['metric'], registers })
    this.reconnects = new Counter({ name: `${PREFIX}reconnects_total`, help: 'Reconnections to the coordinator', registers })
    this.declined = new Counter({ name: `${PREFIX}tasks_declined_total`, help: 'Tasks the site declined under its approval or policy, by code', labelNames: ['code'], registers })
    this.round = new Gauge({ name: `${PREFIX}round`, help: 'The newest round the site trained for', registers })
    this.dpEpsilon = new Gauge({ name: `${PREFIX}dp_sgd_epsilon`, help: "The site's DP-SGD account: ε spent at policy.dpSgd.delta after its newest round (policy.dpSgd)", registers })
    this.dpBudget = new Gauge({ name: `${PREFIX}dp_sgd_epsilon_budget`, help: "The site's DP-SGD budget policy.dpSgd.epsilon (absent: none)", registers })
  }

  record(e: SiteAgentEvent): void {
    switch (e.type) {
      case 'trained':
        this.training.observe(e.durationMs / 1000)
        this.examples.inc(e.examples)
        this.round.set(e.round)
        break
      case 'dp-sgd':
        this.dpEpsilon.set(e.epsilon)
        if (e.budget !== undefined) this.dpBudget.set(e.budget)
        break
      case 'uploaded':
        this.uploads.inc({ code: 'OK' })
        this.uploadBytes.inc(e.bytes)
        break
      case 'update-refused':
        this.uploads.inc({ code: e.code ?? 'UNKNOWN' })
        break
      case 'evaluated':
        this.evaluations.inc({ outcome: 'reported' })
        for (const [metric, v] of Object.entries(e.metrics)) if (Number.isFinite(v)) this.lastEvaluation.set({ metric }, v)
        break
      case 'evaluation-refused':
        this.evaluations.inc({ outcome: 'refused' })
        break
      case 'reconnecting':
        this.reconnects.inc()
        break
      case 'declined':
        this.declined.inc({ code: e.code })
        break
    }
  }
}

/**
 * Serves a fresh `SiteMetrics` on `listen` (`host:port`; port 0 picks a free
 * one), and, when `replica` gives the site's verified replica of the log,
 * that replica as C2SP tlog-tiles (`/checkpoint`, `/tile/...`), so the log
 * can be mirrored from any participant, not only from the coordinator
 * (`fedlineage log mirror --url`). The replica holds nothing its site may
 * not already share: every participant replicates every entry.
 */
export async function startSiteMetrics(listen: string, onError: (err: unknown) => void, replica?: () => Ledger | undefined): Promise<RunningSiteMetrics> {
  const metrics = new SiteMetrics()
  const at = listen.lastIndexOf(':')
  const server: RunningHttpServer = await startHttpServer(
    listen.slice(0, at),
    Number(listen.slice(at + 1)),
    async (req, res, url) => {
      if (isTileRoute(url.pathname)) {
        const ledger = replica?.()
        if (ledger === undefined) {
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
          res.end('this site holds no replica of the log (yet): its tiles are not served\n')
          return
        }
        return sendTile(ledger, req, res, url.pathname)
      }
      if (url.pathname !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(`no such page: ${url.pathname} (/metrics for Prometheus; /checkpoint and /tile/ for the log, once the replica runs)\n`)
        return
      }
      const body = await metrics.registry.metrics()
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' })
      res.end(res.req.method === 'HEAD' ? undefined : body)
    },
    onError,
  )
  return { address: server.address, record: (e) => metrics.record(e), close: () => server.close() }
}
