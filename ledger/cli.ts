/**
 * The ledger's commands, for the fedlineage program to register:
 *
 *   keygen --out DIR [--name NAME] [--force]
 *   log verify --db DIR [--author HEX...]
 *   log prove --db DIR --seq N [--size S] [--format json|tlog-proof] [--out FILE]
 *   log check-proof --proof FILE [--coordinator-key HEX | --verifier-key VKEY | --trust-bundle-key] [--policy FILE]
 *   log checkpoint --db DIR [--size N]
 *   witness --key FILE --log VKEY [--listen HOST:PORT] [--state DIR] [--name NAME]
 *   log mirror --url URL --out DIR (--log-key HEX | --verifier-key VKEY)
 *
 * This file holds only what help shows (names, options, examples), so that
 * `fedlineage --help` loads no LevelDB: each action imports its command from
 * commands/ when it runs. Commands throw typed errors; the program's
 * top-level handler (runCommand, cli/index.ts) prints them.
 */
import type { Command } from 'commander'
import { examples, processIo, type CliIo } from '../cli/index.ts'

/** The file name stem `keygen` writes when no --name is given. */
export const DEFAULT_IDENTITY_NAME = 'identity'
/** Where `fedlineage witness` listens when no --listen is given. */
export const DEFAULT_WITNESS_LISTEN = '127.0.0.1:7380'
/** Where `fedlineage witness` keeps its state when no --state is given. */
export const DEFAULT_WITNESS_STATE_DIR = 'witness-state'

/**
 * Adds the ledger's commands to `program`. `log` is shared with other
 * folders' log subcommands: an existing `log` command is reused.
 */
