/**
 * Gossip topics, and the checks a gossip message passes before it is
 * delivered or forwarded. The checks are synchronous and total: each returns
 * the decoded value or throws the ledger's own error, which the service turns
 * into a rejection.
 */
import { decodeMisbehaviourProof, decodeSignedCheckpoint, encodeMisbehaviourProof, encodeSignedCheckpoint, openCheckpoint, readCheckpoint, verifyMisbehaviourProof } from '../core/checkpoint.ts'
import type { Checkpoint, MisbehaviourProof, SignedCheckpoint } from '../core/checkpoint.ts'
import { MisbehaviourProofInvalidError } from '../core/checkpoint-errors.ts'
import { sha256, toHex } from '../core/hash.ts'
import { CHECKPOINT_TOPIC_PREFIX, MISBEHAVIOUR_TOPIC_PREFIX } from './constants.ts'

/** The gossip topic of `origin`'s signed checkpoints. */
export function checkpointTopic(origin: string): string {
  return CHECKPOINT_TOPIC_PREFIX + origin
}

/** The gossip topic of proofs that `origin`'s coordinator misbehaved. */
export function misbehaviourTopic(origin: string): string {
  return MISBEHAVIOUR_TOPIC_PREFIX + origin
}

/** Who a gossiped checkpoint or proof must come from. */
export interface GossipTrust {
  readonly origin: string
  readonly coordinatorKey: Uint8Array
}

/**
 * A gossiped checkpoint, decoded and verified: signed by the coordinator, of
 * this origin. Throws `CheckpointInvalidError`.
 */
export function openGossipedCheckpoint(data: Uint8Array, trust: GossipTrust): { signed: SignedCheckpoint; checkpoint: Checkpoint } {
  const signed = decodeSignedCheckpoint(data)
  return { signed, checkpoint: openCheckpoint(signed, trust.coordinatorKey, trust.origin) }
}

/**
 * A gossiped proof, decoded, verified against the coordinator key and, for a
 * split view, about this origin; in normal form (see normaliseProof).
 * Throws `MisbehaviourProofInvalidError`.
 */
export function openGossipedProof(data: Uint8Array, trust: GossipTrust): MisbehaviourProof {
  const proof = normaliseProof(decodeMisbehaviourProof(data))
  verifyMisbehaviourProof(proof, trust.coordinatorKey)
  if (proof.kind === 'split-view') {
    const origin = readCheckpoint(proof.a).origin
    if (origin !== trust.origin) throw new MisbehaviourProofInvalidError(`split-view proof: about origin ${JSON.stringify(origin)}, want ${JSON.stringify(trust.origin)}`)
  }
  return proof
}

/**
 * The proof with its two halves in byte order of their wire form, so that
 * every replica that finds the same conflict stores and gossips the same
 * bytes (and `recordMisbehaviour`, keyed by their hash, stores it once).
 */
export function normaliseProof(proof: MisbehaviourProof): MisbehaviourProof {
  if (proof.kind === 'split-view') {
    return compareBytes(encodeSignedCheckpoint(proof.a), encodeSignedCheckpoint(proof.b)) <= 0 ? proof : { kind: 'split-view', a: proof.b, b: proof.a }
  }
  return compareBytes(proof.a, proof.b) <= 0 ? proof : { kind: 'forked-entry', a: proof.b, b: proof.a }
}

/** A stable name of a proof: hex SHA-256 of its normal form's wire bytes. */
export function proofId(proof: MisbehaviourProof): string {
  return toHex(sha256(encodeMisbehaviourProof(normaliseProof(proof))))
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}
