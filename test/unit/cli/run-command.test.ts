/** The top-level handler: what it prints on failure, which status it records, and commander's own exits. */
import { Command } from 'commander'
import { afterEach, describe, expect, it } from 'vitest'
import { EXIT_FAILURE, processIo, runCommand, type CliIo } from '../../../cli/index.ts'

class SampleError extends Error {
  static readonly code = 'TEST_SAMPLE'
  readonly code = SampleError.code
}

/** Streams that keep what was written, and the statuses recorded. */
function captureIo(): CliIo & { out: string; err: string; exitCodes: number[] } {
  const io = {
    out: '',
    err: '',
    exitCodes: [] as number[],
    stdout: {
      write: (s: string) => {
        io.out += s
        return true
      },
    },
    stderr: {
      write: (s: string) => {
        io.err += s
        return true
      },
      isTTY: false,
    },
    setExitCode: (code: number) => void io.exitCodes.push(code),
  }
  return io as unknown as CliIo & typeof io
}

/** A program whose usage errors and help go to `io` rather than the process. */
function programFor(io: CliIo): Command {
  const program = new Command('fedlineage').exitOverride().configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
  program.command('hello').action(() => undefined)
  return program
}

describe('runCommand', () => {
  it('resolves 0 and records nothing when the command succeeds', async () => {
    // Prepare
    const io = captureIo()
    // Execute
    const status = await runCommand(async () => 'done', { io })
    // Assert
    expect(status).toBe(0)
    expect(io.err).toBe('')
    expect(io.exitCodes).toEqual([])
  })

  it('prints CODE: message on stderr, nothing on stdout, and fails with EXIT_FAILURE', async () => {
    const io = captureIo()
    const status = await runCommand(() => Promise.reject(new SampleError('entry 4: prev is wrong')), { io })
    expect(status).toBe(EXIT_FAILURE)
    expect(EXIT_FAILURE).toBe(1)
    expect(io.err).toBe('TEST_SAMPLE: entry 4: prev is wrong\n')
    expect(io.out).toBe('')
    expect(io.exitCodes).toEqual([EXIT_FAILURE])
  })

  it('catches a synchronous throw as well', async () => {
    const io = captureIo()
    const status = await runCommand(
      () => {
        throw new SampleError('thrown before any await')
      },
      { io },
    )
    expect(status).toBe(1)
    expect(io.err).toBe('TEST_SAMPLE: thrown before any await\n')
  })

  it('maps the code to a status with exitStatus, and records that status', async () => {
    const io = captureIo()
    const exitStatus = (code: string) => (code === 'TEST_SAMPLE' ? 75 : 1)
    const mapped = await runCommand(() => Promise.reject(new SampleError('locked')), { io, exitStatus })
    const other = await runCommand(() => Promise.reject(new TypeError('boom')), { io, exitStatus, debug: false })
    expect([mapped, other]).toEqual([75, 1])
    expect(io.exitCodes).toEqual([75, 1])
  })

  it('prints INTERNAL for an uncoded error, with its stack only in debug', async () => {
    // Prepare
    const quiet = captureIo()
    const debug = captureIo()
    const err = new TypeError('boom')
    // Execute
    await runCommand(() => Promise.reject(err), { io: quiet, debug: false })
    await runCommand(() => Promise.reject(err), { io: debug, debug: true })
    // Assert
    expect(quiet.err).toBe('INTERNAL: boom\n')
    expect(debug.err).toBe(`INTERNAL: boom\n${err.stack}\n`)
    expect(quiet.exitCodes).toEqual([1])
  })

  it('never prints a stack for a coded error, even in debug', async () => {
    const io = captureIo()
    await runCommand(() => Promise.reject(new SampleError('named')), { io, debug: true })
    expect(io.err).toBe('TEST_SAMPLE: named\n')
  })

  it("keeps commander's own message and status for a usage error", async () => {
    // Prepare
    const io = captureIo()
    const program = programFor(io)
    // Execute
    const status = await runCommand(() => program.parseAsync(['node', 'fedlineage', 'hello', '--nope']), { io })
    // Assert
    expect(status).toBe(1)
    expect(io.err).toBe("error: unknown option '--nope'\n")
    expect(io.exitCodes).toEqual([1])
  })

  it('exits 0 after --help, with the help on stdout and nothing on stderr', async () => {
    const io = captureIo()
    const status = await runCommand(() => programFor(io).parseAsync(['node', 'fedlineage', '--help']), { io })
    expect(status).toBe(0)
    expect(io.out).toMatch(/^Usage: fedlineage /)
    expect(io.err).toBe('')
    expect(io.exitCodes).toEqual([0])
  })
})

describe('processIo', () => {
  const before = process.exitCode
  afterEach(() => {
    process.exitCode = before
  })

  it("writes to the process's streams and sets process.exitCode rather than exiting", () => {
    const io = processIo()
    io.setExitCode(3)
    expect(io.stdout).toBe(process.stdout)
    expect(io.stderr).toBe(process.stderr)
    expect(process.exitCode).toBe(3)
  })
})
