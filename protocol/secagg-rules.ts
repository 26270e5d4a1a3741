/**
 * Secure aggregation's round (Bonawitz et al. 2017; SecAgg+ over a
 * k-regular graph, Bell et al. 2020), as the decider runs it: which signed
 * message a site may send in which phase, and when a phase closes. The log
 * is the protocol's bulletin board: every message and every phase's set of
 * sites is an entry, so every site reads the same sets from its own verified
 * replica and an auditor replays the unmasking (secagg-commit.ts).
 *
 * Phases of a round (`secagg-phase` entries close them):
 * 1. keys: each planned site sends `secagg-keys` (two X25519 public keys)
 *    when it gets its fit task, and trains meanwhile. Closes when every
 *    planned site that did not decline has sent them, or at the phase
 *    deadline; U1 = those that did, with the round's k and t.
 * 2. shares: each site of U1 gets U1's signed keys, and sends
 *    `secagg-shares`: Shamir shares of its self-mask seed and mask key, one
 *    secretbox per neighbour in the round's graph. Closes when all of U1
 *    answered or at the deadline; U2 = those that did.
 * 3. input: each site of U2 gets the boxes addressed to it and uploads its
 *    masked input (an ordinary signed update whose "delta" is the masked
 *    vector). Closes when all of U2 uploaded, or at the round's deadline
 *    (or the phase deadline, whichever is later); U3 = the survivors.
 * 4. unmask: each survivor, after checking U3 against its replica, sends
 *    `secagg-unmask` with the shares U3 calls for; the round commits when
 *    all of U3 answered, or at the deadline with what came.
 * A phase that leaves fewer sites than the round can unmask from (t) or
 * than the study's `minSites` abandons the round, with the reason.
 *
 * Pure, like the decider.
 */
import { equalBytes, sha256, encodeCanonical, toHex } from '../ledger/core/index.ts'
import { ModelError, resolveSecAggParams, type SecAggSpec } from '../models/core/index.ts'
import { RoundStateError, SecAggMessageError, StudyMismatchError, WrongRoundError } from './errors.ts'
import { ENTRY_KINDS, embedStatement, lineageBody, type LineageBody } from './lineage.ts'
import { assertUsablePublicKey, quantizationScale, secAggGraph, siteNoiseSigma } from './secagg/index.ts'
import type { DecidedEntry } from './round-close.ts'
import type { SecAggStatement, SignedStatement } from './statements.ts'
import type { RoundRecord, StudyState } from './study-state.ts'
import { compareSiteIds } from './study-state.ts'
import type { AddressedTask, SiteTask } from './tasks.ts'

function entry<K extends Parameters<typeof lineageBody>[0]>(kind: K, body: LineageBody<K>): DecidedEntry {
  return { kind, body: lineageBody(kind, body) }
}

/** The secure-aggregation settings of a study that has them. */
export function secAggSpecOf(state: StudyState): SecAggSpec | undefined {
  return state.study.secureAggregation
}

/** SHA-256 of a survivor set (sorted site ids, canonical CBOR): what a `secagg-unmask` statement signs. */
export function survivorsHash(sites: readonly string[]): Uint8Array {
  return sha256(encodeCanonical([...sites].sort(compareSiteIds)))
}

/** When the open round's current secure-aggregation phase stops waiting. */
export function secAggPhaseDeadline(state: StudyState, round: RoundRecord): number {
  const sa = round.secagg!
  const phaseEnd = sa.phaseSinceMs + secAggSpecOf(state)!.phaseDeadlineMs
  // The masked input comes after local training: the round's own deadline gives the time to train.
  return sa.phase === 'input' ? Math.max(round.deadlineMs, phaseEnd) : phaseEnd
}

/** The round's graph: each U1 site's neighbours (sorted), fixed by U1, k and the round's logged seed. */
export function roundGraph(round: RoundRecord): ReadonlyMap<string, readonly string[]> {
  const u1 = round.secagg!.u1!
  return secAggGraph(u1.sites, u1.k, round.seed)
}

/**
 * Checks a secure-aggregation message against the open round; returns what
 * it says, or throws the refusal (a ProtocolError, logged by the caller).
 */
