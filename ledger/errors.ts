/**
 * Errors of the ledger. One class per condition; `name` is the class name and
 * `code` a stable, area-prefixed identifier that logs, gRPC statuses and exit
 * codes map from. Code branches on `code` or `instanceof`, never on messages.
 *
 * Every error about one entry carries `seq` (its position in the log) and its
 * message starts `entry <seq>: `. Mismatches also carry `expected` and
 * `calculated` so callers can report both without parsing text.
 */
// core/hash.ts imports this file as well; the cycle is harmless because
// neither module uses the other's exports while it is evaluated, only when called.
import { toHex } from './core/hash.ts'

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

/** A broken precondition of a ledger function: bad hex, wrong key length, range outside the log. */
export class LedgerInvalidArgumentError extends LedgerError {
  static override readonly code = 'LEDGER_INVALID_ARGUMENT'
}

/**
 * A proof that holds together but was checked against no trusted key: its
 * checkpoint is signed by the key the bundle itself names, which anyone can
 * make. Not a verdict of "verified"; pin the coordinator's key, or accept the
 * bundle's key explicitly.
 */
export class LedgerProofUnverifiedError extends LedgerError {
  static override readonly code = 'LEDGER_PROOF_UNVERIFIED'
}

/** `entry 12` when the position is known, `entry ?` when even that is unreadable. */
function entryLabel(seq: number | undefined): string {
  return seq === undefined ? 'entry ?' : `entry ${seq}`
}

/**
 * Entry bytes that do not decode to a valid entry (not canonical CBOR, a
 * missing, extra or mistyped field). `field` names the offending field, or
 * `encoding` when the bytes are not canonical CBOR at all.
 */
export class LedgerEntryMalformedError extends LedgerError {
  static override readonly code = 'LEDGER_ENTRY_MALFORMED'
  readonly seq: number | undefined
  readonly field: string
  /** @param problem completes the sentence `<field> ...`, e.g. `is 31 bytes, want 32`. */
  constructor(seq: number | undefined, field: string, problem: string, options?: ErrorOptions) {
    super(`${entryLabel(seq)}: ${field} ${problem}`, options)
    this.seq = seq
    this.field = field
  }
}

/**
 * An entry whose `prev` is not the hash of the entry before it.
 * `expected` is the hash of entry `seq - 1` (or the genesis hash); `calculated`
 * is the `prev` the entry records.
 */
export class LedgerChainBrokenError extends LedgerError {
  static override readonly code = 'LEDGER_CHAIN_BROKEN'
  readonly seq: number
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(seq: number, expected: Uint8Array, calculated: Uint8Array) {
    super(`entry ${seq}: prev is ${toHex(calculated)}, want ${toHex(expected)} (the hash of ${seq === 0 ? 'genesis' : `entry ${seq - 1}`})`)
    this.seq = seq
    this.expected = expected
    this.calculated = calculated
  }
}

/** An entry whose signature does not verify under its stated author. */
export class LedgerSignatureInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_SIGNATURE_INVALID'
  readonly seq: number
  readonly author: Uint8Array
  constructor(seq: number, author: Uint8Array) {
    super(`entry ${seq}: signature does not verify under author ${toHex(author)}`)
    this.seq = seq
    this.author = author
  }
}

/**
 * An entry missing from its place in the log, or one that names a different
 * position than the one it is stored at. `seq` is the position that was
 * expected (`expected === seq`); `calculated` is what was found there (the
 * next stored position, or the entry's own `seq` field), undefined when the
 * log simply ends early.
 */
export class LedgerSeqGapError extends LedgerError {
  static override readonly code = 'LEDGER_SEQ_GAP'
  readonly seq: number
  readonly expected: number
  readonly calculated: number | undefined
  constructor(seq: number, calculated: number | undefined, detail: string) {
    super(`entry ${seq}: ${detail}`)
    this.seq = seq
    this.expected = seq
    this.calculated = calculated
  }
}

/** An entry signed by a key outside the caller's trusted set. */
export class LedgerUntrustedAuthorError extends LedgerError {
  static override readonly code = 'LEDGER_UNTRUSTED_AUTHOR'
  readonly seq: number
  readonly author: Uint8Array
  constructor(seq: number, author: Uint8Array) {
    super(`entry ${seq}: author ${toHex(author)} is not among the trusted authors`)
    this.seq = seq
    this.author = author
  }
}

/**
 * The stored head (length and hash of the last entry) disagrees with the
 * entries. `expected` is the stored head hash, `calculated` the hash of the
 * last stored entry.
 */
