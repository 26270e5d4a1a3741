/**
 * The auditor's commands, for the fedlineage program to register:
 *
 *   audit (--db DIR [--key FILE] [--fetch-from MULTIADDR...] | --peer MULTIADDR [--study ID] [--key FILE] [--replica-dir DIR])
 *         [--report FILE] [--coordinator-key HEX]
 *   consent verify --proof FILE [--db DIR] [--site ID] [--authority HEX...] [--coordinator-key HEX | --verifier-key VKEY] [--policy FILE]
 *
 * Only what help shows lives here; each action imports its command from
 * commands/ when it runs, so help loads no libp2p, LevelDB or TF.js.
 * Commands throw typed errors; the program's top-level handler prints them
 * as `CODE: message`.
 */
import type { Command } from 'commander'
import { examples, processIo, type CliIo } from '../cli/index.ts'
import type { ConsentVerifyOptions } from './commands/consent-verify.ts'

/** Adds the auditor's commands to `program`; `io` defaults to the process's streams. */
export function registerAuditorCommands(program: Command, io: CliIo = processIo()): Command {
  program
    .command('audit')
    .description('replay a lineage log offline: chain, signatures, signed statements, and every committed model re-derived bit for bit')
    .option('--db <dir>', "the log's LevelDB directory: a coordinator's data dir or a site's replica (also while it runs: a consistent snapshot is read), or a copy (this or --peer is required)")
    .option('--peer <multiaddr>', 'join as a fresh replica and sync the log and its blobs from this libp2p peer (any participant)')
    .option('--study <id>', 'with --peer: the study to audit (default: the one the peer serves)')
    .option(
      '--key <file>',
      "with --peer: the auditor's key file (the study must name its public key among its auditors); with --db: the key file of the participant whose replica it is, to fetch the blobs it may read",
    )
    .option('--fetch-from <multiaddr...>', 'with --db and --key: replicas to fetch missing blobs from (default: the peers the replica recorded, the coordinator first)')
    .option('--replica-dir <dir>', 'with --peer: keep the synced replica here (default: a temp dir, removed after)')
    .option('--report <file>', 'also write the audit report as JSON to this file')
    .option('--html <file>', 'also write a self-contained HTML report (opens offline, prints): spec, every round and its checks, charts, lineage, consent, rewards, cosignatures; a failure first')
    .option('--coordinator-key <hex>', "the coordinator's public key (64 hex digits); without it, the author of the log's first entry is trusted")
    .option(
      '--dp-seeds <file>',
      "a DP study's private noise seeds (the coordinator's <dataDir>/dp-seeds.json, given to an authorised auditor): DP models are then re-derived bit for bit; without it everything but the noise is, and the verdict is partial",
    )
    .addHelpText(
      'after',
      examples(
        'fedlineage audit --db hub-ledger --report audit.json --html audit.html',
        'fedlineage audit --db hub-ledger --dp-seeds hub-ledger/dp-seeds.json   # an authorised auditor of a DP study',
        'fedlineage audit --peer /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW… --key keys/auditor.key --coordinator-key "$(cat hub.pub)"',
        'fedlineage audit --db site-state/replica --key keys/st-marys.key   # a site audits its own replica (exit 3: partial)',
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const { parseAuditOptions, runAudit } = await import('./commands/audit.ts')
      await runAudit(parseAuditOptions(raw), io)
    })

  // `consent` is shared with the site agent's `consent import` and `consent prove`.
  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent').description("patients' consent: import, prove, verify")
  consent
    .command('verify')
    .description("check a patient's consent proof offline, and with --db against the site-signed consent root in the log")
    .requiredOption('--proof <file>', 'the JSON bundle from `fedlineage consent prove`')
    .option('--db <dir>', 'a replica of the lineage log (LevelDB): also check the root and count against the logged, site-signed envelope')
    .option('--site <id>', 'with --db: the site that made the proof')
    .option('--authority <hex...>', "consent authority public keys trusted to sign the receipt (default: the receipt's own signer)")
    .option('--coordinator-key <hex>', "the coordinator's public key: pins the log key of a tlog-proof bundle, and with --db the log's author (default there: the author of the log's first entry)")
    .option('--verifier-key <vkey>', "the log's verifier key (origin+keyid+base64), as `fedlineage log checkpoint` prints it: pins a tlog-proof bundle's log key and origin")
    .option('--policy <file>', "the study's witness policy (c2sp.org/tlog-policy): a tlog-proof bundle's checkpoint must carry cosignatures meeting its quorum")
    .addHelpText(
      'after',
      examples(
        'fedlineage consent verify --proof patient-1042.json',
        'fedlineage consent verify --proof patient-1042.json --db hub-ledger --site st-marys',
        'fedlineage consent verify --proof patient-1042.json --verifier-key "fedlineage.example/study/demo+1a2b3c4d+AT…" --policy witness-policy.txt',
      ),
    )
    .action(async (opts: ConsentVerifyOptions) => {
      const { consentVerify } = await import('./commands/consent-verify.ts')
      await consentVerify(opts, io)
    })
  return program
}
