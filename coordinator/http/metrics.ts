/**
 * The coordinator's Prometheus metrics (prom-client), in a registry of its
 * own (one per coordinator, so tests can run several in one process).
 *
 * Two kinds of numbers, kept apart on purpose:
 * - what the log says (rounds committed and abandoned, updates logged as
 *   accepted or rejected by code, entries, the current round): read from the
 *   study state at each scrape, so they match the log exactly, also after a
 *   restart that folded it from disk;
 * - what this process saw (upload calls by outcome code, including refusals
 *   that are never logged such as COORD_BUSY, bytes on the wire, appends,
 *   round durations, connected sites, replication lag): counted live.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ENTRY_KINDS, type LineageRecord, type StudyState } from '../../protocol/index.ts'
import type { ConnectionGateStats } from '../grpc/connection-gate.ts'
import type { RoundRunner } from '../round-runner.ts'
import type { WitnessSubmitter } from '../../ledger/index.ts'

export interface CoordinatorMetricsComponents {
  readonly runner: RoundRunner
  readonly logLength: () => number
  readonly connectionStats: () => ConnectionGateStats
  readonly connectedSites: () => readonly string[]
  /** The submitter to the study policy's witnesses, when the policy names any with a URL. */
  readonly witnesses?: WitnessSubmitter | undefined
}

/** Round durations from opening to commit or abandonment: seconds to a day. */
const ROUND_DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600]

export const METRICS_PREFIX = 'fedlineage_'

export class CoordinatorMetrics {
  readonly registry = new Registry()
  private readonly uploadCalls: Counter<'code'>
  private readonly calls: Counter<'method' | 'code'>
  /** Per site, the newest log size it cosigned (its replica verified that far). */
  private readonly cosignedSize = new Map<string, number>()

