/**
 * Errors of the Merkle tree code (merkle.ts, compact-range.ts). One class per
 * condition, each a `LedgerError` with a stable `code`. Callers branch on
 * `code` or `instanceof`, never on messages.
 *
 * Every message starts with its subject, the proof or range being built or
 * checked (`inclusion proof for index 5 in size 8: ...`), and states both
 * values, got then want. Mismatches also carry `expected` and `calculated`
 * as fields (cf. transparency-dev/merkle `proof.RootMismatchError`).
 *
 * Broken numeric preconditions that are not about a range (a size that is
 * not a safe non-negative integer, a malformed compact range) are reported as
 * `LedgerInvalidArgumentError` (`LEDGER_INVALID_ARGUMENT`) from ../errors.ts.
 */
import { LedgerError } from '../errors.ts'
import { toHex } from './hash.ts'

/**
 * An inclusion proof asked for or checked at a leaf index outside
 * `[0, size)`, including any index of the empty tree.
 */
export class ProofIndexOutOfRangeError extends LedgerError {
  static override readonly code = 'LEDGER_PROOF_INDEX_OUT_OF_RANGE'
  readonly index: number
  readonly size: number
  constructor(subject: string, index: number, size: number) {
    super(`${subject}: index ${index} is out of range, want 0 <= index < ${size} (the tree size)`)
    this.index = index
    this.size = size
  }
}

/**
 * A tree size beyond what it may be: `size1 > size2` for a consistency
 * proof, or a size larger than the number of leaf hashes given.
 * `maxSize` is the bound that was broken; `bound` names it.
 */
export class ProofSizeOutOfRangeError extends LedgerError {
  static override readonly code = 'LEDGER_PROOF_SIZE_OUT_OF_RANGE'
  readonly size: number
  readonly maxSize: number
  constructor(subject: string, name: string, size: number, maxSize: number, bound: string) {
    super(`${subject}: ${name} is ${size}, want <= ${maxSize} (${bound})`)
    this.size = size
    this.maxSize = maxSize
  }
}

/**
 * A proof with the wrong number of hashes for its index and size (or sizes):
 * too short, or with extra hashes. `expected` is the only valid length,
 * `calculated` the length received.
 */
export class ProofWrongLengthError extends LedgerError {
  static override readonly code = 'LEDGER_PROOF_WRONG_LENGTH'
  readonly expected: number
  readonly calculated: number
  constructor(subject: string, expected: number, calculated: number) {
    super(`${subject}: proof has ${calculated} hashes, want ${expected}`)
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A hash (leaf hash, proof element, root, node, compact range entry) that is
 * not the hasher's digest length. `field` names it (`proof[2]`, `root1`,
 * `node (level 3, index 5)`); `expected` and `calculated` are byte lengths.
 */
export class HashWrongLengthError extends LedgerError {
  static override readonly code = 'LEDGER_HASH_WRONG_LENGTH'
  readonly field: string
  readonly expected: number
  readonly calculated: number
  constructor(subject: string, field: string, expected: number, calculated: number) {
    super(`${subject}: ${field} is ${calculated} bytes, want ${expected}`)
    this.field = field
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A proof that does not lead to the root it is checked against. `field` is
 * the root that failed (`root` for inclusion, `root1` or `root2` for
 * consistency); `expected` is the root supplied by the caller, `calculated`
 * the one the proof leads to.
 */
export class RootMismatchError extends LedgerError {
  static override readonly code = 'LEDGER_ROOT_MISMATCH'
  readonly field: string
  readonly expected: Uint8Array
  readonly calculated: Uint8Array
  constructor(subject: string, field: string, expected: Uint8Array, calculated: Uint8Array) {
    super(`${subject}: calculated ${field} ${toHex(calculated)}, want ${toHex(expected)}`)
    this.field = field
    this.expected = expected
    this.calculated = calculated
  }
}
