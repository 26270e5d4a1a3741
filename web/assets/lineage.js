/*
 * The model lineage as an SVG graph, hand-written (a chain with fan-in needs
 * no layout library): one node per model, genesis first, an edge from each
 * model to its parent, and under each committed model the site deltas that
 * made it, each with the log entry that accepted it.
 */
;(() => {
  const FL = (window.FL = window.FL || {})
  const SVG = 'http://www.w3.org/2000/svg'
  const NODE_W = 168
  const NODE_H = 50
  const GAP_X = 40
  const DELTA_H = 24
  const DELTA_GAP = 6
  const TOP = 16
  const DELTAS_TOP = TOP + NODE_H + 40

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name)
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v))
    if (text !== undefined) e.textContent = text
    return e
  }

  const short = (hex) => (hex ? hex.slice(0, 12) : '—')

  /** Draws `lineage` (a study view's) into `container`, replacing what was there. */
  FL.lineageGraph = (container, lineage) => {
    container.textContent = ''
    const maxDeltas = Math.max(0, ...lineage.map((n) => n.deltas.length))
    const width = Math.max(1, lineage.length) * (NODE_W + GAP_X) + GAP_X
    const height = DELTAS_TOP + maxDeltas * (DELTA_H + DELTA_GAP) + 16
    const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `model lineage: ${lineage.length} models` })
    const defs = el('defs')
    const marker = el('marker', { id: 'fl-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
    marker.appendChild(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#0b5cad' }))
    defs.appendChild(marker)
    svg.appendChild(defs)
    const xOf = new Map(lineage.map((n, i) => [n.model, GAP_X + i * (NODE_W + GAP_X)]))
    // Edges first, so nodes draw over them: child -> parent, as the commit names its parent.
    lineage.forEach((n) => {
      if (!n.parent || !xOf.has(n.parent)) return
      const from = xOf.get(n.model)
      const to = xOf.get(n.parent) + NODE_W
      const y = TOP + NODE_H / 2
      const d = from - to <= GAP_X + 1 ? `M ${from} ${y} L ${to} ${y}` : `M ${from} ${y - 10} C ${from - 40} ${TOP - 12}, ${to + 40} ${TOP - 12}, ${to} ${y - 10}`
      svg.appendChild(el('path', { class: 'edge', d, 'marker-end': 'url(#fl-arrow)' }))
    })
    lineage.forEach((n) => {
      const x = xOf.get(n.model)
      const g = el('g', { class: n.round === 0 ? 'lineage-node genesis' : 'lineage-node', 'data-model': n.model, 'data-round': n.round, 'data-seq': n.seq === null ? '' : n.seq })
      g.appendChild(
        el(
          'title',
          {},
          `${n.round === 0 ? 'genesis model' : `round ${n.round} model`} ${n.model}${n.parent ? `\nparent ${n.parent}` : ''}${n.seq !== null ? `\nround-committed at log entry ${n.seq}` : ''}`,
        ),
      )
      g.appendChild(el('rect', { x, y: TOP, width: NODE_W, height: NODE_H, rx: 6 }))
      g.appendChild(el('text', { x: x + 8, y: TOP + 16, 'font-weight': 600 }, n.round === 0 ? 'genesis' : `round ${n.round}`))
      g.appendChild(el('text', { x: x + 8, y: TOP + 30, class: 'hash' }, short(n.model)))
      g.appendChild(el('text', { x: x + 8, y: TOP + 44, class: 'muted' }, n.seq === null ? 'study-created #0' : `entry #${n.seq}`))
      svg.appendChild(g)
      n.deltas.forEach((d, j) => {
        const y = DELTAS_TOP + j * (DELTA_H + DELTA_GAP)
        const dg = el('g', { class: 'delta', 'data-site': d.site, 'data-delta': d.delta })
        dg.appendChild(el('title', {}, `delta of site ${d.site}: ${d.delta}\n${d.examples} examples${d.seq !== null ? `, update-accepted at log entry ${d.seq}` : ''}`))
        dg.appendChild(el('path', { class: 'delta-edge', d: `M ${x + 12 + j * 4} ${y} L ${x + NODE_W / 2} ${TOP + NODE_H}`, 'marker-end': 'url(#fl-arrow)' }))
        dg.appendChild(el('rect', { x: x + 6, y, width: NODE_W - 12, height: DELTA_H, rx: 4 }))
        dg.appendChild(el('text', { x: x + 12, y: y + 16 }, `${d.site} · ${short(d.delta).slice(0, 8)}${d.seq !== null ? ` · #${d.seq}` : ''}`))
        svg.appendChild(dg)
      })
    })
    container.appendChild(svg)
    return svg
  }
})()
