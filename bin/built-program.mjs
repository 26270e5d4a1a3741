/**
 * Which build of the program the launcher may run: the one dist/build.json
 * names, if every source file it was built from is still as it was (same
 * size, same modification time) and its entry exists. Plain JavaScript, so
 * the launcher runs it with no transpiling; bin/build.mjs writes the stamp.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/** The stamp of the newest build, relative to the package root. */
export const BUILD_STAMP = 'dist/build.json'

/**
 * The absolute path of the built entry (dist/<build>/fedlineage.js), or
 * undefined when there is no build, it is of other sources than these, or
 * its stamp cannot be read: the launcher then runs the sources.
 * @param {string} root the package root
 * @returns {string | undefined}
 */
export function freshBuild(root) {
  let stamp
  try {
    stamp = JSON.parse(readFileSync(path.join(root, BUILD_STAMP), 'utf8'))
  } catch {
    return undefined
  }
  if (typeof stamp?.entry !== 'string' || typeof stamp.inputs !== 'object' || stamp.inputs === null) return undefined
  for (const [file, want] of Object.entries(stamp.inputs)) {
    let got
    try {
      got = statSync(path.join(root, file))
    } catch {
      return undefined
    }
    if (got.size !== want.size || got.mtimeMs !== want.mtimeMs) return undefined
  }
  const entry = path.join(root, stamp.entry)
  return existsSync(entry) ? entry : undefined
}
