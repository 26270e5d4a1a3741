/**
 * Errors of the replication wire codec (sync-codec.ts). One class per
 * condition, each a `LedgerError` with a stable `code`; callers branch on
 * `code` or `instanceof`, never on messages. They live in core/ beside the
 * codec because the codec is pure and core/ may not import the shell's
 * `replication/errors.ts`.
 */
import { LedgerError } from '../errors.ts'

/**
 * A frame whose length prefix announces more bytes than the receiver allows.
 * `expected` is the limit, `calculated` the announced length (a lower bound
 * when the prefix was refused before it ended).
 */
export class SyncFrameTooLargeError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_FRAME_TOO_LARGE'
  readonly expected: number
  readonly calculated: number
  constructor(expected: number, calculated: number) {
    super(`frame: length prefix says ${calculated} bytes, want <= ${expected}`)
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A frame or message that does not decode: a bad length prefix, bytes that
 * are not canonical CBOR, an unknown message type, or a missing, extra or
 * mistyped field. `message` names the message and the field
 * (`sync request: from is -1, want a non-negative safe integer`); `field` is
 * that field (`prefix`, `encoding`, `t`, `from`, ...).
 */
export class SyncFrameMalformedError extends LedgerError {
  static override readonly code = 'LEDGER_SYNC_FRAME_MALFORMED'
  readonly field: string
  constructor(subject: string, field: string, problem: string, options?: ErrorOptions) {
    super(`${subject}: ${field} ${problem}`, options)
    this.field = field
  }
}
