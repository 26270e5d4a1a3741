/**
 * The `fedlineage` read tools run in this process, as the executable runs
 * them: the auditor's, the ledger's and the `rewards` command under the
 * shared top-level handler, with stdout, stderr and the exit status captured.
 */
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { registerAuditorCommands } from '../../auditor/index.ts'
import { exitStatusOf, runCommand, type CliIo } from '../../cli/index.ts'
import { registerRewardsCommand } from '../../coordinator/index.ts'
import { registerLedgerCommands } from '../../ledger/index.ts'

export interface ToolRun {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `fedlineage <args>` (audit, consent verify, log verify / prove / check-proof, keygen, rewards) in-process. */
export async function runTool(args: readonly string[]): Promise<ToolRun> {
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString()))
  const err = Object.assign(
    new PassThrough().on('data', (c: Buffer) => (stderr += c.toString())),
    { isTTY: false },
  )
  const io: CliIo = { stdout: out, stderr: err, setExitCode: () => undefined }
  const program = new Command()
    .name('fedlineage')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
  registerAuditorCommands(program, io)
  registerLedgerCommands(program, io)
  registerRewardsCommand(program, io)
  const status = await runCommand(() => program.parseAsync(args, { from: 'user' }), { io, exitStatus: exitStatusOf })
  return { status, stdout, stderr }
}
