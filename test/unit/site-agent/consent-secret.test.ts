/**
 * The site's pseudonym secret file (site-agent/consent/secret.ts): created
 * once with mode 0600 by the first import, read as is afterwards, and
 * refused when missing, too open, not hex or too short.
 */
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreateSiteSecret, loadSiteSecret } from '../../../site-agent/index.ts'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function dir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'fedlineage-secret-'))
  dirs.push(d)
  return d
}

describe('the pseudonym secret', () => {
  it('is created once, 32 bytes, owner-only, and read back unchanged', async () => {
    // Prepare
    const file = path.join(await dir(), 'site.secret')

    // Execute
    const first = await loadOrCreateSiteSecret(file)
    const second = await loadOrCreateSiteSecret(file)

    // Assert
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(first.secret).toHaveLength(32)
    expect(second.secret).toEqual(first.secret)
    expect(await loadSiteSecret(file)).toEqual(first.secret)
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it.each([
    ['missing', async (_f: string) => undefined],
    [
      'too open',
      async (f: string) => {
        await writeFile(f, `${'ab'.repeat(32)}\n`)
        await chmod(f, 0o644)
      },
    ],
    ['not hex', async (f: string) => writeFile(f, 'not a secret\n', { mode: 0o600 })],
    ['too short', async (f: string) => writeFile(f, `${'ab'.repeat(8)}\n`, { mode: 0o600 })],
  ])('is refused when %s', async (_what, prepare) => {
    // Prepare
    const file = path.join(await dir(), 'site.secret')
    await prepare(file)

    // Execute / Assert
    await expect(loadSiteSecret(file)).rejects.toMatchObject({ code: 'SITE_CONFIG_INVALID' })
  })
})
