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
  /**
   * FLamby's "Pooled Test" definition, so it compares with FLamby's published
   * number: the final model on all 254 test rows standardised with the pooled
   * train statistics. Mean and sample std (ddof 1; NaN, written null, for one seed) over seeds.
   */
  readonly pooledTestMean: number
  readonly pooledTestStd: number
  /** The sites' own view: example-weighted mean of the client test accuracies (each center standardised with its own statistics). */
  readonly pooledTestSiteNormMean: number
  readonly pooledTestSiteNormStd: number
  readonly clientTestMeans: readonly number[]
  readonly seeds: readonly SeedResult[]
  readonly flamby: {
    /** FLamby's "Pooled Test" (pooled train statistics), as published. */
    readonly pooledTestMean: number
    /** As published: population std (ddof 0). */
    readonly pooledTestStd: number
    /** Sample std (ddof 1) of FLamby's five per-seed pooled accuracies. */
    readonly pooledTestStdSample: number
    /** Our `pooledTest` definition applied to FLamby's per-seed client accuracies. */
    readonly exampleWeightedClientTestMean: number
    readonly exampleWeightedClientTestStd: number
    readonly clientTestMeans: readonly number[]
  }
  readonly protocol: string
  readonly environment: BenchEnvironment & { readonly backend: string }
}

export function summarize(seeds: readonly SeedResult[], reference: FlambyReference, protocol: string, environment: StrategyResult['environment']): StrategyResult {
  const clients = seeds[0]?.clientTests.length ?? 0
  return {
    pooledTestMean: mean(seeds.map((s) => s.pooledTest)),
    pooledTestStd: std(
      seeds.map((s) => s.pooledTest),
      1,
    ),
    pooledTestSiteNormMean: mean(seeds.map((s) => s.pooledTestSiteNorm)),
    pooledTestSiteNormStd: std(
      seeds.map((s) => s.pooledTestSiteNorm),
      1,
    ),
    clientTestMeans: Array.from({ length: clients }, (_, c) => mean(seeds.map((s) => s.clientTests[c]!))),
    seeds,
    flamby: {
      pooledTestMean: reference.pooledTestMean,
      pooledTestStd: reference.pooledTestStd,
      pooledTestStdSample: reference.pooledTestStdSample,
      exampleWeightedClientTestMean: reference.exampleWeightedClientTestMean,
      exampleWeightedClientTestStd: reference.exampleWeightedClientTestStd,
      clientTestMeans: reference.clientTestMeans,
    },
    protocol,
    environment,
  }
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '  -   ')
const spread = (m: number, s: number): string => `${f4(m)} ± ${f4(s)}`

/** The table printed at the end of a run. */
export function formatTable(title: string, result: StrategyResult, reference: FlambyReference): string {
  const clients = result.clientTestMeans.length
  const line = (cells: readonly string[], widths: readonly number[]) => cells.map((c, i) => (i === cells.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' ')
  const widths = [8, 17, 17, ...Array.from({ length: clients }, () => 16), 7]
  const head = line(['seed', 'pooled test', 'pooled (sites)', ...Array.from({ length: clients }, (_, c) => `client ${c}`), 'seconds'], widths)
  const rows = result.seeds.map((s) => line([String(s.seed), f4(s.pooledTest), f4(s.pooledTestSiteNorm), ...s.clientTests.map(f4), s.seconds.toFixed(1)], widths))
  const column = (pick: (s: SeedResult) => number) => {
    const values = result.seeds.map(pick)
    return spread(mean(values), std(values, 1))
  }
  const ours = line(
    [
      'mean±sd',
      column((s) => s.pooledTest),
      column((s) => s.pooledTestSiteNorm),
      ...Array.from({ length: clients }, (_, c) => column((s) => s.clientTests[c]!)),
      mean(result.seeds.map((s) => s.seconds)).toFixed(1),
    ],
    widths,
  )
  const flamby = line(
    [
      'FLamby',
      spread(reference.pooledTestMean, reference.pooledTestStdSample),
      spread(reference.exampleWeightedClientTestMean, reference.exampleWeightedClientTestStd),
      ...reference.clientTestMeans.map(f4),
      '',
    ],
    widths,
  )
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
    `pooled test: FLamby's "Pooled Test" definition, all 254 test rows standardised with the pooled train statistics; FLamby's published ${f4(reference.pooledTestMean)} is this one.`,
    `pooled (sites): Σ client accuracy · test rows / Σ test rows, each center standardised with its own train statistics, as the sites see it.`,
    `± is the sample std over seeds (ddof 1). FLamby ${reference.method}, ${reference.seeds} seeds; its summary file's ± ${f4(reference.pooledTestStd)} is the population std (ddof 0).`,
    `Node ${result.environment.node} · ${result.environment.cpu} · TF.js backend ${result.environment.backend}`,
  ].join('\n')
}

/** One strategy or baseline in the summary: our result, FLamby's, and the floor where it sets one. */
export interface SummaryRow {
  readonly key: string
  readonly result: StrategyResult
  readonly reference: FlambyReference
  readonly target: number | undefined
}

/**
 * Whether our mean falls within FLamby's mean ± 2 std, FLamby's std being
 * its published one (ddof 0). With one of our seeds the comparison still
 * holds: it is about our mean, not our spread.
 */
export function withinFlambySpread(ours: number, reference: FlambyReference): boolean {
  return Math.abs(ours - reference.pooledTestMean) <= 2 * reference.pooledTestStd
}

/** The table across strategies: ours against FLamby's pooled test accuracy, and the verdicts. */
export function formatSummary(rows: readonly SummaryRow[], notImplemented: readonly { readonly key: string; readonly reference: FlambyReference }[]): string {
  const widths = [17, 17, 17, 10, 18, 11]
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' ')
  const head = line(['strategy', 'ours pooled', 'FLamby pooled', '|Δ|/std', 'within FLamby ±2σ', 'issue floor'])
  const rule = '─'.repeat(head.length)
  const body = rows.map(({ key, result, reference, target }) =>
    line([
      key,
      spread(result.pooledTestMean, result.pooledTestStd),
      spread(reference.pooledTestMean, reference.pooledTestStd),
      (Math.abs(result.pooledTestMean - reference.pooledTestMean) / reference.pooledTestStd).toFixed(2),
      withinFlambySpread(result.pooledTestMean, reference) ? 'yes' : 'NO',
      target === undefined ? '' : `${result.pooledTestMean >= target ? 'met' : 'MISSED'} ≥ ${target}`,
    ]),
  )
  const missing = notImplemented.map(({ key, reference }) => line([key, 'not implemented', spread(reference.pooledTestMean, reference.pooledTestStd), '', '', '']))
  return [
    'FLamby Fed-Heart-Disease · pooled test accuracy (FLamby\'s "Pooled Test": all 254 test rows, pooled train statistics)',
    rule,
    head,
    rule,
    ...body,
    ...missing,
    rule,
    "ours: mean ± sample std (ddof 1) over our seeds; FLamby: its summary file's mean ± population std (ddof 0) over its 5 seeds.",
    'within FLamby ±2σ: |ours − FLamby| ≤ 2 × FLamby std. |Δ|/std: that distance in FLamby stds.',
  ].join('\n')
}
