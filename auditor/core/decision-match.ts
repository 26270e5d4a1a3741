/**
 * Holding the log to the decider: each logged entry must be, byte for byte,
 * the entry `step` emits when fed the input the log records. This module
 * turns a difference into a typed finding that names the entry, the field and
 * both values, and turns a refusal of a logged input into the finding of the
 * rule it broke (so a log that accepted an update without its consent proof
 * fails with AUDIT_CONSENT_PROOF_MISSING, not a generic mismatch).
 *
 * Pure: no I/O.
 */
import { decodeCanonical, encodeCanonical, equalBytes, type CanonicalValue } from '../../ledger/core/index.ts'
import { ENTRY_KINDS, type DecidedEntry, type ProtocolError } from '../../protocol/index.ts'
import {
  AuditBlobInvalidError,
  AuditConsentCountMismatchError,
  AuditConsentMalformedError,
  AuditConsentMissingError,
  AuditConsentProofInvalidError,
  AuditConsentProofMissingError,
  AuditEntryMismatchError,
  AuditExclusionMismatchError,
  AuditGenesisMismatchError,
  AuditMetricsMismatchError,
  AuditModelMismatchError,
  AuditPatientRewardsAmountMismatchError,
  AuditPatientRewardsCountMismatchError,
  AuditPatientRewardsInvalidError,
  AuditRewardMismatchError,
  AuditStateInvalidError,
  AuditStatementInvalidError,
  AuditStatementMismatchError,
  AuditStatementSignatureError,
  AuditServerStateMismatchError,
  AuditStrategyMismatchError,
  entryLabel,
  type AuditError,
  type AuditValue,
} from '../errors.ts'

/** A logged entry as the replay reads it. */
export interface LoggedEntry {
  readonly seq: number
  readonly kind: string
  readonly timeMs: number
  readonly body: CanonicalValue
}

type Path = readonly (string | number)[]

/** The first path at which two canonical values differ, with both values there; undefined when equal. */
export function firstDifference(
  logged: CanonicalValue | undefined,
  decided: CanonicalValue | undefined,
  path: Path = [],
): { path: Path; logged: CanonicalValue | undefined; decided: CanonicalValue | undefined } | undefined {
  if (logged instanceof Uint8Array && decided instanceof Uint8Array) return equalBytes(logged, decided) ? undefined : { path, logged, decided }
  const isMap = (v: unknown): v is Record<string, CanonicalValue> => typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)
  if (Array.isArray(logged) && Array.isArray(decided)) {
    for (let i = 0; i < Math.max(logged.length, decided.length); i++) {
      const d = firstDifference(logged[i], decided[i], [...path, i])
      if (d) return d
    }
    return undefined
  }
  if (isMap(logged) && isMap(decided)) {
    for (const key of [...new Set([...Object.keys(logged), ...Object.keys(decided)])].sort()) {
      const d = firstDifference(logged[key], decided[key], [...path, key])
      if (d) return d
    }
    return undefined
  }
  return logged === decided ? undefined : { path, logged, decided }
}

function value(v: CanonicalValue | undefined): AuditValue {
  if (v instanceof Uint8Array || typeof v === 'number' || typeof v === 'string') return v
  if (v === undefined) return 'absent'
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x))
}

/**
 * Requires `logged` to be exactly `decided` (kind, time and body bytes).
 * Throws the finding of the first difference: AUDIT_MODEL_MISMATCH for a
 * commit's model, AUDIT_METRICS_MISMATCH for any logged metric (`trainLoss`
 * included), AUDIT_STRATEGY_MISMATCH, AUDIT_EXCLUSION_MISMATCH for a
 * commit's exclusions (site, reason or evidence), AUDIT_REWARD_MISMATCH,
 * AUDIT_SERVER_STATE_MISMATCH for a commit's `state`, AUDIT_GENESIS_MISMATCH,
 * AUDIT_STATEMENT_MISMATCH for a field the entry
 * repeats from a signed statement, AUDIT_ENTRY_MISMATCH otherwise.
 */
