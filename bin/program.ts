/**
 * The `fedlineage` program: each role's commands (`<role>/cli.ts`), the
 * demo's, help grouped by who runs each command, required options marked.
 *
 * Building it loads commander and the roles' command definitions only: every
 * action imports its command's code when it runs, so `--help`, `--version`
 * and usage errors never load TF.js, libp2p, gRPC or LevelDB (checked by
 * test/integration/cli-startup.int.test.ts). That is why this file imports
 * each role's `cli.ts` rather than its `index.ts`, which loads the role.
 */
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { registerAuditorCommands } from '../auditor/cli.ts'
import { registerCoordinatorCommands } from '../coordinator/cli.ts'
import { registerLedgerCommands } from '../ledger/cli.ts'
import { registerPkiCommands } from '../pki/cli.ts'
import { registerSiteAgentCommands } from '../site-agent/cli.ts'
import { applyHelpGroups, examples, markRequiredOptions, processIo, type CliIo } from '../cli/index.ts'
import type { DemoOptions } from './demo.ts'

/** The version a bug report or an auditor's note should name: the package's own (package.json ships in every image). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

/** The whole program, with every command registered; `io` defaults to the process's streams. */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command()
    .name('fedlineage')
    .description('federated learning with an audited, hash-linked model lineage log')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Each command's options are its own (`site --config` vs `site check --config`); the program has none but --help and --version.
    .enablePositionalOptions()
    .exitOverride()

  registerDemoCommand(program)
  registerCoordinatorCommands(program, io)
  registerSiteAgentCommands(program, io)
  registerLedgerCommands(program, io)
  registerPkiCommands(program, io)
  registerAuditorCommands(program, io)
  // Help lists the commands by who runs them (cli/help-groups.ts), and says which options are required.
  applyHelpGroups(program)
  markRequiredOptions(program)
  return program
}

function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a real federation on 127.0.0.1: a coordinator and four site agents as separate processes')
    .option('--rounds <n>', 'rounds of FedAvg', (v) => Number.parseInt(v, 10), 5)
    .option('--dir <dir>', 'working folder for keys, data, configs, logs and the ledger (default: a new temp folder)')
    .option('--keep-dashboard <seconds>', 'keep the coordinator and its dashboard up this long after the study ends (default: until the demo ends)', (v) => Number.parseInt(v, 10))
    .option('--dp <epsilon>', 'run site-level DP-FedAvg spending at most this ε (δ 1e-5); the auditor is given the noise seeds and re-derives every model', positiveNumber)
    .option('--secagg', "run secure aggregation: the coordinator sees only the sum of the sites' masked deltas, and the audit replays each sum from the log (with --dp, the sites add the noise)")
    .option('--compose <dir>', 'instead, write the keys, certificates, data and configs deploy/compose.yaml mounts (a hub and 3 sites) into <dir>, and exit')
    .addHelpText(
      'after',
      examples(
        'fedlineage demo',
        'fedlineage demo --rounds 10 --dir demo-study',
        'fedlineage demo --dp 30   # differential privacy: ε ≤ 30 over the study',
        'fedlineage demo --secagg --dp 30   # secure aggregation with distributed DP',
        'fedlineage demo --compose deploy/study   # then: docker compose -f deploy/compose.yaml up --build',
      ),
    )
    .action(async (opts: DemoOptions) => {
      const { runDemo, writeComposeStudy } = await import('./demo.ts')
      if (opts.compose === undefined) await runDemo(opts)
      else await writeComposeStudy(opts.compose, opts.rounds)
    })
}

/** `--dp`'s value: the privacy budget ε, a number > 0. */
function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('want the privacy budget ε, a number > 0 (e.g. --dp 30)')
  return n
}
