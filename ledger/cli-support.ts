/**
 * What every fedlineage command shares: where it writes, and the one
 * top-level handler that turns a thrown error into `CODE: message` on stderr
 * and a failing exit status. Commands throw typed errors; they never print
 * their own failures or call process.exit (cf. shadcn's `handleError`).
 *
 *   const status = await runCommand(() => program.parseAsync(process.argv))
 */
import { CommanderError } from 'commander'

/** A command's streams and exit status, injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean }
  /** Records the exit status; the default sets process.exitCode so open handles still close. */
  setExitCode(code: number): void
}

/** Options of runCommand. */
export interface RunCommandInit {
  readonly io?: CliIo
  /** Exit status for an error code (default: EXIT_FAILURE for every code). */
  readonly exitStatus?: (code: string) => number
  /** Print the stack of uncoded errors (default: when FEDLINEAGE_DEBUG is set). */
  readonly debug?: boolean
}

/** Status of a failed command. */
export const EXIT_FAILURE = 1

/** Code printed for an error that carries none: a bug rather than a condition we name. */
export const UNCODED_ERROR = 'INTERNAL'

/** The real process streams and process.exitCode. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code
    },
  }
}

/**
 * The stable code of an error: a remote peer's code when it carries one
 * (`remoteCode`, set by RPC clients), else its own `code` (`LEDGER_CHAIN_BROKEN`,
 * `ENOENT`), else UNCODED_ERROR.
 */
export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return UNCODED_ERROR
  const { remoteCode, code } = err as { remoteCode?: unknown; code?: unknown }
  if (typeof remoteCode === 'string' && remoteCode.length > 0) return remoteCode
  if (typeof code === 'string' && code.length > 0) return code
  return UNCODED_ERROR
}

/** `CODE: message`. */
export function formatCliError(err: unknown): string {
  return `${errorCode(err)}: ${err instanceof Error ? err.message : String(err)}`
}

/**
 * The top-level handler: runs `fn` (typically `program.parseAsync(argv)`),
 * and on failure prints `CODE: message` to stderr and records the exit
 * status. Commander's own errors (usage, `--help`) were already printed by
 * commander and keep its status. Resolves with the exit status (0 on success).
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
