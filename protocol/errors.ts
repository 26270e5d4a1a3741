/**
 * Errors of the protocol: one class per condition, each with a stable `code`.
 * A `ProtocolError` is a refusal under the federation's rules (an admission
 * check, the fold, the decider); the coordinator maps it to a gRPC status
 * (coordinator/grpc/status.ts) and the auditor to a verdict. The refusal codes
 * a coordinator answers sites with keep their `COORD_` prefix: they are wire
 * codes that sites already branch on (PROTOCOL.md lists them with their status).
 */

export class ProtocolError extends Error {
  static readonly code: string = 'PROTOCOL_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof ProtocolError).code
  }
}

/** A pure function called outside its stated precondition (a caller's bug, not a peer's fault). */
export class ProtocolInvalidArgumentError extends ProtocolError {
  static override readonly code = 'PROTOCOL_INVALID_ARGUMENT'
}

/** A round's instructions for a site that the site cannot apply: an unknown key or a bad value. */
export class InstructionsInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_INSTRUCTIONS_INVALID'
}

/** A signed statement (statements.ts) whose bytes are not canonical or do not match its schema. */
export class StatementInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_STATEMENT_INVALID'
}

export class StudyMismatchError extends ProtocolError {
  static override readonly code = 'COORD_STUDY_MISMATCH'
}
export class LineageRecordError extends ProtocolError {
  static override readonly code = 'COORD_LINEAGE_RECORD_INVALID'
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(message)
  }
}
export class UnknownSiteError extends ProtocolError {
  static override readonly code = 'COORD_UNKNOWN_SITE'
}
export class SignatureInvalidError extends ProtocolError {
  static override readonly code = 'COORD_BAD_SIGNATURE'
}
export class StatementRejectedError extends ProtocolError {
  static override readonly code = 'COORD_STATEMENT_INVALID'
}
export class NotHubError extends ProtocolError {
  static override readonly code = 'COORD_NOT_HUB'
}
export class StaleRequestError extends ProtocolError {
  static override readonly code = 'COORD_STALE_REQUEST'
}
export class WrongRoundError extends ProtocolError {
  static override readonly code = 'COORD_WRONG_ROUND'
}
export class RoundStateError extends ProtocolError {
  static override readonly code = 'COORD_ROUND_STATE'
}
export class WrongBaseModelError extends ProtocolError {
  static override readonly code = 'COORD_WRONG_BASE_MODEL'
}
export class UpdateReplayedError extends ProtocolError {
  static override readonly code = 'COORD_UPDATE_REPLAYED'
}
export class DuplicateUpdateError extends ProtocolError {
  static override readonly code = 'COORD_DUPLICATE_UPDATE'
}
export class UpdateTooLargeError extends ProtocolError {
  static override readonly code = 'COORD_UPDATE_TOO_LARGE'
}
/**
 * An input whose entry would not fit a tlog-tiles entry bundle (a statement
 * of tens of KiB, say an evaluation with thousands of metrics): refused
 * without an entry, so the log never holds one the ledger must refuse.
 */
export class EntryTooLargeError extends ProtocolError {
  static override readonly code = 'COORD_ENTRY_TOO_LARGE'
}
export class DeltaIntegrityError extends ProtocolError {
  static override readonly code = 'COORD_DELTA_INTEGRITY'
}
export class DeltaShapeError extends ProtocolError {
  static override readonly code = 'COORD_DELTA_SHAPE'
}
export class NonFiniteUpdateError extends ProtocolError {
  static override readonly code = 'COORD_NON_FINITE'
}
export class ConsentMissingError extends ProtocolError {
  static override readonly code = 'COORD_CONSENT_MISSING'
}

/** The study requires patient-level DP-SGD (`patientDp`), and the update envelope carries no `ext.dpSgd`. */
export class DpSgdMissingError extends ProtocolError {
  static override readonly code = 'COORD_DP_SGD_MISSING'
}

/** An update's `ext.dpSgd` does not read, or its ε is below what the site's own logged claims of this study give. */
export class DpSgdClaimInvalidError extends ProtocolError {
  static override readonly code = 'COORD_DP_SGD_INVALID'
}

/** An update's `ext.dpSgd` claims more than the study's `patientDp` allows (ε above `maxEpsilon`, or δ above `maxDelta`). */
export class DpSgdOverBudgetError extends ProtocolError {
  static override readonly code = 'COORD_DP_SGD_OVER_BUDGET'
}

