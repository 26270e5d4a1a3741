/**
 * A self-contained inclusion proof that a third party checks with no access
 * to the log: the entry's bytes, the audit path, and the coordinator's signed
 * checkpoint whose root the path leads to. Tree size and root come from the
 * same signed checkpoint, because an RFC 6962 path alone does not bind the
 * size. JSON with hex fields, so it can be mailed, printed or archived.
 */
import { z } from 'zod'
import { decodeEntry, type Entry } from './entry.ts'
import { fromHex, toHex } from './hash.ts'
import { RFC6962_SHA256, hashLeaf, verifyInclusion } from './merkle.ts'
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.ts'
import { CheckpointInvalidError } from './checkpoint-errors.ts'

export const INCLUSION_BUNDLE_FORMAT = 'fedlineage/inclusion-proof/v1'

export interface InclusionBundle {
  readonly format: typeof INCLUSION_BUNDLE_FORMAT
  readonly seq: number
  readonly entry: string
  readonly proof: readonly string[]
  readonly checkpoint: { readonly body: string; readonly signer: string; readonly signature: string }
}

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'must be lowercase hex')
const BundleSchema = z.strictObject({
  format: z.literal(INCLUSION_BUNDLE_FORMAT),
  seq: z.number().int().nonnegative(),
  entry: hex,
  proof: z.array(hex),
  checkpoint: z.strictObject({ body: hex, signer: hex, signature: hex }),
})

export function makeInclusionBundle(seq: number, entryBytes: Uint8Array, proof: readonly Uint8Array[], checkpoint: SignedCheckpoint): InclusionBundle {
  return {
    format: INCLUSION_BUNDLE_FORMAT,
    seq,
    entry: toHex(entryBytes),
    proof: proof.map(toHex),
    checkpoint: { body: toHex(checkpoint.body), signer: toHex(checkpoint.signer), signature: toHex(checkpoint.signature) },
  }
}

export interface CheckedInclusion {
  readonly checkpoint: Checkpoint
  readonly signer: Uint8Array
  readonly entry: Entry
}

/**
 * Checks a bundle: the checkpoint's signature (by `trustedKey` when given),
 * then the entry's inclusion at `seq` in the tree of the checkpoint's size
 * and root. Throws a typed error (LEDGER_CHECKPOINT_INVALID, LEDGER_ROOT_MISMATCH, …).
 */
export function checkInclusionBundle(value: unknown, trustedKey?: Uint8Array): CheckedInclusion {
  const parsed = BundleSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new CheckpointInvalidError(`inclusion proof: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`)
  }
  const b = parsed.data
  const signed: SignedCheckpoint = { body: fromHex(b.checkpoint.body), signer: fromHex(b.checkpoint.signer), signature: fromHex(b.checkpoint.signature) }
  const checkpoint = openCheckpoint(signed, trustedKey)
  const entryBytes = fromHex(b.entry)
  verifyInclusion(
    RFC6962_SHA256,
    b.seq,
    checkpoint.size,
    hashLeaf(entryBytes),
    b.proof.map((p) => fromHex(p)),
    checkpoint.root,
  )
  return { checkpoint, signer: signed.signer, entry: decodeEntry(entryBytes, b.seq) }
}
