/**
 * The PKI's commands, for the fedlineage program to register:
 * `provision ca` and `provision issue` (commands/provision.ts).
 */
import type { Command } from 'commander'
import { processIo, type CliIo } from '../cli/index.ts'
import { registerProvisionCommands } from './commands/provision.ts'

export function registerPkiCommands(program: Command, io: CliIo = processIo()): Command {
  registerProvisionCommands(program, io)
  return program
}
