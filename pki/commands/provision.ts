/**
 * `fedlineage provision`: the hub's study CA and the certificates of the
 * study's parties, in the spirit of NVIDIA FLARE's startup kits but without
 * ever touching a party's private key:
 *
 *   provision ca --study ID --out DIR [--valid-days N] [--force]
 *   provision issue --ca DIR --name NAME --role ROLE (--public-key HEX | --pub-file F)
 *                   [--host H ...] --out FILE [--valid-days N]
 *
 * A party sends the hub its public key (its `.pub` file, the key it enrolls
 * with); the hub sends back its certificate and the CA certificate. The
 * options are defined in ../cli.ts.
 */
import { readFile, writeFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { parsePublicKey, toHex } from '../../ledger/index.ts'
import { issuePartyCertificate, PARTY_ROLES, type PartyRole } from '../certificate.ts'
import { CA_VALID_DAYS, PARTY_VALID_DAYS } from '../constants.ts'
import { TlsConfigError } from '../errors.ts'
import { createStudyCa, loadStudyCa } from '../study-ca.ts'

function validDays(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new TlsConfigError(`--valid-days: ${String(raw)} is not a whole number of days from 1 to 3650`)
  return n
}

async function publicKeyOf(raw: Record<string, unknown>): Promise<Uint8Array> {
  if (typeof raw['publicKey'] === 'string') return parsePublicKey(raw['publicKey'], '--public-key')
  if (typeof raw['pubFile'] === 'string') return parsePublicKey((await readFile(raw['pubFile'], 'utf8')).trim(), `--pub-file ${raw['pubFile']}`)
  throw new TlsConfigError("give the party's enrolled public key: --public-key HEX or --pub-file FILE (its .pub file)")
}

/** `provision ca`: creates the study CA and prints its two files. */
export async function provisionCa(raw: Record<string, unknown>, io: CliIo): Promise<void> {
  const out = await createStudyCa(String(raw['out']), String(raw['study']), { validDays: validDays(raw['validDays'], CA_VALID_DAYS), force: raw['force'] === true })
  io.stdout.write(`study CA key: ${out.keyFile}\nstudy CA certificate: ${out.certFile}\n`)
}

/** `provision issue`: issues one party's certificate for its public key. */
export async function provisionIssue(raw: Record<string, unknown>, io: CliIo): Promise<void> {
  const role = String(raw['role'])
  if (!PARTY_ROLES.includes(role as PartyRole)) throw new TlsConfigError(`--role: "${role}" is not one of ${PARTY_ROLES.join(', ')}`)
  const publicKey = await publicKeyOf(raw)
  const ca = await loadStudyCa(String(raw['ca']))
  const pem = issuePartyCertificate(
    { name: String(raw['name']), role: role as PartyRole, publicKey, hosts: (raw['host'] as string[] | undefined) ?? [], validDays: validDays(raw['validDays'], PARTY_VALID_DAYS) },
    ca,
  )
  await writeFile(String(raw['out']), pem, { mode: 0o644 })
  io.stdout.write(`${role} certificate for "${String(raw['name'])}" (key ${toHex(publicKey)}): ${String(raw['out'])}\n`)
}
