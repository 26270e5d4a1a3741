/**
 * What `fedlineage status` shows besides the round table: the current round
 * (its deadline and time left by the coordinator's clock, the sites that
 * uploaded, declined or are still missing) and the per-site metrics of the
 * latest evaluated round beside their example-weighted mean, with the sites
 * far below it flagged. A weighted mean hides a site: 0.76 overall can be
 * 0.50 at one hospital, which is what the flag is for. Pure: the status
 * response in, text out.
 */
import type { RoundStatusResponse__Output, RoundSummary__Output } from '../protos/index.ts'
import { DEFAULT_FLAG_GAP } from './constants.ts'

/** When a site's metric is flagged as far below the weighted one. */
export interface FlagRule {
  /** Accuracy and AUC: flagged when at least this much below the weighted value (absolute). */
  readonly gap: number
  /** Loss: flagged when at least this many times the weighted loss. */
  readonly lossRatio: number
}

export const DEFAULT_FLAG_RULE: FlagRule = { gap: DEFAULT_FLAG_GAP, lossRatio: 1.5 }

/** The metrics shown per site, in column order; `higher` says which way is better. */
const METRICS = [
  { key: 'loss', label: 'loss', higher: false },
  { key: 'accuracy', label: 'accuracy', higher: true },
  { key: 'auc', label: 'AUC', higher: true },
] as const

/** `1h 2m`, `3m 20s`, `45s`: a duration for people. */
export function formatDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000)
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${s}s`
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** The sites of `r`'s plan with neither an accepted update nor a decline, sorted. */
export function missingSites(r: Pick<RoundSummary__Output, 'planned' | 'sites' | 'declined'>): string[] {
  const answered = new Set([...r.sites, ...r.declined.map((d) => d.siteId)])
  return r.planned.filter((s) => !answered.has(s))
}

/**
 * The newest round: open, with its deadline, time left, uploaded, declined
 * and missing sites; or closed, with how (and why, for an abandoned or
 * aborted one). Empty before the first round.
 */
export function formatCurrentRound(status: Pick<RoundStatusResponse__Output, 'rounds' | 'nowMs'>): string {
  const r = status.rounds.filter((x) => Number(x.round) > 0).at(-1)
  if (r === undefined) return 'no round opened yet'
  const lines: string[] = []
  const deadline = Number(r.deadlineMs)
  if (r.state === 'collecting') {
    const left = deadline - Number(status.nowMs)
    const when = left > 0 ? `${formatDuration(left)} left` : `passed ${formatDuration(left)} ago, closing`
    lines.push(`round ${r.round}: collecting updates until ${utc(deadline)} (${when})`)
    lines.push(`  uploaded ${r.sites.length} of ${r.planned.length}: ${r.sites.length === 0 ? '(none yet)' : r.sites.join(', ')}`)
    const missing = missingSites(r)
    lines.push(`  missing: ${missing.length === 0 ? '(none)' : missing.join(', ')}`)
    if (r.secagg) lines.push(...secAggLines(r.secagg, Number(status.nowMs)))
  } else {
    const why = r.closeReason === '' ? '' : `: ${r.closeReason}`
    lines.push(`round ${r.round}: ${r.state}${why}`)
    if (r.state === 'abandoned' || r.state === 'aborted') lines.push(`  ${r.sites.length} of ${r.planned.length} planned updates were in; the model stays at round ${r.round}'s base`)
  }
  for (const d of r.declined) lines.push(`  declined: ${d.siteId} (${d.code})`)
  return lines.join('\n')
}

/** A secure-aggregation round's phase, who answered it and who it still waits for. */
function secAggLines(p: NonNullable<RoundSummary__Output['secagg']>, nowMs: number): string[] {
  const answered = new Set(p.answered)
  const waiting = p.expected.filter((s) => !answered.has(s))
  const left = Number(p.deadlineMs) - nowMs
  const lines = [
    `  secure aggregation: ${p.phase} phase, ${answered.size} of ${p.expected.length} answered${Number(p.deadlineMs) > 0 ? ` (${left > 0 ? `${formatDuration(left)} left` : 'deadline passed, closing'})` : ''}; waiting for: ${waiting.length === 0 ? '(none)' : waiting.join(', ')}`,
  ]
  if (p.dropped.length > 0) lines.push(`  dropped out after sharing their keys: ${p.dropped.join(', ')}`)
  return lines
}

/** The example-weighted mean of `metric` over the evaluations that report it. */
function weighted(evals: RoundSummary__Output['evaluations'], metric: string): number | undefined {
  let sum = 0
  let n = 0
  for (const e of evals) {
    const v = e.metrics[metric]
    if (v === undefined || !Number.isFinite(v)) continue
    sum += v * Number(e.examples)
    n += Number(e.examples)
  }
  return n > 0 ? sum / n : undefined
}

/** Why `value` of `metric` at a site is far below `mean`, or undefined when it is not. */
function flagOf(metric: (typeof METRICS)[number], value: number, mean: number, rule: FlagRule): string | undefined {
  if (metric.higher) return mean - value >= rule.gap ? `${metric.label} ${value.toFixed(3)} is ${(mean - value).toFixed(3)} below the weighted ${mean.toFixed(3)}` : undefined
  return mean > 0 && value >= mean * rule.lossRatio ? `${metric.label} ${value.toFixed(3)} is ${(value / mean).toFixed(1)}× the weighted ${mean.toFixed(3)}` : undefined
}

/**
 * Per-site metrics of the latest round with evaluations (round 0 is the
 * initial model), each site's row and the weighted row, then one line per
 * flagged site metric. Empty when no round has evaluations yet.
 */
export function formatSiteMetrics(status: Pick<RoundStatusResponse__Output, 'rounds'>, rule: FlagRule = DEFAULT_FLAG_RULE): string {
  const r = status.rounds.filter((x) => x.evaluations.length > 0).at(-1)
  if (r === undefined) return ''
  const shown = METRICS.filter((m) => r.evaluations.some((e) => e.metrics[m.key] !== undefined))
  const means = new Map(shown.map((m) => [m.key, weighted(r.evaluations, m.key)]))
  const width = Math.max(12, ...r.evaluations.map((e) => e.siteId.length))
  // Each metric cell is its value right-aligned in 9, then ` !` for a flagged one or two spaces.
  const cell = (v: number | undefined, flagged = false) => `${(v === undefined ? '—' : v.toFixed(3)).padStart(9)}${flagged ? ' !' : '  '}`
  const head = `  ${'site'.padEnd(width)}  ${'examples'.padStart(8)}${shown.map((m) => `${m.label.padStart(9)}  `).join('')}`.trimEnd()
  const lines = [`per-site metrics of round ${r.round}${Number(r.round) === 0 ? ' (the initial model)' : ''}:`, head]
  const flags: string[] = []
  for (const e of r.evaluations) {
    const cells = shown.map((m) => {
      const v = e.metrics[m.key]
      const mean = means.get(m.key)
      const why = v === undefined || mean === undefined ? undefined : flagOf(m, v, mean, rule)
      if (why !== undefined) flags.push(`  ! ${e.siteId}: ${why}`)
      return cell(v, why !== undefined)
    })
    lines.push(`  ${e.siteId.padEnd(width)}  ${e.examples.padStart(8)}${cells.join('')}`.trimEnd())
  }
  const total = r.evaluations.reduce((n, e) => n + Number(e.examples), 0)
  lines.push(`  ${'(weighted)'.padEnd(width)}  ${String(total).padStart(8)}${shown.map((m) => cell(means.get(m.key))).join('')}`.trimEnd())
  return [...lines, ...flags].join('\n')
}
