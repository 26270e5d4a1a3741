/**
 * `fedlineage audit --html report.html`: one self-contained HTML file an
 * auditor or a regulator can open with no network (every script and style
 * inlined, a Content-Security-Policy that lets nothing load) and print.
 *
 * What needs no script is written here as HTML: the verdict, the failure
 * (first, highlighted, when the audit failed), the checks per round, the
 * sites, the checkpoint and its cosignatures, the study spec. The charts,
 * the lineage graph and the per-round site tables are drawn in the page by
 * web/'s scripts from the embedded study view, the same ones the live
 * dashboard uses, so both read a log the same way.
 *
 * `renderAuditHtml` is pure: data and asset texts in, a string out.
 */
import type { StudyView } from '../protocol/index.ts'
import type { AuditReport } from './core/index.ts'
import { formatAuditVerdict } from './summary.ts'

/** The newest checkpoint a witness cosigned, with each cosignature checked against it. */
export interface CosignedCheckpointView {
  readonly size: number
  readonly root: string
  readonly cosignatures: readonly { readonly witness: string; readonly site: string | null; readonly timeMs: number; readonly valid: boolean }[]
}

/** The entry an audit failed at, as stored: its kind and round when it could be read. */
export interface FailedEntryView {
  readonly seq: number
  readonly kind: string | null
  readonly round: number | null
}

export interface AuditHtmlInput {
  readonly report: AuditReport
  readonly view: StudyView
  readonly cosigned: CosignedCheckpointView | undefined
  /** The failing entry as stored (when the audit failed). */
  readonly failedEntry?: FailedEntryView | undefined
  /** Where the log came from, in words (`LevelDB hub-ledger`). */
  readonly source: string
  readonly generatedMs: number
  /** Texts of web/'s report scripts and styles, in load order. */
  readonly scripts: readonly string[]
  readonly styles: readonly string[]
}

/** Nothing loads from anywhere: inline scripts and styles only, images as data: URLs. */
const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** JSON safe inside a `<script>` element: no `<` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Text safe inside a raw-text element (`<script>`, `<style>`): a closing tag is broken up. */
function rawText(text: string, tag: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1')
}

const time = (ms: number | null | undefined) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—'
const code = (hex: string | null | undefined, n = 16) => (hex ? `<code class="hash" title="${escapeHtml(hex)}">${escapeHtml(hex.slice(0, n))}</code>` : '—')

/** The round an entry belongs to, when it is one of a round's (commit, accepted or refused update, evaluation). */
export function roundOfEntry(view: StudyView, seq: number): number | undefined {
  for (const r of view.rounds) {
    if (r.commitSeq === seq) return r.round
    for (const s of r.sites) if (s.accepted?.seq === seq || s.evaluation?.seq === seq || s.declined?.seq === seq || s.rejected.some((x) => x.seq === seq)) return r.round
  }
  return undefined
}

function failureSection(report: AuditReport, round: number | undefined, kind: string | null | undefined): string {
  const f = report.failure
  if (f === undefined) return ''
  const mismatch =
    f.expected !== undefined || f.calculated !== undefined
      ? `<table><tr><th>the log says</th><td>${code(f.expected ?? '', 64)}</td></tr><tr><th>the audit computed</th><td>${code(f.calculated ?? '', 64)}</td></tr></table>`
      : ''
  return `<section class="failure" id="failure" data-seq="${f.seq}" data-code="${escapeHtml(f.code)}">
<h2>Audit FAILED at entry ${f.seq}${kind || round !== undefined ? ` (${[kind ? escapeHtml(kind) : '', round === undefined ? '' : `round ${round}`].filter((x) => x !== '').join(', ')})` : ''}</h2>
<p><code>${escapeHtml(f.code)}</code>: ${escapeHtml(f.message)}</p>
${mismatch}
<p class="muted">Everything below describes the log up to entry ${f.seq}: ${report.entries} entries passed every check before it.</p>
</section>`
}

