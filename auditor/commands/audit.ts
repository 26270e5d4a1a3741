/**
 * `fedlineage audit (--db DIR [--key FILE [--fetch-from MULTIADDR...]] | --peer MULTIADDR [--study ID] [--key FILE])
 * [--report FILE] [--html FILE] [--coordinator-key HEX] [--dp-seeds FILE]`: replays a study's lineage log
 * offline, from a local LevelDB replica or one synced from a peer, and
 * re-derives every committed model (see replay.ts). Prints the summary on
 * stdout, writes the JSON report when asked (also when the audit fails, since
 * that is when it is read), and exits 0 only when every check holds and
 * everything was checked. Otherwise an `AuditError` reaches the program's
 * top-level handler, which prints `CODE: message`: the failure's
 * (`AUDIT_…: entry N (kind): …`, exit 1), or `AUDIT_PARTIAL` (exit 3) when a
 * participant's replica lacked what some checks need and nothing failed.
 * A progress bar runs on stderr when it is a terminal.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { Presets, SingleBar } from 'cli-progress'
import type { CliIo } from '../../cli/index.ts'
import { parsePublicKey } from '../../ledger/index.ts'
import type { AuditReport } from '../core/index.ts'
import { AuditInvalidArgumentError, AuditPartialError } from '../errors.ts'
import { replayLog } from '../replay.ts'
import { openAuditSource, type AuditSourceSpec, type OpenedAuditSource } from '../source.ts'
import { formatAuditSummary } from '../summary.ts'
import { writeAuditHtml } from './audit-html.ts'
import { parseNoiseSeeds } from '../../protocol/index.ts'

/** The seeds of `--dp-seeds FILE`. Throws `AuditInvalidArgumentError` naming the file. */
async function readNoiseSeeds(file: string): Promise<ReadonlyMap<string, Uint8Array>> {
  try {
    return parseNoiseSeeds(await readFile(file, 'utf8'), file)
  } catch (err) {
    throw new AuditInvalidArgumentError(`--dp-seeds ${(err as Error).message}`, undefined, { cause: err })
  }
}

/** The audit command's options, checked once. */
export interface AuditCommandOptions {
  readonly source: AuditSourceSpec
  /** Where to write the JSON report; undefined writes none. */
  readonly reportFile: string | undefined
  /** Where to write the self-contained HTML report; undefined writes none. */
  readonly htmlFile?: string | undefined
  /** The coordinator's key, obtained out of band; undefined trusts the log's first author. */
  readonly coordinatorKey: Uint8Array | undefined
  /** A DP study's noise seeds file (`--dp-seeds`); undefined audits without them. */
  readonly dpSeedsFile?: string | undefined
}

/** Commander's raw options, checked into AuditCommandOptions. Throws `AuditInvalidArgumentError`. */
export function parseAuditOptions(raw: Record<string, unknown>): AuditCommandOptions {
  const { db, peer, study, report, coordinatorKey, fetchFrom } = raw
  if ((db === undefined) === (peer === undefined))
    throw new AuditInvalidArgumentError('give exactly one of --db DIR (a local replica) or --peer MULTIADDR (sync over libp2p): `fedlineage audit --peer /ip4/127.0.0.1/tcp/4001/p2p/12D3…`')
  if (fetchFrom !== undefined && db === undefined)
    throw new AuditInvalidArgumentError('--fetch-from: only with --db (a replica whose missing blobs are fetched); with --peer, blobs come from that peer')
  if (fetchFrom !== undefined && raw['key'] === undefined)
    throw new AuditInvalidArgumentError("--fetch-from: needs --key, the key file of the participant whose replica --db is: peers serve blobs under the study's policy, by key")
  if (db !== undefined && (typeof db !== 'string' || db.length === 0))
    throw new AuditInvalidArgumentError("--db: a directory is required: the coordinator's data dir, or a copy of it (`fedlineage audit --db hub-ledger`)")
  if (report !== undefined && (typeof report !== 'string' || report.length === 0)) throw new AuditInvalidArgumentError('--report: a file name is required (`--report audit.json`)')
  const html = raw['html']
  if (html !== undefined && (typeof html !== 'string' || html.length === 0)) throw new AuditInvalidArgumentError('--html: a file name is required (`--html report.html`)')
  let key: Uint8Array | undefined
  if (coordinatorKey !== undefined) {
    try {
      key = parsePublicKey(String(coordinatorKey), '--coordinator-key')
    } catch (err) {
      throw new AuditInvalidArgumentError(`${(err as Error).message}; use the coordinator's .pub file content`, undefined, { cause: err })
    }
  }
  const source: AuditSourceSpec =
    peer !== undefined
      ? {
          kind: 'peer',
          peer: String(peer),
          study: study === undefined ? undefined : String(study),
          coordinatorKey: key,
          replicaDir: raw['replicaDir'] === undefined ? undefined : String(raw['replicaDir']),
          keyFile: raw['key'] === undefined ? undefined : String(raw['key']),
        }
      : {
          kind: 'db',
          dir: String(db),
          keyFile: raw['key'] === undefined ? undefined : String(raw['key']),
          fetchFrom: fetchFrom === undefined ? undefined : (fetchFrom as unknown[]).map(String),
        }
  const dpSeeds = raw['dpSeeds']
  if (dpSeeds !== undefined && (typeof dpSeeds !== 'string' || dpSeeds.length === 0)) throw new AuditInvalidArgumentError('--dp-seeds: a file name is required (`--dp-seeds hub-ledger/dp-seeds.json`)')
  return { source, reportFile: report as string | undefined, htmlFile: html as string | undefined, coordinatorKey: key, dpSeedsFile: dpSeeds as string | undefined }
}

