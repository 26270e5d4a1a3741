/**
 * Errors of the auditor. One class per condition; `name` is the class name
 * and `code` a stable `AUDIT_`-prefixed identifier that the report, logs and
 * exit codes map from. Code branches on `code` or `instanceof`, never on
 * messages.
 *
 * Every finding about the log carries `seq`, the position of the first entry
 * that does not hold, and its message starts `entry <seq> (<kind>): ` (just
 * `entry <seq>: ` when the entry is unreadable, so its kind is unknown).
 * Mismatches also carry `expected` and `calculated`, as in Merkle's
 * RootMismatchError, always the same way round: `expected` is what the log
 * claims (an entry's field, a blob's name, a commit's model) and `calculated`
 * is what the audit established on its own (a re-hash, a re-derivation, the
 * spec, the signed statement, the coordinator's key).
 */
import { toHex } from '../ledger/core/index.ts'

/** A value a mismatch reports: a hash or key (bytes), a count, or a text. */
export type AuditValue = Uint8Array | number | string

export class AuditError extends Error {
  static readonly code: string = 'AUDIT_ERROR'
  readonly code: string
  /** Position of the offending entry; undefined for errors that are not about one entry (arguments). */
  readonly seq: number | undefined
  constructor(message: string, seq?: number, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof AuditError).code
    this.seq = seq
  }
}

/** A failing check with both values: what the log says and what the audit got. */
export abstract class AuditMismatchError extends AuditError {
  /** What the log claims. */
  readonly expected: AuditValue
  /** What the audit established on its own (re-derived, re-hashed, or read from the spec or a signed statement). */
  readonly calculated: AuditValue
  constructor(message: string, seq: number, expected: AuditValue, calculated: AuditValue, options?: ErrorOptions) {
    super(message, seq, options)
    this.expected = expected
    this.calculated = calculated
  }
}

/** `entry 12 (round-committed)`, or `entry 12` when the kind is unknown. */
export function entryLabel(seq: number, kind?: string): string {
  return kind === undefined ? `entry ${seq}` : `entry ${seq} (${kind})`
}

/** Lowercase hex: the ledger's `toHex`, under the name the replay's messages use. New code calls `toHex`. */
export const hex: (bytes: Uint8Array) => string = toHex

/** How a mismatch prints a value: hashes and keys in full hex, numbers and texts as they are. */
export function formatValue(value: AuditValue): string {
  return value instanceof Uint8Array ? toHex(value) : typeof value === 'string' ? JSON.stringify(value) : String(value)
}

// ---- the chain: bytes, order, signatures, author --------------------------------------------

/** The source holds no entries: there is no study to audit. */
export class AuditLogEmptyError extends AuditError {
  static override readonly code = 'AUDIT_LOG_EMPTY'
  constructor() {
    super('entry 0: the log has no entries, so there is no study to audit', 0)
  }
}

/** Entry bytes that are not a canonical, well-formed entry. */
export class AuditEntryMalformedError extends AuditError {
  static override readonly code = 'AUDIT_ENTRY_MALFORMED'
}

/** An entry missing from its position, or stored at a position other than its own `seq`. */
export class AuditSeqGapError extends AuditError {
  static override readonly code = 'AUDIT_SEQ_GAP'
}

/** An entry whose `prev` (`expected`) is not the hash of the entry before it (`calculated`). */
export class AuditChainBrokenError extends AuditMismatchError {
  static override readonly code = 'AUDIT_CHAIN_BROKEN'
}

/** An entry signature that is not a valid strict RFC 8032 signature by its author (including S ≥ L). */
export class AuditSignatureInvalidError extends AuditError {
  static override readonly code = 'AUDIT_SIGNATURE_INVALID'
}

/** An entry authored (`expected`) by a key other than the coordinator's (`calculated`: the author of `study-created`, or the pinned key). */
export class AuditAuthorUntrustedError extends AuditMismatchError {
  static override readonly code = 'AUDIT_AUTHOR_UNTRUSTED'
}

