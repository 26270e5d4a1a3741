/**
 * The benchmark's outputs: the printed table and the results file entry.
 * Pure: takes the per-seed results and FLamby's reference, returns text and
 * plain objects.
 */
import type { BenchEnvironment } from '../support/environment.ts'
import { mean, std } from '../support/stats.ts'
import type { FlambyReference } from './reference.ts'
import type { SeedResult } from './run-seed.ts'

export interface StrategyResult {
  readonly pooledTestMean: number
  /** Sample std (ddof 1) over seeds; NaN (written as null) for a single seed. */
  readonly pooledTestStd: number
  readonly clientTestMeans: readonly number[]
  readonly seeds: readonly SeedResult[]
  readonly flamby: {
    readonly pooledTestMean: number
    /** As published: population std (ddof 0). */
    readonly pooledTestStd: number
    /** Sample std (ddof 1) of FLamby's five per-seed pooled accuracies. */
    readonly pooledTestStdSample: number
    readonly clientTestMeans: readonly number[]
  }
  readonly protocol: string
  readonly environment: BenchEnvironment & { readonly backend: string }
}

export function summarize(seeds: readonly SeedResult[], reference: FlambyReference, protocol: string, environment: StrategyResult['environment']): StrategyResult {
  const clients = seeds[0]?.clientTests.length ?? 0
  return {
    pooledTestMean: mean(seeds.map((s) => s.pooledTest)),
    pooledTestStd: std(seeds.map((s) => s.pooledTest), 1),
    clientTestMeans: Array.from({ length: clients }, (_, c) => mean(seeds.map((s) => s.clientTests[c]!))),
    seeds,
    flamby: {
      pooledTestMean: reference.pooledTestMean,
      pooledTestStd: reference.pooledTestStd,
      pooledTestStdSample: reference.pooledTestStdSample,
      clientTestMeans: reference.clientTestMeans,
    },
    protocol,
    environment,
  }
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '   -  ')

/** The table printed at the end of a run. */
export function formatTable(title: string, result: StrategyResult, reference: FlambyReference): string {
  const clients = result.clientTestMeans.length
  const head = ['seed'.padEnd(8), 'pooled test'.padEnd(17), ...Array.from({ length: clients }, (_, c) => `client ${c}`.padEnd(16)), 'seconds'].join(' ')
  const rows = result.seeds.map((s) => [String(s.seed).padEnd(8), f4(s.pooledTest).padEnd(17), ...s.clientTests.map((a) => f4(a).padEnd(16)), s.seconds.toFixed(1).padStart(7)].join(' '))
  const spread = (values: readonly number[]) => `${f4(mean(values))} ± ${f4(std(values, 1))}`
  const ours = [
    'mean±sd'.padEnd(8),
    spread(result.seeds.map((s) => s.pooledTest)).padEnd(17),
    ...Array.from({ length: clients }, (_, c) => spread(result.seeds.map((s) => s.clientTests[c]!)).padEnd(16)),
    mean(result.seeds.map((s) => s.seconds)).toFixed(1).padStart(7),
  ].join(' ')
  const flamby = [
    'FLamby'.padEnd(8),
    `${f4(reference.pooledTestMean)} ± ${f4(reference.pooledTestStdSample)}`.padEnd(17),
    ...reference.clientTestMeans.map((a) => f4(a).padEnd(16)),
  ].join(' ')
  const rule = '─'.repeat(head.length)
  return [
    title,
    rule,
    head,
    rule,
    ...rows,
    rule,
    ours,
    flamby,
    rule,
    `std: sample std over seeds (ddof 1). FLamby ${reference.method}, ${reference.seeds} seeds; its summary file gives ± ${f4(reference.pooledTestStd)}, the population std (ddof 0).`,
    `Node ${result.environment.node} · ${result.environment.cpu} · TF.js backend ${result.environment.backend}`,
  ].join('\n')
}
