/**
 * `fedlineage log verify --db DIR [--author HEX...]`: verifies every entry of
 * the log in a coordinator's data dir (see verifyLog) and prints
 * `log verified: K entries, head <hash>`. Shows a progress bar on stderr for
 * long logs when stderr is a terminal. A store held by a running process is
 * verified as a consistent snapshot (read-store.ts), said on stderr.
 */
import { SingleBar, Presets } from 'cli-progress'
import type { CliIo } from '../../cli/index.ts'
import { toHex } from '../core/hash.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { parsePublicKey } from '../identity.ts'
import { openStoreForReading, snapshotNotice } from '../read-store.ts'
import { verifyLog } from '../verify.ts'
import { verifyStore } from '../verify-store.ts'

export interface LogVerifyOptions {
  readonly db: string
  /** Trusted authors; undefined trusts any author (signatures are still checked). */
  readonly trustedAuthors: readonly Uint8Array[] | undefined
}

/** Below this many entries verification takes a couple of seconds at most: no bar. */
export const PROGRESS_BAR_MIN_ENTRIES = 10_000

/** Commander's raw options, checked once into LogVerifyOptions. */
export function parseLogVerifyOptions(raw: Record<string, unknown>): LogVerifyOptions {
  const { db, author } = raw
  if (typeof db !== 'string' || db.length === 0) throw new LedgerInvalidArgumentError('--db: a directory is required')
  if (author === undefined) return { db, trustedAuthors: undefined }
  if (!Array.isArray(author)) throw new LedgerInvalidArgumentError('--author: want one or more public keys')
  return { db, trustedAuthors: author.map((hex: unknown, i) => parsePublicKey(String(hex), `--author #${i + 1}`)) }
}

export async function logVerify(options: LogVerifyOptions, io: CliIo): Promise<void> {
  // A store its coordinator or site agent holds is read through a consistent snapshot (read-store.ts).
  const storage = await openStoreForReading(options.db, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) })
  let bar: SingleBar | undefined
  try {
    const result = await verifyLog(storage, {
      trustedAuthors: options.trustedAuthors,
      onProgress: (done, total) => {
        if (io.stderr.isTTY !== true || total < PROGRESS_BAR_MIN_ENTRIES) return
        if (bar === undefined) {
          bar = new SingleBar({ stream: io.stderr, format: 'verifying [{bar}] {value}/{total} entries, eta {eta_formatted}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
          bar.start(total, done)
        } else {
          bar.update(done)
        }
      },
    })
    bar?.stop()
    bar = undefined
    // Checkpoints must be the log author's; with several authors, the first (the coordinator) is taken.
    const store = await verifyStore(storage, options.trustedAuthors?.[0] ?? result.authors[0])
    io.stdout.write(`log verified: ${result.entries} entries, head ${toHex(result.headHash)}\n`)
    io.stdout.write(`store verified: ${store.nodes} Merkle nodes, ${store.checkpoints} checkpoints, ${store.cosignatures} cosignatures, ${store.blobs} blobs\n`)
  } finally {
    bar?.stop()
    await storage.close()
  }
}
