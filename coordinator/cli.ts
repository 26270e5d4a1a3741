/**
 * The research hub's commands, for the fedlineage program to register:
 *
 *   coordinator --config hub.json [--exit-when-done] [--log-format F] [--http HOST:PORT]
 *   round start --coordinator HOST:PORT --key FILE [TLS options]
 *   round abort --coordinator HOST:PORT --key FILE --round N --reason TEXT [TLS options]
 *   status --coordinator HOST:PORT [--key FILE] [--watch [--interval S]] [--flag-gap P] [TLS options]
 *   rewards --db DIR [--site ID]
 *   membership enroll|remove --coordinator HOST:PORT --key FILE --site ID [TLS options]
 *
 * Only what help shows lives here; each action imports its command from
 * commands/ when it runs, so help loads no gRPC, libp2p, LevelDB or TF.js.
 */
import type { Command } from 'commander'
import { examples, processIo, type CliIo } from '../cli/index.ts'
import type { ConnectOptions } from './commands/connect-options.ts'
import type { CoordinatorCommandOptions } from './commands/coordinator.ts'
import type { MembershipOptions } from './commands/membership.ts'
import type { RoundAbortOptions } from './commands/round-abort.ts'
import type { StatusOptions } from './commands/status.ts'
import { DEFAULT_FLAG_GAP } from './constants.ts'

/** How a hub command reaches the coordinator (commands/connect-options.ts): mutual TLS, or plaintext on loopback or with --insecure. */
function addConnectOptions(cmd: Command): Command {
  return cmd
    .option('--tls-ca <file>', 'the study CA certificate (ca.crt) for mutual TLS')
    .option('--tls-cert <file>', 'the certificate the study CA issued for the key in --key')
    .option('--insecure', 'plaintext gRPC to a non-loopback coordinator (a trusted test network only)', false)
}