export function registerLedgerCommands(program: Command, io: CliIo = processIo()): Command {
  program
    .command('keygen')
    .description('create an Ed25519 identity: <out>/<name>.key (mode 0600) and <out>/<name>.pub')
    .requiredOption('--out <dir>', 'directory for the key files (created with mode 0700)')
    .option('--name <name>', 'file name stem', DEFAULT_IDENTITY_NAME)
    .option('--force', 'replace existing key files (the old key is lost)', false)
    .addHelpText('after', examples('fedlineage keygen --out keys --name st-marys   # keys/st-marys.key stays here; send keys/st-marys.pub to the hub'))
    .action(async (raw: Record<string, unknown>) => {
      const { keygen, parseKeygenOptions } = await import('./commands/keygen.ts')
      await keygen(parseKeygenOptions(raw), io)
    })

  program
    .command('witness')
    .description('run a C2SP tlog-witness: cosign the checkpoints of the logs given, never a smaller or inconsistent tree')
    .requiredOption('--key <file>', "the witness's Ed25519 key file (`fedlineage keygen`); it signs cosignature/v1 lines")
    .requiredOption('--log <vkey...>', "verifier key of each log to follow (the coordinator's, printed by `fedlineage log checkpoint`)")
    .option('--listen <host:port>', 'address of the HTTP service (POST /add-checkpoint)', DEFAULT_WITNESS_LISTEN)
    .option('--state <dir>', 'folder of the state file (the last tree cosigned per log); never delete it while the key is in use', DEFAULT_WITNESS_STATE_DIR)
    .option('--name <name>', "the witness's key name in its cosignatures (default fedlineage.example/witness/<public key hex>)")
    .addHelpText(
      'after',
      examples(
        'fedlineage witness --key keys/st-marys.key --log "$LOG_VKEY"   # LOG_VKEY: the "verifier key:" line of `fedlineage log checkpoint`',
        'fedlineage witness --key keys/w1.key --log fedlineage.example/study/cardio-risk+1a2b3c4d+AQ... --listen 0.0.0.0:7380 --state /var/lib/fedlineage/witness',
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const { parseWitnessOptions, runWitness } = await import('./commands/witness.ts')
      await runWitness(parseWitnessOptions(raw), io)
    })

  const log = program.commands.find((c) => c.name() === 'log') ?? program.command('log').description('inspect and verify the lineage log')
  log
    .command('verify')
    .description('verify every entry of a ledger: encoding, chain, signatures, authors, head')
    .requiredOption('--db <dir>', "the ledger's LevelDB directory (the coordinator's data dir, or a replica's; also while it runs)")
    .option('--author <hex...>', 'trusted author public keys (64 hex digits each); any other author fails')
    .addHelpText('after', examples('fedlineage log verify --db hub-ledger', 'fedlineage log verify --db hub-ledger --author "$(cat keys/hub.pub)"'))
    .action(async (raw: Record<string, unknown>) => {
      const { logVerify, parseLogVerifyOptions } = await import('./commands/log-verify.ts')
      await logVerify(parseLogVerifyOptions(raw), io)
    })
  log
    .command('prove')
    .description('print an inclusion proof of one entry against a signed checkpoint')
    .requiredOption('--db <dir>', "the ledger's LevelDB directory (also while its coordinator or site agent runs)")
    .requiredOption('--seq <n>', 'the entry to prove')
    .option('--size <n>', 'tree size of the signed checkpoint to prove against (default: the newest)')
    .option('--format <format>', 'json (a fedlineage bundle) or tlog-proof (c2sp.org/tlog-proof@v1 text, the entry as its extra data)', 'json')
    .option('--out <file>', 'write the proof to a file instead of stdout')
    .addHelpText('after', examples('fedlineage log prove --db hub-ledger --seq 87 --out entry-87.json', 'fedlineage log prove --db hub-ledger --seq 87 --format tlog-proof --out entry-87.tlog-proof'))
    .action(async (raw: { db: string; seq: string; size?: string; out?: string; format?: string }) => {
      const { logProve } = await import('./commands/log-prove.ts')
      await logProve(raw, io)
    })
  log
    .command('check-proof')
    .description('check an inclusion proof bundle offline (no access to the log needed)')
    .requiredOption('--proof <file>', 'the JSON bundle or tlog-proof from `fedlineage log prove`')
    .option('--coordinator-key <hex>', "the coordinator's public key the checkpoint must be signed with")
    .option('--verifier-key <vkey>', "the log's verifier key (origin+keyid+base64), as `fedlineage log checkpoint` prints it: pins the key and the origin")
    .option('--trust-bundle-key', "accept the checkpoint key the bundle names (without it, an unpinned check fails): only when you hold the bundle's key from the coordinator")
    .option('--policy <file>', "a c2sp.org/tlog-policy (e.g. the study's witness policy): a tlog-proof's checkpoint must carry cosignatures meeting its quorum")
    .addHelpText(
      'after',
      examples(
        'fedlineage log check-proof --proof entry-87.json --coordinator-key "$(cat keys/hub.pub)"',
        'fedlineage log check-proof --proof entry-87.tlog-proof --verifier-key "fedlineage.example/study/demo+1a2b3c4d+AT…"',
        'fedlineage log check-proof --proof entry-87.tlog-proof --verifier-key "fedlineage.example/study/demo+1a2b3c4d+AT…" --policy witness-policy.txt',
      ),
    )
    .action(async (raw: { proof: string; coordinatorKey?: string; verifierKey?: string; trustBundleKey?: boolean; policy?: string }) => {
      const { logCheckProof } = await import('./commands/log-check-proof.ts')
      await logCheckProof(raw, io)
    })
  log
    .command('checkpoint')
    .description("print the newest signed checkpoint as a C2SP signed note, with its witnesses' cosignatures")
    .requiredOption('--db <dir>', "the ledger's LevelDB directory (also while its coordinator or site agent runs)")
    .option('--size <n>', 'the checkpoint of this tree size instead of the newest')
    .addHelpText('after', examples('fedlineage log checkpoint --db hub-ledger > checkpoint.txt   # the verifier key is printed on stderr'))
    .action(async (raw: { db: string; size?: string }) => {
      const { logCheckpoint } = await import('./commands/log-checkpoint.ts')
      await logCheckpoint(raw, io)
    })
  log
    .command('mirror')
    .description('fetch a log served as C2SP tlog-tiles, verify its checkpoint, every tile and every entry, and store it')
    .requiredOption('--url <url>', "the log's URL prefix (the coordinator's --http address: it serves /checkpoint and /tile/)")
    .requiredOption('--out <dir>', 'a new directory for the mirrored ledger store')
    .option('--log-key <hex>', "the coordinator's public key (64 hex digits) the checkpoint must be signed with")
    .option('--verifier-key <vkey>', "the log's verifier key (origin+keyid+base64), as `fedlineage log checkpoint` prints it")
    .addHelpText(
      'after',
      examples(
        'fedlineage log mirror --url http://127.0.0.1:8080 --out mirror --verifier-key "fedlineage.example/study/demo+1a2b3c4d+AT…"',
        'fedlineage log mirror --url http://127.0.0.1:8080 --out mirror --log-key "$(cat keys/hub.pub)" && fedlineage log verify --db mirror',
      ),
    )
    .action(async (raw: { url?: string; out?: string; logKey?: string; verifierKey?: string }) => {
      const { logMirror, parseLogMirrorOptions } = await import('./commands/log-mirror.ts')
      await logMirror(parseLogMirrorOptions(raw), io)
    })
  return program
}
