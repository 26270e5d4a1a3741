/**
 * `fedlineage site check --config site.json --study spec.json`: what the
 * agent will train on, before anything trains and without any network —
 * rows read and used, drops by reason, label balance per split, each
 * column's missingness and range or categories, consent (in a study that
 * asks for it), and the warnings the agent will log at start. Data the
 * schema cannot read is an error with its row, as it is for the agent.
 *
 * The spec comes from a file: a study spec, a hub config (`study`), or the
 * output of `fedlineage study review --json` (`spec`). When the site config
 * names its approval, the spec's hash is held against it.
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { loadSigner, toHex } from '../../ledger/index.ts'
import { StudySpecSchema, type StudySpec } from '../../models/index.ts'
import { encodeSpec, specHash } from '../../protocol/index.ts'
import { readApprovalFile } from '../approval.ts'
import { loadSiteConfig, type SiteConfig } from '../config.ts'
import { profileColumns, type ColumnProfile, type DataReport } from '../data/index.ts'
import { SiteConfigError } from '../errors.ts'
import { SiteData } from '../site-data.ts'

export interface SiteCheck {
  readonly site: string
  readonly study: string
  readonly specHash: string
  /** Whether the spec is the one the site's approval file approves; absent without an approval file. */
  readonly approved?: boolean
  readonly rowsRead: number
  readonly consent?: { readonly atMs: number; readonly used: number; readonly noConsent: number; readonly expired: number; readonly notYetValid: number; readonly revoked: number }
  readonly report: DataReport
  readonly columns: readonly ColumnProfile[]
}

async function readSpec(file: string): Promise<StudySpec> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new SiteConfigError(`--study ${file}: cannot read it as JSON (${(err as Error).message})`, { cause: err })
  }
  const candidate = (value as { study?: unknown; spec?: unknown })?.spec ?? (typeof (value as { study?: unknown })?.study === 'object' ? (value as { study: unknown }).study : value)
  const parsed = StudySpecSchema.safeParse(candidate)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new SiteConfigError(`--study ${file}: not a study spec (study.${issue?.path.join('.')}: ${issue?.message}); give the spec, a hub config, or the output of \`fedlineage study review --json\``)
  }
  return parsed.data
}

export async function siteCheck(opts: { config: string; study: string; json?: boolean }, io: CliIo, nowMs = Date.now()): Promise<SiteCheck> {
  const config: SiteConfig = await loadSiteConfig(opts.config)
  const spec = await readSpec(opts.study)
  if (spec.id !== config.study) throw new SiteConfigError(`--study is study "${spec.id}", but ${opts.config} joins study "${config.study}"`)
  const hash = toHex(specHash(encodeSpec(spec)))
  const approval = config.approval ? (await readApprovalFile(config.approval, config.siteId, config.study, (await loadSigner(config.keyFile)).publicKey)).statement : undefined
  const data = await SiteData.open(config, spec, (m) => io.stderr.write(`warning: ${m}\n`))
  const { prepared, consent } = await data.prepare(nowMs)
  const tables = data.records.validation ? [data.records.train, data.records.validation] : [data.records.train]
  const check: SiteCheck = {
    site: config.siteId,
    study: spec.id,
    specHash: hash,
    ...(approval ? { approved: toHex(approval.spec) === hash } : {}),
    rowsRead: tables.reduce((n, t) => n + t.rows.length, 0),
    ...(consent
      ? {
          consent: {
            atMs: nowMs,
            used: consent.result.counts.consented,
            noConsent: consent.result.counts.noConsent,
            expired: consent.result.counts.expired,
            notYetValid: consent.result.counts.notYetValid,
            revoked: consent.result.counts.revoked,
          },
        }
      : {}),
    report: prepared.report,
    columns: profileColumns(tables, spec.data),
  }
  io.stdout.write(opts.json ? JSON.stringify(check, null, 2) + '\n' : formatCheck(check, spec))
  return check
}

const pct = (n: number, d: number): string => (d === 0 ? '—' : `${((100 * n) / d).toFixed(1)}%`)
const short = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4))

function formatCheck(c: SiteCheck, spec: StudySpec): string {
  const r = c.report
  const out: string[] = []
  const approval = c.approved === undefined ? 'no approval file in the site config' : c.approved ? 'the spec this site approved' : 'NOT the spec this site approved: the agent will refuse its tasks'
  out.push(`site ${c.site}, study ${c.study}: spec ${c.specHash.slice(0, 16)}… (${approval})`)
  out.push(`records read: ${c.rowsRead}`)
  if (c.consent) {
    const k = c.consent
    out.push(
      `consent for ${spec.consent!.purpose} at ${new Date(k.atMs).toISOString()}: ${k.used} records may be used; left out ${k.noConsent} without consent, ${k.expired} expired, ${k.notYetValid} not yet valid, ${k.revoked} revoked`,
    )
  }
  const d = r.dropped
  out.push(
    `used: ${r.rowsUsed.train} train, ${r.rowsUsed.validation} validation; dropped ${d.total}${d.total > 0 ? `: ${d.missingLabel} missing label, ${d.unknownCategory} unknown category, ${d.missingFeature} missing feature` : ''}`,
  )
  const imputed = Object.entries(r.imputed).filter(([, n]) => n > 0)
  if (imputed.length > 0) out.push(`imputed: ${imputed.map(([f, n]) => `${f} ${n}`).join(', ')}`)
  out.push(
    `label ${JSON.stringify(spec.data.label.column)} (positive: ${spec.data.label.positive.join(', ')}): train ${r.positives.train} positive of ${r.rowsUsed.train} (${pct(r.positives.train, r.rowsUsed.train)}), validation ${r.positives.validation} of ${r.rowsUsed.validation} (${pct(r.positives.validation, r.rowsUsed.validation)})`,
  )
  out.push('', `${'feature'.padEnd(18)}${'type'.padEnd(13)}${'missing'.padStart(12)}   values`)
  for (const col of c.columns) {
    const missing = `${col.missing} (${pct(col.missing, col.rows)})`
    const values =
      col.type === 'numeric'
        ? col.min === undefined
          ? 'no numeric value'
          : `${short(col.min)} – ${short(col.max!)}, mean ${short(col.mean!)}${col.invalid > 0 ? `; ${col.invalid} not numbers` : ''}`
        : col.categories.map((k) => `${k.value} ${k.rows}`).join(', ') +
          (col.unknown.length > 0
            ? `; not categories: ${col.unknown
                .slice(0, 5)
                .map((u) => `${JSON.stringify(u.value)} ${u.rows}`)
                .join(', ')}`
            : '')
    out.push(`${col.feature.padEnd(18)}${col.type.padEnd(13)}${missing.padStart(12)}   ${values}`)
  }
  out.push('')
  if (r.warnings.length > 0) out.push('warnings:', ...r.warnings.map((w) => `  - ${w}`), '')
  out.push(
    `${r.warnings.length === 0 ? 'ready' : `ready, with ${r.warnings.length} warning(s)`}: the agent will train on ${r.rowsUsed.train} records and evaluate on ${r.rowsUsed.validation}; this check sent nothing anywhere`,
  )
  return out.join('\n') + '\n'
}
