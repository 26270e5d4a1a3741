/**
 * Errors of the ledger. One class per condition; `name` is the class name and
 * `code` a stable, area-prefixed identifier that logs, gRPC statuses and exit
 * codes map from. Code branches on `code` or `instanceof`, never on messages.
 */
export class LedgerError extends Error {
  static readonly code: string = 'LEDGER_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof LedgerError).code
  }
}

/** Bytes that are not the canonical CBOR form of their value, or a value that has none. */
export class CanonicalEncodingError extends LedgerError {
  static override readonly code = 'LEDGER_NON_CANONICAL'
}
