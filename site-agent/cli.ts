/**
 * The hospital site's commands, for the fedlineage program to register:
 *
 *   site --config site.json [--quiet]          site check --config site.json --study FILE [--json]
 *   study review [...] | study approve --spec-hash HEX --config FILE --out FILE
 *   dataset prepare --schema FILE --csv FILE --out FILE
 *   consent import (--fhir FILE [--ndjson] | --csv FILE) --store FILE --secret FILE --authority-key FILE --study ID
 *   consent prove --config FILE --patient-id ID --round N [--out FILE] [--format json|tlog-proof] [--db DIR]
 *   model export --db DIR --out DIR [--round N]     predict --model DIR [--site-config FILE] [--data FILE]
 *
 * Only what help shows lives here; each action imports its command from
 * commands/ when it runs, so help loads no TF.js, gRPC, libp2p or LevelDB.
 */
import type { Command } from 'commander'
import { examples, processIo, type CliIo } from '../cli/index.ts'
import type { ConsentImportOptions } from './commands/consent-import.ts'
import type { ConsentProveOptions } from './commands/consent-prove.ts'
import type { SiteCommandOptions } from './commands/site.ts'
import type { StudyApproveOptions, StudyReviewOptions } from './commands/study.ts'

/**
 * Adds `site`, `site check`, `study review`, `study approve`, `dataset prepare`, `consent import`,
 * `consent prove`, `model export` and `predict` to `program`. `consent` is shared with the auditor's
 * `consent verify`: an existing `consent` command is reused.
 */
