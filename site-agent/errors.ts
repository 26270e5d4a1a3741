/**
 * Errors of the site agent. One class per condition; `name` is the class name
 * and `code` a stable, `SITE_`-prefixed identifier that logs, gRPC statuses and
 * exit codes map from. Code branches on `code` or `instanceof`, never on
 * messages.
 */
export class SiteAgentError extends Error {
  static readonly code: string = 'SITE_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof SiteAgentError).code
  }
}

/** Where in the site's local data a problem was found; each field only when known. */
export interface SiteDataLocation {
  /** Path of the source file (as given to the reader). */
  readonly file?: string
  /** 1-based line in `file` where the offending record starts. */
  readonly line?: number
  /** 1-based data row, header excluded (row 1 is `rows[0]` of the table). */
  readonly row?: number
  /** Source column name. */
  readonly column?: string
}

/**
 * The site's local data cannot be read as the study schema says: a malformed
 * CSV, a row with the wrong number of cells, a non-numeric value in a numeric
 * column, or a split value that is neither the train nor the validation value.
 */
export class SiteDataError extends SiteAgentError {
  static override readonly code: string = 'SITE_DATA_INVALID'
  readonly file: string | undefined
  readonly line: number | undefined
  readonly row: number | undefined
  readonly column: string | undefined
  constructor(message: string, location: SiteDataLocation = {}, options?: ErrorOptions) {
    super(message, options)
    this.file = location.file
    this.line = location.line
    this.row = location.row
    this.column = location.column
  }
}

/** A column the schema (or the split) needs is not in the file. Carries the columns that are. */
export class SiteColumnMissingError extends SiteDataError {
  static override readonly code = 'SITE_DATA_COLUMN_MISSING'
  readonly available: readonly string[]
  constructor(message: string, location: SiteDataLocation & { column: string }, available: readonly string[]) {
    super(message, location)
    this.available = available
  }
}

/** Too few usable rows remain (after dropping) to train or to compute the split's statistics. */
export class SiteDataEmptyError extends SiteDataError {
  static override readonly code = 'SITE_DATA_EMPTY'
}

/** The site's own configuration is invalid (split spec, cohort parameters, paths). */
export class SiteConfigError extends SiteAgentError {
  static override readonly code = 'SITE_CONFIG_INVALID'
}

/** The coordinator refused a call; `remoteCode` is its stable error code (e.g. COORD_WRONG_ROUND). */
export class SiteRequestRejectedError extends SiteAgentError {
  static override readonly code = 'SITE_REQUEST_REJECTED'
  constructor(
    message: string,
    readonly remoteCode: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The coordinator could not be reached for longer than the agent is willing to wait. */
export class SiteCoordinatorUnavailableError extends SiteAgentError {
  static override readonly code = 'SITE_COORDINATOR_UNAVAILABLE'
}

/** A downloaded model does not hash to the hash it was asked for, or is not of the study's shapes. */
export class SiteModelIntegrityError extends SiteAgentError {
  static override readonly code = 'SITE_MODEL_INTEGRITY'
}

/** The study the coordinator runs is not the one this site agreed to join. */
export class SiteStudyMismatchError extends SiteAgentError {
  static override readonly code = 'SITE_STUDY_MISMATCH'
}

/**
 * A task names something the site's verified replica of the log does not show
 * within `p2p.verifyTimeoutMs` (a round's opening, a committed model): the
 * site does not act on what the coordinator has not logged.
 */
export class SiteTaskUnverifiedError extends SiteAgentError {
  static override readonly code = 'SITE_TASK_UNVERIFIED'
}

/** The site could not take its part in a round's secure aggregation (keys not from enrolled sites, a survivor set the log does not show, boxes that did not come): it drops out of the round, revealing nothing more. */
export class SiteSecAggError extends SiteAgentError {
  static override readonly code = 'SITE_SECAGG_REFUSED'
}

/** A task disagrees with the verified log (its base, instructions or model are not the logged ones): refused. */
export class SiteTaskMismatchError extends SiteAgentError {
  static override readonly code = 'SITE_TASK_MISMATCH'
}

/**
 * `fedlineage model export` cannot export what was asked: the round has no
 * committed model, the output directory is not empty, the log holds no
 * signed checkpoint covering the commit, or the model blob is not in the store.
 */
export class SiteExportRefusedError extends SiteAgentError {
  static override readonly code = 'SITE_EXPORT_REFUSED'
}

/**
 * An exported model directory does not hold together: its weights do not
 * hash to the model hash its card names, its commit proof does not check, or
 * a file is missing or unreadable. The model must not be used.
 */
export class SiteExportDamagedError extends SiteAgentError {
  static override readonly code = 'SITE_EXPORT_DAMAGED'
}

/**
 * `fedlineage predict --site-config` scored the site's validation split and
 * did not get what the site reported for the exported model: the site's
 * records or consents changed since, or this is not the model it evaluated.
 */
export class SitePredictMismatchError extends SiteAgentError {
  static override readonly code = 'SITE_PREDICT_MISMATCH'
}

/** `consent prove` was given a patient id the site's consent store has no record of (likely mistyped). */
export class ConsentUnknownPatientError extends SiteAgentError {
  static override readonly code = 'SITE_UNKNOWN_PATIENT'
}

/** The site's stored SCAFFOLD control variate cannot be read as this study's (damaged, or of another study or model). */
export class SiteControlVariateError extends SiteAgentError {
  static override readonly code = 'SITE_CONTROL_VARIATE_INVALID'
}

/** The site's DP-SGD account (its spent ε) cannot be read or stored: the site trains nothing rather than lose count. */
export class SiteDpAccountError extends SiteAgentError {
  static override readonly code = 'SITE_DP_ACCOUNT_INVALID'
}
