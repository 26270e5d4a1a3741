/**
 * The auditor's commands, for the fedlineage program to register:
 *
 *   audit (--db DIR [--key FILE] [--fetch-from MULTIADDR...] | --peer MULTIADDR [--study ID] [--key FILE] [--replica-dir DIR])
 *         [--report FILE] [--coordinator-key HEX]
 *   consent verify --proof FILE [--db DIR] [--site ID] [--authority HEX...]
 *
 * One command per file in commands/. Commands throw typed errors; the
 * program's top-level handler prints them as `CODE: message`.
 */
import type { Command } from 'commander'
import { processIo, type CliIo } from '../cli/index.ts'
import { registerAuditCommand } from './commands/audit.ts'
import { registerConsentVerifyCommand } from './commands/consent-verify.ts'

/** Adds the auditor's commands to `program`; `io` defaults to the process's streams. */
export function registerAuditorCommands(program: Command, io: CliIo = processIo()): Command {
  registerAuditCommand(program, io)
  // `consent` is shared with the site agent's `consent import` and `consent prove`.
  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent').description("patients' consent: import, prove, verify")
  registerConsentVerifyCommand(consent, io)
  return program
}
