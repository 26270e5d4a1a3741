/**
 * A self-contained inclusion proof that a third party checks with no access
 * to the log: the entry's bytes, the audit path, and the coordinator's signed
 * checkpoint whose root the path leads to. Tree size and root come from the
 * same signed checkpoint, because an RFC 6962 path alone does not bind the
 * size. JSON with hex fields, so it can be mailed, printed or archived.
 */
import { z } from 'zod'
import { equalBytes } from './canonical.ts'
import { decodeEntry, type Entry } from './entry.ts'
import { fromHex, toHex } from './hash.ts'
import { RFC6962_SHA256, hashLeaf, verifyInclusion } from './merkle.ts'
import { checkpointVerifierKey, openCheckpoint, readCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.ts'
import { CheckpointInvalidError } from './checkpoint-errors.ts'
import { NOTE_KEY_TYPE_ED25519, parseVerifierKey } from './signed-note.ts'

/** v2: the checkpoint is a C2SP signed note and its key a verifier key string (v1 held CBOR checkpoints). */
export const INCLUSION_BUNDLE_FORMAT = 'fedlineage/inclusion-proof/v2'
const OLDER_FORMATS = new Set(['fedlineage/inclusion-proof/v1'])

export interface InclusionBundle {
  readonly format: typeof INCLUSION_BUNDLE_FORMAT
  readonly seq: number
  readonly entry: string
  readonly proof: readonly string[]
  /** The signed checkpoint note, as the log serves it. */
  readonly checkpoint: string
  /** The verifier key string of the key that signed it: `origin+keyid+base64(0x01 ‖ key)`. */
  readonly verifierKey: string
}

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'must be lowercase hex')
const BundleSchema = z.strictObject({
  format: z.literal(INCLUSION_BUNDLE_FORMAT),
  seq: z.number().int().nonnegative(),
  entry: hex,
  proof: z.array(hex),
  checkpoint: z.string(),
  verifierKey: z.string(),
})

export function makeInclusionBundle(seq: number, entryBytes: Uint8Array, proof: readonly Uint8Array[], checkpoint: SignedCheckpoint, coordinatorKey: Uint8Array): InclusionBundle {
  return {
    format: INCLUSION_BUNDLE_FORMAT,
    seq,
    entry: toHex(entryBytes),
    proof: proof.map(toHex),
    checkpoint: checkpoint.note,
    verifierKey: checkpointVerifierKey(readCheckpoint(checkpoint).origin, coordinatorKey),
  }
}

export interface CheckedInclusion {
  readonly checkpoint: Checkpoint
  readonly signer: Uint8Array
  readonly entry: Entry
}

/**
 * Checks a bundle: the checkpoint's signature (by `trustedKey` when given,
 * else by the bundle's own verifier key), then the entry's inclusion at
 * `seq` in the tree of the checkpoint's size and root. Throws a typed error
 * (LEDGER_CHECKPOINT_INVALID, LEDGER_ROOT_MISMATCH, …).
 */
export function checkInclusionBundle(value: unknown, trustedKey?: Uint8Array): CheckedInclusion {
  const format = (value as { format?: unknown } | null)?.format
  if (typeof format === 'string' && OLDER_FORMATS.has(format))
    throw new CheckpointInvalidError(`inclusion proof: format ${format} is older than ${INCLUSION_BUNDLE_FORMAT} (checkpoints as C2SP signed notes); ask for a new one with \`fedlineage log prove\``)
  const parsed = BundleSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new CheckpointInvalidError(`inclusion proof: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`)
  }
  const b = parsed.data
  const vkey = parseVerifierKey(b.verifierKey)
  if (vkey.type !== NOTE_KEY_TYPE_ED25519) throw new CheckpointInvalidError(`inclusion proof: verifier key of type ${vkey.type}, want Ed25519 (${NOTE_KEY_TYPE_ED25519})`)
  if (trustedKey && !equalBytes(trustedKey, vkey.publicKey)) throw new CheckpointInvalidError("inclusion proof: the checkpoint is signed by another key than the coordinator's")
  const checkpoint = openCheckpoint({ note: b.checkpoint }, vkey.publicKey)
  if (checkpoint.origin !== vkey.name) throw new CheckpointInvalidError(`inclusion proof: verifier key of "${vkey.name}", but the checkpoint is of "${checkpoint.origin}"`)
  const entryBytes = fromHex(b.entry)
  verifyInclusion(
    RFC6962_SHA256,
    b.seq,
    checkpoint.size,
    hashLeaf(entryBytes),
    b.proof.map((p) => fromHex(p)),
    checkpoint.root,
  )
  return { checkpoint, signer: vkey.publicKey, entry: decodeEntry(entryBytes, b.seq) }
}