export function checkSecAggMessage(state: StudyState, message: SecAggStatement): void {
  const who = `${message.t} from "${message.site}" for round ${message.round}`
  if (message.study !== state.studyId) throw new StudyMismatchError(`${who}: for study "${message.study}", this is "${state.studyId}"`)
  const round = state.openRound
  if (round === undefined) throw new RoundStateError(`${who}: no round is open`)
  if (round.round !== message.round) throw new WrongRoundError(`${who}: the open round is ${round.round}`)
  const sa = round.secagg
  if (sa === undefined) throw new SecAggMessageError(`${who}: round ${round.round} does not aggregate securely`)
  const phase = message.t === 'secagg-keys' ? 'keys' : message.t === 'secagg-shares' ? 'shares' : 'unmask'
  if (sa.phase !== phase) throw new SecAggMessageError(`${who}: the round is in its ${sa.phase} phase; ${message.t} belongs to the ${phase} phase`)
  if (message.t === 'secagg-keys') {
    if (!round.plan.has(message.site)) throw new SecAggMessageError(`${who}: the round did not plan this site`)
    if (sa.keys.has(message.site)) throw new SecAggMessageError(`${who}: its keys for this round are logged already`)
    if (equalBytes(message.cPk, message.sPk)) throw new SecAggMessageError(`${who}: the encryption and mask keys are the same key; generate two key pairs`)
    // A low-order key would make the pair secrets of all its neighbours public: refused now, not found by each neighbour later.
    try {
      assertUsablePublicKey(message.cPk, message.site)
      assertUsablePublicKey(message.sPk, message.site)
    } catch (err) {
      throw new SecAggMessageError(`${who}: ${(err as Error).message}`, { cause: err })
    }
    return
  }
  if (message.t === 'secagg-shares') {
    if (!sa.u1!.sites.includes(message.site)) throw new SecAggMessageError(`${who}: not in U1 (its keys did not come in time)`)
    if (sa.shares.has(message.site)) throw new SecAggMessageError(`${who}: its shares for this round are logged already`)
    const neighbours = roundGraph(round).get(message.site) ?? []
    const to = message.shares.map((s) => s.to)
    const sorted = [...to].sort(compareSiteIds)
    if (to.length !== neighbours.length || sorted.some((s, i) => s !== neighbours[i]))
      throw new SecAggMessageError(`${who}: shares addressed to [${sorted.join(', ')}], its neighbours in the round's graph are [${neighbours.join(', ')}]; send one box to each neighbour`)
    return
  }
  // secagg-unmask
  const u3 = sa.u3!
  if (!u3.includes(message.site)) throw new SecAggMessageError(`${who}: not a survivor (its masked input was not accepted)`)
  if (sa.reveals.has(message.site)) throw new SecAggMessageError(`${who}: its reveals for this round are logged already`)
  if (!equalBytes(message.survivors, survivorsHash(u3)))
    throw new SecAggMessageError(`${who}: it signs survivor set ${toHex(message.survivors).slice(0, 16)}…, the log's is ${toHex(survivorsHash(u3)).slice(0, 16)}…; reveal only for the logged set`)
  const neighbours = new Set(roundGraph(round).get(message.site) ?? [])
  const u2 = new Set(sa.u2!)
  const survivors = new Set(u3)
  const seen = new Set<string>()
  for (const r of message.reveals) {
    if (seen.has(r.of)) throw new SecAggMessageError(`${who}: two reveals of "${r.of}"; a site reveals one share of each neighbour`)
    seen.add(r.of)
    if (!neighbours.has(r.of) || !u2.has(r.of)) throw new SecAggMessageError(`${who}: a reveal of "${r.of}", which is not a neighbour that shared keys`)
    const want = survivors.has(r.of) ? 'b' : 's'
    if (r.kind !== want)
      throw new SecAggMessageError(
        `${who}: reveals the ${r.kind === 'b' ? 'self-mask' : 'mask-key'} share of "${r.of}", which ${want === 'b' ? 'survived' : 'dropped out'}: only its ${want === 'b' ? 'self-mask' : 'mask-key'} share may be revealed`,
      )
  }
}

