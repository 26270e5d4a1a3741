/** bench:replicas' figures per scale, and its tables. */
import { median } from '../support/median.ts'
import type { ReplicaScaleRun } from './federation.ts'

export interface ReplicaScaleSummary {
  readonly sites: number
  readonly coordinatorEntries: number
  readonly replicasStarted: number
  readonly replicasWithFullLog: number
  /** Sites whose agent failed (they still count as they stand). */
  readonly siteErrors: number
  readonly reconnects: number
  readonly catchUpMs: { readonly median: number; readonly max: number }
  readonly coordinatorConnections: ReplicaScaleRun['coordinatorConnections']
  readonly studyMs: number
  /** Per site process: median and largest peak RSS, and the sum of the peaks (an upper bound on what all took at once). */
  readonly siteRssBytes: { readonly median: number; readonly max: number; readonly sumOfPeaks: number }
}

export function summariseScale(run: ReplicaScaleRun): ReplicaScaleSummary {
  const r = run.results
  const catchUp = r.map((s) => s.catchUpMs)
  const rss = r.map((s) => s.peakRssBytes)
  return {
    sites: run.sites,
    coordinatorEntries: run.coordinatorEntries,
    replicasStarted: r.filter((s) => s.replicaStarted).length,
    replicasWithFullLog: r.filter((s) => s.fullLog).length,
    siteErrors: r.filter((s) => s.error !== null).length,
    reconnects: r.reduce((a, s) => a + s.reconnects, 0),
    catchUpMs: { median: median(catchUp), max: Math.max(...catchUp) },
    coordinatorConnections: run.coordinatorConnections,
    studyMs: run.studyMs,
    siteRssBytes: { median: median(rss), max: Math.max(...rss), sumOfPeaks: rss.reduce((a, b) => a + b, 0) },
  }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
const s = (ms: number) => (ms / 1000).toFixed(1)

export function printReplicaTables(runs: readonly ReplicaScaleRun[], summaries: readonly ReplicaScaleSummary[]): void {
  console.table(
    summaries.map((m) => ({
      sites: m.sites,
      'log entries': m.coordinatorEntries,
      'replicas started': `${m.replicasStarted}/${m.sites}`,
      'full log': `${m.replicasWithFullLog}/${m.sites}`,
      'catch-up s median (max)': `${s(m.catchUpMs.median)} (${s(m.catchUpMs.max)})`,
      'coord connections peak (end)': `${m.coordinatorConnections.peak} (${m.coordinatorConnections.atCompletion})`,
      reconnects: m.reconnects,
      'site errors': m.siteErrors,
      'study s': s(m.studyMs),
      'site RSS MiB median (max)': `${mib(m.siteRssBytes.median)} (${mib(m.siteRssBytes.max)})`,
    })),
  )
  console.log('catch-up: from the study completing at the coordinator to the site finishing, final sync included. Sites without the full log:')
  for (const run of runs) {
    const short = run.results.filter((r) => !r.fullLog)
    if (short.length === 0) console.log(`  ${run.sites} sites: none`)
    for (const r of short)
      console.log(`  ${run.sites} sites: ${r.site}: ${r.replicaStarted ? `${r.entries}/${run.coordinatorEntries} entries` : 'replica never started'}${r.error ? ` (${r.error})` : ''}`)
  }
}
