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
 * and author), so the log's Merkle tree (merkle.ts) uses them unchanged: an
 * entry's leaf is SHA-256(0x00 ‖ entry bytes), RFC 6962 §2.1.
 *
 * Pure: no I/O, no clock (the caller supplies `timeMs`).
 */
import { CanonicalEncodingError, LedgerChainBrokenError, LedgerEntryMalformedError, LedgerSeqGapError, LedgerSignatureInvalidError, LedgerUntrustedAuthorError } from '../errors.ts'
import { decodeCanonical, encodeCanonical, encodeCanonicalInto, equalBytes, type CanonicalValue } from './canonical.ts'
import { ENTRY_KIND_PATTERN, ENTRY_SIGNING_CONTEXT, ENTRY_VERSION, HASH_LENGTH_BYTES, PUBLIC_KEY_LENGTH_BYTES, SIGNATURE_LENGTH_BYTES, SIGNING_CONTEXT_SEPARATOR } from './constants.ts'
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
  const parts = entryParts(entry)
  if (parts === undefined || !(entry.signature instanceof Uint8Array)) return encodeCanonical({ ...unsignedMap(entry), sig: entry.signature })
  return signedBytes(parts, entry.signature)
}

/** The message an entry's signature covers: context ‖ 0x00 ‖ canonical bytes of the entry without `sig`. */
export function entrySigningMessage(entry: UnsignedEntry): Uint8Array {
  const parts = entryParts(entry)
  if (parts !== undefined) return parts.message
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
 *
 * The body is encoded once and the rest of the map is laid out around it
 * (see entryParts): the signing message and the entry bytes share every
 * byte but the map header and `sig`.
 */
export function signEntry(signer: Signer, seq: number, prevHash: Uint8Array, draft: EntryDraft): AppendedEntry {
  const { kind, timeMs, body } = draft
  const author = signer.publicKey
  validateUnsigned(seq, prevHash, kind, timeMs, body, author)
  let bodyBytes: Uint8Array
  try {
    bodyBytes = encodeBody(body)
  } catch (err) {
    if (err instanceof CanonicalEncodingError) throw new LedgerEntryMalformedError(seq, 'body', `is not encodable: ${err.message}`, { cause: err })
    throw err
  }
  // layOut copies the body out of the scratch before anything encodes into it again.
  const parts = layOut(seq, prevHash, kind, timeMs, bodyBytes, author)
  const signature = signer.sign(parts.message)
  const entry: Entry = { version: ENTRY_VERSION, seq, prevHash, kind, timeMs, body, author, signature }
  const bytes = signature instanceof Uint8Array ? signedBytes(parts, signature) : encodeEntry(entry)
  return { entry, bytes, hash: entryHash(bytes) }
}

// ---- the entry map, laid out by hand --------------------------------------------
//
// Canonical key order (canonical.ts: shorter key first, then bytewise) is
//   v, seq, sig, body, kind, prev, time, author
// so the entry is   a8 ‖ HEAD ‖ "sig" sig ‖ TAIL
// and the unsigned map a7 ‖ HEAD ‖ TAIL, where HEAD is "v" 1 "seq" <seq> and
// TAIL is "body" <body> "kind" <kind> "prev" <prev> "time" <time> "author" <author>.
// CBOR is context-free (a map is its header followed by its keys and values,
// each encoded on its own), so with <body> = encodeCanonical(body) these are
// byte for byte what encodeCanonical of the whole map gives. entryParts only
// takes the fields it can lay out exactly: a safe-integer seq and time, an
// ASCII kind (ENTRY_KIND_PATTERN), byte strings for prev and author; anything
// else goes through encodeCanonical as before. The "hand layout equals
// encodeCanonical" tests pin the equivalence.

/** Where bodies are encoded before layOut copies them (bigger ones get an array of their own). */
const bodyScratch = new Uint8Array(64 * 1024)

/** encodeCanonical(body), as a view of bodyScratch when it fits: valid until the next encodeBody. */
function encodeBody(body: CanonicalValue): Uint8Array {
  const written = encodeCanonicalInto(body, bodyScratch)
  return written === undefined ? encodeCanonical(body) : bodyScratch.subarray(0, written)
}

const CBOR_UINT = 0x00
const CBOR_NEGINT = 0x20
const CBOR_BYTES = 0x40
const CBOR_TEXT = 0x60
const CBOR_MAP_7 = 0xa7
const CBOR_MAP_8 = 0xa8
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0))
/** "v" 1 "seq" (the seq's value follows). */
const HEAD_PREFIX = Uint8Array.from([0x61, ...ascii('v'), ENTRY_VERSION, 0x63, ...ascii('seq')])
const SIG_KEY = Uint8Array.from([0x63, ...ascii('sig')])
const BODY_KEY = Uint8Array.from([0x64, ...ascii('body')])
const KIND_KEY = Uint8Array.from([0x64, ...ascii('kind')])
const PREV_KEY = Uint8Array.from([0x64, ...ascii('prev')])
const TIME_KEY = Uint8Array.from([0x64, ...ascii('time')])
const AUTHOR_KEY = Uint8Array.from([0x66, ...ascii('author')])

