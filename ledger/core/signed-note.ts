/**
 * C2SP signed notes (https://c2sp.org/signed-note): UTF-8 text, a blank
 * line, then one signature line per key, `— <key name> <base64(key ID ‖ signature)>`.
 * The signatures cover the text up to and including its final newline.
 *
 * A key is named by its name and a 4-byte key ID, SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4],
 * and shared as a verifier key string `name+<key ID as 8 hex digits>+base64(type ‖ public key)`.
 *
 * The parser follows the spec and Go's golang.org/x/mod/sumdb/note: the
 * separator is the *last* blank line (the text may not contain one, so
 * that is unambiguous); every signature line must be well formed; lines from
 * keys the caller does not know are ignored; up to MAX_NOTE_SIGNATURES lines
 * are read (the spec asks verifiers to accept at least 16).
 *
 * Pure: no I/O; the one dependency is SHA-256 and Ed25519 over node:crypto.
 */
import { CheckpointInvalidError } from './checkpoint-errors.ts'
import { PUBLIC_KEY_LENGTH_BYTES } from './constants.ts'
import { asPlainBytes, sha256, toHex } from './hash.ts'

/** Signature type byte of Ed25519 keys (signed-note). */
export const NOTE_KEY_TYPE_ED25519 = 0x01
/** Signature type byte of cosignature/v1 keys (tlog-cosignature): Ed25519 over a timestamped message. */
export const NOTE_KEY_TYPE_COSIGNATURE_V1 = 0x04
/** Signature lines read before a note is refused (Go's sumdb/note reads 100; the spec requires at least 16). */
export const MAX_NOTE_SIGNATURES = 100
/** Longest note accepted (as Go's tlog parsers bound a note's text). */
export const MAX_NOTE_BYTES = 1_000_000

/** What starts each signature line: U+2014 EM DASH and a space. */
const SIGNATURE_LINE_PREFIX = '\u2014 '
const KEY_ID_LENGTH_BYTES = 4

/** One signature line, decoded but not verified. */
export interface NoteSignature {
  readonly name: string
  /** The 4-byte key ID, as a big-endian number. */
  readonly keyId: number
  /** What follows the key ID in the line's base64: the signature (for cosignature/v1, timestamp ‖ signature). */
  readonly signature: Uint8Array
  /** The line itself, without its newline. */
  readonly line: string
}

/** A note split into its signed text and its signature lines. */
export interface ParsedNote {
  /** The signed text, ending in its newline. */
  readonly text: string
  readonly signatures: readonly NoteSignature[]
}

/** A public key as a signed note names it. */
export interface NoteVerifierKey {
  readonly name: string
  readonly keyId: number
  readonly type: number
  readonly publicKey: Uint8Array
}

const fail = (why: string): never => {
  throw new CheckpointInvalidError(`signed note: ${why}`)
}

/** A key name: non-empty, no Unicode space, no `+` (signed-note). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && isWellFormed(name)
}

function isWellFormed(s: string): boolean {
  // Lone surrogates cannot be UTF-8; Node 20 lacks String.prototype.isWellFormed.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}

/** The key ID of `publicKey` of signature type `type` under `name`, as a big-endian number. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest = sha256(new TextEncoder().encode(name), Uint8Array.of(0x0a, type), publicKey)
  return new DataView(digest.buffer, digest.byteOffset, KEY_ID_LENGTH_BYTES).getUint32(0, false)
}

/** `name+<key ID hex8>+base64(type ‖ publicKey)`, the verifier key string of a key. */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) fail(`key name ${JSON.stringify(name)} is empty or has a space or a "+"`)
  const keyId = noteKeyId(name, type, publicKey).toString(16).padStart(8, '0')
  return `${name}+${keyId}+${base64(Uint8Array.of(type, ...publicKey))}`
}

/**
 * Parses a verifier key string. The name ends at the first `+` and the key
 * ID at the second; the rest is base64, which may itself contain `+`.
 * Checks the key ID against the key. Throws `CheckpointInvalidError`.
 */