/** The source's head disagrees with its last entry, or entries are stored past it. */
export class AuditHeadMismatchError extends AuditError {
  static override readonly code = 'AUDIT_HEAD_MISMATCH'
}

// ---- the records and the state machine ---------------------------------------------------------

/** An entry whose kind or body is not a lineage record. */
export class AuditRecordInvalidError extends AuditError {
  static override readonly code = 'AUDIT_RECORD_INVALID'
}

/** A record a correct coordinator could not have written at this point (the state fold refuses it). */
export class AuditStateInvalidError extends AuditError {
  static override readonly code = 'AUDIT_STATE_INVALID'
}

/**
 * A logged entry that is not, byte for byte, the entry the protocol's decider
 * emits for the input the log records (or an entry the decider emits that the
 * log lacks). `field` is the first differing path; `expected` is the log's
 * value, `calculated` the decider's.
 */
export class AuditEntryMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_ENTRY_MISMATCH'
  readonly field: string
  constructor(message: string, seq: number, field: string, expected: AuditValue, calculated: AuditValue) {
    super(message, seq, expected, calculated)
    this.field = field
  }
}

/** The study spec in `study-created` does not parse, or is not in its canonical parsed form. */
export class AuditSpecInvalidError extends AuditError {
  static override readonly code = 'AUDIT_SPEC_INVALID'
}

/** `study-created.genesis` is not the hash of the initial model the spec determines. */
export class AuditGenesisMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_GENESIS_MISMATCH'
}

// ---- embedded signed statements -------------------------------------------------------------------

/** An embedded statement (round start, update envelope, evaluation) that does not decode as its type. */
export class AuditStatementInvalidError extends AuditError {
  static override readonly code = 'AUDIT_STATEMENT_INVALID'
}

/** An embedded statement whose signature does not verify under the key it must be signed with. */
export class AuditStatementSignatureError extends AuditError {
  static override readonly code = 'AUDIT_STATEMENT_SIGNATURE_INVALID'
  /** The key the statement must verify under (the hub's or the enrolled site's). */
  readonly key: Uint8Array
  constructor(message: string, seq: number, key: Uint8Array) {
    super(message, seq)
    this.key = key
  }
}

/**
 * A field of a signed statement that disagrees with the entry embedding it.
 * `expected` is the entry's value, `calculated` the signed statement's.
 */
export class AuditStatementMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_STATEMENT_MISMATCH'
  readonly field: string
  constructor(message: string, seq: number, field: string, expected: AuditValue, calculated: AuditValue) {
    super(message, seq, expected, calculated)
    this.field = field
  }
}

// ---- blobs and models -----------------------------------------------------------------------------

/** A blob the log names (a model or a delta) that the source does not hold. */
export class AuditBlobMissingError extends AuditError {
  static override readonly code = 'AUDIT_BLOB_MISSING'
  readonly hash: Uint8Array
  constructor(message: string, seq: number, hash: Uint8Array, options?: ErrorOptions) {
    super(message, seq, options)
    this.hash = hash
  }
}

/** A blob whose bytes do not hash to the name the log gives it (swapped or corrupted). */
export class AuditBlobMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_BLOB_MISMATCH'
}

/**
 * A strategy's server state (optimiser moments, control variates) that is not
 * what the log says: its stored blob does not hash to the name a commit gives
 * it (tampered or swapped), or a commit names another state than re-deciding
 * the round leaves. Either way every later round, which starts from that
 * state, is unproven.
 */
export class AuditServerStateMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_SERVER_STATE_MISMATCH'
}

/** A blob that hashes correctly but is not a finite weights encoding of the study's model layout. */
export class AuditBlobInvalidError extends AuditError {
  static override readonly code = 'AUDIT_BLOB_INVALID'
}

/** A commit whose strategy or parameters (`expected`) differ from the study spec's (`calculated`), both as JSON `{name, params}`. */
export class AuditStrategyMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_STRATEGY_MISMATCH'
}

