/**
 * Holds one signed checkpoint, as a proof carries it (the cosignature/v1
 * lines in the note itself), to a c2sp.org/tlog-policy: the policy's
 * witnesses whose lines verify must satisfy its quorum. Used by the offline
 * proof checkers (`log check-proof --policy`, `consent verify --policy`);
 * the audit holds the log's newest checkpoint to the study's policy in
 * auditor/core/witness-quorum.ts, with the cosignatures kept beside it too.
 *
 * A line of a policy witness that does not verify counts for nothing (it is
 * not a failure by itself: the quorum decides). When the policy lists logs,
 * the log being checked must be one of them, by origin and key.
 *
 * Pure: text in, verdict out.
 */
import { equalBytes } from './canonical.ts'
import { checkpointVerifierKey, type SignedCheckpoint } from './checkpoint.ts'
import { LedgerError } from '../errors.ts'
import { POLICY_QUORUM_NONE, quorumSatisfied, type WitnessPolicy } from './tlog-policy.ts'
import { WitnessQuorumNotMetError } from './witness-errors.ts'
import { openWitnessCosignatures } from './witness-request.ts'

/** The policy's witnesses that cosigned `signed` (verified lines in the note), by policy name, sorted. */
export function policyCosigners(policy: WitnessPolicy, signed: SignedCheckpoint): string[] {
  const names: string[] = []
  for (const w of policy.witnesses) {
    try {
      if (openWitnessCosignatures(signed, [w.key]).length > 0) names.push(w.name)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
    }
  }
  return names.sort()
}

/**
 * Requires `signed` (already opened under the log's key `logKey`, origin
 * `origin`) to meet `policy`'s quorum; returns the cosigners by policy name.
 * Throws `WitnessQuorumNotMetError` naming who cosigned and what the quorum needs.
 */
export function requireCheckpointQuorum(policy: WitnessPolicy, signed: SignedCheckpoint, logKey: Uint8Array, origin: string): string[] {
  if (policy.logs.length > 0 && !policy.logs.some((l) => l.key.name === origin && equalBytes(l.key.publicKey, logKey)))
    throw new WitnessQuorumNotMetError(
      `the witness policy lists ${policy.logs.length} log(s), none of them the proof's log (${checkpointVerifierKey(origin, logKey)}); check the policy is the study's, or add that log line`,
    )
  const cosigners = policyCosigners(policy, signed)
  if (policy.quorum !== POLICY_QUORUM_NONE && !quorumSatisfied(policy, new Set(cosigners)))
    throw new WitnessQuorumNotMetError(
      `the proof's checkpoint is cosigned by ${cosigners.length === 0 ? 'none' : cosigners.join(', ')} of the policy's witnesses, which does not satisfy quorum "${policy.quorum}"; export the proof again once the witnesses have cosigned a newer checkpoint, or check the policy`,
    )
  return cosigners
}
