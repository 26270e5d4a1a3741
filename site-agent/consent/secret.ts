/**
 * The site's pseudonym secret: the HMAC key of `pseudonymOf`, which turns
 * patient ids into the pseudonyms that receipts, consent trees and the log
 * name. It never leaves the site; whoever holds it can link a pseudonym back
 * to a patient id by trying ids, so it is kept like a private key.
 *
 *   <file>  64 hex digits (32 random bytes) and a newline, mode 0600
 *
 * `fedlineage consent import` creates it on first use (`loadOrCreateSiteSecret`);
 * the site agent and `consent prove` only read it (`loadSiteSecret`) and
 * refuse a missing file, since a new secret would give every patient a new
 * pseudonym and orphan every receipt already imported. Use one secret per
 * study (see protocol/consent.ts).
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, stat } from 'node:fs/promises'
import { fromHex, toHex } from '../../ledger/index.ts'
import { SiteConfigError } from '../errors.ts'
import { MIN_SITE_SECRET_BYTES } from '../../protocol/index.ts'

/** Bytes of a new secret. */
export const SITE_SECRET_BYTES = 32

const SECRET_FILE_MODE = 0o600
const GROUP_OTHER_BITS = 0o077

/**
 * Reads the secret in `file`. Throws SiteConfigError when the file is
 * missing (naming the command that creates it), readable by group or others,
 * not hex, or shorter than MIN_SITE_SECRET_BYTES.
 */
export async function loadSiteSecret(file: string): Promise<Uint8Array> {
  let text: string
  try {
    const info = await stat(file)
    if (process.platform !== 'win32' && (info.mode & GROUP_OTHER_BITS) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0')
      throw new SiteConfigError(`consent secret ${file}: permissions ${mode} are too open; it must be accessible by its owner only: chmod 600 ${file}`)
    }
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (err instanceof SiteConfigError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SiteConfigError(
        `consent secret ${file}: no such file; \`fedlineage consent import --secret ${file} …\` creates it with the first import (keep it: a new secret orphans every imported receipt)`,
        { cause: err },
      )
    }
    throw new SiteConfigError(`consent secret ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  let secret: Uint8Array
  try {
    secret = fromHex(text.trim())
  } catch (err) {
    throw new SiteConfigError(`consent secret ${file}: not hex: ${(err as Error).message}`, { cause: err })
  }
  if (secret.length < MIN_SITE_SECRET_BYTES) throw new SiteConfigError(`consent secret ${file}: ${secret.length} bytes, want at least ${MIN_SITE_SECRET_BYTES} (${SITE_SECRET_BYTES} recommended)`)
  return secret
}

/**
 * Reads the secret in `file`, or creates it (32 bytes from the OS CSPRNG,
 * mode 0600, failing rather than replacing a file that appears meanwhile).
 * Returns the secret and whether it was created. Throws like `loadSiteSecret`.
 */
export async function loadOrCreateSiteSecret(file: string): Promise<{ readonly secret: Uint8Array; readonly created: boolean }> {
  let handle
  try {
    handle = await open(file, 'wx', SECRET_FILE_MODE)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: await loadSiteSecret(file), created: false }
    throw new SiteConfigError(`consent secret ${file}: cannot create (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  const secret = Uint8Array.from(randomBytes(SITE_SECRET_BYTES))
  try {
    await handle.chmod(SECRET_FILE_MODE)
    await handle.writeFile(`${toHex(secret)}\n`, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  return { secret, created: true }
}
