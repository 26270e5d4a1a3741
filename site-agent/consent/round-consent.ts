/**
 * A round's consent at the site, from its consent store to the claim its
 * update envelope carries (`ext.consent`, protocol/consent-claim.ts).
 * Pure: the store, the round's records and time in; the filtered table, the
 * consent tree and the claim out.
 *
 * 1. The withdrawals to report: every revocation the store holds that
 *    applies by the round's time and revokes a receipt for the study
 *    (`ConsentStore.revokedAt`). They are reported with every update (the
 *    coordinator logs the ones it does not hold yet), and each gets a
 *    non-inclusion proof.
 * 2. The filter (`filterTableByConsent`), with one rule added: a reported
 *    pseudonym counts as `revoked` even when a later receipt would make it
 *    valid again. Once logged, a withdrawal binds every later round of the
 *    study, because its non-inclusion proof must hold against every later
 *    consent root; a patient who consents again after withdrawing joins the
 *    next study, not this one.
 * 3. The tree over the receipts used, and the claim: its root and count,
 *    the records left out by reason, the reported withdrawals and their
 *    non-inclusion proofs.
 */
import { toHex } from '../../ledger/index.ts'
import type { RawTable } from '../data/raw-table.ts'
import { filterTableByConsent, type ConsentFilterComponents, type ConsentFilterResult } from './filter.ts'
import type { ConsentStore } from './store.ts'
import { consentTreeOf, proveConsentNonInclusion, type ConsentClaim, type ConsentTree, type RevokedPseudonym } from '../../protocol/index.ts'

export interface RoundConsentQuery {
  readonly study: string
  readonly purpose: string
  /** The round's time: when it opened (ms since the epoch). */
  readonly atMs: number
  readonly siteSecret: Uint8Array
  /** The table column with each record's patient id (`study.data.patientIdColumn`). */
  readonly patientIdColumn: string
}

export interface RoundConsent {
  /** The tables with only the records that may be trained on, in input order. */
  readonly tables: readonly RawTable[]
  /** The filter's result over all tables together (counts are records). */
  readonly result: ConsentFilterResult
  readonly tree: ConsentTree
  readonly claim: ConsentClaim
}

/**
 * Filters `tables` (the training table, and a separate validation table if
 * the site has one) by consent at `query.atMs` and builds the round's
 * consent tree and claim. A patient's records in several tables count once
 * in the tree. Throws SiteColumnMissingError when a table lacks the patient
 * id column.
 */
export function roundConsent(tables: readonly RawTable[], store: Pick<ConsentStore, 'decide' | 'revokedAt'>, query: RoundConsentQuery): RoundConsent {
  const revoked: readonly RevokedPseudonym[] = store.revokedAt(query.study, query.atMs)
  const withdrawn = new Set(revoked.map((r) => toHex(r.pseudonym)))
  const components: ConsentFilterComponents = {
    decide: (pseudonym, q) => (withdrawn.has(toHex(pseudonym)) ? { kind: 'revoked' } : store.decide(pseudonym, q)),
  }
  const filterQuery = { study: query.study, purpose: query.purpose, atMs: query.atMs, siteSecret: query.siteSecret }
  const filtered = tables.map((table) => filterTableByConsent(table, query.patientIdColumn, components, filterQuery))
  const result = mergeResults(filtered.map((f) => f.result))
  const tree = consentTreeOf(result.usedLeaves)
  const claim: ConsentClaim = {
    at: query.atMs,
    root: tree.root,
    count: tree.count,
    excluded: { noConsent: result.counts.noConsent, expired: result.counts.expired, notYetValid: result.counts.notYetValid, revoked: result.counts.revoked },
    revoked,
    nonInclusion: revoked.map((r) => proveConsentNonInclusion(tree, r.pseudonym)),
  }
  return { tables: filtered.map((f) => f.table), result, tree, claim }
}

/** The results of several tables as one: counts summed, used receipts merged by pseudonym (sorted). */
function mergeResults(results: readonly ConsentFilterResult[]): ConsentFilterResult {
  if (results.length === 1) return results[0]!
  const counts = { consented: 0, noConsent: 0, expired: 0, notYetValid: 0, revoked: 0 }
  const used = new Map<string, { signed: ConsentFilterResult['usedReceipts'][number]; leaf: ConsentFilterResult['usedLeaves'][number] }>()
  for (const r of results) {
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += r.counts[k]
    r.usedLeaves.forEach((leaf, i) => used.set(toHex(leaf.pseudonym), { signed: r.usedReceipts[i]!, leaf }))
  }
  const sorted = [...used.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
  return { included: results.flatMap((r) => r.included), counts, usedReceipts: sorted.map((v) => v.signed), usedLeaves: sorted.map((v) => v.leaf) }
}
