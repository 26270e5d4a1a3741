/**
 * Signed checkpoints, witness cosignatures and proofs of misbehaviour.
 *
 * A checkpoint is the log's commitment: `{origin, size, root, time}` signed by
 * the coordinator, where `root` is the RFC 6962 Merkle root of the first
 * `size` entries. Replicas store every checkpoint they verify, and witnesses
 * (sites, auditors) may cosign one they checked, so a coordinator that shows
 * different logs to different participants is caught with its own
 * signatures:
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
import { verifySignature, type Signer } from './signature.ts'
import { CheckpointInvalidError, MisbehaviourProofInvalidError } from './checkpoint-errors.ts'

export const CHECKPOINT_SIGNING_CONTEXT = 'fedlineage/checkpoint/v1'
export const COSIGNATURE_SIGNING_CONTEXT = 'fedlineage/cosignature/v1'

export interface Checkpoint {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
  readonly timeMs: number
}

export interface SignedCheckpoint {
  /** Canonical CBOR of `{t: 'checkpoint', origin, size, root, time}`. */
  readonly body: Uint8Array
  readonly signer: Uint8Array
  readonly signature: Uint8Array
}

export interface Cosignature {
  readonly witness: Uint8Array
  readonly signature: Uint8Array
  readonly timeMs: number
}

export type MisbehaviourProof =
  | { readonly kind: 'split-view'; readonly a: SignedCheckpoint; readonly b: SignedCheckpoint }
  | { readonly kind: 'forked-entry'; readonly a: Uint8Array; readonly b: Uint8Array }

const bytes = (n?: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && (n === undefined || v.length === n), n ? `must be ${n} bytes` : 'must be bytes')
const CheckpointBodySchema = z.strictObject({
  t: z.literal('checkpoint'),
  origin: z.string().min(1).max(128),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  root: bytes(32),
  time: z.number().int().nonnegative(),
})
const SignedCheckpointSchema = z.strictObject({ body: bytes(), signer: bytes(32), sig: bytes(64) })
const ProofSchema = z.union([
  z.strictObject({ kind: z.literal('split-view'), a: SignedCheckpointSchema, b: SignedCheckpointSchema }),
  z.strictObject({ kind: z.literal('forked-entry'), a: bytes(), b: bytes() }),
])

function contextMessage(context: string, body: Uint8Array): Uint8Array {
  const c = new TextEncoder().encode(context)
  const out = new Uint8Array(c.length + 1 + body.length)
  out.set(c, 0)
  out.set(body, c.length + 1)
  return out
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new CheckpointInvalidError(`${what}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`)
  }
  return r.data
}

/** Signs a checkpoint. Requires `0 <= size` and a 32-byte root. */
export function signCheckpoint(signer: Signer, cp: Checkpoint): SignedCheckpoint {
  const body = encodeCanonical(parse(CheckpointBodySchema, { t: 'checkpoint', origin: cp.origin, size: cp.size, root: cp.root, time: cp.timeMs }, 'checkpoint') as CanonicalValue)
  return { body, signer: signer.publicKey, signature: signer.sign(contextMessage(CHECKPOINT_SIGNING_CONTEXT, body)) }
}

/** Decodes a checkpoint without checking its signature (see `openCheckpoint`). */
export function readCheckpoint(signed: SignedCheckpoint): Checkpoint {
  let value: CanonicalValue
  try {
    value = decodeCanonical(signed.body)
  } catch (err) {
    throw new CheckpointInvalidError(`checkpoint: ${(err as Error).message}`, { cause: err })
  }
  const b = parse(CheckpointBodySchema, value, 'checkpoint')
  return { origin: b.origin, size: b.size, root: b.root, timeMs: b.time }
}

/**
 * Decodes a checkpoint and verifies its signature (strict RFC 8032), and,
 * when given, that it is signed by `trustedKey` and of `origin`.
 */
export function openCheckpoint(signed: SignedCheckpoint, trustedKey?: Uint8Array, origin?: string): Checkpoint {
  const cp = readCheckpoint(signed)
  if (trustedKey && !equalBytes(trustedKey, signed.signer)) throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: signed by another key than the coordinator's`)
  if (!verifySignature(signed.signer, contextMessage(CHECKPOINT_SIGNING_CONTEXT, signed.body), signed.signature))
    throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: signature does not verify`)
  if (origin !== undefined && cp.origin !== origin) throw new CheckpointInvalidError(`checkpoint of size ${cp.size}: origin "${cp.origin}", want "${origin}"`)
  return cp
}

export function encodeSignedCheckpoint(s: SignedCheckpoint): Uint8Array {
  return encodeCanonical({ body: s.body, signer: s.signer, sig: s.signature })
}

export function decodeSignedCheckpoint(wire: Uint8Array): SignedCheckpoint {
  let value: CanonicalValue
  try {
    value = decodeCanonical(wire)
  } catch (err) {
    throw new CheckpointInvalidError(`signed checkpoint: ${(err as Error).message}`, { cause: err })
  }
  const s = parse(SignedCheckpointSchema, value, 'signed checkpoint')
  return { body: s.body, signer: s.signer, signature: s.sig }
}

/** A witness's cosignature: it checked the checkpoint against its own replica. */
export function cosignCheckpoint(witness: Signer, signed: SignedCheckpoint, timeMs: number): Cosignature {
  const message = encodeCanonical({ body: signed.body, time: timeMs })
  return { witness: witness.publicKey, signature: witness.sign(contextMessage(COSIGNATURE_SIGNING_CONTEXT, message)), timeMs }
}

export function verifyCosignature(signed: SignedCheckpoint, cosig: Cosignature): boolean {
  const message = encodeCanonical({ body: signed.body, time: cosig.timeMs })
  return verifySignature(cosig.witness, contextMessage(COSIGNATURE_SIGNING_CONTEXT, message), cosig.signature)
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
  const wire = (s: SignedCheckpoint) => ({ body: s.body, signer: s.signer, sig: s.signature })
  return encodeCanonical({ kind: p.kind, a: wire(p.a), b: wire(p.b) })
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
  const un = (s: { body: Uint8Array; signer: Uint8Array; sig: Uint8Array }): SignedCheckpoint => ({ body: s.body, signer: s.signer, signature: s.sig })
  return { kind: 'split-view', a: un(p.a), b: un(p.b) }
}
