/**
 * The bench's printed tables. Pure: cells and goal results in, lines out.
 * Accuracies are in percent, a cell reads `mean±sd` over the seeds (the sd
 * is left out for a single seed).
 */
import type { GoalResult } from './goal.ts'
import { cellOf, type Cell } from './summary.ts'

const pct = (a: number) => (100 * a).toFixed(1)

function meanAndSpread(cell: Cell): string {
  return Number.isNaN(cell.stdAccuracy) ? pct(cell.meanAccuracy) : `${pct(cell.meanAccuracy)}±${(100 * cell.stdAccuracy).toFixed(1)}`
}

function columns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [fmt(header), '-'.repeat(fmt(header).length), ...rows.map(fmt)]
}

/** One row per strategy: its clean run, then each attack at each count in `attackerCounts` (which must leave out 0). */
export function accuracyTable(cells: readonly Cell[], strategies: readonly string[], attacks: readonly string[], attackerCounts: readonly number[]): string[] {
  const header = ['strategy', 'clean', ...attacks.flatMap((a) => attackerCounts.map((k) => `${a}×${k}`))]
  const rows = strategies.map((s) => [s, meanAndSpread(cellOf(cells, s, 'none', 0)), ...attacks.flatMap((a) => attackerCounts.map((k) => meanAndSpread(cellOf(cells, s, a, k))))])
  return columns(header, rows)
}

const signed = (points: number) => (Number.isNaN(points) ? 'n/a' : `${points > 0 ? '-' : '+'}${Math.abs(points).toFixed(1)}`)

/** One row per strategy: worst attack and its mean, the gap to the baseline's clean mean (with the paired per-seed sd) and to its own clean mean, met or not. */
export function goalTable(goal: readonly GoalResult[]): string[] {
  const header = ['strategy', 'worst attack', 'worst', 'vs clean FedAvg', 'paired sd', 'goal', 'vs own clean', 'goal']
  const rows = goal.map((g) => [
    g.strategy,
    g.worstAttack,
    pct(g.worstAccuracy),
    signed(g.pointsBelowClean),
    Number.isNaN(g.pairedStdPoints) ? 'n/a' : g.pairedStdPoints.toFixed(1),
    g.met ? 'met' : 'NOT met',
    signed(g.pointsBelowOwnClean),
    g.metAgainstOwnClean ? 'met' : 'NOT met',
  ])
  return columns(header, rows)
}