/**
 * Runs the audit the options describe, prints the summary and writes the
 * report. Resolves with the report when the log holds; throws the
 * `AuditError` of its first failure otherwise (after printing and writing).
 */
export async function runAudit(options: AuditCommandOptions, io: CliIo): Promise<AuditReport> {
  const noiseSeeds = options.dpSeedsFile === undefined ? undefined : await readNoiseSeeds(options.dpSeedsFile)
  const opened = await openAuditSource(options.source)
  if (opened.notice !== undefined) io.stderr.write(`${opened.notice}\n`)
  let bar: SingleBar | undefined
  try {
    const started = performance.now()
    const { report, error, blobBytes, state } = await replayLog(opened.source, {
      trustedCoordinatorKey: options.coordinatorKey,
      noiseSeeds,
      onProgress: (done, total) => {
        if (io.stderr.isTTY !== true || total === 0) return
        if (bar === undefined) {
          bar = new SingleBar({ stream: io.stderr, format: 'auditing [{bar}] {value}/{total} entries, eta {eta}s', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
          bar.start(total, done)
        }
        bar.update(done)
      },
    })
    bar?.stop()
    bar = undefined
    const seconds = (performance.now() - started) / 1000
    // What the replay costs per byte of models and deltas (read a slice at a time from the store's files); the verdict stays the last line.
    if (blobBytes > 0) io.stdout.write(`replay read ${(blobBytes / 2 ** 20).toFixed(2)} MiB of models and deltas in ${seconds.toFixed(1)} s (${(blobBytes / 2 ** 20 / seconds).toFixed(1)} MiB/s)\n`)
    io.stdout.write(`${formatAuditSummary(report)}\n`)
    if (options.reportFile !== undefined) await writeFile(options.reportFile, `${JSON.stringify(report, null, 2)}\n`)
    // Written when the audit fails too: the failing entry is what it opens with.
    if (options.htmlFile !== undefined) await writeAuditHtml(options.htmlFile, { report, state }, opened.source, opened.description, Date.now())
    if (error !== undefined) throw error
    if (report.verdict === 'partial') throw partialError(report, opened, options.source)
    return report
  } finally {
    bar?.stop()
    await opened.close()
  }
}

/** The one line a partial audit ends with: how much went unchecked, and how to check more. */
function partialError(report: AuditReport, opened: OpenedAuditSource, spec: AuditSourceSpec): AuditPartialError {
  const n = report.unchecked?.length ?? 0
  const what = `no check failed, but ${n} ${n === 1 ? 'item' : 'items'} could not be checked on ${report.holder ?? 'this'}'s replica, which holds only what its holder may read (the verdict above lists ${n === 1 ? 'it' : 'them'})`
  const hint =
    spec.kind === 'db' && spec.keyFile === undefined
      ? `; run with --key <the key file of ${report.holder ?? 'its holder'}> to fetch what it may read from the peers the replica knows (or --fetch-from MULTIADDR)`
      : spec.kind === 'db' && opened.source.fetchBlob === undefined
        ? "; the replica knows no peer to fetch from: add --fetch-from <the coordinator replica's multiaddr>"
        : "; the rest only the coordinator and the auditors the study names may read: an auditor's full audit is `fedlineage audit --peer MULTIADDR --key AUDITOR.key`"
  return new AuditPartialError(what + hint)
}
