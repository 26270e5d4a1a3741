/**
 * How the secure-aggregation entries fold into a round's state (the part of
 * `StudyState.apply` for `secagg-keys`, `secagg-shares`, `secagg-phase` and
 * `secagg-unmask`). Each check is a rule a correct coordinator never breaks:
 * a message from a site outside the phase's set, a second message, a phase
 * that names other sites than those that answered, or one out of order.
 */
import { sha256, toHex } from '../ledger/core/index.ts'
import { ENTRY_KINDS, type LineageRecord } from './lineage.ts'
import { decodeStatement } from './statements.ts'
import type { SecAggRound, StudyState } from './study-state.ts'

type SecAggRecord = Extract<LineageRecord, { kind: 'secagg-keys' | 'secagg-shares' | 'secagg-unmask' | 'secagg-phase' }>

const sameSites = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, i) => s === b[i])
const sortedKeys = (m: ReadonlyMap<string, unknown>) => [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

export function applySecAgg(state: StudyState, record: SecAggRecord, fail: (why: string) => never): void {
  const b = record.body
  const round = state.openRound
  if (!round || round.round !== b.round) fail(`secure-aggregation entry for round ${b.round}, but the open round is ${round?.round ?? 'none'}`)
  const sa: SecAggRound = round!.secagg ?? fail(`secure-aggregation entry in round ${b.round}, which does not aggregate securely`)
  if (record.kind === ENTRY_KINDS.SECAGG_PHASE) {
    const p = record.body
    const want = p.phase === 'shares' ? 'keys' : p.phase === 'input' ? 'shares' : 'input'
    if (sa.phase !== want) fail(`phase ${p.phase} follows phase ${sa.phase}, want ${want}`)
    const answered = p.phase === 'shares' ? sortedKeys(sa.keys) : p.phase === 'input' ? sortedKeys(sa.shares) : sortedKeys(round!.accepted)
    if (!sameSites(p.sites, answered)) fail(`phase ${p.phase} names [${p.sites.join(', ')}], the sites that answered are [${answered.join(', ')}]`)
    if (p.phase === 'shares') {
      if (p.k === undefined || p.t === undefined) fail('the shares phase names no k and t')
      sa.u1 = { sites: p.sites, k: p.k!, t: p.t! }
    } else if (p.phase === 'input') sa.u2 = p.sites
    else sa.u3 = p.sites
    sa.phase = p.phase
    sa.phaseSinceMs = record.timeMs
    return
  }
  const site = record.body.site
  if (!state.sites.has(site)) fail(`secure-aggregation message from unenrolled site "${site}"`)
  const st = record.body.statement
  if (record.kind === ENTRY_KINDS.SECAGG_KEYS) {
    if (sa.phase !== 'keys') fail(`keys from "${site}" in the ${sa.phase} phase`)
    if (!round!.plan.has(site)) fail(`keys from "${site}", which round ${b.round} did not plan`)
    if (sa.keys.has(site)) fail(`second keys from "${site}"`)
    const k = decodeStatement('secagg-keys', st.body)
    if (k.site !== site || k.round !== b.round) fail('the embedded statement is for another site or round')
    sa.keys.set(site, { seq: record.seq, cPk: k.cPk, sPk: k.sPk, statement: { body: st.body, signature: st.sig } })
  } else if (record.kind === ENTRY_KINDS.SECAGG_SHARES) {
    if (sa.phase !== 'shares' || !sa.u1!.sites.includes(site)) fail(`shares from "${site}" outside the shares phase or from a site outside U1`)
    if (sa.shares.has(site)) fail(`second shares from "${site}"`)
    const sh = decodeStatement('secagg-shares', st.body)
    if (sh.site !== site || sh.round !== b.round) fail('the embedded statement is for another site or round')
    sa.shares.set(site, { seq: record.seq, bCommit: sh.bCommit, boxes: new Map(sh.shares.map((x) => [x.to, x.box])) })
  } else {
    if (sa.phase !== 'unmask' || !sa.u3!.includes(site)) fail(`reveals from "${site}" outside the unmask phase or from a site outside U3`)
    if (sa.reveals.has(site)) fail(`second reveals from "${site}"`)
    const u = decodeStatement('secagg-unmask', st.body)
    if (u.site !== site || u.round !== b.round) fail('the embedded statement is for another site or round')
    sa.reveals.set(site, u.reveals)
  }
  state.seenStatements.add(toHex(sha256(st.body)))
}