export function registerCoordinatorCommands(program: Command, io: CliIo = processIo()): void {
  program
    .command('coordinator')
    .description('run the coordinator of a study (gRPC server, round loop, lineage log)')
    .requiredOption('--config <file>', 'hub config (study, sites, listen address, data dir, key file)')
    .option('--exit-when-done', 'exit once the study has completed')
    .option('--log-format <format>', 'the log on stderr: json (one object per line), pretty (lines for people, round events in words), or auto: pretty on a terminal, json otherwise', 'auto')
    .option('--http <host:port>', 'serve the read-only dashboard and Prometheus /metrics here (overrides hub.json http.listen; port 0 picks one)')
    .addHelpText(
      'after',
      examples(
        'fedlineage coordinator --config hub.json',
        'fedlineage coordinator --config hub.json --exit-when-done   # a scripted study',
        'fedlineage coordinator --config hub.json --http 127.0.0.1:8080 --log-format pretty',
      ),
    )
    .action(async (opts: CoordinatorCommandOptions) => {
      const { runCoordinator } = await import('./commands/coordinator.ts')
      await runCoordinator(opts)
    })

  const round = program.command('round').description('research hub: control rounds')
  addConnectOptions(
    round
      .command('start')
      .description('open the next round; the request is signed with the hub key')
      .requiredOption('--coordinator <host:port>', 'coordinator address')
      .requiredOption('--key <file>', 'the hub key file (fedlineage keygen)'),
  )
    .addHelpText(
      'after',
      examples(
        'fedlineage round start --coordinator 127.0.0.1:50051 --key keys/hub.key',
        'fedlineage round start --coordinator hub.example.org:50051 --key keys/hub.key --tls-ca ca/ca.crt --tls-cert hub.crt',
      ),
    )
    .action(async (opts: ConnectOptions & { key: string }) => {
      const { roundStart } = await import('./commands/round-start.ts')
      await roundStart(opts)
    })
  addConnectOptions(
    round
      .command('abort')
      .description('abort the open round (logged as round-aborted with your reason; sites drop their task); the request is signed with the hub key')
      .requiredOption('--coordinator <host:port>', 'coordinator address')
      .requiredOption('--key <file>', 'the hub key file (fedlineage keygen)')
      .requiredOption('--round <n>', 'the open round (a guard: a round that closed meanwhile is refused, not another one aborted)')
      .requiredOption('--reason <text>', 'why, in words; logged verbatim (at most 1024 characters)'),
  )
    .addHelpText('after', examples('fedlineage round abort --coordinator 127.0.0.1:50051 --key keys/hub.key --round 3 --reason "site data found mislabelled"'))
    .action(async (opts: RoundAbortOptions) => {
      const { abortRound } = await import('./commands/round-abort.ts')
      await abortRound(opts, io)
    })

  addConnectOptions(
    program
      .command('status')
      .description("print a study's current round (deadline, sites missing), per-site metrics and rounds; --watch redraws it until Ctrl-C")
      .requiredOption('--coordinator <host:port>', 'coordinator address')
      .option('--key <file>', 'with TLS: the key your certificate was issued for (hub, site or auditor)')
      .option('--watch', 'redraw every --interval seconds until Ctrl-C')
      .option('--interval <seconds>', 'with --watch: seconds between redraws', '2')
      .option('--flag-gap <points>', 'flag a site whose accuracy or AUC is this far below the weighted mean (or whose loss is 1.5× it)', String(DEFAULT_FLAG_GAP)),
  )
    .addHelpText(
      'after',
      examples(
        'fedlineage status --coordinator 127.0.0.1:50051',
        'fedlineage status --coordinator 127.0.0.1:50051 --watch --interval 5',
        'fedlineage status --coordinator hub.example.org:50051 --key keys/hub.key --tls-ca ca/ca.crt --tls-cert hub.crt',
      ),
    )
    .action(async (opts: StatusOptions) => {
      const { runStatus } = await import('./commands/status.ts')
      await runStatus(opts, io)
    })

  registerRewardsCommand(program, io)

  const membership = program.command('membership').description('research hub: enrol or remove a site while the study runs')
  membershipOptions(membership.command('enroll').description('enrol a site with its public key; it is planned from the next round on (issue its TLS certificate with `fedlineage provision issue`)'))
    .option('--public-key <hex>', "the site's Ed25519 public key (64 hex digits)")
    .option('--pub-file <file>', "the site's .pub file")
    .addHelpText('after', examples('fedlineage membership enroll --coordinator 127.0.0.1:50051 --key keys/hub.key --site st-marys --pub-file st-marys.pub'))
    .action(async (opts: MembershipOptions) => {
      const { membershipEnroll } = await import('./commands/membership.ts')
      await membershipEnroll(opts)
    })
  membershipOptions(membership.command('remove').description('remove a site: no later round plans it, and its evaluations are no longer awaited'))
    .addHelpText('after', examples('fedlineage membership remove --coordinator 127.0.0.1:50051 --key keys/hub.key --site st-marys'))
    .action(async (opts: MembershipOptions) => {
      const { membershipRemove } = await import('./commands/membership.ts')
      await membershipRemove(opts)
    })
}

function membershipOptions(cmd: Command): Command {
  return addConnectOptions(cmd.requiredOption('--coordinator <host:port>', 'coordinator address').requiredOption('--key <file>', 'the hub key file').requiredOption('--site <id>', 'the site id'))
}

/** Adds `rewards` to `program`; tests register it alone. */
export function registerRewardsCommand(program: Command, io: CliIo = processIo()): void {
  program
    .command('rewards')
    .description('participant reward balances, derived by replaying the log')
    .requiredOption('--db <dir>', "a replica of the log (LevelDB directory): the coordinator's data dir or a site's replica, also while it runs")
    .option('--site <id>', 'one site, with its per-round amounts')
    .addHelpText('after', examples('fedlineage rewards --db hub-ledger', 'fedlineage rewards --db hub-ledger --site st-marys'))
    .action(async (opts: { db: string; site?: string }) => {
      const { printRewards } = await import('./commands/rewards.ts')
      await printRewards(opts, io)
    })
}
