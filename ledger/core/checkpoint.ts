/**
 * Signed checkpoints, witness cosignatures and proofs of misbehaviour, in the
 * transparency-log ecosystem's formats (C2SP), so tools nobody here wrote
 * (Go's sumdb/note, Sigstore's and transparency-dev's verifiers, witnesses)
 * can check them.
 *
 * A checkpoint (https://c2sp.org/tlog-checkpoint) is the body
 * `<origin>\n<size>\n<base64 root>\n`, where `root` is the RFC 6962 Merkle
 * root of the first `size` entries, signed by the coordinator's Ed25519 key
 * as a signed note (signed-note.ts) whose key name is the origin. The note's
 * text is what is stored, gossiped and served. The origin is the study's
 * `logOrigin(studyId)`.
 *
 * A witness (a site, an auditor) that checked the checkpoint against its own
 * replica adds a cosignature (https://c2sp.org/tlog-cosignature,
 * `cosignature/v1`): Ed25519 over `cosignature/v1\ntime <t>\n<body>`, as
 * one more signature line of key type 0x04, under the name `witnessKeyName(key)`.
 *
 * A coordinator that shows different logs to different participants is
 * caught with its own signatures:
 * - split view: two checkpoints of one origin and size with different roots;
 * - forked entry: two entries with the same seq, both signed by the
 *   coordinator, with different bytes (what a replica finds when a new
 *   checkpoint is not consistent with an older one it holds).
 * Both proofs are self-contained: anyone with the coordinator key checks them
 * offline, and a bogus one cannot frame an honest coordinator.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical, equalBytes, type CanonicalValue } from './canonical.ts'
import { decodeEntry, entrySigningMessage } from './entry.ts'
import { HASH_LENGTH_BYTES } from './constants.ts'
import { toHex } from './hash.ts'
import { verifySignature, type Signer } from './signature.ts'
import { CheckpointInvalidError, MisbehaviourProofInvalidError } from './checkpoint-errors.ts'
import {
  NOTE_KEY_TYPE_COSIGNATURE_V1,
  NOTE_KEY_TYPE_ED25519,
  base64,
  formatNote,
  formatSignatureLine,
  formatVerifierKey,
  fromBase64,
  isValidKeyName,
  keyIdHex,
  noteKeyId,
  parseNote,
  signatureBy,
} from './signed-note.ts'

/** What every study's log origin starts with: `logOrigin('cardio-risk')` is `fedlineage.example/study/cardio-risk`. */
export const LOG_ORIGIN_PREFIX = 'fedlineage.example/study/'
/** What every witness's key name starts with, followed by its public key in hex. */
export const WITNESS_NAME_PREFIX = 'fedlineage.example/witness/'
/** The first line of the message a cosignature/v1 signs. */
const COSIGNATURE_V1_HEADER = 'cosignature/v1'
/** Longest origin accepted: the sync protocol's bound on the names it carries. */
const MAX_ORIGIN_LENGTH = 128

/** The origin of a study's log: its checkpoints' first line, and the coordinator's key name. */
export function logOrigin(studyId: string): string {
  return LOG_ORIGIN_PREFIX + studyId
}

/** A witness's key name: derived from its key, so a cosignature needs no directory of names. */
export function witnessKeyName(witness: Uint8Array): string {
  return WITNESS_NAME_PREFIX + toHex(witness)
}

export interface Checkpoint {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
}

/** A checkpoint as a C2SP signed note: the text stored, gossiped and served. */
export interface SignedCheckpoint {
  readonly note: string
}

/** A witness's cosignature/v1 of a checkpoint. */
export interface Cosignature {
  readonly witness: Uint8Array
  /** Seconds since the Unix epoch, as the cosignature signs it. */
  readonly timestamp: number
  readonly signature: Uint8Array
  /**
   * The witness's key name, when it is not `witnessKeyName(witness)` (a C2SP
   * witness names itself). cosignature/v1 does not sign it, but a verifier
   * finds a line by name and key ID, so it is kept to write the line back.
   */
  readonly name?: string
}

