/**
 * The log entry: its canonical bytes, its hash, its signature.
 *
 * An entry is the deterministic CBOR map (see canonical.ts)
 *
 *   { v, seq, prev, kind, time, body, author, sig }
 *
 * with short keys because every entry carries them:
 *
 *   v       1 (ENTRY_VERSION)                   → Entry.version
 *   seq     position in the log, 0-based        → Entry.seq
 *   prev    SHA-256 of entry seq-1's bytes, or 32 zero bytes for seq 0
 *                                               → Entry.prevHash
 *   kind    what the body is, e.g. "round-result" (ENTRY_KIND_PATTERN)
 *                                               → Entry.kind
 *   time    author's clock, ms since the Unix epoch (informational, not ordered)
 *                                               → Entry.timeMs
 *   body    any canonical value                 → Entry.body
 *   author  raw Ed25519 public key (32 bytes)   → Entry.author
 *   sig     Ed25519 signature (64 bytes)        → Entry.signature
 *
 * The signature covers UTF-8(ENTRY_SIGNING_CONTEXT) ‖ 0x00 ‖ the canonical
 * bytes of the same map without `sig`. The entry hash is SHA-256 of the full
 * entry bytes, and `prev` chains each entry to the one before it.
 *
 * The bytes are self-contained (they name their own position, predecessor
 * and author), so the Merkle tree that comes next can use them unchanged: its
 * leaf will be SHA-256(0x00 ‖ entry bytes), RFC 6962 §2.1.
 *
 * Pure: no I/O, no clock (the caller supplies `timeMs`).
 */
import {
  CanonicalEncodingError,
  LedgerChainBrokenError,
  LedgerEntryMalformedError,
  LedgerSeqGapError,
  LedgerSignatureInvalidError,
  LedgerUntrustedAuthorError,
} from '../errors.ts'
import { decodeCanonical, encodeCanonical, equalBytes, type CanonicalValue } from './canonical.ts'
import {
  ENTRY_KIND_PATTERN,
  ENTRY_SIGNING_CONTEXT,
  ENTRY_VERSION,
  HASH_LENGTH_BYTES,
  PUBLIC_KEY_LENGTH_BYTES,
  SIGNATURE_LENGTH_BYTES,
  SIGNING_CONTEXT_SEPARATOR,
} from './constants.ts'
import { sha256 } from './hash.ts'
import { verifySignature, type Signer } from './signature.ts'

/** What a caller appends: the ledger adds position, chain link, author and signature. */
export interface EntryDraft {
  readonly kind: string
  readonly timeMs: number
  readonly body: CanonicalValue
}

/** A complete, signed log entry. */
export interface Entry extends EntryDraft {
  readonly version: typeof ENTRY_VERSION
  readonly seq: number
  readonly prevHash: Uint8Array
  readonly author: Uint8Array
  readonly signature: Uint8Array
}

/** An entry with its canonical bytes and their SHA-256, as appended to or read from a log. */
export interface AppendedEntry {
  readonly entry: Entry
  readonly bytes: Uint8Array
  readonly hash: Uint8Array
}

/** What `verifyEntry` checks an entry against: the position it is read at and the hash before it. */
export interface EntryExpectation {
  readonly seq: number
  readonly prevHash: Uint8Array
  /** When given, the entry's author must be one of these raw public keys. */
  readonly trustedAuthors?: readonly Uint8Array[] | undefined
}

/** `prev` of entry 0. */
export const GENESIS_PREV_HASH: Uint8Array = new Uint8Array(HASH_LENGTH_BYTES)

const SIGNING_PREFIX = new Uint8Array([...new TextEncoder().encode(ENTRY_SIGNING_CONTEXT), SIGNING_CONTEXT_SEPARATOR])

const ENTRY_FIELDS = ['v', 'seq', 'prev', 'kind', 'time', 'body', 'author', 'sig'] as const
const ENTRY_FIELD_SET: ReadonlySet<string> = new Set(ENTRY_FIELDS)

