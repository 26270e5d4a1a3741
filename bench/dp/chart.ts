/**
 * bench:dp's chart, an SVG written by hand like bench/byzantine/chart.ts:
 * final pooled test accuracy (mean over seeds, with each seed as a dot)
 * against ε on a log axis, and the no-DP baseline as a dashed line.
 */
export interface DpPoint {
  readonly epsilon: number
  readonly accuracies: readonly number[]
}

const W = 520
const H = 300
const M = { left: 52, top: 40, right: 20, bottom: 46 }
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length

export function dpChart(title: string, points: readonly DpPoint[], baseline: number): string {
  const eps = points.map((p) => p.epsilon)
  const lx0 = Math.floor(Math.log10(Math.min(...eps)))
  const lx1 = Math.ceil(Math.log10(Math.max(...eps)))
  const x = (e: number) => M.left + ((Math.log10(e) - lx0) / Math.max(1e-9, lx1 - lx0)) * W
  const y = (a: number) => M.top + H - a * H
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W + M.left + M.right}" height="${H + M.top + M.bottom}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${W}" height="${H}" fill="none" stroke="#999"/>`,
  ]
  for (let t = 0; t <= 1 + 1e-9; t += 0.1) {
    out.push(`<line x1="${M.left}" x2="${M.left + W}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`)
    out.push(`<text x="${M.left - 4}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(1)}</text>`)
  }
  for (let k = lx0; k <= lx1; k++) {
    out.push(`<line x1="${x(10 ** k).toFixed(1)}" x2="${x(10 ** k).toFixed(1)}" y1="${M.top}" y2="${M.top + H}" stroke="#eee"/>`)
    out.push(`<text x="${x(10 ** k).toFixed(1)}" y="${M.top + H + 14}" text-anchor="middle">${10 ** k}</text>`)
  }
  out.push(`<text x="${M.left + W / 2}" y="${M.top + H + 32}" text-anchor="middle">ε (δ = 1e-5, log scale; site-level)</text>`)
  out.push(`<text x="14" y="${M.top + H / 2}" transform="rotate(-90 14 ${M.top + H / 2})" text-anchor="middle">pooled test accuracy</text>`)
  out.push(`<line x1="${M.left}" x2="${M.left + W}" y1="${y(baseline).toFixed(1)}" y2="${y(baseline).toFixed(1)}" stroke="#000" stroke-dasharray="4 3"/>`)
  out.push(`<text x="${M.left + W - 4}" y="${(y(baseline) - 4).toFixed(1)}" text-anchor="end">no DP ${baseline.toFixed(3)}</text>`)
  const sorted = [...points].sort((a, b) => a.epsilon - b.epsilon)
  out.push(`<polyline points="${sorted.map((p) => `${x(p.epsilon).toFixed(1)},${y(mean(p.accuracies)).toFixed(1)}`).join(' ')}" fill="none" stroke="#1f77b4" stroke-width="1.8"/>`)
  for (const p of sorted) {
    out.push(`<circle cx="${x(p.epsilon).toFixed(1)}" cy="${y(mean(p.accuracies)).toFixed(1)}" r="3.5" fill="#1f77b4"/>`)
    for (const a of p.accuracies) out.push(`<circle cx="${x(p.epsilon).toFixed(1)}" cy="${y(a).toFixed(1)}" r="2" fill="none" stroke="#1f77b4"/>`)
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
