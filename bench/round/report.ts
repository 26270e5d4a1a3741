/**
 * Per-round numbers and their medians for one scale, and the printed tables.
 * Medians are over rounds 2..N: round 1 is the warm-up (agents joining, JIT,
 * TF.js kernels compiling) and is kept in the raw numbers only.
 */
import { median } from '../support/median.ts'
import type { RoundBaseline } from './baseline.ts'
import type { RoundEvents } from './federation.ts'

export const WARMUP_ROUNDS = 1
export const OVERHEAD_GOAL_PCT = 5

export interface RoundNumbers {
  readonly round: number
  readonly wallMs: number
  readonly trainSumMs: number
  readonly trainMaxMs: number
  /** Σ upload RPC time minus the coordinator phases those RPCs contained. */
  readonly uploadMs: number
  readonly uploadRpcSumMs: number
  readonly verifyMs: number
  readonly aggregateMs: number
  readonly logMs: number
  readonly logUpdatesMs: number
  readonly logCommitMs: number
  readonly coordinatorMs: number
  readonly overheadPct: number
  readonly tailMs: number
  /** tail / (slowest site's training + tail): the share if every site trained on its own machine. */
  readonly parallelOverheadPct: number
  readonly bareTrainSumMs: number
  readonly bareFedAvgMs: number
  readonly bareRoundMs: number
  /** coordinator − bare FedAvg: what checks, decoding, hashing and the durable log add. */
  readonly addedMs: number
  readonly bareMatchesCommit: boolean
}

export type Transport = 'plaintext' | 'tls'

