/**
 * Key files: where a participant's Ed25519 identity lives on disk.
 *
 *   <name>.key  JSON { "type": "ed25519", "publicKey": <64 hex>, "seed": <64 hex> },
 *               mode 0600, in a directory created with mode 0700
 *   <name>.pub  the public key as 64 hex digits and a newline, mode 0644
 *
 * Like ssh, loadSigner refuses a key file that group or others can read.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { equalBytes } from './core/canonical.ts'
import { PUBLIC_KEY_LENGTH_BYTES, SEED_LENGTH_BYTES } from './core/constants.ts'
import { fromHex, toHex } from './core/hash.ts'
import { signerFromSeed, type Signer } from './core/signature.ts'
import { IdentityFileError, LedgerInvalidArgumentError } from './errors.ts'

/** Options of writeIdentity. */
export interface WriteIdentityInit {
  /** Replace existing key files (default false: refuse). */
  readonly force?: boolean
  /** Write this 32-byte seed instead of a fresh one (a key kept elsewhere; fixed keys in tests and benchmarks). */
  readonly seed?: Uint8Array
}

/** What writeIdentity wrote. */
export interface WrittenIdentity {
  readonly keyFile: string
  readonly pubFile: string
  readonly publicKeyHex: string
}

const KEY_FILE_MODE = 0o600
const PUB_FILE_MODE = 0o644
const KEY_DIR_MODE = 0o700
const GROUP_OTHER_BITS = 0o077
const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * 32 random bytes from the OS CSPRNG: a fresh Ed25519 seed. The one source
 * of randomness in the ledger, which is why it sits here and not in core/.
 */
export function generateSeed(): Uint8Array {
  return Uint8Array.from(randomBytes(SEED_LENGTH_BYTES))
}

/**
 * Generates a key and writes `<dir>/<name>.key` (0600) and `<dir>/<name>.pub`
 * (0644), creating `dir` (0700) if needed. Refuses to replace either file
 * unless `force`; with `force` the key is replaced atomically (write then
 * rename), so a crash never leaves a half-written key.
 * Throws `IdentityFileError`.
 */
export async function writeIdentity(dir: string, name: string, init: WriteIdentityInit = {}): Promise<WrittenIdentity> {
  if (!IDENTITY_NAME.test(name)) {
    throw new LedgerInvalidArgumentError(`identity name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (no path separators)`)
  }
  const keyFile = path.join(dir, `${name}.key`)
  const pubFile = path.join(dir, `${name}.pub`)
  await mkdir(dir, { recursive: true, mode: KEY_DIR_MODE })
  if (init.force !== true) {
    for (const file of [keyFile, pubFile]) {
      if (await exists(file)) throw new IdentityFileError(file, 'already exists; pass --force to replace it (the old key is lost)')
    }
  }
  const seed = init.seed ?? generateSeed()
  const publicKeyHex = toHex(signerFromSeed(seed).publicKey)
  const keyJson = `${JSON.stringify({ type: 'ed25519', publicKey: publicKeyHex, seed: toHex(seed) }, null, 2)}\n`
  if (init.force === true) {
    const tmp = `${keyFile}.tmp-${toHex(randomBytes(6))}`
    await writeNew(tmp, keyJson, KEY_FILE_MODE)
    try {
      await rename(tmp, keyFile)
    } catch (err) {
      await unlinkIfPresent(tmp)
      throw new IdentityFileError(keyFile, `cannot replace: ${(err as Error).message}`, { cause: err })
    }
  } else {
    await writeNew(keyFile, keyJson, KEY_FILE_MODE)
  }
  if (init.force === true) await unlinkIfPresent(pubFile)
  await writeNew(pubFile, `${publicKeyHex}\n`, PUB_FILE_MODE)
  return { keyFile, pubFile, publicKeyHex }
}

/**
 * Loads the signer from a key file written by writeIdentity. Refuses a file
 * readable or writable by group or others, malformed JSON, a wrong type or
 * length, and a seed whose public key is not the stated one.
 * Throws `IdentityFileError`.
 */
