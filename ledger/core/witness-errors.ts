/** Errors of the C2SP witness protocol (tlog-witness) and of witness policies (tlog-policy). */
import { LedgerError } from '../errors.ts'

/** An `add-checkpoint` request body that is not `old <size>\n`, proof lines, a blank line and a signed checkpoint. */
export class WitnessRequestMalformedError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_REQUEST_MALFORMED'
}

/** A tlog-policy text that does not parse, or breaks one of the spec's rules (names defined before use, one quorum line, no duplicate keys). */
export class WitnessPolicyInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_POLICY_INVALID'
  /** The 1-based line of the policy text at fault (0 when the fault is the whole text). */
  readonly line: number
  constructor(line: number, message: string, options?: ErrorOptions) {
    super(line > 0 ? `witness policy line ${line}: ${message}` : `witness policy: ${message}`, options)
    this.line = line
  }
}

/** A witness's response that is not what tlog-witness allows: no signature lines, or a cosignature by its key that does not verify. */
export class WitnessResponseInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_RESPONSE_INVALID'
}

/** A witness refused a checkpoint (its HTTP status and body say why), or could not be reached. */
export class WitnessRefusedError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_REFUSED'
  constructor(
    message: string,
    /** The HTTP status, or 0 when no response arrived. */
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** A witness's state file that cannot be read back: the witness refuses to start rather than forget what it cosigned. */
export class WitnessStateInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_STATE_INVALID'
}

/** Another live witness process holds the state folder: two witnesses on one state could each cosign a different fork. */
export class WitnessStateLockedError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_STATE_LOCKED'
}

/** A checkpoint whose verified cosignatures do not satisfy a witness policy's quorum, or a policy that does not list the log being checked. */
export class WitnessQuorumNotMetError extends LedgerError {
  static override readonly code = 'LEDGER_WITNESS_QUORUM_NOT_MET'
}
