/**
 * The root of the `fedlineage` CLI: composes each role's commands and maps
 * every error to one line, `CODE: message`, and an exit status. Roles own
 * their commands (`<role>/cli.ts`); this file only wires them together.
 */
import { Command, CommanderError } from 'commander'
import { registerAuditorCommands } from '../auditor/index.ts'
import { registerCoordinatorCommands } from '../coordinator/index.ts'
import { registerLedgerCommands } from '../ledger/index.ts'
import { registerSiteAgentCommands } from '../site-agent/index.ts'
import { registerDemoCommand } from './demo.ts'

const program = new Command()
  .name('fedlineage')
  .description('federated learning with an audited, hash-linked model lineage log')
  .showHelpAfterError()
  .exitOverride()

registerDemoCommand(program)
registerCoordinatorCommands(program)
registerSiteAgentCommands(program)
registerLedgerCommands(program)
registerAuditorCommands(program)

/** Exit status by error code: 2 for bad input or config, 1 for everything else. */
function exitStatus(code: string): number {
  if (code.startsWith('AUDIT_')) return 1 // an audit that finds a fault is a verdict, never a usage error
  return /CONFIG_INVALID|_MALFORMED$|IDENTITY_INVALID/.test(code) ? 2 : 1
}

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode)
  const e = err as { code?: unknown; message?: string; remoteCode?: unknown }
  const code = typeof e.remoteCode === 'string' ? e.remoteCode : typeof e.code === 'string' ? e.code : 'INTERNAL'
  process.stderr.write(`${code}: ${e.message ?? String(err)}\n`)
  if (code === 'INTERNAL' && process.env['FEDLINEAGE_DEBUG']) console.error(err)
  process.exit(exitStatus(code))
}