type UnsignedEntry = Omit<Entry, 'signature'>

function unsignedMap(entry: UnsignedEntry): { readonly [key: string]: CanonicalValue } {
  return { v: entry.version, seq: entry.seq, prev: entry.prevHash, kind: entry.kind, time: entry.timeMs, body: entry.body, author: entry.author }
}

/** The canonical bytes of an entry. Requires a valid entry (as built by signEntry or decodeEntry). */
export function encodeEntry(entry: Entry): Uint8Array {
  return encodeCanonical({ ...unsignedMap(entry), sig: entry.signature })
}

/** The message an entry's signature covers: context ‖ 0x00 ‖ canonical bytes of the entry without `sig`. */
export function entrySigningMessage(entry: UnsignedEntry): Uint8Array {
  const unsigned = encodeCanonical(unsignedMap(entry))
  const message = new Uint8Array(SIGNING_PREFIX.length + unsigned.length)
  message.set(SIGNING_PREFIX, 0)
  message.set(unsigned, SIGNING_PREFIX.length)
  return message
}

/** The entry hash: SHA-256 of its canonical bytes. This is what the next entry's `prev` holds. */
export function entryHash(bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}

/**
 * Builds and signs entry `seq` that follows `prevHash`. Requires a valid
 * draft (kind matching ENTRY_KIND_PATTERN, safe-integer timeMs, encodable
 * body), a non-negative safe-integer seq and a 32-byte prevHash; throws
 * `LedgerEntryMalformedError` naming the field otherwise.
 */
export function signEntry(signer: Signer, seq: number, prevHash: Uint8Array, draft: EntryDraft): AppendedEntry {
  const unsigned: UnsignedEntry = {
    version: ENTRY_VERSION,
    seq,
    prevHash,
    kind: draft.kind,
    timeMs: draft.timeMs,
    body: draft.body,
    author: signer.publicKey,
  }
  validateFields(unsignedMap(unsigned), seq, false)
  let message: Uint8Array
  try {
    message = entrySigningMessage(unsigned)
  } catch (err) {
    if (err instanceof CanonicalEncodingError) throw new LedgerEntryMalformedError(seq, 'body', `is not encodable: ${err.message}`, { cause: err })
    throw err
  }
  const entry: Entry = { ...unsigned, signature: signer.sign(message) }
  const bytes = encodeEntry(entry)
  return { entry, bytes, hash: entryHash(bytes) }
}

/**
 * Decodes and validates entry bytes: canonical CBOR, exactly the eight
 * fields, each of the right type and size (see the module doc). Does not
 * check the signature or the chain (see verifyEntry).
 *
 * `seq` is the position the bytes were read at; it only labels errors, so a
 * corrupt entry is reported where it is stored even when its own `seq` field
 * is unreadable. Throws `LedgerEntryMalformedError` naming the field.
 */
export function decodeEntry(bytes: Uint8Array, seq?: number): Entry {
  let value: CanonicalValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof CanonicalEncodingError) throw new LedgerEntryMalformedError(seq, 'encoding', `is not canonical CBOR: ${err.message}`, { cause: err })
    throw err
  }
  if (!isMap(value)) throw new LedgerEntryMalformedError(seq, 'entry', `is ${describe(value)}, want a map`)
  validateFields(value, seq, true)
  return {
    version: ENTRY_VERSION,
    seq: value.seq as number,
    prevHash: value.prev as Uint8Array,
    kind: value.kind as string,
    timeMs: value.time as number,
    body: value.body as CanonicalValue,
    author: value.author as Uint8Array,
    signature: value.sig as Uint8Array,
  }
}

/**
 * The cheap half of verifyEntry: position, chain link and author trust,
 * without the signature. Throws `LedgerSeqGapError`, `LedgerChainBrokenError`
 * or `LedgerUntrustedAuthorError`, each with `seq = expected.seq`.
 */
