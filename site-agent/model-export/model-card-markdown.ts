/** The model card as Markdown, for a person: the same facts as model-card.json, in reading order. */
import type { ModelCard } from './model-card.ts'

const pct = (x: number): string => (Number.isFinite(x) ? (x * 100).toFixed(1) + '%' : '—')
const num = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(4) : '—')

export function renderModelCard(card: ModelCard): string {
  const out: string[] = []
  const { study, model, log } = card
  out.push(`# Model card: ${study.title || study.id}, round ${model.round}${model.final ? ' (final model)' : ''}`, '')
  out.push(`- **Study:** \`${study.id}\`, spec SHA-256 \`${study.specSha256}\``)
  out.push(`- **Model:** ${model.kind}, ${model.parameters.toLocaleString('en-US')} parameters over ${model.inputs.length} inputs; SHA-256 \`${model.sha256}\``)
  out.push(
    `- **Files:** \`${model.files.modelJson}\` + \`${model.files.weights}\` (TF.js layers format: \`tf.loadLayersModel\`); the model outputs a logit, P(positive) = sigmoid(logit); inputs are prepared as \`${model.files.preprocessing}\` says`,
  )
  out.push(`- **Training:** ${card.training.optimizer}, learning rate ${card.training.learningRate}, batch ${card.training.batchSize}, ${card.training.localSteps} local steps per round`)
  out.push(
    `- **Strategy:** ${card.strategy.name} ${Object.entries(card.strategy.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    '',
  )

  out.push('## Evaluation at each site', '', `Each site's signed report on its own held-out records, for this model (round ${card.evaluation.round}).`, '')
  out.push('| site | examples | loss | accuracy | AUC |', '|---|---:|---:|---:|---:|')
  for (const e of card.evaluation.perSite) out.push(`| ${e.site} | ${e.examples} | ${num(e.loss)} | ${pct(e.accuracy)} | ${num(e.auc)} |`)
  const w = card.evaluation.weighted
  if (w) out.push(`| **weighted** | ${w.examples} | ${num(w.loss)} | ${pct(w.accuracy)} | |`)
  if (card.evaluation.perSite.length === 0) out.push('| (no site reported on this model) | | | | |')
  out.push('')

  out.push('## How it came to be', '', '| round | sites (examples) | left out | model |', '|---:|---|---|---|')
  for (const r of card.lineage) {
    const left = [...r.failures.map((f) => `${f.site}: ${f.reason}`), ...r.exclusions.map((e) => `${e.site}: ${e.reason}`)].join('; ') || '—'
    out.push(`| ${r.round} | ${r.inputs.map((i) => `${i.site} (${i.examples})`).join(', ')} | ${left} | \`${r.model.slice(0, 12)}\` |`)
  }
  out.push('', '| site | rounds contributed | examples in the last round |', '|---|---:|---:|')
  for (const s of card.sites) out.push(`| ${s.site} | ${s.rounds} | ${s.examples} |`)
  out.push('')

  out.push('## Consent and privacy', '')
  if (card.consent.required) {
    out.push(`Every record trained on had a valid consent for purpose \`${card.consent.purpose}\` at the round's time; each update committed to the consent receipts it used.`, '')
    for (const c of card.consent.claims) {
      const ex = Object.entries(c.excluded)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      out.push(`- ${c.site}: ${c.patients} patients, consent root \`${c.root.slice(0, 16)}\`; records left out: ${ex}`)
    }
  } else out.push('The study required no consent check: sites trained on every record of their data source.')
  out.push('')
  for (const t of card.privacy) out.push(`- ${t}`)
  out.push('')

  out.push('## Proof', '')
  out.push(
    `The entry that committed this model is entry ${log.commitSeq} of the log of \`${log.checkpoint.origin}\`, included in its checkpoint of size ${log.checkpoint.size} (root \`${log.checkpoint.rootSha256}\`), signed by the coordinator key \`${log.coordinatorKey}\`.`,
  )
  out.push('', 'Check it offline: `fedlineage log check-proof --proof commit-proof.json --coordinator-key ' + log.coordinatorKey + '`')
  out.push('', `Exported by ${card.exportedBy}.`, '')
  return out.join('\n')
}
