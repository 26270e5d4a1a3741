/**
 * The signed statements a log entry embeds verbatim, checked against the
 * entry that embeds them: who must have signed (the research hub for a round
 * start, the enrolled site for an update envelope or an evaluation), with a
 * strict Ed25519 signature (`verifyStatement`), and that every field the
 * entry repeats agrees with what was signed. This is what keeps the
 * coordinator honest about its participants: it can write any entry it likes,
 * but it cannot make a site sign a delta hash, an example count or a base
 * model the site never sent.
 *
 * Pure: no I/O. Each check requires the entry's record to have been applied
 * to `state` (so the site is enrolled and the round exists) and the statement
 * to have been decoded as its type; it throws an `AuditError` naming the entry,
 * the field and both values.
 */
import { equalBytes } from '../../ledger/core/index.ts'
import { AuditStateInvalidError, AuditStatementMismatchError, AuditStatementSignatureError, entryLabel, formatValue, hex, type AuditValue } from '../errors.ts'
import {
  verifyStatement,
  type EvaluationStatement,
  type RoundStartStatement,
  type UpdateEnvelope,
  ENTRY_KINDS,
  unembedStatement,
  type EvaluationReportedBody,
  type RoundOpenedBody,
  type StudyState,
  type UpdateAcceptedBody,
} from '../../protocol/index.ts'

type Embedded = { readonly body: Uint8Array; readonly sig: Uint8Array }

function same(a: AuditValue, b: AuditValue): boolean {
  return a instanceof Uint8Array && b instanceof Uint8Array ? equalBytes(a, b) : a === b
}

/** Compares one field: `entry` is the entry's value, `signed` the statement's. */
function field(seq: number, at: string, what: string, name: string, entry: AuditValue, signed: AuditValue): void {
  if (!same(entry, signed)) {
    throw new AuditStatementMismatchError(`${at}: ${what} signs ${name} ${formatValue(signed)}, the entry says ${formatValue(entry)}`, seq, name, entry, signed)
  }
}

function signature(seq: number, at: string, what: string, key: Uint8Array, embedded: Embedded): void {
  if (!verifyStatement(key, unembedStatement(embedded))) {
    throw new AuditStatementSignatureError(`${at}: ${what} is not validly signed by ${hex(key)}`, seq, key)
  }
}

/**
 * `round-opened.request`: signed by the study's hub key, a round start for
 * this study and this round.
 */
export function checkRoundRequest(seq: number, state: StudyState, body: RoundOpenedBody, request: RoundStartStatement): void {
  const at = entryLabel(seq, ENTRY_KINDS.ROUND_OPENED)
  const what = `the round start request for round ${body.round}`
  signature(seq, at, `${what} (the hub's key)`, state.hubKey, body.request)
  field(seq, at, what, 'study', state.studyId, request.study)
  field(seq, at, what, 'round', body.round, request.round)
}

/**
 * `update-accepted.envelope`: signed by the enrolled key of `body.site`, and
 * for the same study, round, site, delta hash and example count as the entry,
 * trained from the round's base model. The declared size is checked against
 * the delta's bytes by `checkDeltaSize` once they are fetched.
 */
export function checkUpdateEnvelope(seq: number, state: StudyState, body: UpdateAcceptedBody, envelope: UpdateEnvelope): void {
  const at = entryLabel(seq, ENTRY_KINDS.UPDATE_ACCEPTED)
  const what = `the update envelope of site "${body.site}"`
  // Both exist once the record applied: the fold refuses unenrolled sites and closed rounds.
  const key = state.sites.get(body.site)!
  const base = state.rounds.get(body.round)!.base
  signature(seq, at, `${what} (its enrolled key)`, key, body.envelope)
  field(seq, at, what, 'study', state.studyId, envelope.study)
  field(seq, at, what, 'round', body.round, envelope.round)
  field(seq, at, what, 'site', body.site, envelope.site)
  field(seq, at, what, 'delta', body.delta, envelope.delta)
  field(seq, at, what, 'examples', body.examples, envelope.examples)
  field(seq, at, what, 'base', base, envelope.base)
}

/** The envelope's declared `size` is the byte length of the stored delta. */
export function checkDeltaSize(seq: number, body: UpdateAcceptedBody, envelope: UpdateEnvelope, sizeBytes: number): void {
  field(seq, entryLabel(seq, ENTRY_KINDS.UPDATE_ACCEPTED), `the update envelope of site "${body.site}"`, 'size', sizeBytes, envelope.size)
}

/**
 * `evaluation-reported.report`: signed by the enrolled key of `body.site`,
 * for this study, and about the same round and model as the entry.
 */
export function checkEvaluationReport(seq: number, state: StudyState, body: EvaluationReportedBody, report: EvaluationStatement): void {
  const at = entryLabel(seq, ENTRY_KINDS.EVALUATION_REPORTED)
  const what = `the evaluation report of site "${body.site}"`
  const key = state.sites.get(body.site)
  // The fold does not require an enrolled site for an evaluation; its signature needs one.
  if (key === undefined) throw new AuditStateInvalidError(`${at}: site "${body.site}" is not enrolled`, seq)
  signature(seq, at, `${what} (its enrolled key)`, key, body.report)
  field(seq, at, what, 'study', state.studyId, report.study)
  field(seq, at, what, 'round', body.round, report.round)
  field(seq, at, what, 'site', body.site, report.site)
  field(seq, at, what, 'model', body.model, report.model)
}
