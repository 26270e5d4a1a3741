/**
 * The admission checks of signed statements, in the order they are made and
 * without I/O: who signed (enrolled site, valid strict signature), for what
 * (this study, the open round and its plan, its base model), whether it was seen before,
 * and whether its declared size fits. The shell calls these before it reads a
 * single delta byte, so a bad upload is refused before it costs bandwidth.
 * Each failure is a typed error naming the site, round and both values.
 */
import {
  decodeStatement,
  statementHash,
  verifyStatement,
  type EvaluationStatement,
  type MembershipStatement,
  type RoundAbortStatement,
  type RoundStartStatement,
  type SignedStatement,
  type UpdateEnvelope,
} from './statements.ts'
import { equalBytes, toHex } from '../ledger/core/index.ts'
import { maxExamplesPerSite } from '../models/core/index.ts'
import {
  DuplicateUpdateError,
  ExamplesOutOfRangeError,
  MembershipInvalidError,
  NotHubError,
  RoundStateError,
  SignatureInvalidError,
  StaleRequestError,
  StatementRejectedError,
  StudyMismatchError,
  UnknownSiteError,
  UpdateReplayedError,
  UpdateTooLargeError,
  WrongBaseModelError,
  WrongRoundError,
} from './errors.ts'
import type { StudyState } from './study-state.ts'

function decode<T extends 'update' | 'evaluation' | 'round-start' | 'round-abort' | 'hello' | 'membership'>(type: T, signed: SignedStatement) {
  try {
    return decodeStatement(type, signed.body)
  } catch (err) {
    throw new StatementRejectedError((err as Error).message, { cause: err })
  }
}

function siteKey(state: StudyState, site: string): Uint8Array {
  const key = state.sites.get(site)
  if (!key) throw new UnknownSiteError(`site "${site}" is not enrolled in study "${state.studyId}"`)
  return key
}

function checkSignature(key: Uint8Array, signed: SignedStatement, who: string): void {
  if (!verifyStatement(key, signed)) throw new SignatureInvalidError(`${who}: signature does not verify under the enrolled key`)
}

function checkStudy(state: StudyState, study: string, who: string): void {
  if (study !== state.studyId) throw new StudyMismatchError(`${who}: study "${study}", want "${state.studyId}"`)
}

/** A signed request's `time` must be within `maxAgeMs` of the clock, so a captured one cannot be played back later. */
function checkFresh(time: number, nowMs: number, maxAgeMs: number, who: string): void {
  if (Math.abs(nowMs - time) > maxAgeMs) throw new StaleRequestError(`${who}: signed at ${time}, now ${nowMs}: more than ${maxAgeMs} ms apart`)
}

/** What every request of the research hub must be: signed by the hub key, for this study, not seen before, fresh. */
function checkHubRequest(state: StudyState, signed: SignedStatement, req: { readonly study: string; readonly time: number }, who: string, nowMs: number, maxAgeMs: number): void {
  if (!verifyStatement(state.hubKey, signed)) throw new NotHubError(`${who}: not signed by the research hub's key`)
  checkStudy(state, req.study, who)
  if (state.seenStatements.has(toHex(statementHash(signed)))) throw new UpdateReplayedError(`${who}: this request was already received`)
  checkFresh(req.time, nowMs, maxAgeMs, who)
}

/** Authenticates a site's hello: enrolled, signed, this study, fresh. Returns the site id. */
export function checkHello(state: StudyState, signed: SignedStatement, nowMs: number, maxAgeMs: number): string {
  const hello = decode('hello', signed)
  const key = siteKey(state, hello.site)
  checkSignature(key, signed, `hello from "${hello.site}"`)
  checkStudy(state, hello.study, `hello from "${hello.site}"`)
  checkFresh(hello.time, nowMs, maxAgeMs, `hello from "${hello.site}"`)
  return hello.site
}

/**
 * Admits an update envelope at `nowMs`, before any delta byte is read.
 * `maxDeltaBytes` is the exact canonical size of a delta of the study model.
 * The open round takes updates until its deadline: from then on it is closed
 * for updates, whether or not a tick has closed it in the log yet.
 */
export function checkUpdateEnvelope(state: StudyState, signed: SignedStatement, maxDeltaBytes: number, nowMs: number): UpdateEnvelope {
  const env = decode('update', signed)
  const who = `update from "${env.site}" for round ${env.round}`
  const key = siteKey(state, env.site)
  checkSignature(key, signed, who)
  checkStudy(state, env.study, who)
  if (state.seenStatements.has(toHex(statementHash(signed)))) throw new UpdateReplayedError(`${who}: this signed envelope was already received`)
  if (state.completed) throw new RoundStateError(`${who}: study "${state.studyId}" is complete and takes no more updates`)
  const open = state.openRound
  if (!open) throw new WrongRoundError(`${who}: no round is open (last round ${state.lastRound})`)
  if (env.round !== open.round) throw new WrongRoundError(`${who}: round ${env.round}, want ${open.round}`)
  if (nowMs >= open.deadlineMs) throw new WrongRoundError(`${who}: the round's deadline ${open.deadlineMs} has passed (now ${nowMs})`)
  // A site enrolled after the round opened is not in its plan: its update must not count towards closing it.
  if (!open.plan.has(env.site)) throw new WrongRoundError(`${who}: the site is not among the ${open.plan.size} sites of round ${open.round}'s plan`)
  if (open.accepted.has(env.site)) throw new DuplicateUpdateError(`${who}: an update from this site was already accepted for round ${open.round}`)
  if (toHex(env.base) !== toHex(open.base)) throw new WrongBaseModelError(`${who}: base model ${toHex(env.base).slice(0, 16)}…, want ${toHex(open.base).slice(0, 16)}…`)
  if (env.size > maxDeltaBytes) throw new UpdateTooLargeError(`${who}: declares ${env.size} bytes, the study model's delta is ${maxDeltaBytes} bytes`)
  // The example count is the update's weight in the mean: bounded, so no one site can dominate it or overflow the sum.
  const maxExamples = maxExamplesPerSite(state.study)
  if (env.examples < 1 || env.examples > maxExamples) throw new ExamplesOutOfRangeError(`${who}: declares ${env.examples} examples, the study takes 1 to ${maxExamples} (maxExamplesPerSite)`)
  return env
}

