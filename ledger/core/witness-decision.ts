/**
 * What a witness answers to `add-checkpoint` (https://c2sp.org/tlog-witness),
 * decided without I/O: the shell (ledger/witness/) parses the request,
 * calls `decideAddCheckpoint` with the state it holds for the log, persists
 * `next` durably when told to cosign, and only then signs and replies.
 *
 * The checks run in the spec's order:
 * 1. the origin is one the witness follows, else 404;
 * 2. some signature verifies under a trusted key for that origin, else 403
 *    (signatures by other keys are ignored);
 * 3. the old size is at most the checkpoint's size, else 400;
 * 4. the old size is the size the witness last cosigned (0 when none), else
 *    409 with that size;
 * 5. at equal sizes the roots are equal, else 409;
 * 6. the consistency proof leads from the witness's root to the
 *    checkpoint's, else 422.
 * So a witness never cosigns a tree smaller than, or inconsistent with, one
 * it cosigned before.
 */
import { RFC6962_SHA256, verifyConsistency } from './merkle.ts'
import { LedgerError } from '../errors.ts'
import { equalBytes } from './canonical.ts'
import { type Checkpoint, parseCheckpointBody } from './checkpoint.ts'
import { NOTE_KEY_TYPE_ED25519, parseNote, signatureBy, type NoteVerifierKey } from './signed-note.ts'
import { verifySignature } from './signature.ts'
import type { AddCheckpointRequest } from './witness-request.ts'

/** What a witness keeps per log: the checkpoint it last cosigned. */
export interface WitnessLogState {
  readonly size: number
  readonly root: Uint8Array
}

/** HTTP statuses of a refusal, as tlog-witness assigns them. */
export const WITNESS_STATUS = { badRequest: 400, forbidden: 403, notFound: 404, conflict: 409, unprocessable: 422 } as const
export type WitnessRefusalStatus = (typeof WITNESS_STATUS)[keyof typeof WITNESS_STATUS]

export type AddCheckpointDecision =
  /** Persist `next`, then cosign the checkpoint's text. `unchanged` when it is the tree already held (nothing to write). */
  | { readonly kind: 'cosign'; readonly checkpoint: Checkpoint; readonly next: WitnessLogState; readonly unchanged: boolean }
  /** Refuse with `status`; for a 409, `size` is the witness's size for the log (the body the spec asks for). */
  | { readonly kind: 'refuse'; readonly status: WitnessRefusalStatus; readonly reason: string; readonly size?: number }

/**
 * Decides a parsed request. `logKeys(origin)` gives the Ed25519 verifier
 * keys trusted for an origin (undefined: an origin the witness does not
 * follow); `state` is what the witness holds for the request's origin.
 */
export function decideAddCheckpoint(
  req: AddCheckpointRequest,
  logKeys: (origin: string) => readonly NoteVerifierKey[] | undefined,
  state: (origin: string) => WitnessLogState | undefined,
): AddCheckpointDecision {
  const refuse = (status: WitnessRefusalStatus, reason: string, size?: number): AddCheckpointDecision => ({ kind: 'refuse', status, reason, ...(size === undefined ? {} : { size }) })
  let cp: Checkpoint
  let note
  try {
    note = parseNote(req.checkpoint.note)
    cp = parseCheckpointBody(note.text)
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err
    return refuse(WITNESS_STATUS.badRequest, err.message)
  }
  const keys = logKeys(cp.origin)
  if (keys === undefined) return refuse(WITNESS_STATUS.notFound, `unknown log origin "${cp.origin}"`)
  const text = new TextEncoder().encode(note.text)
  const signed = keys.some((k) => {
    if (k.type !== NOTE_KEY_TYPE_ED25519 || k.name !== cp.origin) return false
    const line = signatureBy(note, k.name, k.keyId)
    return line !== undefined && verifySignature(k.publicKey, text, line.signature)
  })
  if (!signed) return refuse(WITNESS_STATUS.forbidden, `checkpoint of "${cp.origin}" size ${cp.size}: no signature verifies under a key this witness trusts for it`)
  if (req.oldSize > cp.size) return refuse(WITNESS_STATUS.badRequest, `old size ${req.oldSize} is above the checkpoint's size ${cp.size}`)
  const held = state(cp.origin)
  const heldSize = held?.size ?? 0
  if (req.oldSize !== heldSize) return refuse(WITNESS_STATUS.conflict, `old size ${req.oldSize}, but this witness last cosigned size ${heldSize}: resend from it`, heldSize)
  if (held !== undefined && cp.size === held.size) {
    if (!equalBytes(cp.root, held.root)) return refuse(WITNESS_STATUS.conflict, `checkpoint of size ${cp.size} has a root other than the one this witness cosigned at that size`, heldSize)
    if (req.proof.length !== 0) return refuse(WITNESS_STATUS.unprocessable, `a proof of ${req.proof.length} hashes between equal sizes ${cp.size}; want none`)
    return { kind: 'cosign', checkpoint: cp, next: held, unchanged: true }
  }
  try {
    verifyConsistency(RFC6962_SHA256, heldSize, cp.size, req.proof, held?.root ?? RFC6962_SHA256.emptyRoot(), cp.root)
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err
    return refuse(WITNESS_STATUS.unprocessable, `consistency proof from size ${heldSize} to ${cp.size}: ${err.message}`)
  }
  return { kind: 'cosign', checkpoint: cp, next: { size: cp.size, root: cp.root }, unchanged: false }
}
