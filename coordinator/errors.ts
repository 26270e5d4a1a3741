/**
 * Errors of the coordinator. One class per condition with a stable `code`;
 * `coordinator/grpc/status.ts` maps each to a gRPC status, and the CLI maps
 * them to exit codes. Messages name the site, round and both values.
 */
export class CoordinatorError extends Error {
  static readonly code: string = 'COORD_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof CoordinatorError).code
  }
}

/** hub.json (or the study inside it) does not validate; the message names the field. */
export class CoordinatorConfigError extends CoordinatorError {
  static override readonly code = 'COORD_CONFIG_INVALID'
}
/** The log on disk belongs to another study, or another spec, than the config. */
export class StudyMismatchError extends CoordinatorError {
  static override readonly code = 'COORD_STUDY_MISMATCH'
}
/** A log entry of this study cannot be read as its lineage record. */
export class LineageRecordError extends CoordinatorError {
  static override readonly code = 'COORD_LINEAGE_RECORD_INVALID'
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(message)
  }
}
/** A statement names a site that is not enrolled. */
export class UnknownSiteError extends CoordinatorError {
  static override readonly code = 'COORD_UNKNOWN_SITE'
}
/** A signature does not verify under the key it claims. */
export class SignatureInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_BAD_SIGNATURE'
}
/** A statement could not be decoded or fails its schema. */
export class StatementRejectedError extends CoordinatorError {
  static override readonly code = 'COORD_STATEMENT_INVALID'
}
/** The session token is missing, unknown or from before a restart. */
export class SessionInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_SESSION_INVALID'
}
/** Someone other than the research hub asked to start a round. */
export class NotHubError extends CoordinatorError {
  static override readonly code = 'COORD_NOT_HUB'
}
/** A hub request that is too old or from the future (replay guard). */
export class StaleRequestError extends CoordinatorError {
  static override readonly code = 'COORD_STALE_REQUEST'
}
/** An update or report for a round that is not the open one. */
export class WrongRoundError extends CoordinatorError {
  static override readonly code = 'COORD_WRONG_ROUND'
}
/** A round cannot start now (one is open, or the study is complete). */
export class RoundStateError extends CoordinatorError {
  static override readonly code = 'COORD_ROUND_STATE'
}
/** An update trained from another model than the round's base. */
export class WrongBaseModelError extends CoordinatorError {
  static override readonly code = 'COORD_WRONG_BASE_MODEL'
}
/** The very same signed envelope (or report) was already received. */
export class UpdateReplayedError extends CoordinatorError {
  static override readonly code = 'COORD_UPDATE_REPLAYED'
}
/** A second, different update (or report) from a site for one round. */
export class DuplicateUpdateError extends CoordinatorError {
  static override readonly code = 'COORD_DUPLICATE_UPDATE'
}
/** An upload larger than the delta of this study's model can be. */
export class UpdateTooLargeError extends CoordinatorError {
  static override readonly code = 'COORD_UPDATE_TOO_LARGE'
}
/** The uploaded bytes do not hash to the envelope's delta hash, or their length is not the declared one. */
export class DeltaIntegrityError extends CoordinatorError {
  static override readonly code = 'COORD_DELTA_INTEGRITY'
}
/** The delta's tensors do not have the study model's names and shapes. */
export class DeltaShapeError extends CoordinatorError {
  static override readonly code = 'COORD_DELTA_SHAPE'
}
/** The delta or the metrics hold NaN or ±Infinity. */
export class NonFiniteUpdateError extends CoordinatorError {
  static override readonly code = 'COORD_NON_FINITE'
}
/** An upload stream that does not start with an envelope, or sends one twice. */
export class UploadProtocolError extends CoordinatorError {
  static override readonly code = 'COORD_UPLOAD_PROTOCOL'
}
/** The deadline passed with fewer accepted updates than the study's minimum. */
export class QuorumUnmetError extends CoordinatorError {
  static override readonly code = 'COORD_QUORUM_UNMET'
}
/** A model hash that is not in this study's lineage. */
export class ModelNotFoundError extends CoordinatorError {
  static override readonly code = 'COORD_MODEL_NOT_FOUND'
}

// ---- consent (studies with `consent`) ----------------------------------------------------------

/** An update without `ext.consent` in a study that requires consent. */
export class ConsentMissingError extends CoordinatorError {
  static override readonly code = 'COORD_CONSENT_MISSING'
}

/**
 * An update whose consent claim does not read, or does not fit its round: a
 * malformed `ext.consent`, a decision time other than the round's opening
 * time, a revocation reported before it applies, or training records with
 * an empty consent tree. `reason` is the ledger's code when it found the fault.
 */
export class ConsentClaimInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_CONSENT_INVALID'
  constructor(
    message: string,
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** An update that lacks the non-inclusion proof of a pseudonym its site revoked (logged or reported). */
export class ConsentProofMissingError extends CoordinatorError {
  static override readonly code = 'COORD_CONSENT_PROOF_MISSING'
  constructor(
    message: string,
    readonly pseudonym: Uint8Array,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * An update whose non-inclusion proof of a revoked pseudonym does not verify
 * against its consent root: the tree may hold the revoked patient. `reason`
 * is the ledger's code (`LEDGER_ROOT_MISMATCH`,
 * `LEDGER_CONSENT_NON_INCLUSION_INVALID`, `LEDGER_CONSENT_COUNT_MISMATCH`, …).
 */
export class ConsentProofInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_CONSENT_PROOF_INVALID'
  constructor(
    message: string,
    readonly pseudonym: Uint8Array,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

// ---- patient rewards (core/patient-rewards.ts) ----------------------------------------------

/**
 * A site's `patient-rewards` statement that cannot be taken: for a round
 * not rewarded (yet), a study without consent, an update without a consent
 * claim, or a second one for the same site and round.
 */
export class PatientRewardsInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_PATIENT_REWARDS_INVALID'
}

/** A `patient-rewards` statement whose amount is not the site's allocation in the round's `round-rewarded` entry. */
export class PatientRewardsAmountMismatchError extends CoordinatorError {
  static override readonly code = 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH'
  constructor(
    message: string,
    readonly expected: bigint,
    readonly calculated: bigint,
  ) {
    super(message)
  }
}

/** A `patient-rewards` statement whose count is not the consent count the site's update of that round committed to. */
export class PatientRewardsCountMismatchError extends CoordinatorError {
  static override readonly code = 'COORD_PATIENT_REWARDS_COUNT_MISMATCH'
  constructor(
    message: string,
    readonly expected: number,
    readonly calculated: number,
  ) {
    super(message)
  }
}
