/**
 * The bench's chart, an SVG written by hand (no plotting dependency for one
 * figure): one panel per attack, final test accuracy against the number of
 * attackers (0-3 of 10), one line per strategy, and the clean FedAvg
 * accuracy minus 2 points as a dashed line (the goal).
 */
export interface ChartSeries {
  readonly strategy: string
  /** Accuracy at 0, 1, 2, 3 attackers. */
  readonly accuracy: readonly number[]
}

const COLORS = ['#444444', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2']
const PANEL_W = 220
const PANEL_H = 180
const MARGIN = { left: 46, top: 34, right: 12, bottom: 34 }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export function byzantineChart(title: string, panels: readonly { readonly attack: string; readonly series: readonly ChartSeries[] }[], goal: number): string {
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.accuracy))
  const lo = Math.max(0, Math.floor(Math.min(...all, goal) * 10) / 10)
  const hi = 1
  const strategies = panels[0]?.series.map((s) => s.strategy) ?? []
  const width = panels.length * (PANEL_W + MARGIN.left + MARGIN.right)
  const legendH = 22
  const height = PANEL_H + MARGIN.top + MARGIN.bottom + legendH + 24
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ]
  panels.forEach((panel, p) => {
    const x0 = p * (PANEL_W + MARGIN.left + MARGIN.right) + MARGIN.left
    const y0 = MARGIN.top + 8
    const x = (k: number) => x0 + (k / 3) * PANEL_W
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
      const points = s.accuracy.map((a, k) => `${x(k).toFixed(1)},${y(a).toFixed(1)}`).join(' ')
      out.push(`<polyline points="${points}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8"/>`)
      s.accuracy.forEach((a, k) => out.push(`<circle cx="${x(k).toFixed(1)}" cy="${y(a).toFixed(1)}" r="2.5" fill="${COLORS[i % COLORS.length]}"/>`))
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
  out.push(`<text x="${lx + 22}" y="${ly}">clean FedAvg − 2 points (goal)</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
