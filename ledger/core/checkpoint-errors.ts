/** Errors of checkpoints and misbehaviour proofs (see checkpoint.ts). */
import { LedgerError } from '../errors.ts'

/** A checkpoint that does not decode, is not signed by the expected key, or whose signature fails. */
export class CheckpointInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_CHECKPOINT_INVALID'
}

/** A misbehaviour proof that does not prove anything (bad signatures, no conflict). */
export class MisbehaviourProofInvalidError extends LedgerError {
  static override readonly code = 'LEDGER_MISBEHAVIOUR_PROOF_INVALID'
}

/** Replicated entries whose Merkle root is not the checkpoint's root. */
export class CheckpointRootMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_CHECKPOINT_ROOT_MISMATCH'
  constructor(
    message: string,
    readonly expected: Uint8Array,
    readonly calculated: Uint8Array,
  ) {
    super(message)
  }
}