export class ConsentClaimInvalidError extends ProtocolError {
  static override readonly code = 'COORD_CONSENT_INVALID'
  constructor(
    message: string,
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export class ConsentProofMissingError extends ProtocolError {
  static override readonly code = 'COORD_CONSENT_PROOF_MISSING'
  constructor(
    message: string,
    readonly pseudonym: Uint8Array,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export class ConsentProofInvalidError extends ProtocolError {
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

export class PatientRewardsInvalidError extends ProtocolError {
  static override readonly code = 'COORD_PATIENT_REWARDS_INVALID'
}

export class PatientRewardsAmountMismatchError extends ProtocolError {
  static override readonly code = 'COORD_PATIENT_REWARDS_AMOUNT_MISMATCH'
  constructor(
    message: string,
    readonly expected: bigint,
    readonly calculated: bigint,
  ) {
    super(message)
  }
}

export class PatientRewardsCountMismatchError extends ProtocolError {
  static override readonly code = 'COORD_PATIENT_REWARDS_COUNT_MISMATCH'
  constructor(
    message: string,
    readonly expected: number,
    readonly calculated: number,
  ) {
    super(message)
  }
}

/** A site's approval names another spec hash than the study's (a changed spec needs a new approval). */
export class ApprovalSpecMismatchError extends ProtocolError {
  static override readonly code = 'COORD_APPROVAL_SPEC_MISMATCH'
  constructor(
    message: string,
    readonly expected: Uint8Array,
    readonly calculated: Uint8Array,
  ) {
    super(message)
  }
}

/** An update whose declared example count (its aggregation weight) is 0 or above the study's bound. */
export class ExamplesOutOfRangeError extends ProtocolError {
  static override readonly code = 'COORD_EXAMPLES_OUT_OF_RANGE'
}

/** A membership change that cannot apply: enrolling a known site or key, removing a site that is not enrolled or already removed. */
export class MembershipInvalidError extends ProtocolError {
  static override readonly code = 'COORD_MEMBERSHIP_INVALID'
}

/** A second approval of the same site (its approval is already logged). */
export class ApprovalDuplicateError extends ProtocolError {
  static override readonly code = 'COORD_APPROVAL_DUPLICATE'
}

/** A site's `declined` statement that names no open round the site was planned in, or comes after its update or an earlier decline. */
export class DeclineInvalidError extends ProtocolError {
  static override readonly code = 'COORD_DECLINE_INVALID'
}

/** A round start refused because its commit would take the study's accounted ε above its budget `dp.epsilon`: training stops. */
export class DpBudgetSpentError extends ProtocolError {
  static override readonly code = 'COORD_DP_BUDGET_SPENT'
}

/** A round of a DP study opened or closed without its private noise seed, or with one that is not the seed its commitment names. */
export class DpSeedInvalidError extends ProtocolError {
  static override readonly code = 'COORD_DP_SEED_INVALID'
}

/** A secure-aggregation message out of its phase, from a site outside the phase's set, or addressing or revealing what the round's rules forbid. */
export class SecAggMessageError extends ProtocolError {
  static override readonly code = 'COORD_SECAGG_MESSAGE_INVALID'
}

/**
 * Secure aggregation (protocol/secagg/): too few shares to rebuild a secret
 * the unmasking needs, or too few survivors for a site to reveal its shares.
 * `site` is the site whose secret could not be rebuilt (or the revealing
 * site), `have` and `need` the counts.
 */
export class SecAggThresholdError extends ProtocolError {
  static override readonly code = 'PROTOCOL_SECAGG_THRESHOLD'
  constructor(
    message: string,
    readonly site: string,
    readonly have: number,
    readonly need: number,
  ) {
    super(message)
  }
}

/**
 * Secure aggregation: a share box that does not open or does not bind this
 * study, round and pair of sites, or a share (or a secret rebuilt from
 * shares) that fails its check: a self-mask seed whose SHA-256 is not the
 * logged commitment, a mask key whose public key is not the advertised one.
 * `site` names the sender of the box, or the site whose secret failed.
 */
export class SecAggShareInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_SECAGG_SHARE_INVALID'
  constructor(
    message: string,
    readonly site: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Secure aggregation: a second reveal asked of a site in one round, or a
 * reveal that would hand over both secrets of one site (its self-mask share
 * and its mask-key share), or the wrong one for the survivor set. Revealing
 * both would let the coordinator unmask that site's input alone.
 * `site` is the revealer.
 */
export class SecAggDoubleRevealError extends ProtocolError {
  static override readonly code = 'PROTOCOL_SECAGG_DOUBLE_REVEAL'
  constructor(
    message: string,
    readonly site: string,
  ) {
    super(message)
  }
}

/**
 * Secure aggregation: an advertised public key that is not 32 bytes, or whose
 * X25519 shared secret is all zero (a low-order point, which would make the
 * pair's mask and box key public). `site` is the site that advertised it.
 */
export class SecAggKeyInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_SECAGG_KEY_INVALID'
  constructor(
    message: string,
    readonly site: string,
  ) {
    super(message)
  }
}

/**
 * Secure aggregation: a survivor set a site cannot reveal for (it omits the
 * site itself, repeats a site, or names a neighbour that never sent this site
 * its shares), or one that does not fit the sites that shared (survivors not
 * among them). `site` is the site that refused, or the offending survivor.
 */
export class SecAggSurvivorsInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_SECAGG_SURVIVORS_INVALID'
  constructor(
    message: string,
    readonly site: string,
  ) {
    super(message)
  }
}
