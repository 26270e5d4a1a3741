/**
 * Which of the site's records may be trained on in a round: only those of
 * patients whose consent is valid for the study and purpose at the round's
 * time (ConsentStore.decide). Everything else is left out and counted by
 * reason. The receipts the site used are returned sorted by pseudonym, ready
 * for the round's consent tree (`consentTreeOf(usedLeaves)`), whose root and
 * count the site commits in its update.
 */
import { toHex } from '../../ledger/core/index.ts'
import type { RawTable } from '../data/raw-table.ts'
import { resolveColumns } from '../data/raw-table.ts'
import type { ConsentDecisionKind, ConsentStore } from './store.ts'
import { pseudonymOf, type ConsentLeaf, type SignedConsent } from '../../protocol/index.ts'

/** The round's consent question, and the secret that turns patient ids into pseudonyms. */
export interface ConsentFilterQuery {
  readonly study: string
  readonly purpose: string
  /** The round's time, ms since the epoch (the time the round opened). */
  readonly atMs: number
  readonly siteSecret: Uint8Array
}

/** Records (not patients) by decision. */
export type ConsentCounts = { readonly [K in ConsentDecisionKind]: number }

export interface ConsentFilterResult {
  /** Per record, in input order: may it be trained on? */
  readonly included: readonly boolean[]
  readonly counts: ConsentCounts
  /** One signed receipt per consented patient (a patient with several records counts once), sorted by pseudonym. */
  readonly usedReceipts: readonly SignedConsent[]
  /** The consent-tree leaves of `usedReceipts`, in the same order. */
  readonly usedLeaves: readonly ConsentLeaf[]
}

/** The part of the store the filter uses. */
export type ConsentFilterComponents = Pick<ConsentStore, 'decide'>

/**
 * Decides each record by its patient id. A record with an empty patient id
 * has no consent (`noConsent`). Each distinct patient is looked up once.
 * Deterministic: the same ids, store and query give the same result.
 * Throws LEDGER_INVALID_ARGUMENT when the site secret is too short.
 */
export function filterByConsent(patientIds: readonly string[], store: ConsentFilterComponents, query: ConsentFilterQuery): ConsentFilterResult {
  const counts: Record<ConsentDecisionKind, number> = { consented: 0, noConsent: 0, expired: 0, notYetValid: 0, revoked: 0 }
  const decisions = new Map<string, ConsentDecisionKind>()
  const used = new Map<string, { signed: SignedConsent; leaf: ConsentLeaf }>()
  const decisionQuery = { study: query.study, purpose: query.purpose, atMs: query.atMs }
  const included = patientIds.map((id) => {
    let kind = decisions.get(id)
    if (kind === undefined) {
      if (id === '') {
        kind = 'noConsent'
      } else {
        const decision = store.decide(pseudonymOf(query.siteSecret, id), decisionQuery)
        kind = decision.kind
        if (decision.receipt !== undefined) used.set(toHex(decision.receipt.leaf.pseudonym), decision.receipt)
      }
      decisions.set(id, kind)
    }
    counts[kind]++
    return kind === 'consented'
  })
  const sorted = [...used.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r)
  return { included, counts, usedReceipts: sorted.map((r) => r.signed), usedLeaves: sorted.map((r) => r.leaf) }
}

/**
 * `filterByConsent` over a table's `patientIdColumn`, and the table of the
 * included rows only (their source lines kept), ready for `prepareSplits`.
 * Does not mutate `table`. Throws SiteColumnMissingError when the column is
 * absent.
 */
export function filterTableByConsent(
  table: RawTable,
  patientIdColumn: string,
  store: ConsentFilterComponents,
  query: ConsentFilterQuery,
): { readonly table: RawTable; readonly result: ConsentFilterResult } {
  const column = resolveColumns(table, [patientIdColumn]).get(patientIdColumn) as number
  const result = filterByConsent(
    table.rows.map((row) => row[column] ?? ''),
    store,
    query,
  )
  const rows = table.rows.filter((_, i) => result.included[i])
  const lines = table.lines?.filter((_, i) => result.included[i])
  return { table: { ...table, rows, ...(lines === undefined ? {} : { lines }) }, result }
}