/** The entry that logs an admitted secure-aggregation message. */
export function secAggMessageEntry(message: SecAggStatement, signed: SignedStatement): DecidedEntry {
  const body = { round: message.round, site: message.site, statement: embedStatement(signed) }
  if (message.t === 'secagg-keys') return entry(ENTRY_KINDS.SECAGG_KEYS, body)
  if (message.t === 'secagg-shares') return entry(ENTRY_KINDS.SECAGG_SHARES, body)
  return entry(ENTRY_KINDS.SECAGG_UNMASK, body)
}

/** What arrived in this very step, not yet in the state. */
export interface SecAggPending {
  readonly message?: SecAggStatement
  /** The signed bytes of `message`. */
  readonly signed?: SignedStatement
  readonly acceptedFrom?: string
  readonly declinedFrom?: string
}

/** A phase transition the decider emits: entries and tasks; or the commit is due (`unmask` complete). */
export type SecAggAdvance =
  | { readonly kind: 'wait' }
  | { readonly kind: 'entries'; readonly entries: readonly DecidedEntry[]; readonly tasks: readonly AddressedTask[] }
  | { readonly kind: 'abandon'; readonly reason: string }
  | { readonly kind: 'commit' }

const sortSites = (sites: Iterable<string>) => [...sites].sort(compareSiteIds)

/**
 * Whether the open round's current phase closes now, at `timeMs`, with
 * `pending` counted, and what that closing writes and asks of the sites.
 */
export function advanceSecAgg(state: StudyState, timeMs: number, pending: SecAggPending = {}): SecAggAdvance {
  const round = state.openRound!
  const sa = round.secagg!
  const spec = secAggSpecOf(state)!
  const declined = new Set(round.declined.keys())
  if (pending.declinedFrom !== undefined) declined.add(pending.declinedFrom)
  const due = timeMs >= secAggPhaseDeadline(state, round)
  const minSites = state.study.minSites
  if (sa.phase === 'keys') {
    const answered = new Set(sa.keys.keys())
    if (pending.message?.t === 'secagg-keys') answered.add(pending.message.site)
    const expected = [...round.plan.keys()].filter((s) => !declined.has(s))
    if (!due && expected.some((s) => !answered.has(s))) return { kind: 'wait' }
    const u1 = sortSites(answered)
    // Three at least: with two, each site would learn the other's input from the sum.
    const need = Math.max(3, minSites)
    if (u1.length < need) return { kind: 'abandon', reason: `secure aggregation: ${u1.length} sites sent keys, the round needs at least ${need}` }
    let k: number
    let t: number
    try {
      ;({ k, t } = resolveSecAggParams(spec, u1.length))
    } catch (err) {
      if (!(err instanceof ModelError)) throw err
      return { kind: 'abandon', reason: `secure aggregation cannot run with the ${u1.length} sites that sent keys: ${err.message}` }
    }
    // Distributed DP adds each site's noise to its words: the noisy sum must still fit signed 32 bits (8 standard deviations of room).
    const dp = state.study.dp
    if (dp !== undefined) {
      const sigma = siteNoiseSigma(dp.noiseMultiplier, dp.clipNorm, quantizationScale(spec), t)
      const worst = u1.length * (spec.quantizationRange / 2) + 8 * sigma * Math.sqrt(u1.length)
      if (worst >= 2 ** 31)
        return {
          kind: 'abandon',
          reason: `secure aggregation with distributed DP would overflow 32 bits: ${u1.length} sites' words (up to ${spec.quantizationRange / 2} each) plus their noise (σ ${sigma.toPrecision(4)} units each) reach ${worst.toPrecision(4)} ≥ 2^31; lower secureAggregation.quantizationRange`,
        }
    }
    const keys = u1.map((s) => (pending.message?.t === 'secagg-keys' && pending.message.site === s ? pending.signed! : sa.keys.get(s)!.statement))
    return {
      kind: 'entries',
      entries: [entry(ENTRY_KINDS.SECAGG_PHASE, { round: round.round, phase: 'shares', sites: u1, k, t })],
      tasks: u1.map((s) => ({ siteId: s, task: { kind: 'secagg', round: round.round, phase: 'shares', k, t, sites: u1, keys } })),
    }
  }
  if (sa.phase === 'shares') {
    const answered = new Set(sa.shares.keys())
    if (pending.message?.t === 'secagg-shares') answered.add(pending.message.site)
    const expected = sa.u1!.sites.filter((s) => !declined.has(s))
    if (!due && expected.some((s) => !answered.has(s))) return { kind: 'wait' }
    const u2 = sortSites(answered)
    const need = Math.max(sa.u1!.t, minSites)
    if (u2.length < need)
      return { kind: 'abandon', reason: `secure aggregation: ${u2.length} sites sent their shares, the round needs at least ${need} (threshold t ${sa.u1!.t}, minSites ${minSites})` }
    const shares = (site: string) => (pending.message?.t === 'secagg-shares' && pending.message.site === site ? new Map(pending.message.shares.map((x) => [x.to, x.box])) : sa.shares.get(site)!.boxes)
    return {
      kind: 'entries',
      entries: [entry(ENTRY_KINDS.SECAGG_PHASE, { round: round.round, phase: 'input', sites: u2 })],
      tasks: u2.map((s) => ({ siteId: s, task: inputTask(round.round, u2, s, shares) })),
    }
  }
  if (sa.phase === 'input') {
    const answered = new Set(round.accepted.keys())
    if (pending.acceptedFrom !== undefined) answered.add(pending.acceptedFrom)
    const expected = sa.u2!.filter((s) => !declined.has(s))
    if (!due && expected.some((s) => !answered.has(s))) return { kind: 'wait' }
    const u3 = sortSites(answered)
    const need = Math.max(sa.u1!.t, minSites)
    if (u3.length < need)
      return { kind: 'abandon', reason: `secure aggregation: ${u3.length} masked inputs came, the sum can be unmasked only from at least ${need} (threshold t ${sa.u1!.t}, minSites ${minSites})` }
    return {
      kind: 'entries',
      entries: [entry(ENTRY_KINDS.SECAGG_PHASE, { round: round.round, phase: 'unmask', sites: u3 })],
      tasks: u3.map((s) => ({ siteId: s, task: { kind: 'secagg', round: round.round, phase: 'unmask', sites: u3 } })),
    }
  }
  const answered = new Set(sa.reveals.keys())
  if (pending.message?.t === 'secagg-unmask') answered.add(pending.message.site)
  if (!due && sa.u3!.some((s) => !answered.has(s))) return { kind: 'wait' }
  return { kind: 'commit' }
}

