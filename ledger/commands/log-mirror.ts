/**
 * `fedlineage log mirror --url URL --out DIR (--log-key HEX | --verifier-key VKEY)`:
 * fetches a log served as c2sp.org/tlog-tiles, checks its checkpoint
 * signature, every tile and every entry (tile-client.ts), and writes it to a
 * new ledger store in DIR that `fedlineage log verify --db DIR` and
 * `fedlineage log prove --db DIR` read. A progress bar shows on stderr when
 * it is a terminal and the log spans more than a few tiles.
 */
import { Presets, SingleBar } from 'cli-progress'
import type { CliIo } from '../../cli/index.ts'
import { NOTE_KEY_TYPE_ED25519, parseVerifierKey } from '../core/signed-note.ts'
import { checkpointVerifierKey } from '../core/checkpoint.ts'
import { toHex } from '../core/hash.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { parsePublicKey } from '../identity.ts'
import { Ledger } from '../ledger.ts'
import { openLevelStorage } from '../storage.ts'
import { mirrorLog } from '../tile-client.ts'

export interface LogMirrorOptions {
  readonly url: string
  readonly out: string
  readonly logKey: Uint8Array
  /** From a verifier key: the origin the checkpoint must name. */
  readonly origin: string | undefined
}

/** Below this many tiles and bundles the fetch is quick: no bar. */
export const MIRROR_PROGRESS_MIN_RESOURCES = 16

/** Commander's raw options, checked once into LogMirrorOptions. */
export function parseLogMirrorOptions(raw: { url?: string; out?: string; logKey?: string; verifierKey?: string }): LogMirrorOptions {
  if (!raw.url || !/^https?:\/\//.test(raw.url))
    throw new LedgerInvalidArgumentError(`--url: ${JSON.stringify(raw.url ?? '')} is not an http(s) URL; give the log's prefix, e.g. http://127.0.0.1:8080`)
  if (!raw.out) throw new LedgerInvalidArgumentError('--out: a directory for the mirrored store is required')
  if ((raw.logKey === undefined) === (raw.verifierKey === undefined))
    throw new LedgerInvalidArgumentError(
      'give exactly one of --log-key HEX (the coordinator key) or --verifier-key VKEY (as `fedlineage log checkpoint` prints it): a mirror checks the log against a key you hold',
    )
  if (raw.logKey !== undefined) return { url: raw.url, out: raw.out, logKey: parsePublicKey(raw.logKey, '--log-key'), origin: undefined }
  const vkey = parseVerifierKey(raw.verifierKey!)
  if (vkey.type !== NOTE_KEY_TYPE_ED25519) throw new LedgerInvalidArgumentError(`--verifier-key: key type 0x${vkey.type.toString(16)}, want 0x01 (Ed25519): give the log's key, not a witness's`)
  return { url: raw.url, out: raw.out, logKey: vkey.publicKey, origin: vkey.name }
}

export async function logMirror(options: LogMirrorOptions, io: CliIo): Promise<void> {
  const ledger = await Ledger.open(await openLevelStorage(options.out))
  let bar: SingleBar | undefined
  try {
    const result = await mirrorLog({
      url: options.url,
      logKey: options.logKey,
      origin: options.origin,
      into: ledger,
      onProgress: (done, total) => {
        if (io.stderr.isTTY !== true || total < MIRROR_PROGRESS_MIN_RESOURCES) return
        if (bar === undefined) {
          bar = new SingleBar(
            { stream: io.stderr, format: 'mirroring [{bar}] {value}/{total} tiles and bundles, eta {eta_formatted}', hideCursor: true, clearOnComplete: true },
            Presets.shades_classic,
          )
          bar.start(total, done)
        } else bar.update(done)
      },
    })
    bar?.stop()
    bar = undefined
    const cp = result.checkpoint
    io.stdout.write(`mirrored ${cp.origin}: ${cp.size} entries, root ${toHex(cp.root)}\n`)
    io.stdout.write(`checked ${result.bundles} entry bundles and ${result.tiles} tiles (${result.bytes} bytes) against the checkpoint signed by ${checkpointVerifierKey(cp.origin, options.logKey)}\n`)
    io.stdout.write(`next: fedlineage log verify --db ${options.out}\n`)
  } finally {
    bar?.stop()
    await ledger.close()
  }
}