/** The signing message, context ‖ 0x00 ‖ a7 ‖ HEAD ‖ TAIL, and where TAIL starts in it. */
interface EntryParts {
  readonly message: Uint8Array
  readonly tailStart: number
}

/** Where HEAD starts in a signing message: after the context, its separator and the a7 map header. */
const MESSAGE_HEAD_START = SIGNING_PREFIX.length + 1

/** Bytes of the CBOR head of major type `major` with argument `n` (a non-negative safe integer), shortest form. */
function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9
}

function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  if (n < 24) {
    out[at] = major | n
    return at + 1
  }
  if (n < 0x100) {
    out[at] = major | 24
    out[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    out[at] = major | 25
    out[at + 1] = n >>> 8
    out[at + 2] = n & 0xff
    return at + 3
  }
  if (n < 0x100000000) {
    out[at] = major | 26
    out[at + 1] = n >>> 24
    out[at + 2] = (n >>> 16) & 0xff
    out[at + 3] = (n >>> 8) & 0xff
    out[at + 4] = n & 0xff
    return at + 5
  }
  out[at] = major | 27
  const hi = Math.floor(n / 0x100000000)
  const lo = n >>> 0
  for (let i = 0; i < 4; i++) out[at + 4 - i] = (hi >>> (8 * i)) & 0xff
  for (let i = 0; i < 4; i++) out[at + 8 - i] = (lo >>> (8 * i)) & 0xff
  return at + 9
}

function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at)
  return at + bytes.length
}

/** The signing message of the unsigned entry, laid out, or undefined when a field is outside what layOut encodes exactly. */
function entryParts(entry: UnsignedEntry): EntryParts | undefined {
  const { seq, prevHash, kind, timeMs, author, body } = entry
  if (entry.version !== ENTRY_VERSION || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs)) return undefined
  if (typeof kind !== 'string' || !ENTRY_KIND_PATTERN.test(kind) || !(prevHash instanceof Uint8Array) || !(author instanceof Uint8Array) || body === undefined) return undefined
  return layOut(seq, prevHash, kind, timeMs, encodeBody(body), author)
}

/**
 * Requires a non-negative safe-integer seq, a safe-integer timeMs (−0 is 0,
 * as in cborg), a kind matching ENTRY_KIND_PATTERN (so ASCII: one byte per
 * character), the canonical bytes of the body.
 */
