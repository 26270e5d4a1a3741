/** Errors of tlog-tiles (tiles.ts, ../tile-client.ts). One class per condition, each a `LedgerError` with a stable `code`. */
import { LedgerError } from '../errors.ts'
import { toHex } from './hash.ts'

/** A tile or entry-bundle path that is not one c2sp.org/tlog-tiles allows (bad level, index encoding or width). */
export class TilePathInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_TILE_PATH_INVALID'
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`tile path ${JSON.stringify(path.slice(0, 120))}: ${problem}`)
  }
}

/**
 * An entry too large for a tlog-tiles entry bundle, whose entries are
 * uint16-length-prefixed (at most 65,535 bytes). The writer must move the
 * bulk into a content-addressed blob and name it by hash.
 */
export class LedgerEntryTooLargeError extends LedgerError {
  static override readonly code = 'LEDGER_ENTRY_TOO_LARGE'
  constructor(
    readonly seq: number,
    readonly kind: string,
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(`entry ${seq} (${kind}): ${sizeBytes} bytes, want at most ${maxBytes} (tlog-tiles entry bundles are uint16-length-prefixed): store the bulk as a blob and name it by hash in the body`)
  }
}

/** Entry-bundle bytes that do not split into uint16-length-prefixed entries, or hold the wrong number of them. */
export class EntryBundleMalformedError extends LedgerError {
  static override readonly code = 'LEDGER_ENTRY_BUNDLE_MALFORMED'
}

/**
 * A fetched tile whose bytes are not what the verified tree says: a hash in
 * it differs from the one recomputed from the entries (whose root is the
 * signed checkpoint's), or it is the wrong length. Carries `expected` and
 * `calculated` for a hash mismatch (empty arrays for a length mismatch).
 */
export class TileMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_TILE_MISMATCH'
  constructor(
    readonly path: string,
    problem: string,
    readonly expected: Uint8Array = new Uint8Array(),
    readonly calculated: Uint8Array = new Uint8Array(),
  ) {
    super(`tile ${path}: ${problem}${expected.length > 0 ? ` (served ${toHex(calculated).slice(0, 16)}…, want ${toHex(expected).slice(0, 16)}…)` : ''}`)
  }
}

/** A tile, bundle or checkpoint the server did not serve (HTTP status other than 200, or no answer). */
export class TileFetchError extends LedgerError {
  static override readonly code = 'LEDGER_TILE_FETCH_FAILED'
  constructor(
    readonly url: string,
    readonly status: number | undefined,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`GET ${url}: ${problem}`, options)
  }
}

/** A c2sp.org/tlog-proof@v1 text that does not parse (header, extra, index, proof lines, blank line, checkpoint). */
export class TlogProofMalformedError extends LedgerError {
  static override readonly code = 'LEDGER_TLOG_PROOF_MALFORMED'
}
