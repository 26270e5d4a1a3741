/**
 * `fedlineage keygen --out DIR [--name NAME] [--force]`: creates an Ed25519
 * identity (see identity.ts) and prints its public key and file paths.
 */
import type { Command } from 'commander'
import type { CliIo } from '../../cli/index.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { writeIdentity } from '../identity.ts'

export interface KeygenOptions {
  readonly out: string
  readonly name: string
  readonly force: boolean
}

export const DEFAULT_IDENTITY_NAME = 'identity'

/** Commander's raw options, checked once into KeygenOptions. */
export function parseKeygenOptions(raw: Record<string, unknown>): KeygenOptions {
  const { out, name, force } = raw
  if (typeof out !== 'string' || out.length === 0) throw new LedgerInvalidArgumentError('--out: a directory is required')
  if (typeof name !== 'string') throw new LedgerInvalidArgumentError('--name: a name is required')
  return { out, name, force: force === true }
}

export async function keygen(options: KeygenOptions, io: CliIo): Promise<void> {
  const written = await writeIdentity(options.out, options.name, { force: options.force })
  io.stdout.write(`public key: ${written.publicKeyHex}\nprivate key file: ${written.keyFile}\npublic key file: ${written.pubFile}\n`)
}

/** Adds `keygen` to `program` (via `.command()`, so it inherits exitOverride and output settings). */
export function registerKeygenCommand(program: Command, io: CliIo): Command {
  return program
    .command('keygen')
    .description('create an Ed25519 identity: <out>/<name>.key (mode 0600) and <out>/<name>.pub')
    .requiredOption('--out <dir>', 'directory for the key files (created with mode 0700)')
    .option('--name <name>', 'file name stem', DEFAULT_IDENTITY_NAME)
    .option('--force', 'replace existing key files (the old key is lost)', false)
    .action((raw: Record<string, unknown>) => keygen(parseKeygenOptions(raw), io))
}