function layOut(seq: number, prevHash: Uint8Array, kind: string, timeMs: number, bodyBytes: Uint8Array, author: Uint8Array): EntryParts {
  const time = timeMs >= 0 ? timeMs : -1 - timeMs
  const timeMajor = timeMs >= 0 ? CBOR_UINT : CBOR_NEGINT
  const tailStart = MESSAGE_HEAD_START + HEAD_PREFIX.length + headLength(seq)
  const length =
    tailStart +
    BODY_KEY.length +
    bodyBytes.length +
    KIND_KEY.length +
    headLength(kind.length) +
    kind.length +
    PREV_KEY.length +
    headLength(prevHash.length) +
    prevHash.length +
    TIME_KEY.length +
    headLength(time) +
    AUTHOR_KEY.length +
    headLength(author.length) +
    author.length
  const out = new Uint8Array(length)
  out.set(SIGNING_PREFIX, 0)
  out[SIGNING_PREFIX.length] = CBOR_MAP_7
  let at = put(out, MESSAGE_HEAD_START, HEAD_PREFIX)
  at = writeHead(out, at, CBOR_UINT, seq)
  at = put(out, at, BODY_KEY)
  at = put(out, at, bodyBytes)
  at = put(out, at, KIND_KEY)
  at = writeHead(out, at, CBOR_TEXT, kind.length)
  for (let i = 0; i < kind.length; i++) out[at++] = kind.charCodeAt(i)
  at = put(out, at, PREV_KEY)
  at = writeHead(out, at, CBOR_BYTES, prevHash.length)
  at = put(out, at, prevHash)
  at = put(out, at, TIME_KEY)
  at = writeHead(out, at, timeMajor, time)
  at = put(out, at, AUTHOR_KEY)
  at = writeHead(out, at, CBOR_BYTES, author.length)
  put(out, at, author)
  return { message: out, tailStart }
}

/** a8 ‖ HEAD ‖ "sig" <signature> ‖ TAIL. */
function signedBytes(parts: EntryParts, signature: Uint8Array): Uint8Array {
  const { message, tailStart } = parts
  const headLen = tailStart - MESSAGE_HEAD_START
  const out = new Uint8Array(1 + (message.length - MESSAGE_HEAD_START) + SIG_KEY.length + headLength(signature.length) + signature.length)
  out[0] = CBOR_MAP_8
  out.set(message.subarray(MESSAGE_HEAD_START, tailStart), 1)
  let at = put(out, 1 + headLen, SIG_KEY)
  at = writeHead(out, at, CBOR_BYTES, signature.length)
  at = put(out, at, signature)
  out.set(message.subarray(tailStart), at)
  return out
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

/**
 * validateFields of the unsigned map signEntry builds, without building it:
 * the same checks in the same order, the same errors.
 */
function validateUnsigned(seq: number, prevHash: Uint8Array, kind: string, timeMs: number, body: CanonicalValue, author: Uint8Array): void {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new LedgerEntryMalformedError(seq, 'seq', `is ${describe(seq)}, want a non-negative safe integer`)
  }
  checkBytes(prevHash, 'prev', HASH_LENGTH_BYTES, seq)
  if (typeof kind !== 'string' || !ENTRY_KIND_PATTERN.test(kind)) {
    throw new LedgerEntryMalformedError(seq, 'kind', `is ${describe(kind)}, want a string matching ${ENTRY_KIND_PATTERN}`)
  }
  if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs)) {
    throw new LedgerEntryMalformedError(seq, 'time', `is ${describe(timeMs)}, want a safe integer (ms since the epoch)`)
  }
  if (body === undefined) throw new LedgerEntryMalformedError(seq, 'body', 'is missing')
  checkBytes(author, 'author', PUBLIC_KEY_LENGTH_BYTES, seq)
}

function checkBytes(value: CanonicalValue | undefined, field: string, lengthBytes: number, at: number): void {
  if (!(value instanceof Uint8Array)) throw new LedgerEntryMalformedError(at, field, `is ${describe(value)}, want ${lengthBytes} bytes`)
  if (value.length !== lengthBytes) throw new LedgerEntryMalformedError(at, field, `is ${value.length} bytes, want ${lengthBytes}`)
}
