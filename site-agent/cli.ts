/** The site agent's commands of the `fedlineage` CLI. */
import type { Command } from 'commander'
import { processIo, type CliIo } from '../cli/index.ts'
import { registerSiteCommand } from './commands/site.ts'
import { registerDatasetCommands } from './commands/dataset-prepare.ts'
import { registerConsentImportCommand } from './commands/consent-import.ts'
import { registerConsentProveCommand } from './commands/consent-prove.ts'
import { registerStudyCommands } from './commands/study.ts'
import { registerModelCommands } from './commands/model.ts'
import { registerSiteCheckCommand } from './commands/site-check.ts'

/**
 * Adds `site`, `study review`, `study approve`, `dataset prepare`, `consent import` and `consent prove` to
 * `program`. `consent` is shared with the auditor's `consent verify`: an
 * existing `consent` command is reused.
 */
export function registerSiteAgentCommands(program: Command, io: CliIo = processIo()): Command {
  registerSiteCheckCommand(registerSiteCommand(program), io)
  registerDatasetCommands(program)
  registerStudyCommands(program, io)
  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent').description("patients' consent: import, prove, verify")
  registerConsentImportCommand(consent, io)
  registerConsentProveCommand(consent, io)
  registerModelCommands(program, io)
  return program
}
