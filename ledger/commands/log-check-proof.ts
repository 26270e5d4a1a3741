/**
 * `fedlineage log check-proof --proof FILE [--coordinator-key HEX | --trust-bundle-key]`:
 * checks an inclusion proof bundle with no access to the log: the checkpoint
 * signature, then the entry's audit path to the checkpoint's root. Without a
 * pinned key the check fails (LEDGER_PROOF_UNVERIFIED) unless the caller
 * accepts the bundle's own key with --trust-bundle-key.
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { toHex } from '../core/hash.ts'
import { checkInclusionBundle } from '../core/proof-bundle.ts'
import { LedgerInvalidArgumentError, LedgerProofUnverifiedError } from '../errors.ts'
import { parsePublicKey } from '../identity.ts'

export async function logCheckProof(raw: { proof: string; coordinatorKey?: string; trustBundleKey?: boolean }, io: CliIo): Promise<void> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(raw.proof, 'utf8'))
  } catch (err) {
    throw new LedgerInvalidArgumentError(`--proof ${raw.proof}: ${(err as Error).message}`, { cause: err })
  }
  const key = raw.coordinatorKey ? parsePublicKey(raw.coordinatorKey, '--coordinator-key') : undefined
  const { checkpoint, signer, entry } = checkInclusionBundle(value, key)
  const what = `entry ${entry.seq} (${entry.kind}) is in the log of ${checkpoint.origin} at size ${checkpoint.size}, root ${toHex(checkpoint.root)}`
  // Without a pinned key the bundle vouches for itself: anyone can sign a checkpoint with a key of
  // their own. That is a failure unless the caller accepts the bundle's key in so many words.
  if (key) io.stdout.write(`proof verified: ${what}, checkpoint signed by the pinned coordinator key ${toHex(signer)}\n`)
  else if (raw.trustBundleKey) io.stdout.write(`proof consistent under the bundle's own key (accepted by --trust-bundle-key, not pinned): ${what}, checkpoint key ${toHex(signer)}\n`)
  else
    throw new LedgerProofUnverifiedError(
      `proof consistent, NOT verified: ${what} under checkpoint key ${toHex(signer)}, which the bundle itself names; pass --coordinator-key with the coordinator's key (obtained out of band) to verify it, or --trust-bundle-key to accept the bundle's key`,
    )
}
