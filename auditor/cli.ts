/**
 * The auditor's commands, for the fedlineage program to register:
 *
 *   audit --db DIR [--report FILE] [--coordinator-key HEX]
 *
 * One command per file in commands/. Commands throw typed errors; the
 * program's top-level handler prints them as `CODE: message`.
 */
import type { Command } from 'commander'
import { processIo, type CliIo } from '../ledger/index.ts'
import { registerAuditCommand } from './commands/audit.ts'

/** Adds the auditor's commands to `program`; `io` defaults to the process's streams. */
export function registerAuditorCommands(program: Command, io: CliIo = processIo()): Command {
  registerAuditCommand(program, io)
  return program
}
