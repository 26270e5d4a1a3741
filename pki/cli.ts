/**
 * The PKI's commands, for the fedlineage program to register:
 *
 *   provision ca --study ID --out DIR [--valid-days N] [--force]
 *   provision issue --ca DIR --name NAME --role ROLE (--public-key HEX | --pub-file F) [--host H ...] --out FILE
 *
 * Only what help shows lives here; each action imports commands/provision.ts
 * when it runs, so help loads no X.509 or key-file code.
 */
import type { Command } from 'commander'
import { examples, processIo, type CliIo } from '../cli/index.ts'
import { CA_VALID_DAYS, PARTY_ROLES, PARTY_VALID_DAYS } from './constants.ts'

export function registerPkiCommands(program: Command, io: CliIo = processIo()): Command {
  const provision = program.command('provision').description("the study's CA and its parties' TLS certificates (hub)")
  provision
    .command('ca')
    .description('create the study CA: <out>/ca.key (0600, keep it offline) and <out>/ca.crt (give it to every party)')
    .requiredOption('--study <id>', 'the study id, named in the CA certificate')
    .requiredOption('--out <dir>', 'directory for ca.key and ca.crt')
    .option('--valid-days <n>', `lifetime in days (default ${CA_VALID_DAYS})`)
    .option('--force', 'replace an existing CA (every certificate it issued stops being trusted)', false)
    .addHelpText('after', examples('fedlineage provision ca --study cardio-risk --out ca   # ca/ca.key stays with the hub, offline'))
    .action(async (raw: Record<string, unknown>) => {
      const { provisionCa } = await import('./commands/provision.ts')
      await provisionCa(raw, io)
    })
  provision
    .command('issue')
    .description("issue a party's certificate for its enrolled Ed25519 public key")
    .requiredOption('--ca <dir>', 'the study CA directory (ca.key, ca.crt)')
    .requiredOption('--name <name>', 'the party: a site id, hub, coordinator, an auditor name')
    .requiredOption('--role <role>', `one of ${PARTY_ROLES.join(', ')}`)
    .option('--public-key <hex>', "the party's public key (64 hex digits)")
    .option('--pub-file <file>', "the party's .pub file")
    .option('--host <host...>', 'coordinator only: each host name or IP address sites connect to')
    .requiredOption('--out <file>', 'where to write the certificate (PEM)')
    .option('--valid-days <n>', `lifetime in days (default ${PARTY_VALID_DAYS})`)
    .addHelpText(
      'after',
      examples(
        'fedlineage provision issue --ca ca --name coordinator --role coordinator --pub-file keys/hub.pub --host hub.example.org --out coordinator.crt',
        'fedlineage provision issue --ca ca --name st-marys --role site --pub-file st-marys.pub --out st-marys.crt',
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const { provisionIssue } = await import('./commands/provision.ts')
      await provisionIssue(raw, io)
    })
  return program
}
