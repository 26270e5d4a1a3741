/*
 * Per-round metric charts with uPlot (bundled from npm, ~50 KB): one chart
 * per metric, one line per site and a thicker one for the example-weighted
 * mean. Rounds are the x axis (0 = the initial model, when the sites evaluated it).
 */
;(() => {
  const FL = (window.FL = window.FL || {})
  const PALETTE = ['#0b5cad', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#6e7781']

  /** Series of `metric` per site and weighted, from a study view's rounds: { xs, lines: [{ label, values, weighted }] }. */
  FL.metricSeries = (view, metric) => {
    // Round 0 is the initial model, evaluated by the sites before any training.
    const initial = { round: 0, weighted: view.initial.weighted, sites: view.initial.sites.map((e) => ({ site: e.site, evaluation: e })) }
    const evaluated = (view.initial.sites.length > 0 ? [initial] : []).concat(view.rounds.filter((r) => r.status === 'committed'))
    const xs = evaluated.map((r) => r.round)
    const sites = [...new Set(evaluated.flatMap((r) => r.sites.filter((s) => s.evaluation && s.evaluation.metrics[metric] !== undefined).map((s) => s.site)))].sort()
    const lines = sites.map((site) => ({
      label: site,
      weighted: false,
      values: evaluated.map((r) => {
        const s = r.sites.find((x) => x.site === site)
        const v = s?.evaluation ? s.evaluation.metrics[metric] : undefined
        return Number.isFinite(v) ? v : null
      }),
    }))
    if (lines.length > 0) lines.push({ label: 'weighted', weighted: true, values: evaluated.map((r) => (Number.isFinite(r.weighted[metric]) ? r.weighted[metric] : null)) })
    return { xs, lines }
  }

  /** Draws the chart of `metric` into `el` (emptied first); returns the uPlot instance or null when there is nothing to draw. */
  FL.metricChart = (el, view, metric, opts) => {
    el.textContent = ''
    const title = document.createElement('h3')
    title.textContent = `${metric} per round`
    el.appendChild(title)
    const { xs, lines } = FL.metricSeries(view, metric)
    el.dataset.metric = metric
    el.dataset.points = String(xs.length)
    if (xs.length === 0 || lines.length === 0) {
      const empty = document.createElement('div')
      empty.className = 'empty'
      empty.textContent = `no evaluations of a committed model yet`
      el.appendChild(empty)
      return null
    }
    if (typeof window.uPlot !== 'function') throw new Error('uPlot did not load')
    const width = opts?.width || Math.max(280, Math.floor(el.getBoundingClientRect().width) - 18)
    const series = [{ label: 'round' }].concat(
      lines.map((l, i) => ({
        label: l.label,
        stroke: l.weighted ? '#000' : PALETTE[i % PALETTE.length],
        width: l.weighted ? 3 : 1.5,
        dash: l.weighted ? [6, 3] : undefined,
        points: { show: true, size: 5 },
        spanGaps: true,
      })),
    )
    return new window.uPlot(
      {
        width,
        height: 220,
        series,
        // One round alone would otherwise span 0 to 100.
        scales: { x: { time: false, range: (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]) } },
        axes: [{ label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: metric }],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      [xs].concat(lines.map((l) => l.values)),
      el,
    )
  }
})()
