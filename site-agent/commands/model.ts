/**
 * `fedlineage model export --db DIR [--round N] --out DIR` and
 * `fedlineage predict --model DIR (--site-config site.json | --data FILE.csv)`:
 * the trained model out of the log, and put to use.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { parsePublicKey, snapshotNotice } from '../../ledger/index.ts'
import { loadSiteConfig } from '../config.ts'
import { SiteConfigError, SitePredictMismatchError } from '../errors.ts'
import { exportModel } from '../model-export/export-model.ts'
import { loadExport, type LoadedExport } from '../model-export/exported-model.ts'
import { reproduceSiteEvaluation, scoreFile, type Metrics } from '../model-export/predict.ts'

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** Reported and re-measured metrics agree when they differ by no more than float32 rounding of the same computation. */
const REPRODUCED_TOLERANCE = 1e-6

const fmt = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(4) : '—')

function metricsRow(label: string, m: { examples: number; loss: number; accuracy: number; auc?: number }): string {
  return `${label.padEnd(12)}${String(m.examples).padStart(9)}${fmt(m.loss).padStart(9)}${fmt(m.accuracy).padStart(10)}${fmt(m.auc).padStart(9)}`
}

function provenance(model: LoadedExport): string {
  const { card, proof } = model
  const key = card.log.coordinatorKey
  const trust = model.keyPinned ? 'the pinned coordinator key' : `key ${key.slice(0, 16)}… named by the card itself (not pinned: pass --coordinator-key to check it is the coordinator's)`
  return `model of round ${card.model.round} (${card.model.sha256.slice(0, 12)}), study ${card.study.id}: weights match the commit, entry ${proof.entry.seq} included in checkpoint ${proof.checkpoint.size} signed by ${trust}`
}

export async function modelExport(raw: { db: string; out: string; round?: string; coordinatorKey?: string }, io: CliIo): Promise<void> {
  const round = raw.round === undefined ? undefined : Number(raw.round)
  if (round !== undefined && (!Number.isSafeInteger(round) || round < 1)) throw new SiteConfigError(`--round is ${JSON.stringify(raw.round)}, want a committed round number >= 1`)
  const exported = await exportModel({
    db: raw.db,
    out: raw.out,
    ...(round !== undefined ? { round } : {}),
    ...(raw.coordinatorKey ? { coordinatorKey: parsePublicKey(raw.coordinatorKey, '--coordinator-key') } : {}),
    version: VERSION,
    onSnapshot: (snapshot) => io.stderr.write(`${snapshotNotice(snapshot)}\n`),
  })
  const { card } = exported
  const w = card.evaluation.weighted
  io.stdout.write(
    [
      `exported round ${card.model.round}${card.model.final ? ' (final)' : ''} of study ${card.study.id} to ${exported.dir}: model ${card.model.sha256.slice(0, 16)}…, ${card.model.parameters} parameters`,
      `  model.json + weights.bin   TF.js layers format (tf.loadLayersModel); outputs a logit`,
      `  preprocessing.json         inputs, label, standardisation (${card.study.spec.data.standardize})`,
      `  model-card.md, .json       ${card.lineage.length} rounds, ${card.sites.length} sites, ${card.evaluation.perSite.length} site reports${w ? `, weighted accuracy ${fmt(w.accuracy)}` : ''}`,
      `  commit-proof.json          entry ${card.log.commitSeq} in checkpoint ${card.log.checkpoint.size}: fedlineage log check-proof --proof ${exported.dir}/commit-proof.json --coordinator-key ${card.log.coordinatorKey}`,
      `checked: every log entry's signature (${card.log.entries} entries${raw.coordinatorKey ? ', pinned key' : ', key not pinned'}), the commit's inclusion, the model hash, and a TF.js reload of the files`,
      '',
    ].join('\n'),
  )
}

export async function predict(raw: { model: string; siteConfig?: string; data?: string; out?: string; coordinatorKey?: string }, io: CliIo): Promise<void> {
  if (raw.siteConfig === undefined && raw.data === undefined)
    throw new SiteConfigError("predict needs --site-config site.json (re-score that site's validation split) or --data FILE.csv (score a file), or both")
  const model = await loadExport(raw.model, raw.coordinatorKey ? parsePublicKey(raw.coordinatorKey, '--coordinator-key') : undefined)
  const config = raw.siteConfig === undefined ? undefined : await loadSiteConfig(raw.siteConfig)
  io.stderr.write(provenance(model) + '\n')
  if (raw.data === undefined) {
    const r = await reproduceSiteEvaluation(model, config!)
    const lines = [`site ${r.site}, validation split:`, `${''.padEnd(12)}${'examples'.padStart(9)}${'loss'.padStart(9)}${'accuracy'.padStart(10)}${'AUC'.padStart(9)}`]
    if (r.reported) lines.push(metricsRow('reported', r.reported))
    lines.push(metricsRow('reproduced', r.measured))
    io.stdout.write(lines.join('\n') + '\n')
    if (!r.reported) {
      io.stdout.write(`site ${r.site} sent no report on this model: nothing to compare with\n`)
      return
    }
    const same =
      r.reported.examples === r.measured.examples &&
      Math.abs(r.reported.accuracy - r.measured.accuracy) <= REPRODUCED_TOLERANCE &&
      Math.abs(r.reported.loss - r.measured.loss) <= REPRODUCED_TOLERANCE &&
      (r.reported.auc === undefined || Math.abs(r.reported.auc - r.measured.auc) <= REPRODUCED_TOLERANCE)
    if (!same) {
      throw new SitePredictMismatchError(
        `site ${r.site}: the export scores its validation split differently from the site's signed report: its records or consents changed since round ${model.card.model.round}, or this is not the model it evaluated`,
      )
    }
    io.stdout.write(`reproduced: the exported model scores site ${r.site}'s validation split as the site reported\n`)
    return
  }
  const scored = await scoreFile(model, raw.data, config)
  const { scoring, probabilities } = scored
  const csv = ['row,probability,label']
  scoring.rows.forEach((row, i) => csv.push(`${row + 1},${probabilities[i]!.toPrecision(7)},${scoring.labeled[i] ? scoring.dataset.labels[i] : ''}`))
  for (const s of scoring.skipped) csv.push(`${s.row + 1},,`)
  if (raw.out) await writeFile(raw.out, csv.join('\n') + '\n')
  else io.stdout.write(csv.join('\n') + '\n')
  const summary = [`scored ${scoring.rows.length} of ${scoring.rows.length + scoring.skipped.length} rows of ${raw.data}${raw.out ? ` into ${raw.out}` : ''}`]
  if (scoring.skipped.length > 0) {
    const byReason = new Map<string, number>()
    for (const s of scoring.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1)
    summary.push(`not scored: ${[...byReason].map(([r, n]) => `${n} (${r})`).join(', ')}; their probability is empty`)
  }
  if (scored.metrics) summary.push(`on the ${scored.metrics.examples} labelled rows: ${metricsLine(scored.metrics)}`)
  io.stderr.write(summary.join('\n') + '\n')
}

function metricsLine(m: Metrics): string {
  return `loss ${fmt(m.loss)}, accuracy ${fmt(m.accuracy)}, AUC ${fmt(m.auc)}`
}