export class LedgerHeadMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_HEAD_MISMATCH'
  readonly seq: number
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(seq: number, expected: Uint8Array, calculated: Uint8Array, detail?: string) {
    super(detail === undefined ? `entry ${seq}: hash is ${toHex(calculated)}, but the stored head is ${toHex(expected)}` : `entry ${seq}: ${detail}`)
    this.seq = seq
    this.expected = expected
    this.calculated = calculated
  }
}

/** A blob named by its SHA-256 that is not stored. */
export class LedgerBlobMissingError extends LedgerError {
  static override readonly code = 'LEDGER_BLOB_MISSING'
  readonly hash: Uint8Array
  constructor(hash: Uint8Array) {
    super(`blob ${toHex(hash)}: not stored`)
    this.hash = hash
  }
}

/** A stored blob whose bytes no longer hash to the name it is stored under. */
export class LedgerBlobCorruptError extends LedgerError {
  static override readonly code = 'LEDGER_BLOB_CORRUPT'
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(expected: Uint8Array, calculated: Uint8Array) {
    super(`blob ${toHex(expected)}: stored bytes hash to ${toHex(calculated)}`)
    this.expected = expected
    this.calculated = calculated
  }
}

/** A position at or past the end of the log. */
export class LedgerNotFoundError extends LedgerError {
  static override readonly code = 'LEDGER_NOT_FOUND'
  readonly seq: number
  readonly length: number
  constructor(seq: number, length: number) {
    super(`entry ${seq}: not found, the log has ${length} entries (0..${length - 1})`)
    this.seq = seq
    this.length = length
  }
}

/** A key file that is missing, unreadable, too open, malformed or self-inconsistent. */
export class IdentityFileError extends LedgerError {
  static override readonly code = 'LEDGER_IDENTITY_INVALID'
  readonly file: string
  constructor(file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options)
    this.file = file
  }
}

/** The LevelDB directory is held by another process (or another open in this one). */
export class LedgerLockedError extends LedgerError {
  static override readonly code = 'LEDGER_LOCKED'
  readonly dir: string
  constructor(dir: string, options?: ErrorOptions) {
    super(
      `ledger database ${dir} is locked by another process (a running coordinator or site agent holds its data dir); stop it and retry. The read tools (log verify, log prove, rewards, audit --db) read a snapshot of a locked store instead`,
      options,
    )
    this.dir = dir
  }
}

/** A locked store kept changing (LevelDB flushed or compacted) during every attempt at a consistent snapshot of it. */
export class LedgerSnapshotUnstableError extends LedgerError {
  static override readonly code = 'LEDGER_SNAPSHOT_UNSTABLE'
  readonly dir: string
  constructor(dir: string, attempts: number, options?: ErrorOptions) {
    super(`ledger database ${dir} changed during each of ${attempts} attempts at a consistent snapshot (its process is compacting it); retry in a moment, or stop the process`, options)
    this.dir = dir
  }
}

/** A directory that holds no ledger database, opened by a tool that must not create one. */
export class LedgerDatabaseMissingError extends LedgerError {
  static override readonly code = 'LEDGER_DATABASE_MISSING'
  readonly dir: string
  constructor(dir: string, options?: ErrorOptions) {
    super(`no ledger database in ${dir}; a coordinator creates one in its dataDir`, options)
    this.dir = dir
  }
}

/** A storage failure other than a lock: I/O, a corrupt LevelDB, an unreadable head record. */
export class LedgerStorageError extends LedgerError {
  static override readonly code = 'LEDGER_STORAGE'
}

/** A call on a ledger (or storage) after `close()`. */
export class LedgerClosedError extends LedgerError {
  static override readonly code = 'LEDGER_CLOSED'
  constructor() {
    super('the ledger is closed')
  }
}

/** A stored value beside the entries (a Merkle node, the head's range, a checkpoint, a cosignature, a blob) that the entries contradict. `key` names it. */
export class LedgerStoreDamagedError extends LedgerError {
  static override readonly code = 'LEDGER_STORE_DAMAGED'
  readonly key: string
  constructor(key: string, problem: string) {
    super(`${key}: ${problem}`)
    this.key = key
  }
}

/** A store written in an older format (before checkpoints were C2SP signed notes): this fedlineage cannot read it. */
export class LedgerStoreFormatError extends LedgerError {
  static override readonly code = 'LEDGER_STORE_FORMAT'
  constructor(
    readonly found: number | string,
    readonly want: number,
  ) {
    super(
      `the store is in format ${found}, this fedlineage reads format ${want} (checkpoints as C2SP signed notes): keep the fedlineage release that wrote it to read it, or start the study's log afresh (a replica re-syncs from the coordinator into an empty folder)`,
    )
  }
}