export interface ScaleSummary {
  readonly sites: number
  /** gRPC in plaintext on loopback, or over mutual TLS with the study CA. */
  readonly transport: Transport
  readonly parameters: number
  readonly deltaBytes: number
  readonly rounds: readonly RoundNumbers[]
  /** Times a site said hello again over the whole run (a missed deadline or a dropped stream); the goal is 0. */
  readonly reconnects: number
  /** The deadline of one site call in the run. */
  readonly requestTimeoutMs: number
  /** The reconnects by reason, most frequent first (absent in runs before it was recorded). */
  readonly reconnectReasons?: Readonly<Record<string, number>>
  /** The coordinator's connection gate at the end of the run. */
  readonly connections?: { readonly open: number; readonly refused: number; readonly timedOut: number }
  readonly median: Readonly<Record<Exclude<keyof RoundNumbers, 'round' | 'bareMatchesCommit'>, number>>
  readonly goalMet: boolean
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

export function roundNumbers(e: RoundEvents, b: RoundBaseline): RoundNumbers {
  const logMs = e.logUpdatesMs + e.logCommitMs
  const coordinatorMs = e.verifyMs + e.aggregateMs + logMs
  const trainMaxMs = Math.max(...e.trainMs)
  const uploadRpcSumMs = sum(e.uploadMs)
  const bareTrainSumMs = sum(b.trainMs)
  return {
    round: e.round,
    wallMs: e.wallMs,
    trainSumMs: sum(e.trainMs),
    trainMaxMs,
    // Each upload RPC returns after its verify + log; the last one also after aggregate + commit log.
    uploadMs: uploadRpcSumMs - coordinatorMs,
    uploadRpcSumMs,
    verifyMs: e.verifyMs,
    aggregateMs: e.aggregateMs,
    logMs,
    logUpdatesMs: e.logUpdatesMs,
    logCommitMs: e.logCommitMs,
    coordinatorMs,
    overheadPct: (100 * coordinatorMs) / e.wallMs,
    tailMs: e.tailMs,
    parallelOverheadPct: (100 * e.tailMs) / (trainMaxMs + e.tailMs),
    bareTrainSumMs,
    bareFedAvgMs: b.fedAvgMs,
    bareRoundMs: bareTrainSumMs + b.fedAvgMs,
    addedMs: coordinatorMs - b.fedAvgMs,
    bareMatchesCommit: b.matchesCommit,
  }
}

export function summarise(
  sites: number,
  transport: Transport,
  parameters: number,
  deltaBytes: number,
  rounds: readonly RoundNumbers[],
  connection: {
    readonly reconnects: number
    readonly requestTimeoutMs: number
    readonly reconnectReasons?: Readonly<Record<string, number>>
    readonly connections?: { readonly open: number; readonly refused: number; readonly timedOut: number }
  },
): ScaleSummary {
  const measured = rounds.slice(WARMUP_ROUNDS)
  const m = (k: keyof ScaleSummary['median']) => median(measured.map((r) => r[k]))
  const keys = Object.keys(rounds[0]!).filter((k) => k !== 'round' && k !== 'bareMatchesCommit') as (keyof ScaleSummary['median'])[]
  const med = Object.fromEntries(keys.map((k) => [k, m(k)])) as ScaleSummary['median']
  return { sites, transport, parameters, deltaBytes, rounds, ...connection, median: med, goalMet: med.overheadPct <= OVERHEAD_GOAL_PCT }
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
const pct = (x: number) => `${x.toFixed(2)} %`

export function printTables(scales: readonly ScaleSummary[]): void {
  console.table(
    scales.map((s) => ({
      sites: s.sites,
      transport: s.transport,
      params: s.parameters,
      'delta bytes': s.deltaBytes,
      'round wall ms': ms(s.median.wallMs),
      'train ms Σ (max)': `${ms(s.median.trainSumMs)} (${ms(s.median.trainMaxMs)})`,
      'upload ms (Σ RPC, net)': ms(s.median.uploadMs),
      'verify ms': ms(s.median.verifyMs),
      'aggregate ms': ms(s.median.aggregateMs),
      'log ms': ms(s.median.logMs),
      'coord overhead': pct(s.median.overheadPct),
      [`≤${OVERHEAD_GOAL_PCT}% met`]: s.goalMet ? 'yes' : 'NO',
      reconnects: s.reconnects,
      'call deadline s': s.requestTimeoutMs / 1000,
    })),
  )
  console.log(
    "Medians per column over the measured rounds (they need not add up); reconnects count the whole run (each a site's new hello after a missed call deadline or a dropped stream). upload = Σ of the sites' upload RPC times minus the coordinator phases inside them;\n" +
      "with every agent on this one event loop an RPC waits behind other sites' training, so it measures that contention, not data movement, and can exceed the wall time.",
  )
  console.log('Baseline, same run: the same rounds with no RPC, checks or log (bare TF.js training, site after site, then fedAvg on the same deltas)')
  console.table(
    scales.map((s) => ({
      sites: s.sites,
      transport: s.transport,
      'bare round ms': ms(s.median.bareRoundMs),
      'bare train Σ ms': ms(s.median.bareTrainSumMs),
      'bare fedAvg ms': ms(s.median.bareFedAvgMs),
      'our coord ms': ms(s.median.coordinatorMs),
      'added over fedAvg ms': ms(s.median.addedMs),
      'bare aggr. share': pct((100 * s.median.bareFedAvgMs) / s.median.bareRoundMs),
      'coord tail ms': ms(s.median.tailMs),
      'tail / (max train + tail)': pct(s.median.parallelOverheadPct),
      'fedAvg = committed': s.rounds.every((r) => r.bareMatchesCommit) ? 'yes' : 'NO',
    })),
  )
}

/** What mutual TLS adds to a round, per scale: the same federation run in plaintext and over TLS in this one run. */
export interface TlsCost {
  readonly sites: number
  readonly plaintextWallMs: number
  readonly tlsWallMs: number
  readonly wallAddedMs: number
  readonly wallAddedPct: number
  readonly plaintextUploadMs: number
  readonly tlsUploadMs: number
  /** Each round's (TLS − plaintext) median upload per site. */
  readonly uploadAddedPerSiteMs: number
  /** Half the spread (max − min) of the measured rounds' wall times, plaintext and TLS together: differences below it are noise. */
  readonly noiseMs: number
  readonly verdict: 'within noise' | 'TLS slower' | 'TLS faster (noise)'
}

export function tlsCosts(scales: readonly ScaleSummary[]): TlsCost[] {
  const out: TlsCost[] = []
  for (const plain of scales.filter((s) => s.transport === 'plaintext')) {
    const tls = scales.find((s) => s.transport === 'tls' && s.sites === plain.sites)
    if (!tls) continue
    const added = tls.median.wallMs - plain.median.wallMs
    const walls = [...plain.rounds, ...tls.rounds].filter((r) => r.round > WARMUP_ROUNDS).map((r) => r.wallMs)
    const noiseMs = (Math.max(...walls) - Math.min(...walls)) / 2
    out.push({
      sites: plain.sites,
      plaintextWallMs: plain.median.wallMs,
      tlsWallMs: tls.median.wallMs,
      wallAddedMs: added,
      wallAddedPct: (100 * added) / plain.median.wallMs,
      plaintextUploadMs: plain.median.uploadMs,
      tlsUploadMs: tls.median.uploadMs,
      uploadAddedPerSiteMs: (tls.median.uploadMs - plain.median.uploadMs) / plain.sites,
      noiseMs,
      verdict: Math.abs(added) <= noiseMs ? 'within noise' : added > 0 ? 'TLS slower' : 'TLS faster (noise)',
    })
  }
  return out
}

export function printTlsCosts(costs: readonly TlsCost[]): void {
  if (costs.length === 0) return
  console.log('The cost of mutual TLS (study CA, Ed25519 certificates, TLS 1.3) on a round, same scales and seeds, this run:')
  console.table(
    costs.map((c) => ({
      sites: c.sites,
      'plaintext round ms': ms(c.plaintextWallMs),
      'TLS round ms': ms(c.tlsWallMs),
      'TLS adds ms': ms(c.wallAddedMs),
      'TLS adds': pct(c.wallAddedPct),
      'upload Σ ms plaintext → TLS': `${ms(c.plaintextUploadMs)} → ${ms(c.tlsUploadMs)}`,
      'per site ms': ms(c.uploadAddedPerSiteMs),
      'noise ± ms': ms(c.noiseMs),
      verdict: c.verdict,
    })),
  )
  console.log('Connections are made once per site (at hello) and reused, so a round pays TLS record encryption, not handshakes; round-to-round noise at this size is a few percent either way.')
}
