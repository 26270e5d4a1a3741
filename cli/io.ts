/** Where a command writes, and how it records its exit status. */

/** A command's streams and exit status, injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean }
  /** Records the exit status; the default sets process.exitCode so open handles still close. */
  setExitCode(code: number): void
}

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
