/** The site agent's commands of the `fedlineage` CLI. */
import type { Command } from 'commander'
import { registerSiteCommand } from './commands/site.ts'
import { registerDatasetCommands } from './commands/dataset-prepare.ts'

export function registerSiteAgentCommands(program: Command): void {
  registerSiteCommand(program)
  registerDatasetCommands(program)
}
