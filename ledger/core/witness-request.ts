/**
 * The wire text of the C2SP witness protocol (https://c2sp.org/tlog-witness).
 *
 * `POST <prefix>/add-checkpoint` carries
 *
 *     old <size>\n
 *     <base64 consistency proof hash>\n   (0 to 63 lines)
 *     \n
 *     <signed checkpoint note>
 *
 * and a witness answers 200 with one or more cosignature lines
 * (`— <name> base64(key ID ‖ timestamp ‖ signature)\n`), or with the status
 * that names its refusal (see witness-decision.ts).
 *
 * Pure: text in, values out.
 */
import { HASH_LENGTH_BYTES } from './constants.ts'
import { type Cosignature, type SignedCheckpoint, verifyCosignature, witnessKeyName } from './checkpoint.ts'
import { NOTE_KEY_TYPE_COSIGNATURE_V1, base64, fromBase64, parseNote, signatureBy, type NoteVerifierKey } from './signed-note.ts'
import { WitnessRequestMalformedError, WitnessResponseInvalidError } from './witness-errors.ts'

/** Most consistency proof lines a client may send (tlog-witness). */
export const MAX_WITNESS_PROOF_LINES = 63
/** The Content-Type of a 409 body: the witness's size in decimal and a newline. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size'
/** The path of the submission call, under the witness's submission prefix. */
export const ADD_CHECKPOINT_PATH = '/add-checkpoint'
/** Bytes of a cosignature/v1 signature after its key ID: a big-endian u64 timestamp and an Ed25519 signature. */
const TIMESTAMPED_SIGNATURE_BYTES = 8 + 64

/** What an `add-checkpoint` request says. */
export interface AddCheckpointRequest {
  /** The size of the checkpoint the client believes the witness holds (0 for none). */
  readonly oldSize: number
  /** A consistency proof from `oldSize` to the checkpoint's size (empty when `oldSize` is 0). */
  readonly proof: readonly Uint8Array[]
  readonly checkpoint: SignedCheckpoint
}

/** The request body. Requires a safe `oldSize`, hashes of 32 bytes and at most 63 of them. */
export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0) throw new WitnessRequestMalformedError(`old size ${req.oldSize}: want a non-negative integer`)
  if (req.proof.length > MAX_WITNESS_PROOF_LINES) throw new WitnessRequestMalformedError(`${req.proof.length} proof hashes, at most ${MAX_WITNESS_PROOF_LINES}`)
  return `old ${req.oldSize}\n${req.proof.map((h) => `${base64(h)}\n`).join('')}\n${req.checkpoint.note}`
}

/**
 * Parses a request body, checking only its syntax (the note's too); the
 * witness decides the rest. Throws `WitnessRequestMalformedError` (a 400).
 */
export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  const blank = body.indexOf('\n\n')
  if (blank < 0) throw new WitnessRequestMalformedError('no blank line between the proof and the checkpoint')
  const head = body.slice(0, blank).split('\n')
  const note = body.slice(blank + 2)
  const oldLine = head[0] ?? ''
  const m = /^old (0|[1-9][0-9]*)$/.exec(oldLine)
  const oldSize = m ? Number(m[1]) : Number.NaN
  if (!m || !Number.isSafeInteger(oldSize)) throw new WitnessRequestMalformedError(`first line ${JSON.stringify(oldLine.slice(0, 40))}: want "old <size>" in decimal without leading zeros`)
  const proofLines = head.slice(1)
  if (proofLines.length > MAX_WITNESS_PROOF_LINES) throw new WitnessRequestMalformedError(`${proofLines.length} proof lines, at most ${MAX_WITNESS_PROOF_LINES}`)
  const proof = proofLines.map((line, i) => {
    const hash = fromBase64(line)
    if (hash === undefined || hash.length !== HASH_LENGTH_BYTES)
      throw new WitnessRequestMalformedError(`proof line ${i + 1}: ${JSON.stringify(line.slice(0, 60))} is not base64 of ${HASH_LENGTH_BYTES} bytes`)
    return hash
  })
  try {
    parseNote(note)
  } catch (err) {
    throw new WitnessRequestMalformedError(`the checkpoint: ${(err as Error).message}`, { cause: err })
  }
  return { oldSize, proof, checkpoint: { note } }
}

/** A cosignature/v1 signature (what follows the key ID) split into its timestamp (seconds) and Ed25519 signature. */
export function decodeTimestampedSignature(bytes: Uint8Array): { readonly timestamp: number; readonly signature: Uint8Array } {
  if (bytes.length !== TIMESTAMPED_SIGNATURE_BYTES)
    throw new WitnessResponseInvalidError(`cosignature of ${bytes.length} bytes after the key ID, want ${TIMESTAMPED_SIGNATURE_BYTES} (8-byte timestamp, 64-byte signature)`)
  const t = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false)
  // The spec caps it at 2^63 - 1; we also need it to be a safe JS number (year 285 million).
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw new WitnessResponseInvalidError(`cosignature timestamp ${t} is beyond ${Number.MAX_SAFE_INTEGER}`)
  return { timestamp: Number(t), signature: bytes.slice(8) }
}

/**
 * The cosignatures in a note (or in a witness's response appended to the
 * checkpoint) by the cosignature/v1 keys `witnesses` (any key name), each
 * verified. Lines of other keys are ignored, as the spec says; a line of a
 * known key that does not verify throws `WitnessResponseInvalidError`.
 */
export function openWitnessCosignatures(signed: SignedCheckpoint, witnesses: readonly NoteVerifierKey[]): Cosignature[] {
  const note = parseNote(signed.note)
  const out: Cosignature[] = []
  for (const w of witnesses) {
    if (w.type !== NOTE_KEY_TYPE_COSIGNATURE_V1) continue
    const line = signatureBy(note, w.name, w.keyId)
    if (line === undefined) continue
    const { timestamp, signature } = decodeTimestampedSignature(line.signature)
    const cosig: Cosignature = { witness: w.publicKey, timestamp, signature, ...(w.name === witnessKeyName(w.publicKey) ? {} : { name: w.name }) }
    if (!verifyCosignature(signed, cosig)) throw new WitnessResponseInvalidError(`cosignature by ${w.name}: signature does not verify`)
    out.push(cosig)
  }
  return out
}

/**
 * The cosignatures a witness returned for `checkpoint`: its response body
 * (signature lines) read as if appended to the checkpoint's text, as the
 * spec suggests. Throws `WitnessResponseInvalidError` when the body is not
 * signature lines or holds none by `witness`.
 */
export function parseWitnessResponse(checkpoint: SignedCheckpoint, body: string, witness: NoteVerifierKey): Cosignature[] {
  const text = parseNote(checkpoint.note).text
  let cosigs: Cosignature[]
  try {
    cosigs = openWitnessCosignatures({ note: `${text}\n${body}` }, [witness])
  } catch (err) {
    if (err instanceof WitnessResponseInvalidError) throw err
    throw new WitnessResponseInvalidError(`witness ${witness.name}: response is not signature lines: ${(err as Error).message}`, { cause: err })
  }
  if (cosigs.length === 0) throw new WitnessResponseInvalidError(`witness ${witness.name}: the response holds no cosignature by its key`)
  return cosigs
}
