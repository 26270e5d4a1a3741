/**
 * The root of the `fedlineage` CLI: composes each role's commands and maps
 * every error to one line, `CODE: message`, and an exit status. Roles own
 * their commands (`<role>/cli.ts`), cli/ groups them in help by who runs
 * them; this file only wires them together.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { registerAuditorCommands } from '../auditor/index.ts'
import { registerCoordinatorCommands } from '../coordinator/index.ts'
import { applyHelpGroups, exitStatusOf, runCommand } from '../cli/index.ts'
import { registerLedgerCommands } from '../ledger/index.ts'
import { registerSiteAgentCommands } from '../site-agent/index.ts'
import { registerPkiCommands } from '../pki/index.ts'
import { registerDemoCommand } from './demo.ts'

// The version a bug report or an auditor's note should name: the package's own (package.json ships in every image).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

const program = new Command()
  .name('fedlineage')
  .description('federated learning with an audited, hash-linked model lineage log')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  // Each command's options are its own (`site --config` vs `site check --config`); the program has none but --help and --version.
  .enablePositionalOptions()
  .exitOverride()

registerDemoCommand(program)
registerCoordinatorCommands(program)
registerSiteAgentCommands(program)
registerLedgerCommands(program)
registerPkiCommands(program)
registerAuditorCommands(program)
// Help lists the commands by who runs them (cli/help-groups.ts).
applyHelpGroups(program)

// The shared handler prints `CODE: message`; exiting here (not just setting the
// status) ends a failed command even while a server or libp2p node is still open.
const status = await runCommand(() => program.parseAsync(process.argv), { exitStatus: exitStatusOf })
if (status !== 0) process.exit(status)