export function matchEntry(logged: LoggedEntry, decided: DecidedEntry, decidedTimeMs: number): void {
  const at = entryLabel(logged.seq, logged.kind)
  if (logged.kind !== decided.kind) {
    throw new AuditStateInvalidError(`${at}: the protocol writes a ${decided.kind} entry here, the log holds ${logged.kind}`, logged.seq)
  }
  if (logged.timeMs !== decidedTimeMs) {
    throw new AuditEntryMismatchError(`${at}: time ${logged.timeMs}, but the entries of one step share its time ${decidedTimeMs}`, logged.seq, 'time', logged.timeMs, decidedTimeMs)
  }
  if (equalBytes(encodeCanonical(logged.body), encodeCanonical(decided.body))) return
  const decidedBody = decodeCanonical(encodeCanonical(decided.body))
  // A commit's root causes first: another strategy explains other exclusions, other exclusions another model, and another model other metrics and state.
  const priority = logged.kind === ENTRY_KINDS.ROUND_COMMITTED ? ['strategy', 'exclusions', 'model', 'state'] : []
  const field0 = priority.find((k) => firstDifference(pick(logged.body, k), pick(decidedBody, k)) !== undefined)
  const diff = field0 !== undefined ? firstDifference(pick(logged.body, field0), pick(decidedBody, field0), [field0])! : firstDifference(logged.body, decidedBody)!
  const field = diff.path.join('.') || '(body)'
  const [head, sub] = diff.path
  const l = value(diff.logged)
  const d = value(diff.decided)
  const says = `${at}: ${field} is ${formatShort(l)}, re-deciding the logged input gives ${formatShort(d)}`
  switch (logged.kind) {
    case ENTRY_KINDS.ROUND_COMMITTED: {
      const round = (logged.body as { round?: unknown }).round
      if (head === 'model' && diff.logged instanceof Uint8Array && diff.decided instanceof Uint8Array)
        throw new AuditModelMismatchError(says, logged.seq, typeof round === 'number' ? round : -1, diff.logged, diff.decided)
      if (head === 'metrics') throw new AuditMetricsMismatchError(says, logged.seq, String(sub ?? field), l, d)
      if (head === 'strategy') throw new AuditStrategyMismatchError(says, logged.seq, l, d)
      if (head === 'state') throw new AuditServerStateMismatchError(`${says}: the server state is not the one the round leaves`, logged.seq, l, d)
      if (head === 'exclusions') throw new AuditExclusionMismatchError(says, logged.seq, field, l, d)
      break
    }
    case ENTRY_KINDS.ROUND_REWARDED:
      throw new AuditRewardMismatchError(says, logged.seq, String(l), String(d))
    case ENTRY_KINDS.STUDY_CREATED:
      if (head === 'genesis') throw new AuditGenesisMismatchError(says, logged.seq, l, d)
      break
    case ENTRY_KINDS.UPDATE_ACCEPTED:
    case ENTRY_KINDS.EVALUATION_REPORTED:
    case ENTRY_KINDS.ROUND_OPENED:
      if (head !== 'plan' && head !== 'deadline' && head !== 'seed' && head !== 'base') throw new AuditStatementMismatchError(says, logged.seq, field, l, d)
      break
  }
  throw new AuditEntryMismatchError(says, logged.seq, field, l, d)
}

function pick(body: CanonicalValue, key: string): CanonicalValue | undefined {
  return typeof body === 'object' && body !== null && !(body instanceof Uint8Array) && !Array.isArray(body) ? (body as Record<string, CanonicalValue>)[key] : undefined
}

function formatShort(v: AuditValue): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex').slice(0, 16) + '…'
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

/**
 * The finding for a logged input the decider refuses: the log took (or
 * refused differently) what the protocol refuses with `refusal`.
 */
export function refusedInput(seq: number, kind: string, refusal: ProtocolError, signerKey: Uint8Array = new Uint8Array()): AuditError {
  const at = `${entryLabel(seq, kind)}: the protocol refuses what the log records (${refusal.code}): ${refusal.message}`
  const cause = { cause: refusal }
  const r = refusal as ProtocolError & { pseudonym?: Uint8Array; reason?: string; expected?: unknown; calculated?: unknown }
  switch (refusal.code) {
    case 'COORD_CONSENT_MISSING':
      return new AuditConsentMissingError(at, seq, cause)
    case 'COORD_CONSENT_INVALID':
      return new AuditConsentMalformedError(at, seq, cause)
    case 'COORD_CONSENT_PROOF_MISSING':
      return new AuditConsentProofMissingError(at, seq, r.pseudonym ?? new Uint8Array(), cause)
    case 'COORD_CONSENT_PROOF_INVALID':
      if (r.reason === 'PROTOCOL_CONSENT_COUNT_MISMATCH') {
        const c = refusal.cause as { expected?: unknown; calculated?: unknown } | undefined
        return new AuditConsentCountMismatchError(at, seq, Number(c?.expected), Number(c?.calculated), cause)
      }
      return new AuditConsentProofInvalidError(at, seq, r.pseudonym ?? new Uint8Array(), r.reason ?? refusal.code, cause)
    case 'COORD_BAD_SIGNATURE':
    case 'COORD_NOT_HUB':
      return new AuditStatementSignatureError(at, seq, signerKey)
    case 'COORD_STATEMENT_INVALID':
    case 'PROTOCOL_STATEMENT_INVALID':
      return new AuditStatementInvalidError(at, seq, cause)
    case 'COORD_DELTA_SHAPE':
    case 'COORD_NON_FINITE':
      return new AuditBlobInvalidError(at, seq, cause)
    case 'COORD_PATIENT_REWARDS_INVALID':
      return new AuditPatientRewardsInvalidError(at, seq, cause)
    case 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH':
      return new AuditPatientRewardsAmountMismatchError(at, seq, String(r.calculated), String(r.expected))
    case 'COORD_PATIENT_REWARDS_COUNT_MISMATCH':
      return new AuditPatientRewardsCountMismatchError(at, seq, Number(r.calculated), Number(r.expected))
    default:
      return new AuditStateInvalidError(at, seq, cause)
  }
}
