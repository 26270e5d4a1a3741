/**
 * A `node --import` preload that records what a process loads: every module
 * URL the ESM loader resolves (import-recorder-hooks.mjs, on the loader
 * thread), then at exit every CommonJS module in require's cache and the
 * process's CPU time, one line each, into the file FEDLINEAGE_IMPORT_LOG
 * names. test/helpers/cli-process.ts reads it back.
 */
import { appendFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'

const log = process.env.FEDLINEAGE_IMPORT_LOG
if (log !== undefined) {
  register('./import-recorder-hooks.mjs', import.meta.url, { data: { log } })
  process.on('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache).map((file) => `cjs ${file}\n`)
    const { user, system } = process.cpuUsage()
    appendFileSync(log, `${cjs.join('')}cpu ${(user + system) / 1000}\n`)
  })
}
