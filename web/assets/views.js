/*
 * The study's tables, built from a study view (protocol/study-view.ts) as
 * DOM nodes, never HTML strings: codes, reasons and ids come from signed
 * statements and are shown as text. Shared by the dashboard and the audit
 * report, so both read a log the same way.
 */
;(() => {
  const FL = (window.FL = window.FL || {})
  const METRICS = ['loss', 'accuracy', 'auc']

  /** h('td', { class: 'num', dataset: { site: 'a' } }, 'text', node, ...) */
  const h = (FL.h = (tag, props, ...children) => {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'dataset') Object.assign(e.dataset, v)
      else if (k === 'class') e.className = v
      else e.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c))
    return e
  })

  const short = (FL.short = (hex, n = 12) => (hex ? hex.slice(0, n) : '—'))
  const hash = (FL.hash = (hex, n) => h('code', { class: 'hash', title: hex || '' }, short(hex, n)))
  const num = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—')
  FL.time = (ms) =>
    ms
      ? new Date(ms)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, 'Z')
      : '—'
  const pill = (FL.pill = (cls, text, props) => h('span', Object.assign({ class: `pill ${cls}` }, props || {}), text))

  const table = (FL.table = (headers, rows, props) =>
    h(
      'table',
      props || {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((c) => (typeof c === 'string' ? h('th', {}, c) : h('th', { class: c.num ? 'num' : undefined }, c.label))),
        ),
      ),
      h('tbody', {}, rows),
    ))

  const statusPill = (status) => pill(status === 'committed' ? 'ok' : status === 'abandoned' ? 'bad' : 'warn', status)

  FL.summary = (items) =>
    h(
      'div',
      { class: 'summary' },
      items.map(([label, value, id]) => h('div', { dataset: id ? { field: id } : undefined }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value))),
    )

  /** One row per round: status, parent and model, sites, examples, its commit entry, weighted evaluation, refusals. */
  FL.roundsTable = (view, opts) => {
    const failedSeq = opts?.failedSeq
    const rows = view.rounds.map((r) => {
      const accepted = r.sites.filter((s) => s.accepted).length
      const planned = r.sites.filter((s) => s.planned).length
      const refused = r.sites.reduce((n, s) => n + s.rejected.length, 0)
      const examples = r.sites.reduce((n, s) => n + (s.accepted ? s.accepted.examples : 0), 0)
      const failed = failedSeq !== undefined && failedSeq !== null && r.commitSeq === failedSeq
      return h(
        'tr',
        { class: failed ? 'failed-row' : undefined, dataset: { round: r.round, status: r.status } },
        h('td', { class: 'num' }, r.round),
        h('td', {}, statusPill(r.status), (r.abandonReason ?? r.abortReason) ? h('div', { class: 'muted' }, r.abandonReason ?? `aborted: ${r.abortReason}`) : null),
        h('td', {}, hash(r.base)),
        h('td', {}, r.model ? hash(r.model) : '—'),
        h('td', { class: 'num' }, `${accepted}/${planned}`),
        h('td', { class: 'num' }, examples),
        h('td', { class: 'num' }, r.commitSeq === null ? '—' : `#${r.commitSeq}`),
        METRICS.map((m) => h('td', { class: 'num' }, num(r.weighted[m]))),
        h('td', { class: 'num' }, refused),
      )
    })
    return table(
      [
        'round',
        'status',
        'parent',
        'model',
        { label: 'updates', num: true },
        { label: 'examples', num: true },
        { label: 'commit entry', num: true },
        ...METRICS.map((m) => ({ label: `${m} (weighted)`, num: true })),
        { label: 'refused', num: true },
      ],
      rows,
      { class: 'rounds', dataset: { rounds: view.rounds.length } },
    )
  }

  /** What one site did in a round, as a cell's state and text. */
  FL.updateState = (s) => {
    if (s.accepted) return { state: 'accepted', node: pill('ok', `accepted #${s.accepted.seq}`) }
    if (s.declined) return { state: 'declined', node: pill('warn', `declined ${s.declined.code}`, { title: s.declined.reason }) }
    if (s.rejected.length > 0) {
      const last = s.rejected[s.rejected.length - 1]
      return {
        state: 'refused',
        code: last.code,
        node: h(
          'span',
          {},
          s.rejected.map((x) => pill('bad', x.code, { title: `${x.type} refused at entry #${x.seq}: ${x.reason}`, dataset: { code: x.code } })),
        ),
      }
    }
    return { state: 'waiting', node: h('span', { class: 'muted' }, s.planned ? 'waiting' : 'not planned') }
  }

  const evaluationText = (e) =>
    e
      ? METRICS.filter((m) => e.metrics[m] !== undefined)
          .map((m) => `${m} ${num(e.metrics[m])}`)
          .join(' · ')
      : null

  /**
   * Per-site progress of one round: task sent, update accepted or refused
   * (with its code), evaluation reported. `live` adds presence, task times
   * and when each site downloaded the round's base model.
   */
  FL.roundSitesTable = (round, live) => {
    const presence = new Map((live?.siteStatus || []).map((s) => [s.id, s]))
    const sent = live?.taskSentMs || {}
    const downloaded = live?.downloadedMs || {}
    const ids = new Set(round.sites.map((s) => s.site))
    for (const s of presence.keys()) ids.add(s)
    const rows = [...ids].sort().map((id) => {
      const s = round.sites.find((x) => x.site === id) || { site: id, planned: false, accepted: null, rejected: [], declined: null, evaluation: null, consent: null, reward: null }
      const u = FL.updateState(s)
      const p = presence.get(id)
      const task = sent[id] ? `sent ${FL.time(sent[id])}` : s.planned ? (live ? 'planned, not yet sent' : 'planned') : 'not planned'
      return h(
        'tr',
        { dataset: { site: id, update: u.state, code: u.code, evaluated: s.evaluation ? 'yes' : 'no', task: sent[id] ? 'sent' : s.planned ? 'planned' : 'none' } },
        h('td', {}, id),
        live ? h('td', {}, p?.online ? pill('ok', 'online') : pill('bad', 'offline')) : null,
        h('td', {}, task),
        live ? h('td', { dataset: { downloaded: downloaded[id] ? 'yes' : 'no' } }, downloaded[id] ? `downloaded ${FL.time(downloaded[id])}` : '—') : null,
        h('td', {}, u.node),
        h('td', {}, s.accepted ? h('span', {}, `${s.accepted.examples} ex. · delta `, hash(s.accepted.delta, 8)) : '—'),
        h('td', {}, evaluationText(s.evaluation) || h('span', { class: 'muted' }, round.status === 'committed' ? 'awaited' : '—')),
        h('td', { class: 'num' }, s.reward === null ? '—' : s.reward),
      )
    })
    return table(['site', ...(live ? ['presence'] : []), 'fit task', ...(live ? ['base model'] : []), 'update', 'delta', 'evaluation of the committed model', { label: 'reward', num: true }], rows, {
      class: 'round-sites',
      dataset: { round: round.round },
    })
  }

  FL.refusalsTable = (view) =>
    view.refusals.length === 0
      ? h('p', { class: 'muted refusals-none' }, 'No refusals logged.')
      : table(
          ['code', 'what', { label: 'count', num: true }],
          view.refusals.map((r) => h('tr', { dataset: { code: r.code } }, h('td', {}, h('code', {}, r.code)), h('td', {}, r.type), h('td', { class: 'num' }, r.count))),
          { class: 'refusals' },
        )

  /** Credits per site per round, and the balance each ends with. */
  FL.rewardsTable = (view) => {
    const paid = view.rounds.filter((r) => r.sites.some((s) => s.reward !== null))
    if (paid.length === 0) return h('p', { class: 'muted' }, 'This study pays no rewards (or none yet).')
    const sites = Object.keys(view.balances).sort()
    return table(
      ['site', ...paid.map((r) => ({ label: `round ${r.round}`, num: true })), { label: 'balance', num: true }],
      sites.map((site) =>
        h(
          'tr',
          { dataset: { site } },
          h('td', {}, site),
          paid.map((r) => {
            const s = r.sites.find((x) => x.site === site)
            return h('td', { class: 'num' }, s && s.reward !== null ? s.reward : '—')
          }),
          h('td', { class: 'num' }, view.balances[site]),
        ),
      ),
      { class: 'rewards' },
    )
  }

  /** Patients each update's consent claim covered, per round and site (studies with consent only). */
  FL.consentTable = (view) => {
    const rows = view.rounds.flatMap((r) =>
      r.sites
        .filter((s) => s.consent)
        .map((s) =>
          h(
            'tr',
            {},
            h('td', { class: 'num' }, r.round),
            h('td', {}, s.site),
            h('td', { class: 'num' }, s.consent.count),
            h('td', { class: 'num' }, s.consent.noConsent),
            h('td', { class: 'num' }, s.consent.expired),
            h('td', { class: 'num' }, s.consent.notYetValid),
            h('td', { class: 'num' }, s.consent.revoked),
          ),
        ),
    )
    if (rows.length === 0) return h('p', { class: 'muted' }, 'This study carries no consent claims.')
    return table(
      [
        { label: 'round', num: true },
        'site',
        { label: 'consented patients', num: true },
        { label: 'no consent', num: true },
        { label: 'expired', num: true },
        { label: 'not yet valid', num: true },
        { label: 'revoked', num: true },
      ],
      rows,
      { class: 'consent' },
    )
  }

  /** The three evaluation charts, into `container`. */
  FL.charts = (container, view) => {
    container.textContent = ''
    // Every box is laid out before any chart measures its width.
    const boxes = METRICS.map(() => container.appendChild(h('div', { class: 'chart' })))
    METRICS.forEach((m, i) => FL.metricChart(boxes[i], view, m))
  }
})()
