/*
 * The live dashboard: reads /api/dashboard, draws it, and reads it again on
 * every server-sent `update` event (/api/events), so a round's progress
 * shows without a reload. The deadline countdown ticks locally each second.
 */
;(() => {
  const FL = window.FL
  const { h } = FL
  const $ = (id) => document.getElementById(id)
  let latest = null
  let fetching = false
  let again = false

  function countdown(current) {
    if (!current || current.status !== 'collecting') return '—'
    const left = current.deadlineMs - Date.now()
    if (left <= 0) return 'deadline passed'
    const s = Math.round(left / 1000)
    return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s left`
  }

  function render(v) {
    latest = v
    document.title = `${v.study.id} · fedlineage`
    $('study-title').textContent = `${v.study.title || v.study.id}${v.study.title ? ` (${v.study.id})` : ''}`
    $('spec-hash').textContent = v.study.specHash
    $('updated').textContent = `updated ${FL.time(v.generatedMs)}`
    const online = v.siteStatus.filter((s) => s.online).length
    $('summary').replaceChildren(
      FL.summary([
        ['round', v.current ? `${v.current.round} of ${v.study.roundsTarget}` : `0 of ${v.study.roundsTarget}`, 'round'],
        ['round status', v.study.completed ? 'study completed' : v.current ? v.current.status : 'not started', 'status'],
        ['deadline', h('span', { id: 'countdown' }, countdown(v.current)), 'deadline'],
        ['sites online', `${online} of ${v.siteStatus.length}`, 'online'],
        ['log entries', String(v.log.size), 'log-size'],
        ['strategy', v.study.strategy, 'strategy'],
      ]),
    )
    $('sites').replaceChildren(
      FL.table(
        ['site', 'presence', 'last seen', 'approved spec', { label: 'balance', num: true }, { label: 'cosigned log size', num: true }],
        v.siteStatus.map((s) =>
          h(
            'tr',
            { dataset: { site: s.id, online: s.online ? 'yes' : 'no' } },
            h('td', {}, s.id, s.removed ? FL.pill('bad', 'removed') : null),
            h('td', {}, s.online ? FL.pill('ok', 'online') : FL.pill('bad', 'offline')),
            h('td', {}, s.online ? 'now' : FL.time(s.lastSeenMs)),
            h('td', {}, s.approved ? 'yes' : '—'),
            h('td', { class: 'num' }, s.balance),
            h('td', { class: 'num' }, s.cosignedSize === null ? '—' : s.cosignedSize),
          ),
        ),
        { class: 'sites' },
      ),
    )
    const round = v.current ? v.rounds.find((r) => r.round === v.current.round) : null
    $('current-title').textContent = round ? `Round ${round.round} (${round.status})` : 'Current round'
    $('current').replaceChildren(
      round
        ? h(
            'div',
            {},
            h('p', { class: 'muted' }, `opened ${FL.time(round.openedMs)} · deadline ${FL.time(round.deadlineMs)} · base `, FL.hash(round.base)),
            FL.roundSitesTable(round, { siteStatus: v.siteStatus, taskSentMs: v.current.taskSentMs, downloadedMs: v.current.downloadedMs }),
          )
        : h('p', { class: 'muted' }, 'No round opened yet.'),
    )
    FL.charts($('charts'), v)
    FL.lineageGraph($('lineage'), v.lineage)
    $('rounds').replaceChildren(FL.roundsTable(v))
    $('refusals').replaceChildren(FL.refusalsTable(v))
    $('rewards').replaceChildren(FL.rewardsTable(v))
    $('consent').replaceChildren(FL.consentTable(v))
    const cp = v.log.checkpoint
    $('log').replaceChildren(
      FL.summary([
        ['size', String(v.log.size), 'log-entries'],
        ['head', FL.hash(v.log.head, 16)],
        ['newest checkpoint', cp ? h('span', {}, `${cp.size} · `, FL.hash(cp.root, 16)) : '—'],
        [
          'witness cosignatures',
          v.log.cosigned ? `${v.log.cosigned.cosignatures.length} of size ${v.log.cosigned.size} (${v.log.cosigned.cosignatures.map((c) => c.site || FL.short(c.witness, 8)).join(', ')})` : 'none yet',
        ],
      ]),
    )
  }

  async function refresh() {
    if (fetching) {
      again = true
      return
    }
    fetching = true
    try {
      const res = await fetch('/api/dashboard', { cache: 'no-store' })
      if (!res.ok) throw new Error(`/api/dashboard: HTTP ${res.status}`)
      render(await res.json())
    } catch (err) {
      $('updated').textContent = `could not read the dashboard: ${err.message}`
    } finally {
      fetching = false
      if (again) {
        again = false
        void refresh()
      }
    }
  }

  const live = $('live')
  const events = new EventSource('/api/events')
  events.addEventListener('open', () => {
    live.className = 'live on'
    live.textContent = 'live'
  })
  events.addEventListener('error', () => {
    live.className = 'live off'
    live.textContent = 'reconnecting…'
  })
  events.addEventListener('update', () => void refresh())
  setInterval(() => {
    const el = document.getElementById('countdown')
    if (el && latest) el.textContent = countdown(latest.current)
  }, 1000)
  void refresh()
})()
