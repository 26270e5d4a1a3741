/** A `node --import` preload: at exit, writes the process's CPU time (user + system, ms) to the file FEDLINEAGE_CPU_LOG names. */
import { writeFileSync } from 'node:fs'

const log = process.env.FEDLINEAGE_CPU_LOG
if (log !== undefined)
  process.on('exit', () => {
    const { user, system } = process.cpuUsage()
    writeFileSync(log, `${(user + system) / 1000}\n`)
  })