/** The aggregation could not be re-run at all (the models core refused its inputs). */
export class AuditRederivationError extends AuditError {
  static override readonly code = 'AUDIT_REDERIVATION_FAILED'
}

/** A committed model hash that differs from the one re-derived from the logged parent and deltas. */
export class AuditModelMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_MODEL_MISMATCH'
  readonly round: number
  constructor(message: string, seq: number, round: number, expected: Uint8Array, calculated: Uint8Array) {
    super(message, seq, expected, calculated)
    this.round = round
  }
}

/** A commit's logged aggregation metric that differs from the re-derived one. */
export class AuditMetricsMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_METRICS_MISMATCH'
  readonly metric: string
  constructor(message: string, seq: number, metric: string, expected: AuditValue, calculated: AuditValue) {
    super(message, seq, expected, calculated)
    this.metric = metric
  }
}

/**
 * A commit whose logged exclusions (the updates validation or the strategy
 * left out, with their reason and evidence) differ from the ones re-deciding
 * the logged inputs gives: another site, reason or number at `field`.
 */
export class AuditExclusionMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_EXCLUSION_MISMATCH'
  readonly field: string
  constructor(message: string, seq: number, field: string, expected: AuditValue, calculated: AuditValue) {
    super(message, seq, expected, calculated)
    this.field = field
  }
}

// ---- the command line -------------------------------------------------------------------------------

/** A bad command-line argument (a missing `--db`, a malformed key). */
/**
 * The replica holds a verified proof that the coordinator signed two
 * conflicting views of the log (split view or forked entry): whatever the
 * replayed copy says, the coordinator's log cannot be trusted.
 */
export class AuditEquivocationError extends AuditError {
  static override readonly code = 'AUDIT_COORDINATOR_EQUIVOCATED'
}

/** The newest signed checkpoint does not commit to the replayed log (wrong root, or not the coordinator's). */
export class AuditCheckpointMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_CHECKPOINT_MISMATCH'
}

/**
 * The checkpoint the audit relies on lacks the cosignatures the study's
 * witness policy (tlog-policy) requires: no quorum of independent witnesses
 * vouches that everyone was shown this same log.
 */
export class AuditWitnessQuorumError extends AuditError {
  static override readonly code = 'AUDIT_WITNESS_QUORUM_UNMET'
}

/** The study's witness policy does not parse, or lists logs none of which is this log. */
export class AuditWitnessPolicyInvalidError extends AuditError {
  static override readonly code = 'AUDIT_WITNESS_POLICY_INVALID'
}

/** A round's logged rewards differ from their recomputation from the log (scores, split or pool). */
export class AuditRewardMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_REWARD_MISMATCH'
}

/** A study that pays rewards committed a round without its `round-rewarded` entry, or logged rewards it does not define. */
export class AuditRewardMissingError extends AuditError {
  static override readonly code = 'AUDIT_REWARD_MISSING'
}

export class AuditInvalidArgumentError extends AuditError {
  static override readonly code = 'AUDIT_INVALID_ARGUMENT'
}

/**
 * Not a finding: the audit found no fault in what it checked, but could not
 * check everything (a participant's replica lacks blobs its holder may not
 * read). The CLI exits with its own status (3), neither passed nor failed.
 */
export class AuditPartialError extends AuditError {
  static override readonly code = 'AUDIT_PARTIAL'
}

/** The peer does not serve this auditor: it is not an auditor the study names (or ran without its key). */
export class AuditAccessDeniedError extends AuditError {
  static override readonly code = 'AUDIT_ACCESS_DENIED'
}

// ---- consent (ext.consent of update envelopes, consent-revoked entries) -----------------------

/** An update of a study with consent whose signed envelope carries no consent claim. */
export class AuditConsentMissingError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_MISSING'
}