export type MisbehaviourProof =
  | { readonly kind: 'split-view'; readonly a: SignedCheckpoint; readonly b: SignedCheckpoint }
  | { readonly kind: 'forked-entry'; readonly a: Uint8Array; readonly b: Uint8Array }

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes')
const ProofSchema = z.union([z.strictObject({ kind: z.literal('split-view'), a: bytes, b: bytes }), z.strictObject({ kind: z.literal('forked-entry'), a: bytes, b: bytes })])

/** The checkpoint body, `<origin>\n<size>\n<base64 root>\n`. Requires a valid origin, safe size and 32-byte root. */
export function formatCheckpointBody(cp: Checkpoint): string {
  if (!isValidKeyName(cp.origin) || cp.origin.length > MAX_ORIGIN_LENGTH)
    throw new CheckpointInvalidError(`checkpoint origin ${JSON.stringify(cp.origin)}: want 1 to ${MAX_ORIGIN_LENGTH} characters, no space or "+"`)
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new CheckpointInvalidError(`checkpoint size ${cp.size}: want a non-negative integer`)
  if (cp.root.length !== HASH_LENGTH_BYTES) throw new CheckpointInvalidError(`checkpoint root of ${cp.root.length} bytes, want ${HASH_LENGTH_BYTES}`)
  return `${cp.origin}\n${cp.size}\n${base64(cp.root)}\n`
}

/**
 * Parses a checkpoint body. Extension lines after the root are allowed by
 * tlog-checkpoint and ignored (this log writes none). Throws `CheckpointInvalidError`.
 */
export function parseCheckpointBody(text: string): Checkpoint {
  const lines = text.split('\n')
  if (lines.length < 4 || lines.at(-1) !== '') throw new CheckpointInvalidError('checkpoint body: want origin, size and root lines, each ending in a newline')
  const [origin, sizeText, rootText] = lines as [string, string, string]
  if (!isValidKeyName(origin) || origin.length > MAX_ORIGIN_LENGTH)
    throw new CheckpointInvalidError(`checkpoint body: origin ${JSON.stringify(origin.slice(0, 80))} is not a key name of up to ${MAX_ORIGIN_LENGTH} characters`)
  const size = Number(sizeText)
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(size))
    throw new CheckpointInvalidError(`checkpoint body: size ${JSON.stringify(sizeText.slice(0, 40))} is not a decimal integer without leading zeros`)
  const root = fromBase64(rootText)
  if (root === undefined || root.length !== HASH_LENGTH_BYTES)
    throw new CheckpointInvalidError(`checkpoint body: root ${JSON.stringify(rootText.slice(0, 60))} is not base64 of ${HASH_LENGTH_BYTES} bytes`)
  return { origin, size, root }
}

/** The verifier key string of the coordinator's key for the log `origin`: `origin+keyid+base64(0x01 ‖ key)`. */
export function checkpointVerifierKey(origin: string, coordinatorKey: Uint8Array): string {
  return formatVerifierKey(origin, NOTE_KEY_TYPE_ED25519, coordinatorKey)
}

/** The verifier key string of a witness's cosignature/v1 key. */
export function cosignatureVerifierKey(witness: Uint8Array): string {
  return formatVerifierKey(witnessKeyName(witness), NOTE_KEY_TYPE_COSIGNATURE_V1, witness)
}

/** Signs a checkpoint as a signed note, with the key name the origin. */
export function signCheckpoint(signer: Signer, cp: Checkpoint): SignedCheckpoint {
  const body = formatCheckpointBody(cp)
  const keyId = noteKeyId(cp.origin, NOTE_KEY_TYPE_ED25519, signer.publicKey)
  const signature = signer.sign(new TextEncoder().encode(body))
  return { note: formatNote(body, [formatSignatureLine(cp.origin, keyId, signature)]) }
}

/** Decodes a checkpoint without checking any signature (see `openCheckpoint`). Throws `CheckpointInvalidError`. */
export function readCheckpoint(signed: SignedCheckpoint): Checkpoint {
  return parseCheckpointBody(parseNote(signed.note).text)
}

/**
 * Decodes a checkpoint and verifies the coordinator's signature line (key
 * name = origin, key ID of `coordinatorKey`; strict RFC 8032), and, when
 * given, that it is of `origin`. Other signature lines (cosignatures, keys
 * we do not know) are ignored, as the spec says.
 */