export function parseVerifierKey(vkey: string): NoteVerifierKey {
  const first = vkey.indexOf('+')
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1)
  if (second < 0) fail(`verifier key ${JSON.stringify(vkey.slice(0, 80))}: want name+keyid+base64key`)
  const name = vkey.slice(0, first)
  const idHex = vkey.slice(first + 1, second)
  if (!isValidKeyName(name)) fail(`verifier key: name ${JSON.stringify(name)} is empty or has a space`)
  if (!/^[0-9a-f]{8}$/.test(idHex)) fail(`verifier key of ${name}: key ID ${JSON.stringify(idHex)}, want 8 lowercase hex digits`)
  const raw = fromBase64(vkey.slice(second + 1))
  if (raw === undefined || raw.length < 2) return fail(`verifier key of ${name}: the key is not base64 of a type byte and a key`)
  const type = raw[0] as number
  const publicKey = raw.slice(1)
  if ((type === NOTE_KEY_TYPE_ED25519 || type === NOTE_KEY_TYPE_COSIGNATURE_V1) && publicKey.length !== PUBLIC_KEY_LENGTH_BYTES)
    fail(`verifier key of ${name}: an Ed25519 key of ${publicKey.length} bytes, want ${PUBLIC_KEY_LENGTH_BYTES}`)
  const keyId = Number.parseInt(idHex, 16)
  const want = noteKeyId(name, type, publicKey)
  if (keyId !== want) fail(`verifier key of ${name}: key ID ${idHex}, but the key's is ${want.toString(16).padStart(8, '0')}`)
  return { name, keyId, type, publicKey }
}

/** One signature line (without newline): `— name base64(keyId ‖ signature)`. */
export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const id = new Uint8Array(KEY_ID_LENGTH_BYTES)
  new DataView(id.buffer).setUint32(0, keyId, false)
  return `${SIGNATURE_LINE_PREFIX}${name} ${base64(Uint8Array.of(...id, ...signature))}`
}

/** A note of `text` (ending in a newline, no blank line) and signature lines. */
export function formatNote(text: string, lines: readonly string[]): string {
  if (!text.endsWith('\n') || text.includes('\n\n')) fail('the text must end in a newline and hold no blank line')
  if (lines.length === 0) fail('a note needs at least one signature')
  return `${text}\n${lines.map((l) => `${l}\n`).join('')}`
}

/**
 * Splits a note into its text and its signature lines, checking the syntax
 * the spec sets (see the file comment). Verifies nothing. Throws
 * `CheckpointInvalidError`.
 */
export function parseNote(note: string): ParsedNote {
  if (note.length > MAX_NOTE_BYTES) fail(`${note.length} characters, more than ${MAX_NOTE_BYTES}`)
  if (!isWellFormed(note)) fail('not valid UTF-8')
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) fail('holds an ASCII control character other than newline')
  const split = note.lastIndexOf('\n\n')
  if (split < 0) fail('no blank line before the signatures')
  const text = note.slice(0, split + 1)
  const block = note.slice(split + 2)
  if (block.length === 0 || !block.endsWith('\n')) fail('the signature block is empty or does not end in a newline')
  const lines = block.slice(0, -1).split('\n')
  if (lines.length > MAX_NOTE_SIGNATURES) fail(`${lines.length} signature lines, more than ${MAX_NOTE_SIGNATURES}`)
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIGNATURE_LINE_PREFIX)) return fail(`line ${JSON.stringify(line.slice(0, 80))} is not a signature line ("— name base64")`)
    const rest = line.slice(SIGNATURE_LINE_PREFIX.length)
    const space = rest.indexOf(' ')
    const name = space < 0 ? rest : rest.slice(0, space)
    const raw = space < 0 ? undefined : fromBase64(rest.slice(space + 1))
    if (!isValidKeyName(name) || raw === undefined || raw.length <= KEY_ID_LENGTH_BYTES) return fail(`signature line ${JSON.stringify(line.slice(0, 80))} is malformed`)
    const keyId = new DataView(raw.buffer, raw.byteOffset, KEY_ID_LENGTH_BYTES).getUint32(0, false)
    return { name, keyId, signature: raw.slice(KEY_ID_LENGTH_BYTES), line }
  })
  return { text, signatures }
}

/** The note's signatures by the key `name`/`keyId` (the first one counts, as in Go's note.Open). */
export function signatureBy(note: ParsedNote, name: string, keyId: number): NoteSignature | undefined {
  return note.signatures.find((s) => s.name === name && s.keyId === keyId)
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0')
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Standard padded base64, decoded strictly (Buffer.from skips bad characters silently). */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!BASE64.test(s)) return undefined
  const bytes = asPlainBytes(Buffer.from(s, 'base64'))
  // Non-zero pad bits give a second spelling of the same bytes: refuse it.
  return base64(bytes) === s ? bytes : undefined
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** Hex of a public key, for messages. */
export const keyHint = (key: Uint8Array) => `${toHex(key).slice(0, 16)}…`