export function checkEntryLink(entry: Entry, expected: EntryExpectation): void {
  if (entry.seq !== expected.seq) {
    throw new LedgerSeqGapError(expected.seq, entry.seq, `seq field is ${entry.seq}, want ${expected.seq} (entry stored at the wrong position)`)
  }
  if (!equalBytes(entry.prevHash, expected.prevHash)) throw new LedgerChainBrokenError(expected.seq, expected.prevHash, entry.prevHash)
  if (expected.trustedAuthors !== undefined && !expected.trustedAuthors.some((key) => equalBytes(key, entry.author))) {
    throw new LedgerUntrustedAuthorError(expected.seq, entry.author)
  }
}

/**
 * Verifies entry `expected.seq` of a log: position, chain link to
 * `expected.prevHash`, author trust (when `trustedAuthors` is given) and the
 * signature, in that order. Requires `entry = decodeEntry(bytes)`.
 * Returns the entry hash, which the next entry's `prev` must equal.
 * Throws the specific error (see checkEntryLink, `LedgerSignatureInvalidError`).
 */
export function verifyEntry(entry: Entry, bytes: Uint8Array, expected: EntryExpectation): Uint8Array {
  checkEntryLink(entry, expected)
  if (!verifySignature(entry.author, entrySigningMessage(entry), entry.signature)) {
    throw new LedgerSignatureInvalidError(expected.seq, entry.author)
  }
  return entryHash(bytes)
}

function isMap(value: CanonicalValue): value is { readonly [key: string]: CanonicalValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function describe(value: CanonicalValue | undefined): string {
  if (value === undefined) return 'missing'
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `${value.length} bytes`
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 70 ? `${value.slice(0, 70)}…` : value)}`
    case 'number':
      return String(value)
    case 'bigint':
      return `${value} (bigint)`
    case 'boolean':
      return String(value)
    default:
      return 'a map'
  }
}

/**
 * Checks the entry map field by field. `withSig` is false while signing.
 * Errors are labelled with `at` when known, else with the entry's own seq
 * once that has been read.
 */
function validateFields(map: { readonly [key: string]: CanonicalValue }, at: number | undefined, withSig: boolean): void {
  for (const key of Object.keys(map)) {
    if (!ENTRY_FIELD_SET.has(key)) throw new LedgerEntryMalformedError(at, JSON.stringify(key), 'is not an entry field')
  }
  const { v, seq, prev, kind, time, body, author, sig } = map
  if (v !== ENTRY_VERSION) throw new LedgerEntryMalformedError(at, 'v', `is ${describe(v)}, want ${ENTRY_VERSION}`)
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new LedgerEntryMalformedError(at, 'seq', `is ${describe(seq)}, want a non-negative safe integer`)
  }
  const label = at ?? seq
  checkBytes(prev, 'prev', HASH_LENGTH_BYTES, label)
  if (typeof kind !== 'string' || !ENTRY_KIND_PATTERN.test(kind)) {
    throw new LedgerEntryMalformedError(label, 'kind', `is ${describe(kind)}, want a string matching ${ENTRY_KIND_PATTERN}`)
  }
  if (typeof time !== 'number' || !Number.isSafeInteger(time)) {
    throw new LedgerEntryMalformedError(label, 'time', `is ${describe(time)}, want a safe integer (ms since the epoch)`)
  }
  if (body === undefined) throw new LedgerEntryMalformedError(label, 'body', 'is missing')
  checkBytes(author, 'author', PUBLIC_KEY_LENGTH_BYTES, label)
  if (withSig) checkBytes(sig, 'sig', SIGNATURE_LENGTH_BYTES, label)
}

function checkBytes(value: CanonicalValue | undefined, field: string, lengthBytes: number, at: number): void {
  if (!(value instanceof Uint8Array)) throw new LedgerEntryMalformedError(at, field, `is ${describe(value)}, want ${lengthBytes} bytes`)
  if (value.length !== lengthBytes) throw new LedgerEntryMalformedError(at, field, `is ${value.length} bytes, want ${lengthBytes}`)
}
