/**
 * The bench's chart, an SVG written by hand (no plotting dependency for one
 * figure). Pure. One panel per attack: mean final test accuracy over seeds
 * against the number of attackers (0-3 of 10), one line per strategy, a
 * vertical bar per point spanning the seeds' lowest to highest accuracy, and
 * the clean FedAvg mean minus 2 points as a dashed line (the goal). Points of
 * different strategies are shifted a little sideways so their bars do not
 * hide each other.
 */
export interface ChartSeries {
  readonly strategy: string
  /** Mean accuracy at 0, 1, 2, 3 attackers. */
  readonly mean: readonly number[]
  /** Lowest and highest accuracy over the seeds at each count (the bar's ends). */
  readonly low: readonly number[]
  readonly high: readonly number[]
}

export interface ChartPanel {
  readonly attack: string
  readonly series: readonly ChartSeries[]
}

export interface ChartInit {
  readonly title: string
  readonly panels: readonly ChartPanel[]
  /** Accuracy of the dashed goal line. */
  readonly goal: number
  readonly goalLabel: string
  /** What the bars show, for the legend (e.g. "bars: min-max over 5 seeds"). */
  readonly spreadLabel: string
}

const COLORS = ['#444444', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2']
const PANEL_W = 220
const PANEL_H = 180
const MARGIN = { left: 46, top: 34, right: 12, bottom: 34 }
/** Sideways shift between strategies' points at the same attacker count, in pixels. */
const DODGE_PX = 4
/** Margin on each side of the x axis so the dodged bars at 0 and 3 stay inside the panel. */
const X_PAD_PX = 16

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export function byzantineChart(init: ChartInit): string {
  const { panels, goal } = init
  const all = panels.flatMap((p) => p.series.flatMap((s) => [...s.low, ...s.mean]))
  const lo = Math.max(0, Math.floor(Math.min(...all, goal) * 10) / 10)
  const hi = 1
  const strategies = panels[0]?.series.map((s) => s.strategy) ?? []
  const width = panels.length * (PANEL_W + MARGIN.left + MARGIN.right)
  const legendH = 22
  const height = PANEL_H + MARGIN.top + MARGIN.bottom + legendH + 24
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${esc(init.title)}</text>`,
  ]
  panels.forEach((panel, p) => {
    const x0 = p * (PANEL_W + MARGIN.left + MARGIN.right) + MARGIN.left
    const y0 = MARGIN.top + 8
    const x = (k: number) => x0 + X_PAD_PX + (k / 3) * (PANEL_W - 2 * X_PAD_PX)
    const y = (a: number) => y0 + PANEL_H - ((a - lo) / (hi - lo)) * PANEL_H
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 - 8}" text-anchor="middle" font-weight="bold">${esc(panel.attack)}</text>`)
    out.push(`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`)
    for (let t = lo; t <= hi + 1e-9; t += 0.1) {
      out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`)
      out.push(`<text x="${x0 - 4}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(1)}</text>`)
    }
    for (let k = 0; k <= 3; k++) out.push(`<text x="${x(k)}" y="${y0 + PANEL_H + 14}" text-anchor="middle">${k}</text>`)
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 + PANEL_H + 28}" text-anchor="middle">attackers of 10</text>`)
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y(goal).toFixed(1)}" y2="${y(goal).toFixed(1)}" stroke="#000" stroke-dasharray="4 3"/>`)
    panel.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length]
      const dx = (i - (panel.series.length - 1) / 2) * DODGE_PX
      const px = (k: number) => (x(k) + dx).toFixed(1)
      const points = s.mean.map((a, k) => `${px(k)},${y(a).toFixed(1)}`).join(' ')
      out.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="1.8"/>`)
      s.mean.forEach((a, k) => {
        out.push(`<line class="spread" x1="${px(k)}" x2="${px(k)}" y1="${y(s.low[k]!).toFixed(1)}" y2="${y(s.high[k]!).toFixed(1)}" stroke="${color}" stroke-width="1"/>`)
        out.push(`<circle cx="${px(k)}" cy="${y(a).toFixed(1)}" r="2.5" fill="${color}"/>`)
      })
    })
  })
  const ly = height - 14
  let lx = MARGIN.left
  strategies.forEach((s, i) => {
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2.5"/>`)
    out.push(`<text x="${lx + 22}" y="${ly}">${esc(s)}</text>`)
    lx += 34 + s.length * 6.5
  })
  out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="#000" stroke-dasharray="4 3"/>`)
  out.push(`<text x="${lx + 22}" y="${ly}">${esc(init.goalLabel)}</text>`)
  lx += 34 + init.goalLabel.length * 6.5
  out.push(`<text x="${lx}" y="${ly}" fill="#555">${esc(init.spreadLabel)}</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