export function registerSiteAgentCommands(program: Command, io: CliIo = processIo()): Command {
  const site = program
    .command('site')
    .description('run a site agent: train on local records, send signed deltas, report evaluations')
    // Not commander's requiredOption: commander also demands a parent's required options for its subcommands, so `site check` could not run.
    .option('--config <file>', 'site config (site id, study, coordinator address, key file, data) (required)')
    .option('--quiet', 'print only errors')
    .option('--metrics <host:port>', "serve the site's read-only Prometheus /metrics here (overrides site.json metrics.listen)")
    // `site check --config …` belongs to check: without this, `site`'s own --config would take it.
    .enablePositionalOptions()
    .addHelpText(
      'after',
      examples(
        'fedlineage site --config site.json',
        'fedlineage site --config site.json --metrics 127.0.0.1:9101',
        'fedlineage site check --config site.json --study hub.json   # first: what it will train on',
      ),
    )
    .action(async (opts: SiteCommandOptions) => {
      const { runSite } = await import('./commands/site.ts')
      await runSite(opts)
    })
  site
    .command('check')
    .description('show what the agent will train on, with no network: rows, drops, label balance, each column, consent, warnings')
    .requiredOption('--config <file>', 'the site config')
    .requiredOption('--study <file>', 'the study spec: a spec JSON, a hub config, or `fedlineage study review --json` output')
    .option('--json', 'print the check as JSON')
    .addHelpText('after', examples('fedlineage study review --config site.json --json > study.json', 'fedlineage site check --config site.json --study study.json'))
    .action(async (opts: { config: string; study: string; json?: boolean }) => {
      const { siteCheck } = await import('./commands/site-check.ts')
      await siteCheck(opts, io)
    })

  program
    .command('dataset')
    .description('prepare tables with a study schema')
    .command('prepare')
    .description("prepare a CSV with a study's data schema into canonical Dataset bytes (the hub's validation set)")
    .requiredOption('--schema <file>', 'hub.json, a study spec, or a data schema')
    .requiredOption('--csv <file>', 'the table')
    .requiredOption('--out <file>', 'where to write the prepared dataset')
    .addHelpText('after', examples('fedlineage dataset prepare --schema hub.json --csv hub-validation.csv --out hub-validation.fld'))
    .action(async (opts: { schema: string; csv: string; out: string }) => {
      const { datasetPrepare } = await import('./commands/dataset-prepare.ts')
      await datasetPrepare(opts)
    })

  const study = program.command('study').description("a study's spec: review it and approve it by its hash (data steward)")
  study
    .command('review')
    .description('print the spec the coordinator runs, in readable form, with its hash')
    .option('--coordinator <host:port>', "the coordinator's address")
    .option('--config <file>', "site config: the coordinator's address and the site's TLS files")
    .option('--key <file>', "the site's key file (with --tls-cert)")
    .option('--tls-ca <file>', 'the study CA certificate (ca.crt) for mutual TLS')
    .option('--tls-cert <file>', "the site's certificate, for the key in --key")
    .option('--insecure', 'plaintext gRPC to a non-loopback coordinator (a trusted test network only)', false)
    .option('--json', 'print the spec, its hash and the logged approvals as JSON')
    .addHelpText('after', examples('fedlineage study review --config site.json', 'fedlineage study review --coordinator 127.0.0.1:50051 --json > study.json'))
    .action(async (opts: StudyReviewOptions) => {
      const { studyReview } = await import('./commands/study.ts')
      await studyReview(opts, io)
    })
  study
    .command('approve')
    .description("sign this site's approval of a spec hash and write the approval file")
    .requiredOption('--spec-hash <hex>', 'the spec hash `study review` printed')
    .requiredOption('--config <file>', 'site config (site id, study, key file)')
    .requiredOption('--out <file>', 'where to write the approval (name it in site.json as "approval")')
    .addHelpText('after', examples('fedlineage study approve --spec-hash 5f3c9a…  --config site.json --out approval.json'))
    .action(async (opts: StudyApproveOptions) => {
      const { studyApprove } = await import('./commands/study.ts')
      await studyApprove(opts, io)
    })

  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent').description("patients' consent: import, prove, verify")
  consent
    .command('import')
    .description("import a consent register export (FHIR R4 Consent or CSV) into the site's consent store, signed by its consent authority")
    .option('--fhir <file>', 'a FHIR R4 Bundle of Consent resources (JSON) (this or --csv is required)')
    .option('--ndjson', 'with --fhir: the file is NDJSON, one resource per line (FHIR Bulk Data)')
    .option('--csv <file>', 'a CSV with columns patient_id, status, valid_from, valid_until, purposes')
    .requiredOption('--store <file>', 'the consent store to add to (created if missing)')
    .requiredOption('--secret <file>', 'the pseudonym secret (created with mode 0600 if missing)')
    .requiredOption('--authority-key <keyfile>', 'the consent authority key that signs the imported records (`fedlineage keygen`)')
    .requiredOption('--study <id>', 'the study the consents are for')
    .option('--trust <hex...>', 'further consent authority public keys the store already holds records of')
    .addHelpText(
      'after',
      examples(
        'fedlineage consent import --csv consents.csv --store consent.store --secret pseudonym.secret --authority-key keys/consent-office.key --study cardio-risk',
        'fedlineage consent import --fhir consents.ndjson --ndjson --store consent.store --secret pseudonym.secret --authority-key keys/consent-office.key --study cardio-risk',
      ),
    )
    .action(async (opts: ConsentImportOptions) => {
      const { consentImport } = await import('./commands/consent-import.ts')
      await consentImport(opts, io)
    })
  consent
    .command('prove')
    .description(
      "prove to a patient whether their consent was among those the site trained on in a round (inclusion, with their share of the site's round credit when it passed one on), or that they were left out (non-inclusion)",
    )
    .requiredOption('--config <file>', 'the site config (its consent section names the store, secret and rounds folder)')
    .requiredOption('--patient-id <id>', "the patient's id as the site's records carry it")
    .requiredOption('--round <n>', 'the round')
    .option('--out <file>', 'write the JSON bundle here (mode 0600) instead of stdout')
    .option('--allow-unknown-patient', 'prove non-inclusion for an id the consent store has no record of (a patient who never consented)')
    .option('--format <format>', "json (the consent proof alone), or tlog-proof (it also carries the log's c2sp.org/tlog-proof@v1 of the site's update, checkable with no replica)", 'json')
    .option('--db <dir>', "the replica of the log the tlog-proof is taken from (default: the site's, p2p.dataDir)")
    .addHelpText(
      'after',
      examples(
        'fedlineage consent prove --config site.json --patient-id P-1042 --round 3 --out patient-1042.json',
        'fedlineage consent prove --config site.json --patient-id P-1042 --round 3 --format tlog-proof --out patient-1042.json',
      ),
    )
    .action(async (opts: ConsentProveOptions) => {
      const { consentProve } = await import('./commands/consent-prove.ts')
      await consentProve(opts, io)
    })

  const model = program.command('model').description('the trained model: export it from the log')
  model
    .command('export')
    .description('write a committed model in TF.js layers format, with its preprocessing, model card and commit proof, checked against the log')
    .requiredOption('--db <dir>', "a copy of the log (LevelDB directory): the coordinator's store, a site replica, an auditor's copy")
    .requiredOption('--out <dir>', 'a new or empty directory to write the export to')
    .option('--round <n>', 'the committed round to export (default: the newest)')
    .option('--coordinator-key <hex>', "the coordinator's public key every entry must be signed with (obtained out of band)")
    .addHelpText('after', examples('fedlineage model export --db hub-ledger --out cardio-model --coordinator-key "$(cat keys/hub.pub)"'))
    .action(async (raw: { db: string; out: string; round?: string; coordinatorKey?: string }) => {
      const { modelExport } = await import('./commands/model.ts')
      await modelExport(raw, io)
    })
  program
    .command('predict')
    .description("score records with an exported model, prepared as a site prepares its own; or re-score a site's validation split to reproduce its report")
    .requiredOption('--model <dir>', 'an export directory of `fedlineage model export`')
    .option('--site-config <file>', "the site's config: its records and train statistics prepare the inputs; alone, re-scores its validation split")
    .option('--data <file>', 'a CSV to score (the label column is optional); probabilities go to stdout or --out')
    .option('--out <file>', 'write the probabilities CSV here')
    .option('--coordinator-key <hex>', "the coordinator's public key the commit's checkpoint must be signed with")
    .addHelpText(
      'after',
      examples('fedlineage predict --model cardio-model --site-config site.json', 'fedlineage predict --model cardio-model --site-config site.json --data new-patients.csv --out scores.csv'),
    )
    .action(async (raw: { model: string; siteConfig?: string; data?: string; out?: string; coordinatorKey?: string }) => {
      const { predict } = await import('./commands/model.ts')
      await predict(raw, io)
    })
  return program
}
