/**
 * `fedlineage keygen --out DIR [--name NAME] [--force]`: creates an Ed25519
 * identity (see identity.ts) and prints its public key and file paths.
 */
import type { CliIo } from '../../cli/index.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { writeIdentity } from '../identity.ts'

export interface KeygenOptions {
  readonly out: string
  readonly name: string
  readonly force: boolean
}

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