/** Admits a site's evaluation report of a committed model (round 0: the initial model). */
export function checkEvaluation(state: StudyState, signed: SignedStatement): EvaluationStatement {
  const ev = decode('evaluation', signed)
  const who = `evaluation from "${ev.site}" of round ${ev.round}`
  const key = siteKey(state, ev.site)
  checkSignature(key, signed, who)
  checkStudy(state, ev.study, who)
  if (state.seenStatements.has(toHex(statementHash(signed)))) throw new UpdateReplayedError(`${who}: this signed report was already received`)
  const model = state.modelOfRound(ev.round)
  if (!model) throw new WrongRoundError(`${who}: round ${ev.round} has no committed model`)
  if (toHex(model) !== toHex(ev.model)) throw new WrongBaseModelError(`${who}: model ${toHex(ev.model).slice(0, 16)}…, round ${ev.round} produced ${toHex(model).slice(0, 16)}…`)
  if (state.evaluations.get(ev.round)?.has(ev.site)) throw new DuplicateUpdateError(`${who}: already reported`)
  return ev
}

/** Admits the hub's signed request to open the next round. */
export function checkRoundStart(state: StudyState, signed: SignedStatement, nowMs: number, maxAgeMs: number, targetRounds: number): RoundStartStatement {
  const req = decode('round-start', signed)
  checkHubRequest(state, signed, req, `round start for round ${req.round}`, nowMs, maxAgeMs)
  if (state.completed || state.committedRounds >= targetRounds) throw new RoundStateError(`study "${state.studyId}" is complete (${state.committedRounds} of ${targetRounds} rounds committed)`)
  const open = state.openRound
  if (open) throw new RoundStateError(`round ${open.round} is still open`)
  if (req.round !== state.lastRound + 1) throw new WrongRoundError(`round start for round ${req.round}, want ${state.lastRound + 1}`)
  return req
}

/**
 * Admits the hub's signed request to abort the open round: signed by the hub
 * key, this study, fresh, not seen before, and naming the round that is open
 * now (a round that closed, or one not yet opened, cannot be aborted).
 */
export function checkRoundAbort(state: StudyState, signed: SignedStatement, nowMs: number, maxAgeMs: number): RoundAbortStatement {
  const req = decode('round-abort', signed)
  const who = `abort of round ${req.round}`
  checkHubRequest(state, signed, req, who, nowMs, maxAgeMs)
  if (state.completed) throw new RoundStateError(`${who}: study "${state.studyId}" is complete`)
  const open = state.openRound
  if (!open) {
    const last = state.rounds.get(req.round)
    const why = last ? `round ${req.round} already closed (${last.status})` : `no round is open (last round ${state.lastRound})`
    throw new RoundStateError(`${who}: ${why}; only the open round can be aborted`)
  }
  if (req.round !== open.round) throw new WrongRoundError(`${who}: round ${req.round}, the open round is ${open.round}`)
  return req
}

/**
 * Admits the hub's membership change of a running study: signed by the hub
 * key, this study, fresh, not seen before, the study not complete; an
 * enrolment names a new site id and a key no site holds, a removal a site
 * enrolled and not yet removed.
 */
export function checkMembership(state: StudyState, signed: SignedStatement, nowMs: number, maxAgeMs: number): MembershipStatement {
  const m = decode('membership', signed)
  const who = `${m.action === 'enroll' ? 'enrolment' : 'removal'} of site "${m.site}"`
  checkHubRequest(state, signed, m, who, nowMs, maxAgeMs)
  if (state.completed) throw new RoundStateError(`${who}: study "${state.studyId}" is complete`)
  const removedAt = state.removed.get(m.site)
  if (m.action === 'enroll') {
    if (removedAt !== undefined) throw new MembershipInvalidError(`${who}: the site was removed at entry ${removedAt}; enrol it again under a new site id`)
    if (state.sites.has(m.site)) throw new MembershipInvalidError(`${who}: the site is already enrolled`)
    for (const [site, key] of state.sites) if (equalBytes(key, m.key!)) throw new MembershipInvalidError(`${who}: its key is already enrolled for site "${site}"`)
  } else {
    if (!state.sites.has(m.site)) throw new MembershipInvalidError(`${who}: no such site is enrolled in study "${state.studyId}"`)
    if (removedAt !== undefined) throw new MembershipInvalidError(`${who}: already removed at entry ${removedAt}`)
  }
  return m
}
