/**
 * Errors of consent receipts and consent proofs (consent.ts). One class per
 * condition, each a `ProtocolError` with a stable `code`; callers branch on
 * `code` or `instanceof`, never on messages.
 *
 * Messages start with their subject (`consent receipt`, `non-inclusion proof
 * for pseudonym 3f…`) and name the field and both values. A Merkle path that
 * does not lead to the root is reported by the Merkle code's own errors
 * (`LEDGER_ROOT_MISMATCH`, `LEDGER_PROOF_WRONG_LENGTH`,
 * `LEDGER_PROOF_INDEX_OUT_OF_RANGE`, from ledger/core/merkle-errors.ts), so a consent
 * proof fails exactly like any other inclusion proof of the ledger.
 */
import { toHex } from '../ledger/core/index.ts'
import { ProtocolError } from './errors.ts'

/**
 * A consent receipt, revocation, signed-consent encoding or proof bundle that
 * does not decode to a valid value: not canonical CBOR, or a missing, extra
 * or mistyped field. `field` names it (`purposes`, `validUntil`, `left.index`),
 * `(root)` for the value as a whole, `encoding` when the bytes are not
 * canonical CBOR at all.
 */
export class ConsentInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_INVALID'
  readonly field: string
  constructor(subject: string, field: string, problem: string, options?: ErrorOptions) {
    super(`${subject}: field ${field}: ${problem}`, options)
    this.field = field
  }
}

/** A signed consent whose signature does not verify under the key it names as `signer`. */
export class ConsentSignatureInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_SIGNATURE_INVALID'
  readonly signer: Uint8Array
  constructor(subject: string, signer: Uint8Array) {
    super(`${subject}: signature does not verify under signer ${toHex(signer)}`)
    this.signer = signer
  }
}

/** A validly signed consent whose signer is not among the keys the caller trusts for it. */
export class ConsentUntrustedSignerError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_UNTRUSTED_SIGNER'
  readonly signer: Uint8Array
  constructor(subject: string, signer: Uint8Array) {
    super(`${subject}: signer ${toHex(signer)} is not trusted for this consent`)
    this.signer = signer
  }
}

/**
 * Two receipts for the same pseudonym in one consent tree. A tree holds at
 * most one receipt per patient (the one the site trained on), which is what
 * makes its leaves strictly sorted and non-inclusion provable.
 */
export class ConsentDuplicatePseudonymError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_DUPLICATE_PSEUDONYM'
  readonly pseudonym: Uint8Array
  constructor(pseudonym: Uint8Array) {
    super(`consent tree: pseudonym ${toHex(pseudonym)} has more than one receipt, want at most one per pseudonym`)
    this.pseudonym = pseudonym
  }
}

/** An inclusion proof asked for a pseudonym that has no leaf in the tree. */
export class ConsentPseudonymAbsentError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_PSEUDONYM_ABSENT'
  readonly pseudonym: Uint8Array
  constructor(pseudonym: Uint8Array, count: number) {
    super(`consent inclusion proof: pseudonym ${toHex(pseudonym)} is not among the ${count} leaves; prove its non-inclusion instead`)
    this.pseudonym = pseudonym
  }
}

/** A non-inclusion proof asked for a pseudonym that has a leaf in the tree. */
export class ConsentPseudonymPresentError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_PSEUDONYM_PRESENT'
  readonly pseudonym: Uint8Array
  readonly index: number
  constructor(pseudonym: Uint8Array, index: number) {
    super(`consent non-inclusion proof: pseudonym ${toHex(pseudonym)} is the leaf at index ${index}; prove its inclusion instead`)
    this.pseudonym = pseudonym
    this.index = index
  }
}

/**
 * A non-inclusion proof whose neighbours do not bracket the pseudonym: indices
 * not adjacent, neighbours not in strictly increasing order, the pseudonym
 * equal to or outside a neighbour, a missing neighbour that is not at the edge
 * of the tree, or neighbours given for the empty tree. `field` names the part
 * that fails (`left.index`, `right.pseudonym`, `count`).
 */
export class ConsentNonInclusionInvalidError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_NON_INCLUSION_INVALID'
  readonly field: string
  constructor(subject: string, field: string, problem: string) {
    super(`${subject}: field ${field}: ${problem}`)
    this.field = field
  }
}

/**
 * A consent proof bundle checked against a root or count other than the one
 * the caller trusts (from the round's log entry). `field` is `root` or
 * `count`; `expected` is the trusted value, `calculated` the bundle's.
 */
export class ConsentBundleMismatchError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_BUNDLE_MISMATCH'
  readonly field: string
  readonly expected: string
  readonly calculated: string
  constructor(field: string, expected: string, calculated: string) {
    super(`consent proof bundle: ${field} is ${calculated}, want ${expected} (the trusted value)`)
    this.field = field
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A consent claim (consent-claim.ts) that lacks the non-inclusion proof of a
 * pseudonym it must prove absent from its tree (a revoked patient of the site).
 */
export class ClaimProofMissingError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_PROOF_MISSING'
  readonly pseudonym: Uint8Array
  constructor(pseudonym: Uint8Array, proofs: number) {
    super(`consent claim: no non-inclusion proof for pseudonym ${toHex(pseudonym)} among its ${proofs} proofs; the site must prove it did not train on this revoked patient`)
    this.pseudonym = pseudonym
  }
}

/**
 * A non-inclusion proof of a consent claim whose tree size (`calculated`)
 * is not the claim's count (`expected`): it proves absence from another tree.
 */
export class ConsentCountMismatchError extends ProtocolError {
  static override readonly code = 'PROTOCOL_CONSENT_COUNT_MISMATCH'
  readonly pseudonym: Uint8Array
  readonly expected: number
  readonly calculated: number
  constructor(pseudonym: Uint8Array, expected: number, calculated: number) {
    super(`consent claim: the non-inclusion proof for pseudonym ${toHex(pseudonym)} is for a tree of ${calculated} leaves, want the claim's count ${expected}`)
    this.pseudonym = pseudonym
    this.expected = expected
    this.calculated = calculated
  }
}

/**
 * A patient-rewards input that breaks a precondition (a negative amount or
 * weight, a pseudonym listed twice) or a patient's reward proof bundle that
 * does not read or names another root than the logged one (patient-reward-split.ts).
 */
export class PatientRewardSplitError extends ProtocolError {
  static override readonly code = 'PROTOCOL_PATIENT_REWARD_INVALID'
}
