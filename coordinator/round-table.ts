/**
 * The per-round table the hub reads: round, sites, examples, mean train loss,
 * validation accuracy and AUC (example-weighted over the sites' signed
 * evaluations), model hash prefix and seconds from open to commit.
 */
import { toHex } from '../ledger/index.ts'
import type { RoundStatusResponse__Output, RoundSummary__Output } from '../protos/index.ts'

export interface RoundRow {
  readonly round: number
  readonly state: string
  readonly sites: number
  readonly examples: number
  readonly trainLoss: number | undefined
  readonly valLoss: number | undefined
  readonly valAccuracy: number | undefined
  readonly valAuc: number | undefined
  readonly model: string
  readonly seconds: number | undefined
}

function weighted(s: RoundSummary__Output, metric: string): number | undefined {
  let sum = 0
  let n = 0
  for (const e of s.evaluations) {
    const v = e.metrics[metric]
    if (v === undefined || !Number.isFinite(v)) continue
    sum += v * Number(e.examples)
    n += Number(e.examples)
  }
  return n > 0 ? sum / n : undefined
}

export function roundRow(s: RoundSummary__Output): RoundRow {
  const round = Number(s.round)
  const committed = Number(s.committedMs)
  return {
    round,
    state: s.state,
    sites: round === 0 ? s.evaluations.length : s.sites.length,
    examples: Number(s.examples),
    trainLoss: round === 0 || !s.trainLoss ? undefined : s.trainLoss,
    valLoss: weighted(s, 'loss'),
    valAccuracy: weighted(s, 'accuracy'),
    valAuc: weighted(s, 'auc'),
    model: toHex(s.modelHash).slice(0, 12),
    seconds: committed > 0 ? (committed - Number(s.openedMs)) / 1000 : undefined,
  }
}

const COLUMNS = ['round', 'sites', 'examples', 'train loss', 'val loss', 'val acc', 'val AUC', 'model', 'seconds'] as const
const WIDTHS = [5, 5, 8, 10, 8, 7, 7, 12, 7]

export function formatRoundHeader(): string {
  const head = COLUMNS.map((c, i) => c.padStart(WIDTHS[i]!)).join('  ')
  return `${head}\n${'-'.repeat(head.length)}`
}

export function formatRoundRow(r: RoundRow): string {
  const num = (v: number | undefined, digits: number) => (v === undefined ? '—' : v.toFixed(digits))
  const cells = [String(r.round), String(r.sites), String(r.examples), num(r.trainLoss, 4), num(r.valLoss, 4), num(r.valAccuracy, 3), num(r.valAuc, 3), r.model, num(r.seconds, 2)]
  return cells.map((c, i) => c.padStart(WIDTHS[i]!)).join('  ')
}

export function formatRoundTable(rounds: readonly RoundSummary__Output[]): string {
  return [formatRoundHeader(), ...rounds.map((r) => formatRoundRow(roundRow(r)))].join('\n')
}

const CONSENT_COLUMNS = ['round', 'site', 'patients', 'no consent', 'expired', 'not yet', 'revoked', 'consent root'] as const
const CONSENT_WIDTHS = [5, 20, 8, 10, 7, 7, 7, 16]

/**
 * The consent behind each round, one line per accepted site: patients whose
 * receipts it trained on (the consent tree's count), the records it left
 * out by reason, and its consent root's prefix. Empty when no round carries
 * consent (a study without `consent`).
 */
export function formatConsentTable(rounds: readonly RoundSummary__Output[]): string {
  const lines: string[] = []
  for (const r of rounds) {
    for (const c of r.consent) {
      const cells = [r.round, c.siteId, c.count, c.noConsent, c.expired, c.notYetValid, c.revoked, toHex(c.root).slice(0, 16)]
      lines.push(cells.map((cell, i) => (i === 1 ? cell.padEnd(CONSENT_WIDTHS[i]!) : cell.padStart(CONSENT_WIDTHS[i]!))).join('  '))
    }
    if (Number(r.revocations) > 0) lines.push(`${r.round.padStart(CONSENT_WIDTHS[0]!)}  ${r.revocations} revocation(s) logged (consent-revoked)`)
  }
  if (lines.length === 0) return ''
  const head = CONSENT_COLUMNS.map((c, i) => (i === 1 ? c.padEnd(CONSENT_WIDTHS[i]!) : c.padStart(CONSENT_WIDTHS[i]!))).join('  ')
  return [head, '-'.repeat(head.length), ...lines].join('\n')
}

/**
 * What each site decided about the study: its logged approval (the spec hash
 * it approved, and whether that is the spec the study runs) and every round
 * it declined, with its code and reason. Empty when there is neither.
 */
export function formatSiteControl(status: Pick<RoundStatusResponse__Output, 'approvals' | 'rounds' | 'specHash'>): string {
  const lines: string[] = []
  const running = toHex(status.specHash)
  for (const a of status.approvals) {
    const approved = toHex(a.specHash)
    lines.push(`  ${a.siteId.padEnd(20)} approved spec ${approved.slice(0, 16)}${approved === running ? ' (the spec that runs)' : ' (NOT the spec that runs)'} at log entry ${a.logSeq}`)
  }
  for (const r of status.rounds) for (const d of r.declined) lines.push(`  ${d.siteId.padEnd(20)} declined round ${r.round}: ${d.code}: ${d.reason}`)
  return lines.join('\n')
}