/** The input-phase task of `site`: U2 and the boxes its U2 neighbours addressed to it. */
function inputTask(round: number, u2: readonly string[], site: string, sharesOf: (site: string) => ReadonlyMap<string, Uint8Array>): SiteTask {
  const boxes = u2.flatMap((from) => {
    const box = sharesOf(from).get(site)
    return box === undefined ? [] : [{ from, box }]
  })
  return { kind: 'secagg', round, phase: 'input', sites: u2, boxes }
}

/** The secure-aggregation task `site` should have now, for a site that (re)connects: undefined when it owes nothing. */
export function pendingSecAggTask(state: StudyState, site: string): SiteTask | undefined {
  const round = state.openRound
  const sa = round?.secagg
  if (round === undefined || sa === undefined) return undefined
  if (sa.phase === 'shares' && sa.u1!.sites.includes(site) && !sa.shares.has(site)) {
    const { sites, k, t } = sa.u1!
    return { kind: 'secagg', round: round.round, phase: 'shares', k, t, sites, keys: sites.map((s) => sa.keys.get(s)!.statement) }
  }
  if (sa.phase === 'input' && sa.u2!.includes(site) && !round.accepted.has(site)) return inputTask(round.round, sa.u2!, site, (s) => sa.shares.get(s)!.boxes)
  if (sa.phase === 'unmask' && sa.u3!.includes(site) && !sa.reveals.has(site)) return { kind: 'secagg', round: round.round, phase: 'unmask', sites: sa.u3! }
  return undefined
}
