/**
 * The folders a site agent writes to, checked before it connects. A replica
 * that cannot open its LevelDB folder is retried in the background while the
 * site trains on (replication never stops training), so a read-only folder
 * (a container's `/config` mounted `:ro`) would leave the site running with no
 * verified replica and only a warning in its log. It is refused at start
 * instead, naming the field and what to change.
 */
import { constants } from 'node:fs'
import { access, mkdir, readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import type { SiteConfig } from './config.ts'
import { SiteConfigError } from './errors.ts'

/** Where the agent keeps the global model it is working on (model-file.ts): `<stateDir>/<siteId>-models`. */
export function modelDirOf(config: SiteConfig): string {
  // parseSiteConfig always resolves stateDir (the config file's folder by default).
  return path.join(config.stateDir ?? '.', `${config.siteId}-models`)
}

/** The folders `config` makes the agent write to, with the field each comes from. */
export function stateDirsOf(config: SiteConfig): { readonly field: string; readonly dir: string }[] {
  return [
    { field: 'stateDir', dir: modelDirOf(config) },
    ...(config.p2p.enabled ? [{ field: 'p2p.dataDir', dir: config.p2p.dataDir! }] : []),
    ...(config.consent ? [{ field: 'consent.roundsDir', dir: config.consent.roundsDir! }] : []),
  ]
}

/**
 * Why `dir` cannot be made, read from its nearest existing ancestor: a
 * recursive mkdir under a read-only mount fails with ENOENT, which names the
 * missing folder rather than the read-only one (EROFS) or the permission (EACCES).
 */
async function blockingReason(dir: string): Promise<string | undefined> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory()) return `${d} is not a folder`
      await access(d, constants.W_OK)
      return undefined
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' || d === path.dirname(d)) return code === undefined ? undefined : `${code} at ${d}`
    }
  }
}

/** Creates each state folder (and its parents) and checks it is writable; throws `SiteConfigError` naming the first that is not. */
export async function ensureStateDirs(config: SiteConfig): Promise<void> {
  for (const { field, dir } of stateDirsOf(config)) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await access(dir, constants.W_OK)
    } catch (err) {
      const code = (await blockingReason(dir)) ?? (err as NodeJS.ErrnoException).code ?? (err as Error).message
      throw new SiteConfigError(
        `${field} ${dir}: cannot write there (${code}); the site keeps the model it trains from, its verified replica of the log and its consent rounds there. Set "stateDir" in the site config to a writable folder (the container image's is /state: "stateDir": "/state"), or give ${field} explicitly`,
        { cause: err },
      )
    }
  }
}

/**
 * Empties the model folder of what an earlier run left: the model it was
 * working on, a delta it had not uploaded, a download or a write cut off
 * (`.part`). A run starts without a model and fetches the one its task names,
 * so none of these is read again; left alone they would fill the disk by up
 * to two models per crash. Returns the names removed.
 */
export async function clearModelDir(config: SiteConfig): Promise<string[]> {
  const dir = modelDirOf(config)
  const stale = (await readdir(dir)).filter((name) => name.endsWith('.flw') || name.endsWith('.part'))
  await Promise.all(stale.map((name) => rm(path.join(dir, name), { force: true })))
  return stale
}
