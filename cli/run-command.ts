/**
 * The one top-level handler: turns a thrown error into `CODE: message` on
 * stderr and a failing exit status (cf. shadcn's `handleError`).
 */
import { CommanderError } from 'commander'
import { EXIT_FAILURE, UNCODED_ERROR } from './constants.ts'
import { errorCode, formatCliError } from './error-line.ts'
import { processIo, type CliIo } from './io.ts'

/** Options of runCommand. */
export interface RunCommandInit {
  readonly io?: CliIo
  /** Exit status for an error code (default: EXIT_FAILURE for every code). */
  readonly exitStatus?: (code: string) => number
  /** Print the stack of uncoded errors (default: when FEDLINEAGE_DEBUG is set). */
  readonly debug?: boolean
}

/**
 * Runs `fn` (typically `program.parseAsync(argv)`), and on failure prints
 * `CODE: message` to stderr and records the exit status. Commander's own
 * errors (usage, `--help`) were already printed by commander and keep its
 * status. Resolves with the exit status (0 on success).
 */
export async function runCommand(fn: () => Promise<unknown>, init: RunCommandInit = {}): Promise<number> {
  const io = init.io ?? processIo()
  try {
    await fn()
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      io.setExitCode(err.exitCode)
      return err.exitCode
    }
    const code = errorCode(err)
    io.stderr.write(`${formatCliError(err)}\n`)
    if (code === UNCODED_ERROR && (init.debug ?? process.env['FEDLINEAGE_DEBUG'] !== undefined) && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`)
    const status = init.exitStatus?.(code) ?? EXIT_FAILURE
    io.setExitCode(status)
    return status
  }
}
