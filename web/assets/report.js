/*
 * The audit's HTML report: draws the charts, the lineage graph and the
 * per-round tables from the study view embedded in the file
 * (#fl-audit-data). The verdict, the failure, the checks and the spec are
 * already HTML; this adds what needs drawing. The round of a failing entry
 * comes first among the round details, highlighted.
 */
;(() => {
  const FL = window.FL
  const { h } = FL
  const data = JSON.parse(document.getElementById('fl-audit-data').textContent)
  const view = data.view
  FL.charts(document.getElementById('charts'), view)
  FL.lineageGraph(document.getElementById('lineage'), view.lineage)
  const rounds = view.rounds.slice().sort((a, b) => (a.round === data.failedRound ? -1 : b.round === data.failedRound ? 1 : a.round - b.round))
  document
    .getElementById('round-details')
    .replaceChildren(
      ...rounds.map((r) =>
        h(
          'section',
          { class: r.round === data.failedRound ? 'round-detail failure' : 'round-detail', dataset: { round: r.round } },
          h('h3', {}, `Round ${r.round} (${r.status})`, r.round === data.failedRound ? ` · holds the failing entry ${data.failureSeq}` : ''),
          h(
            'p',
            { class: 'muted' },
            `opened ${FL.time(r.openedMs)} · deadline ${FL.time(r.deadlineMs)}`,
            r.commitSeq === null ? '' : ` · committed at entry #${r.commitSeq}`,
            r.abandonReason ? ` · abandoned: ${r.abandonReason}` : '',
            r.abortReason ? ` · aborted by the hub: ${r.abortReason}` : '',
          ),
          FL.roundSitesTable(r, null),
        ),
      ),
    )
  document.getElementById('refusals').replaceChildren(FL.refusalsTable(view))
  document.getElementById('rewards').replaceChildren(FL.rewardsTable(view))
  document.getElementById('consent').replaceChildren(FL.consentTable(view))
  document.body.dataset.rendered = 'yes'
})()
