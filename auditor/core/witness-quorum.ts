/**
 * Holds a checkpoint to the study's witness policy (c2sp.org/tlog-policy,
 * the spec's `witnessPolicy`): the policy's witnesses that cosigned it
 * (cosignature/v1, in the note's own lines or kept beside it, each
 * verified) must satisfy its quorum. A signature that does not verify
 * counts for nothing. When the study sets no policy, that is reported as
 * such, never as a pass of a check that did not run.
 *
 * Pure: the checkpoint, the cosignatures and the policy text in, a verdict out.
 */
import {
  LedgerError,
  POLICY_QUORUM_NONE,
  checkpointVerifierKey,
  equalBytes,
  openWitnessCosignatures,
  parseWitnessPolicy,
  quorumSatisfied,
  readCheckpoint,
  verifyCosignature,
  type Cosignature,
  type SignedCheckpoint,
  type WitnessPolicy,
} from '../../ledger/core/index.ts'
import { AuditWitnessPolicyInvalidError, AuditWitnessQuorumError } from '../errors.ts'

/** What the report says of witnessing. */
export interface WitnessingReport {
  /** The policy's quorum (a witness's or group's name, or `none`); absent when the study sets no policy. */
  readonly quorum?: string
  /** The checkpoint held to it. */
  readonly size?: number
  /** The policy's witnesses that cosigned it, by policy name, sorted. */
  readonly cosignedBy: readonly string[]
}

export interface WitnessQuorumInput {
  /** The study spec's `witnessPolicy` text; undefined when it sets none. */
  readonly policyText: string | undefined
  /** The newest signed checkpoint (already checked against the coordinator key), if any. */
  readonly checkpoint: SignedCheckpoint | undefined
  /** Cosignatures of that checkpoint kept beside it by the source. */
  readonly stored: readonly Cosignature[]
  readonly coordinatorKey: Uint8Array
  readonly origin: string
  /** Where a failure is reported (the audit reports checkpoint findings at the log's end). */
  readonly seq: number
}

/** Checks the quorum (see the module doc). Throws `AuditWitnessQuorumError` or `AuditWitnessPolicyInvalidError`. */
export function checkWitnessQuorum(input: WitnessQuorumInput): WitnessingReport {
  if (input.policyText === undefined) return { cosignedBy: [] }
  let policy: WitnessPolicy
  try {
    policy = parseWitnessPolicy(input.policyText)
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err
    throw new AuditWitnessPolicyInvalidError(`the study's witnessPolicy: ${err.message}`, input.seq, { cause: err })
  }
  if (policy.logs.length > 0 && !policy.logs.some((l) => l.key.name === input.origin && equalBytes(l.key.publicKey, input.coordinatorKey)))
    throw new AuditWitnessPolicyInvalidError(
      `the study's witnessPolicy lists ${policy.logs.length} log(s), none of them this log (${checkpointVerifierKey(input.origin, input.coordinatorKey)})`,
      input.seq,
    )
  if (input.checkpoint === undefined) {
    if (policy.quorum === POLICY_QUORUM_NONE) return { quorum: policy.quorum, cosignedBy: [] }
    throw new AuditWitnessQuorumError(`the study requires witness quorum "${policy.quorum}" (${describeQuorum(policy)}), but the source holds no signed checkpoint`, input.seq)
  }
  const signed = input.checkpoint
  const size = readCheckpoint(signed).size
  const cosigned = new Set<string>()
  for (const w of policy.witnesses) {
    let inNote: Cosignature[] = []
    try {
      inNote = openWitnessCosignatures(signed, [w.key])
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err // a line of this witness that does not verify counts for nothing
    }
    const kept = input.stored.some((c) => equalBytes(c.witness, w.key.publicKey) && verifyCosignature(signed, c))
    if (inNote.length > 0 || kept) cosigned.add(w.name)
  }
  const cosignedBy = [...cosigned].sort()
  if (!quorumSatisfied(policy, cosigned))
    throw new AuditWitnessQuorumError(
      `checkpoint ${size} is cosigned by ${cosignedBy.length === 0 ? 'none' : cosignedBy.join(', ')} of the policy's witnesses; quorum "${policy.quorum}" needs ${describeQuorum(policy)}. Wait for the witnesses (the coordinator resubmits each new checkpoint), or check that they run`,
      input.seq,
    )
  return { quorum: policy.quorum, size, cosignedBy }
}

/** `2 of A, B, C`, nested groups in parentheses. */
export function describeQuorum(policy: WitnessPolicy): string {
  const groups = new Map(policy.groups.map((g) => [g.name, g]))
  const describe = (name: string): string => {
    const g = groups.get(name)
    if (g === undefined) return name
    const members = g.members.map((m) => (groups.has(m) ? `(${describe(m)})` : m)).join(', ')
    return g.threshold === g.members.length && g.members.length > 1 ? `all of ${members}` : `${g.threshold} of ${members}`
  }
  return policy.quorum === POLICY_QUORUM_NONE ? 'no cosignature' : describe(policy.quorum)
}