function checksTable(report: AuditReport, failedRound: number | undefined): string {
  if (report.rounds.length === 0) return '<p class="muted">No rounds.</p>'
  const rows = report.rounds.map((r) => {
    const rederived =
      r.status !== 'committed'
        ? '—'
        : r.rederived
          ? '<span class="pill ok">yes</span>'
          : r.hashOnly
            ? '<span class="pill warn">hash-only</span>'
            : r.unchecked
              ? '<span class="pill warn">not checked</span>'
              : '<span class="pill bad">NO</span>'
    const consent = r.consent === undefined ? '—' : `${r.consent.length} claims, ${r.consent.reduce((n, c) => n + c.count, 0)} patients${r.revocations ? `, ${r.revocations} revoked` : ''}`
    // Under secure aggregation the sites' deltas were never seen: the audit re-derived the sum of their masked inputs.
    const secure =
      r.secagg === undefined
        ? ''
        : `<br><span class="pill ok">secure sum</span> of ${r.secagg.survivors} masked inputs, unmasked from ${r.secagg.reveals} reveals${r.secagg.dropped.length > 0 ? `; dropped after sharing: ${escapeHtml(r.secagg.dropped.join(', '))}` : ''}`
    return `<tr data-round="${r.round}" data-status="${r.status}"${r.round === failedRound ? ' class="failed-row"' : ''}><td class="num">${r.round}</td><td>${escapeHtml(r.status)}</td><td>${code(r.parent, 12)}</td><td>${code(r.model, 12)}</td><td>${escapeHtml(r.sites.join(', ') || '—')}${secure}</td><td class="num">${r.examples}</td><td>${rederived}</td><td>${r.rewarded ? 'recomputed' : '—'}</td><td>${consent}</td></tr>`
  })
  return `<table class="checks"><thead><tr><th class="num">round</th><th>status</th><th>parent</th><th>model</th><th>sites aggregated</th><th class="num">examples</th><th>re-derived bit for bit</th><th>rewards</th><th>consent</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`
}

