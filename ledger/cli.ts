/**
 * The ledger's commands, for the fedlineage program to register:
 *
 *   keygen --out DIR [--name NAME] [--force]
 *   log verify --db DIR [--author HEX...]
 *   log prove --db DIR --seq N [--size S] [--out FILE]
 *   log check-proof --proof FILE [--coordinator-key HEX]
 *   log checkpoint --db DIR [--size N]
 *
 * One command per file in commands/. Commands throw typed errors; the
 * program's top-level handler (runCommand, cli/index.ts) prints them.
 */
import type { Command } from 'commander'
import { processIo, type CliIo } from '../cli/index.ts'
import { registerKeygenCommand } from './commands/keygen.ts'
import { registerLogVerifyCommand } from './commands/log-verify.ts'
import { registerLogProveCommand } from './commands/log-prove.ts'
import { registerLogCheckProofCommand } from './commands/log-check-proof.ts'
import { registerLogCheckpointCommand } from './commands/log-checkpoint.ts'

/**
 * Adds the ledger's commands to `program`. `log` is shared with other
 * folders' log subcommands: an existing `log` command is reused.
 */
export function registerLedgerCommands(program: Command, io: CliIo = processIo()): Command {
  registerKeygenCommand(program, io)
  const log = program.commands.find((c) => c.name() === 'log') ?? program.command('log').description('inspect and verify the lineage log')
  registerLogVerifyCommand(log, io)
  registerLogProveCommand(log, io)
  registerLogCheckProofCommand(log, io)
  registerLogCheckpointCommand(log, io)
  return program
}
