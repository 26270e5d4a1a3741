/** The loader hooks of import-recorder.mjs: appends each resolved module URL to the log file. */
import { appendFileSync } from 'node:fs'

let log = ''

export function initialize(data) {
  log = data.log
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  appendFileSync(log, `esm ${resolved.url}\n`)
  return resolved
}
