/**
 * What a witness remembers: per log origin, the size and root of the
 * checkpoint it last cosigned. Kept in one small JSON file,
 * `<stateDir>/witness-state.json`, replaced atomically on every change
 * (write a temp file, fsync it, rename it over the old one, fsync the
 * folder), so after a crash at any point the file holds either the old
 * state or the new one, never a mix, and a reply is sent only after the
 * new one is on disk. A witness that loses this file must not be restarted
 * under the same key: it would cosign a tree it had already cosigned a
 * different one of.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { HASH_LENGTH_BYTES } from '../core/constants.ts'
import { base64, fromBase64 } from '../core/signed-note.ts'
import type { WitnessLogState } from '../core/witness-decision.ts'
import { WitnessStateInvalidError, WitnessStateLockedError } from '../core/witness-errors.ts'

/** The file's name inside the state folder. */
export const WITNESS_STATE_FILE = 'witness-state.json'
/** The lock file beside it: the pid of the witness process that holds the folder. */
export const WITNESS_LOCK_FILE = 'witness.lock'
const STATE_VERSION = 1

const StateFileSchema = z.strictObject({
  v: z.literal(STATE_VERSION),
  logs: z.record(z.string(), z.strictObject({ size: z.number().int().nonnegative(), root: z.string() })),
})

/** The witness's remembered state, loaded once and rewritten whole on each change. */
export class WitnessStateFile {
  readonly #file: string
  readonly #logs: Map<string, WitnessLogState>

  readonly #lock: string

  private constructor(file: string, logs: Map<string, WitnessLogState>, lock: string) {
    this.#file = file
    this.#logs = logs
    this.#lock = lock
  }

  /**
   * Opens (creating the folder, mode 0700) the state in `dir`, locking it for
   * this process. Throws `WitnessStateLockedError` when a live process holds
   * it, `WitnessStateInvalidError` when the file exists but does not read back.
   */
  static async open(dir: string): Promise<WitnessStateFile> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const lock = await acquireLock(path.join(dir, WITNESS_LOCK_FILE))
    try {
      return await WitnessStateFile.#read(dir, lock)
    } catch (err) {
      await unlink(lock).catch(() => undefined)
      throw err
    }
  }

  static async #read(dir: string, lock: string): Promise<WitnessStateFile> {
    const file = path.join(dir, WITNESS_STATE_FILE)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new WitnessStateFile(file, new Map(), lock)
      throw err
    }
    let parsed
    try {
      parsed = StateFileSchema.parse(JSON.parse(text))
    } catch (err) {
      throw new WitnessStateInvalidError(`${file}: not a witness state file (${(err as Error).message.slice(0, 200)}); restore it from a backup, or retire this witness key`, { cause: err })
    }
    const logs = new Map<string, WitnessLogState>()
    for (const [origin, s] of Object.entries(parsed.logs)) {
      const root = fromBase64(s.root)
      if (root === undefined || root.length !== HASH_LENGTH_BYTES) throw new WitnessStateInvalidError(`${file}: log "${origin}": root is not base64 of ${HASH_LENGTH_BYTES} bytes`)
      logs.set(origin, { size: s.size, root })
    }
    return new WitnessStateFile(file, logs, lock)
  }

  /** Releases the folder's lock. */
  async close(): Promise<void> {
    await unlink(this.#lock).catch(() => undefined)
  }

  get(origin: string): WitnessLogState | undefined {
    return this.#logs.get(origin)
  }

  /** Records `state` for `origin` and resolves once it is durably on disk. */
  async put(origin: string, state: WitnessLogState): Promise<void> {
    const next = new Map(this.#logs).set(origin, state)
    const logs: Record<string, { size: number; root: string }> = {}
    for (const [o, s] of [...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) logs[o] = { size: s.size, root: base64(s.root) }
    const tmp = `${this.#file}.tmp`
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(`${JSON.stringify({ v: STATE_VERSION, logs }, null, 2)}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, this.#file)
    // The rename is durable only once the folder's entry is.
    const dir = await open(path.dirname(this.#file), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
    this.#logs.set(origin, state)
  }
}

/**
 * Takes `file` as a lock holding this process's pid. A lock whose process is
 * gone (a crash, a SIGKILL) is stale and taken over; one whose process lives
 * is refused.
 */
async function acquireLock(file: string): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600)
      try {
        await fh.writeFile(`${process.pid}\n`)
      } finally {
        await fh.close()
      }
      return file
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
      throw new WitnessStateLockedError(`${path.dirname(file)}: held by witness process ${pid}; stop it first (two witnesses on one state could cosign two forks)`)
    if (pid === process.pid) throw new WitnessStateLockedError(`${path.dirname(file)}: already open in this process`)
    await unlink(file).catch(() => undefined) // stale: its process is gone
  }
  throw new WitnessStateLockedError(`${path.dirname(file)}: could not take the lock ${file}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