export async function loadSigner(keyFile: string): Promise<Signer> {
  return signerFromSeed(await readSeed(keyFile))
}

async function readSeed(keyFile: string): Promise<Uint8Array> {
  let text: string
  try {
    const info = await stat(keyFile)
    // POSIX permission bits mean nothing on Windows; there the ACLs protect the file.
    if (process.platform !== 'win32' && (info.mode & GROUP_OTHER_BITS) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0')
      throw new IdentityFileError(keyFile, `permissions ${mode} are too open; a private key must be accessible by its owner only: chmod 600 ${keyFile}`)
    }
    text = await readFile(keyFile, 'utf8')
  } catch (err) {
    if (err instanceof IdentityFileError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new IdentityFileError(keyFile, 'no such key file; create one with `fedlineage keygen --out DIR`', { cause: err })
    throw new IdentityFileError(keyFile, `cannot read: ${(err as Error).message}`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new IdentityFileError(keyFile, `is not JSON: ${(err as Error).message}`, { cause: err })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new IdentityFileError(keyFile, 'is not a JSON object { type, publicKey, seed }')
  const { type, publicKey, seed } = json as Record<string, unknown>
  if (type !== 'ed25519') throw new IdentityFileError(keyFile, `type is ${JSON.stringify(type)}, want "ed25519"`)
  const publicKeyBytes = parseKeyField(keyFile, 'publicKey', publicKey, PUBLIC_KEY_LENGTH_BYTES)
  const seedBytes = parseKeyField(keyFile, 'seed', seed, SEED_LENGTH_BYTES)
  const signer = signerFromSeed(seedBytes)
  if (!equalBytes(signer.publicKey, publicKeyBytes)) {
    throw new IdentityFileError(keyFile, `seed belongs to public key ${toHex(signer.publicKey)}, but the file states ${toHex(publicKeyBytes)}`)
  }
  return seedBytes
}

/**
 * Parses a raw Ed25519 public key given as 64 hex digits (a `.pub` file's
 * content, a config value, a CLI flag). `what` names the source in the
 * error, e.g. `site "eu-3" publicKey`. Throws `LedgerInvalidArgumentError`.
 */
export function parsePublicKey(hex: string, what: string): Uint8Array {
  const trimmed = typeof hex === 'string' ? hex.trim() : hex
  try {
    return fromHex(trimmed, PUBLIC_KEY_LENGTH_BYTES)
  } catch (err) {
    throw new LedgerInvalidArgumentError(`${what}: not an Ed25519 public key (want ${PUBLIC_KEY_LENGTH_BYTES * 2} hex digits): ${(err as Error).message}`, { cause: err })
  }
}

function parseKeyField(keyFile: string, field: string, value: unknown, lengthBytes: number): Uint8Array {
  if (typeof value !== 'string') throw new IdentityFileError(keyFile, `${field} is ${value === undefined ? 'missing' : typeof value}, want ${lengthBytes * 2} hex digits`)
  try {
    return fromHex(value, lengthBytes)
  } catch (err) {
    throw new IdentityFileError(keyFile, `${field}: ${(err as Error).message}`, { cause: err })
  }
}

/** Creates `file` (failing if it exists) with exactly `mode`, whatever the umask, and syncs it. */
async function writeNew(file: string, content: string, mode: number): Promise<void> {
  let handle
  try {
    handle = await open(file, 'wx', mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new IdentityFileError(file, 'already exists; pass --force to replace it (the old key is lost)', { cause: err })
    throw new IdentityFileError(file, `cannot create: ${(err as Error).message}`, { cause: err })
  }
  try {
    await handle.chmod(mode)
    await handle.writeFile(content, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new IdentityFileError(file, `cannot stat: ${(err as Error).message}`, { cause: err })
  }
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IdentityFileError(file, `cannot replace: ${(err as Error).message}`, { cause: err })
  }
}
