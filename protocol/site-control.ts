/**
 * Site control: a site's approval of the study it joins, and its refusal of
 * a task. Both are statements the site signs (statements.ts) and the
 * coordinator logs (`approval`, `task-declined`); the auditor runs the same
 * checks on every such entry against the state folded up to it.
 *
 * An `approval` is admitted when it is
 * 1. of an enrolled site, validly signed by its enrolled key, for this study,
 *    never taken before (COORD_UNKNOWN_SITE, COORD_BAD_SIGNATURE,
 *    COORD_STUDY_MISMATCH, COORD_UPDATE_REPLAYED);
 * 2. for the spec this study runs: `spec` is `specHash` of the logged spec
 *    (COORD_APPROVAL_SPEC_MISMATCH);
 * 3. the site's first logged approval (COORD_APPROVAL_DUPLICATE).
 *
 * A `declined` statement is admitted when it passes 1., and names the open
 * round, which planned the site, and the site has neither an accepted
 * update nor a decline in it (COORD_DECLINE_INVALID, COORD_WRONG_ROUND).
 *
 * Pure: no I/O, no clock.
 */
import { sha256, toHex, equalBytes } from '../ledger/core/index.ts'
import {
  ApprovalDuplicateError,
  ApprovalSpecMismatchError,
  DeclineInvalidError,
  SignatureInvalidError,
  StatementRejectedError,
  StudyMismatchError,
  UnknownSiteError,
  UpdateReplayedError,
  WrongRoundError,
} from './errors.ts'
import { decodeStatement, statementHash, verifyStatement, type ApprovalStatement, type DeclinedStatement, type SignedStatement } from './statements.ts'
import type { StudyState } from './study-state.ts'

/**
 * The spec hash a site approves: SHA-256 of the study spec's canonical bytes,
 * exactly as `study-created` logs them (`encodeSpec`, decider.ts). It covers
 * model, features and schema, training, strategy and its parameters, rounds,
 * rewards and consent terms: change any of them and the hash changes.
 */
export function specHash(specBytes: Uint8Array): Uint8Array {
  return sha256(specBytes)
}

function decodeAs<T extends 'approval' | 'declined'>(type: T, signed: SignedStatement) {
  try {
    return decodeStatement(type, signed.body)
  } catch (err) {
    throw new StatementRejectedError((err as Error).message, { cause: err })
  }
}

function checkSigned(state: StudyState, signed: SignedStatement, site: string, study: string, who: string): void {
  const key = state.sites.get(site)
  if (!key) throw new UnknownSiteError(`${who}: site "${site}" is not enrolled in study "${state.studyId}"`)
  if (!verifyStatement(key, signed)) throw new SignatureInvalidError(`${who}: signature does not verify under the enrolled key`)
  if (study !== state.studyId) throw new StudyMismatchError(`${who}: study "${study}", want "${state.studyId}"`)
  if (state.seenStatements.has(toHex(statementHash(signed)))) throw new UpdateReplayedError(`${who}: this signed statement was already received`)
}

/** Checks a signed `approval` statement against `state` (module comment); returns it decoded. */
export function checkApproval(state: StudyState, signed: SignedStatement): ApprovalStatement {
  const st = decodeAs('approval', signed)
  const who = `approval from "${st.site}"`
  checkSigned(state, signed, st.site, st.study, who)
  const want = specHash(state.spec)
  if (!equalBytes(st.spec, want)) {
    throw new ApprovalSpecMismatchError(
      `${who}: approves spec ${toHex(st.spec)}, the study runs spec ${toHex(want)}; the site must review this spec and approve it anew (\`fedlineage study review\`, \`fedlineage study approve\`)`,
      want,
      st.spec,
    )
  }
  const logged = state.approvals.get(st.site)
  if (logged) throw new ApprovalDuplicateError(`${who}: the site's approval is already logged (entry ${logged.seq})`)
  return st
}

/** Checks a signed `declined` statement against `state` (module comment); returns it decoded. */
export function checkDeclined(state: StudyState, signed: SignedStatement): DeclinedStatement {
  const st = decodeAs('declined', signed)
  const who = `decline from "${st.site}" of round ${st.round}`
  checkSigned(state, signed, st.site, st.study, who)
  const open = state.openRound
  if (!open) throw new WrongRoundError(`${who}: no round is open (last round ${state.lastRound})`)
  if (st.round !== open.round) throw new WrongRoundError(`${who}: round ${st.round}, the open round is ${open.round}`)
  if (!open.plan.has(st.site)) throw new DeclineInvalidError(`${who}: round ${st.round} did not plan this site`)
  if (open.accepted.has(st.site)) throw new DeclineInvalidError(`${who}: an update from this site was already accepted in round ${st.round}`)
  const declined = open.declined.get(st.site)
  if (declined) throw new DeclineInvalidError(`${who}: already declined (entry ${declined.seq})`)
  return st
}
