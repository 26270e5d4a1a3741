/**
 * The root of the `fedlineage` CLI: builds the program (program.ts) and maps
 * every error to one line, `CODE: message`, and an exit status. The launcher
 * bin/fedlineage.mjs runs this file's build in dist/, or this file through tsx.
 */
import { exitStatusOf, runCommand } from '../cli/index.ts'
import { buildProgram } from './program.ts'

const program = buildProgram()

// The shared handler prints `CODE: message`; exiting here (not just setting the
// status) ends a failed command even while a server or libp2p node is still open.
const status = await runCommand(() => program.parseAsync(process.argv), { exitStatus: exitStatusOf })
if (status !== 0) process.exit(status)