/**
 * A consent claim that does not read (a malformed claim or proof), is not
 * decided at its round's opening time, reports a revocation before it
 * applies, or trains on records with an empty consent tree.
 */
export class AuditConsentMalformedError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_MALFORMED'
}

/**
 * An update whose consent claim lacks the non-inclusion proof of a
 * pseudonym its site revoked: nothing shows the revoked patient is not in
 * its consent root.
 */
export class AuditConsentProofMissingError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_PROOF_MISSING'
  readonly pseudonym: Uint8Array
  constructor(message: string, seq: number, pseudonym: Uint8Array, options?: ErrorOptions) {
    super(message, seq, options)
    this.pseudonym = pseudonym
  }
}

/**
 * An update whose non-inclusion proof of a revoked pseudonym does not verify
 * against its consent root: the root may hold the revoked patient. `reason`
 * is the ledger's code (`LEDGER_ROOT_MISMATCH`, `PROTOCOL_CONSENT_NON_INCLUSION_INVALID`, …).
 */
export class AuditConsentProofInvalidError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_PROOF_INVALID'
  readonly pseudonym: Uint8Array
  readonly reason: string
  constructor(message: string, seq: number, pseudonym: Uint8Array, reason: string, options?: ErrorOptions) {
    super(message, seq, options)
    this.pseudonym = pseudonym
    this.reason = reason
  }
}

/** A non-inclusion proof for a tree of another size (`calculated`) than the claim's count (`expected`). */
export class AuditConsentCountMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_CONSENT_COUNT_MISMATCH'
}

/**
 * `consent-revoked` entries that are not exactly the new revocations the
 * next update's signed envelope reports: one invented, one suppressed, a
 * time changed, or revocations not followed by the update of their site.
 * `expected` is what the log holds, `calculated` what the site signed.
 */
export class AuditConsentRevocationMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_CONSENT_REVOCATION_MISMATCH'
}

/**
 * A patient's consent proof whose root no update of its round commits to in
 * the log (with `--site`, no update of that site): the proof may be sound,
 * but not about what the log records.
 */
export class AuditConsentNotLoggedError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_NOT_LOGGED'
}

// ---- patient rewards (patient-rewards entries) ------------------------------------------------

/**
 * A `patient-rewards` entry the coordinator should have refused: a statement
 * that does not read or is not validly signed by its enrolled site, for
 * another study, a replay, for a round not rewarded or without the site's
 * consent-bearing update, a second one for the site and round, or an entry
 * whose round or site differ from its statement's.
 */
export class AuditPatientRewardsInvalidError extends AuditError {
  static override readonly code = 'AUDIT_PATIENT_REWARDS_INVALID'
}

/** A `patient-rewards` statement whose amount (`calculated`) is not the site's credit in the round's `round-rewarded` entry (`expected`). */
export class AuditPatientRewardsAmountMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_PATIENT_REWARDS_AMOUNT_MISMATCH'
}

/** A `patient-rewards` statement whose count (`calculated`) is not the consent count of the site's accepted envelope (`expected`). */
export class AuditPatientRewardsCountMismatchError extends AuditMismatchError {
  static override readonly code = 'AUDIT_PATIENT_REWARDS_COUNT_MISMATCH'
}

/**
 * A patient's reward proof whose site logged no `patient-rewards` entry for
 * the round, or one for another amount: the proof may be sound, but not
 * about what the log records. (A root that differs from the logged one fails
 * the bundle check, PROTOCOL_PATIENT_REWARD_INVALID.)
 */
export class AuditPatientRewardsNotLoggedError extends AuditError {
  static override readonly code = 'AUDIT_PATIENT_REWARDS_NOT_LOGGED'
}

/** A consent bundle with a log part (a tlog-proof) and no pinned log key: a proof never vouches for its own key, so its log part cannot be checked. */
export class AuditConsentLogUnverifiedError extends AuditError {
  static override readonly code = 'AUDIT_CONSENT_LOG_UNVERIFIED'
}
