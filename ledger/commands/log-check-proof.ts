/**
 * `fedlineage log check-proof --proof FILE [--coordinator-key HEX]`: checks an
 * inclusion proof bundle with no access to the log: the checkpoint signature,
 * then the entry's audit path to the checkpoint's root.
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { CliIo } from '../../cli/index.ts'
import { toHex } from '../core/hash.ts'
import { checkInclusionBundle } from '../core/proof-bundle.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { parsePublicKey } from '../identity.ts'

export async function logCheckProof(raw: { proof: string; coordinatorKey?: string }, io: CliIo): Promise<void> {
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
  // their own, so the verdict says what was and was not checked.
  io.stdout.write(
    key
      ? `proof verified: ${what}, checkpoint signed by the pinned coordinator key ${toHex(signer)}\n`
      : `proof consistent, NOT verified: ${what} under checkpoint key ${toHex(signer)}, which the bundle itself names; pass --coordinator-key with the coordinator's key (obtained out of band) to verify it\n`,
  )
}

export function registerLogCheckProofCommand(log: Command, io: CliIo): Command {
  return log
    .command('check-proof')
    .description('check an inclusion proof bundle offline (no access to the log needed)')
    .requiredOption('--proof <file>', 'the JSON bundle from `fedlineage log prove`')
    .option('--coordinator-key <hex>', "the coordinator's public key the checkpoint must be signed with")
    .action((raw: { proof: string; coordinatorKey?: string }) => logCheckProof(raw, io))
}