export function openCheckpoint(signed: SignedCheckpoint, coordinatorKey: Uint8Array, origin?: string): Checkpoint {
  const note = parseNote(signed.note)
  const cp = parseCheckpointBody(note.text)
  if (origin !== undefined && cp.origin !== origin) throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: origin "${cp.origin}", want "${origin}"`)
  const keyId = noteKeyId(cp.origin, NOTE_KEY_TYPE_ED25519, coordinatorKey)
  const line = signatureBy(note, cp.origin, keyId)
  if (line === undefined)
    throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: no signature by the coordinator's key ${keyIdHex(keyId)} (${checkpointVerifierKey(cp.origin, coordinatorKey)})`)
  if (!verifySignature(coordinatorKey, new TextEncoder().encode(note.text), line.signature)) throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: signature does not verify`)
  return cp
}

/** The note's bytes, as stored and sent: UTF-8 of its text. */
export function encodeSignedCheckpoint(s: SignedCheckpoint): Uint8Array {
  return new TextEncoder().encode(s.note)
}

/** A signed checkpoint from its bytes, its syntax and body checked (not its signatures). Throws `CheckpointInvalidError`. */
export function decodeSignedCheckpoint(wire: Uint8Array): SignedCheckpoint {
  let note: string
  try {
    note = new TextDecoder('utf-8', { fatal: true }).decode(wire)
  } catch (err) {
    throw new CheckpointInvalidError('signed checkpoint: not UTF-8 text', { cause: err })
  }
  readCheckpoint({ note })
  return { note }
}

function cosignedMessage(body: string, timestamp: number): Uint8Array {
  return new TextEncoder().encode(`${COSIGNATURE_V1_HEADER}\ntime ${timestamp}\n${body}`)
}

/** A witness's cosignature/v1 of a checkpoint it checked against its own replica, at `timestamp` (seconds). */
export function cosignCheckpoint(witness: Signer, signed: SignedCheckpoint, timestamp: number): Cosignature {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CheckpointInvalidError(`cosignature timestamp ${timestamp}: want whole seconds since the epoch`)
  const body = parseNote(signed.note).text
  return { witness: witness.publicKey, timestamp, signature: witness.sign(cosignedMessage(body, timestamp)) }
}

export function verifyCosignature(signed: SignedCheckpoint, cosig: Cosignature): boolean {
  if (!Number.isSafeInteger(cosig.timestamp) || cosig.timestamp < 0) return false
  return verifySignature(cosig.witness, cosignedMessage(parseNote(signed.note).text, cosig.timestamp), cosig.signature)
}

/**
 * The cosignature as a signature line: `— <witness name> base64(keyId ‖ uint64 BE timestamp ‖ signature)`.
 * `name` is the witness's key name (default `witnessKeyName(key)`); cosignature/v1 does not sign it.
 */
export function cosignatureLine(cosig: Cosignature, name: string = witnessKeyName(cosig.witness)): string {
  const payload = new Uint8Array(8 + cosig.signature.length)
  new DataView(payload.buffer).setBigUint64(0, BigInt(cosig.timestamp), false)
  payload.set(cosig.signature, 8)
  return formatSignatureLine(name, noteKeyId(name, NOTE_KEY_TYPE_COSIGNATURE_V1, cosig.witness), payload)
}

/** The checkpoint note with the cosignatures' lines after its own (those already there are not repeated). */
export function withCosignatures(signed: SignedCheckpoint, cosigs: readonly Cosignature[]): SignedCheckpoint {
  const note = parseNote(signed.note)
  const have = new Set(note.signatures.map((s) => s.line))
  const lines = [...note.signatures.map((s) => s.line), ...cosigs.map((c) => cosignatureLine(c, c.name)).filter((l) => !have.has(l))]
  return { note: formatNote(note.text, lines) }
}

/**
 * The cosignatures in a note by `witnesses` that verify (a witness's line
 * that does not verify is an error, as for any known key); other lines are ignored.
 */
export function openCosignatures(signed: SignedCheckpoint, witnesses: readonly Uint8Array[]): Cosignature[] {
  const note = parseNote(signed.note)
  const out: Cosignature[] = []
  for (const witness of witnesses) {
    const name = witnessKeyName(witness)
    const line = signatureBy(note, name, noteKeyId(name, NOTE_KEY_TYPE_COSIGNATURE_V1, witness))
    if (line === undefined) continue
    if (line.signature.length !== 72) throw new CheckpointInvalidError(`cosignature by ${name}: ${line.signature.length} bytes after the key ID, want 8 + 64`)
    const view = new DataView(line.signature.buffer, line.signature.byteOffset, 8)
    const cosig = { witness, timestamp: Number(view.getBigUint64(0, false)), signature: line.signature.slice(8) }
    if (!verifyCosignature(signed, cosig)) throw new CheckpointInvalidError(`cosignature by ${name}: signature does not verify`)
    out.push(cosig)
  }
  return out
}

/** A split-view proof when two checkpoints of one origin and size disagree on the root; else undefined. Does not check signatures. */
export function splitViewProof(a: SignedCheckpoint, b: SignedCheckpoint): MisbehaviourProof | undefined {
  const ca = readCheckpoint(a)
  const cb = readCheckpoint(b)
  if (ca.origin !== cb.origin || ca.size !== cb.size || equalBytes(ca.root, cb.root)) return undefined
  return { kind: 'split-view', a, b }
}

/**
 * Throws `MisbehaviourProofInvalidError` unless the proof shows the
 * coordinator (`coordinatorKey`) signed two conflicting statements.
 */
export function verifyMisbehaviourProof(proof: MisbehaviourProof, coordinatorKey: Uint8Array): void {
  const fail: (why: string) => never = (why) => {
    throw new MisbehaviourProofInvalidError(`${proof.kind} proof: ${why}`)
  }
  if (proof.kind === 'split-view') {
    let a: Checkpoint, b: Checkpoint
    try {
      a = openCheckpoint(proof.a, coordinatorKey)
      b = openCheckpoint(proof.b, coordinatorKey)
    } catch (err) {
      fail((err as Error).message)
    }
    if (a.origin !== b.origin) fail('checkpoints of different origins')
    if (a.size !== b.size) fail(`sizes ${a.size} and ${b.size} differ`)
    if (equalBytes(a.root, b.root)) fail('the roots are equal')
    return
  }
  let a, b
  try {
    a = decodeEntry(proof.a)
    b = decodeEntry(proof.b)
  } catch (err) {
    fail((err as Error).message)
  }
  if (a.seq !== b.seq) fail(`seqs ${a.seq} and ${b.seq} differ`)
  if (equalBytes(proof.a, proof.b)) fail('the entries are identical')
  for (const e of [a, b]) {
    if (!equalBytes(e.author, coordinatorKey)) fail(`entry ${e.seq} is not authored by the coordinator`)
    if (!verifySignature(e.author, entrySigningMessage(e), e.signature)) fail(`entry ${e.seq}: signature does not verify`)
  }
}

export function encodeMisbehaviourProof(p: MisbehaviourProof): Uint8Array {
  if (p.kind === 'forked-entry') return encodeCanonical({ kind: p.kind, a: p.a, b: p.b })
  return encodeCanonical({ kind: p.kind, a: encodeSignedCheckpoint(p.a), b: encodeSignedCheckpoint(p.b) })
}

export function decodeMisbehaviourProof(wire: Uint8Array): MisbehaviourProof {
  let value: CanonicalValue
  try {
    value = decodeCanonical(wire)
  } catch (err) {
    throw new MisbehaviourProofInvalidError(`misbehaviour proof: ${(err as Error).message}`, { cause: err })
  }
  const r = ProofSchema.safeParse(value)
  if (!r.success) throw new MisbehaviourProofInvalidError(`misbehaviour proof: ${r.error.issues[0]?.message ?? 'invalid'}`)
  const p = r.data
  if (p.kind === 'forked-entry') return p
  try {
    return { kind: 'split-view', a: decodeSignedCheckpoint(p.a), b: decodeSignedCheckpoint(p.b) }
  } catch (err) {
    throw new MisbehaviourProofInvalidError(`misbehaviour proof: ${(err as Error).message}`, { cause: err })
  }
}