function sitesTable(report: AuditReport): string {
  const rows = report.sites.map(
    (s) =>
      `<tr data-site="${escapeHtml(s.id)}"><td>${escapeHtml(s.id)}</td><td class="num">${s.updates}</td><td class="num">${s.evaluations}</td><td class="num">${s.rejected}</td><td>${s.approved === null ? '—' : code(s.approved, 12)}</td><td>${escapeHtml(s.declined.map((d) => `r${d.round} ${d.code}`).join(', ') || '—')}</td><td class="num">${escapeHtml(report.balances[s.id] ?? '0')}</td></tr>`,
  )
  return `<table class="audit-sites"><thead><tr><th>site</th><th class="num">updates</th><th class="num">evaluations</th><th class="num">refused</th><th>approved spec</th><th>declined</th><th class="num">credits</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** The study's witness policy as the audit applied it (or, plainly, that there was none). */
function witnessingParagraph(report: AuditReport): string {
  const w = report.witnessing
  if (w === undefined) return ''
  if (w.quorum === undefined) return '<p class="witnessing muted">The study sets no witness policy: no cosignature was required of its checkpoints.</p>'
  const by = w.cosignedBy.length === 0 ? 'no witness' : w.cosignedBy.map(escapeHtml).join(', ')
  return `<p class="witnessing">Witness quorum <code>${escapeHtml(w.quorum)}</code> (the study's tlog-policy) met${w.size === undefined ? '' : ` by checkpoint ${w.size}`}, cosigned by ${by}.</p>`
}

function checkpointSection(report: AuditReport, cosigned: CosignedCheckpointView | undefined): string {
  const cp = report.checkpoint
  const matched = cp
    ? `<p>The coordinator's signed checkpoint of size ${cp.size} matches the replayed log: root ${code(cp.root, 64)}.</p>`
    : `<p class="muted">The source holds no checkpoint of the whole replayed log; its head is ${code(report.head, 64)}.</p>`
  const head = `${matched}${witnessingParagraph(report)}`
  if (cosigned === undefined) return `${head}<p class="muted">No witness cosignatures in this source.</p>`
  const rows = cosigned.cosignatures.map(
    (c) =>
      `<tr><td>${escapeHtml(c.site ?? 'unknown witness')}</td><td>${code(c.witness, 16)}</td><td>${time(c.timeMs)}</td><td>${c.valid ? '<span class="pill ok">valid</span>' : '<span class="pill bad">INVALID</span>'}</td></tr>`,
  )
  return `${head}<p>Newest cosigned checkpoint: size ${cosigned.size}, root ${code(cosigned.root, 16)}; ${cosigned.cosignatures.length} cosignature${cosigned.cosignatures.length === 1 ? '' : 's'}:</p>
<table class="cosignatures"><thead><tr><th>witness</th><th>key</th><th>cosigned</th><th>signature</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

export function renderAuditHtml(input: AuditHtmlInput): string {
  const { report, view } = input
  const failedRound = report.failure === undefined ? undefined : (input.failedEntry?.round ?? roundOfEntry(view, report.failure.seq))
  const title = `Audit of study ${report.study || '(unknown)'}`
  const verdictClass = report.verdict
  const data = { view, failureSeq: report.failure?.seq ?? null, failedRound: failedRound ?? null }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
${input.styles.map((s) => `<style>\n${rawText(s, 'style')}\n</style>`).join('\n')}
</head>
<body data-verdict="${verdictClass}">
<header>
<h1>${escapeHtml(title)}${view.study.title ? ` <span class="muted">(${escapeHtml(view.study.title)})</span>` : ''}</h1>
<div class="muted">audited ${time(input.generatedMs)} from ${escapeHtml(input.source)}</div>
</header>
${failureSection(report, failedRound, input.failedEntry?.kind)}
<p class="verdict ${verdictClass}" id="verdict">${escapeHtml(formatAuditVerdict(report))}</p>
<div class="summary">
<div><div class="label">entries checked</div><div class="value">${report.entries}</div></div>
<div><div class="label">rounds committed</div><div class="value">${report.rounds.filter((r) => r.status === 'committed').length} of ${report.rounds.length}${report.completed ? ', completed' : ''}</div></div>
<div><div class="label">study spec (SHA-256)</div><div class="value">${code(report.specHash, 16)}</div></div>
<div><div class="label">coordinator key</div><div class="value">${code(report.coordinatorKey, 16)}</div></div>
<div><div class="label">log head</div><div class="value">${code(report.head, 16)}</div></div>
</div>
${report.unchecked?.length ? `<h2>Not checked</h2><ul>${report.unchecked.map((u) => `<li>${escapeHtml(u)}</li>`).join('')}</ul>` : ''}
<h2>Checks per round</h2>
${checksTable(report, failedRound)}
<h2>Evaluation per round</h2>
<div id="charts" class="charts"></div>
<h2>Model lineage</h2>
<p class="muted">Each model, its parent, and the site deltas that made it, with the log entries that hold them.</p>
<div id="lineage" class="lineage"></div>
<h2>Rounds in detail</h2>
<div id="round-details"></div>
<h2>Sites</h2>
${sitesTable(report)}
<h2>Refusals by code</h2>
<div id="refusals"></div>
<h2>Rewards</h2>
<div id="rewards"></div>
<h2>Consent</h2>
<div id="consent"></div>
<h2>Checkpoint and cosignatures</h2>
${checkpointSection(report, input.cosigned)}
<h2>Study spec</h2>
<pre class="spec">${escapeHtml(JSON.stringify(view.study.spec, null, 2))}</pre>
<footer>Generated by <code>fedlineage audit --html</code>. Re-check it yourself: <code>fedlineage audit --db DIR</code> or <code>--peer MULTIADDR</code> re-derives every model from the log.</footer>
<script type="application/json" id="fl-audit-data">${scriptJson(data)}</script>
${input.scripts.map((s) => `<script>\n${rawText(s, 'script')}\n</script>`).join('\n')}
</body>
</html>
`
}