  constructor(c: CoordinatorMetricsComponents) {
    const registers = [this.registry]
    const state = (): StudyState => c.runner.state
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX })

    // What the log says: recomputed from the folded state at each scrape.
    const fromLog = <L extends string>(name: string, help: string, labelNames: readonly L[], values: () => Iterable<[Partial<Record<L, string>>, number]>) =>
      new Counter({
        name: METRICS_PREFIX + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset()
          for (const [labels, v] of values()) if (v > 0) this.inc(labels, v)
        },
      })
    fromLog('rounds_committed_total', 'Rounds committed, as the log records them', [], () => [[{}, state().committedRounds]])
    fromLog('rounds_abandoned_total', 'Rounds abandoned, as the log records them', [], () => [[{}, [...state().rounds.values()].filter((r) => r.status === 'abandoned').length]])
    fromLog('rounds_aborted_total', 'Rounds the hub aborted, as the log records them', [], () => [[{}, [...state().rounds.values()].filter((r) => r.status === 'aborted').length]])
    fromLog('updates_logged_total', 'Site updates the log records: accepted, or rejected with their code', ['outcome', 'code'], () => {
      const byCode = new Map<string, number>()
      let accepted = 0
      for (const r of state().rounds.values()) {
        accepted += r.accepted.size
        for (const x of r.rejected) if (x.type === 'update') byCode.set(x.code, (byCode.get(x.code) ?? 0) + 1)
      }
      return [[{ outcome: 'accepted', code: 'OK' }, accepted], ...[...byCode].map(([code, n]): [{ outcome: string; code: string }, number] => [{ outcome: 'rejected', code }, n])]
    })
    new Gauge({ name: `${METRICS_PREFIX}log_entries`, help: 'Entries in the lineage log', registers, collect: gaugeOf(() => c.logLength()) })
    new Gauge({ name: `${METRICS_PREFIX}current_round`, help: 'The newest round opened (0 before the first)', registers, collect: gaugeOf(() => state().lastRound) })
    new Gauge({ name: `${METRICS_PREFIX}enrolled_sites`, help: 'Sites enrolled and not removed', registers, collect: gaugeOf(() => state().activeSites.length) })

    // What this process saw.
    new Gauge({ name: `${METRICS_PREFIX}connected_sites`, help: 'Sites with an open task stream', registers, collect: gaugeOf(() => c.connectedSites().length) })
    new Counter({
      name: `${METRICS_PREFIX}grpc_bytes_received_total`,
      help: 'Bytes read from gRPC connections (TLS and HTTP/2 framing included)',
      registers,
      collect: counterOf(() => c.connectionStats().bytesIn),
    })
    new Counter({
      name: `${METRICS_PREFIX}grpc_bytes_sent_total`,
      help: 'Bytes written to gRPC connections (TLS and HTTP/2 framing included)',
      registers,
      collect: counterOf(() => c.connectionStats().bytesOut),
    })
    new Counter({ name: `${METRICS_PREFIX}connections_refused_total`, help: 'gRPC connections closed at the connection caps', registers, collect: counterOf(() => c.connectionStats().refused) })
    this.uploadCalls = new Counter({ name: `${METRICS_PREFIX}upload_calls_total`, help: 'UploadUpdate calls by outcome: OK, or the refusal code (logged or not)', labelNames: ['code'], registers })
    this.calls = new Counter({ name: `${METRICS_PREFIX}grpc_calls_total`, help: 'gRPC calls by method and outcome code', labelNames: ['method', 'code'], registers })
    const appends = new Counter({ name: `${METRICS_PREFIX}log_appends_total`, help: 'Durable appends to the log (one signed checkpoint each) by this process', registers })
    const appended = new Counter({ name: `${METRICS_PREFIX}log_entries_appended_total`, help: 'Entries this process appended, by kind', labelNames: ['kind'], registers })
    const durations = new Histogram({
      name: `${METRICS_PREFIX}round_duration_seconds`,
      help: 'From a round opening to its commit or abandonment (rounds closed by this process)',
      labelNames: ['status'],
      buckets: ROUND_DURATION_BUCKETS_S,
      registers,
    })
    const cosigned = this.cosignedSize
    new Gauge({
      name: `${METRICS_PREFIX}replication_lag_entries`,
      help: "Entries the log holds beyond the newest size each site's replica cosigned (sites that cosign only)",
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset()
        for (const [site, size] of cosigned) this.set({ peer: site }, Math.max(0, c.logLength() - size))
      },
    })

    c.runner.on('appended', (records) => {
      appends.inc()
      for (const r of records) {
        appended.inc({ kind: r.kind })
        const closed = closedRound(r)
        const opened = closed === undefined ? undefined : state().rounds.get(closed.round)?.openedMs
        if (closed !== undefined && opened !== undefined) durations.observe({ status: closed.status }, Math.max(0, r.timeMs - opened) / 1000)
      }
    })
    c.runner.on('cosigned', (site, size) => this.cosignedSize.set(site, Math.max(size, this.cosignedSize.get(site) ?? 0)))

    // The study policy's witnesses (tlog-witness): how far behind the log each one's cosignature is, and its refusals and failures.
    if (c.witnesses !== undefined) {
      const witnessed = new Map<string, number>()
      new Gauge({
        name: `${METRICS_PREFIX}witness_lag_entries`,
        help: 'Entries the log holds beyond the newest checkpoint each policy witness cosigned in this run (witnesses that cosigned at least once)',
        labelNames: ['witness'],
        registers,
        collect() {
          this.reset()
          for (const [witness, size] of witnessed) this.set({ witness }, Math.max(0, c.logLength() - size))
        },
      })
      const failures = new Counter({ name: `${METRICS_PREFIX}witness_failures_total`, help: 'Checkpoint submissions a policy witness refused or did not answer', labelNames: ['witness'], registers })
      c.witnesses.on('cosigned', (witness, size) => witnessed.set(witness, Math.max(size, witnessed.get(witness) ?? 0)))
      c.witnesses.on('failed', (witness) => failures.inc({ witness }))
    }
  }

  /** Per site, the newest log size its replica cosigned in this run. */
  cosignedSizes(): ReadonlyMap<string, number> {
    return this.cosignedSize
  }

  /** A gRPC call ended (the `callOutcomes` interceptor's listener). */
  recordCall(method: string, code: string): void {
    this.calls.inc({ method, code })
    if (method === 'UploadUpdate') this.uploadCalls.inc({ code })
  }

  /** The registry in Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}

function closedRound(r: LineageRecord): { round: number; status: 'committed' | 'abandoned' | 'aborted' } | undefined {
  if (r.kind === ENTRY_KINDS.ROUND_COMMITTED) return { round: r.body.round, status: 'committed' }
  if (r.kind === ENTRY_KINDS.ROUND_ABANDONED) return { round: r.body.round, status: 'abandoned' }
  if (r.kind === ENTRY_KINDS.ROUND_ABORTED) return { round: r.body.round, status: 'aborted' }
  return undefined
}

function gaugeOf(value: () => number) {
  return function (this: Gauge) {
    this.set(value())
  }
}

/** A counter whose total is kept elsewhere (a socket's byte count): set at scrape time. */
function counterOf(value: () => number) {
  return function (this: Counter) {
    this.reset()
    const v = value()
    if (v > 0) this.inc(v)
  }
}
