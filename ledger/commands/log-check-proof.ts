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
  io.stdout.write(
    `proof verified: entry ${entry.seq} (${entry.kind}) is in the log of ${checkpoint.origin} at size ${checkpoint.size}, root ${toHex(checkpoint.root)}, checkpoint signed by ${toHex(signer)}${key ? ' (the pinned key)' : ''}\n`,
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
