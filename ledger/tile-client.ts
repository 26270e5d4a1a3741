/**
 * Mirrors a log served as c2sp.org/tlog-tiles into a local ledger, trusting
 * nothing the server says until it is checked:
 *
 * 1. the checkpoint must be signed by the log's key (its verifier key, or its
 *    raw Ed25519 key under the origin the note names);
 * 2. every entry bundle is fetched and split; the Merkle root of all entries
 *    must be the checkpoint's root (CheckpointRootMismatchError);
 * 3. every hash tile the checkpoint's tree has, level 0 up, must equal the
 *    hashes recomputed from those entries (TileMismatchError), so a server
 *    that serves tiles inconsistent with its signed root is caught;
 * 4. the entries are appended with `Ledger.appendReplicated`, which checks
 *    each entry's chain link, author and signature, the root again, and
 *    stores entries, tree and checkpoint in one batch (nothing on failure).
 *
 * Blobs (models, deltas) are not part of tlog-tiles: the mirror holds the
 * log, and `fedlineage log verify` checks it whole.
 */
import { TILE_HEIGHT, TILE_WIDTH, decodeEntryBundle, entryBundlePath, splitTileHashes, tilePath, tilesForSize } from './core/tiles.ts'
import { EMPTY_COMPACT_RANGE, appendLeaves, rootOfRange } from './core/compact-range.ts'
import { RFC6962_SHA256, hashLeaf } from './core/merkle.ts'
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './core/checkpoint.ts'
import { CheckpointRootMismatchError } from './core/checkpoint-errors.ts'
import { TileFetchError, TileMismatchError } from './core/tile-errors.ts'
import { equalBytes } from './core/canonical.ts'
import { toHex } from './core/hash.ts'
import { LedgerInvalidArgumentError } from './errors.ts'
import type { Ledger } from './ledger.ts'

/** What `mirrorLog` needs. */
export interface MirrorLogInit {
  /** The log's URL prefix: `<url>/checkpoint`, `<url>/tile/...`. */
  readonly url: string
  /** The log's Ed25519 checkpoint key. */
  readonly logKey: Uint8Array
  /** The origin the checkpoint must name; when absent, the one it names (its signature binds the name to the key). */
  readonly origin?: string | undefined
  /** An empty ledger to mirror into. */
  readonly into: Ledger
  /** Called after each fetched resource with how many of `total` are done. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined
  readonly fetch?: typeof globalThis.fetch
  /** Per request (default 30 s). */
  readonly timeoutMs?: number
}

export interface MirroredLog {
  readonly checkpoint: Checkpoint
  readonly tiles: number
  readonly bundles: number
  readonly bytes: number
}

const HASHER = RFC6962_SHA256

/** Fetches, checks and stores the log at `init.url` (see the module comment). */
export async function mirrorLog(init: MirrorLogInit): Promise<MirroredLog> {
  if (init.into.length > 0) throw new LedgerInvalidArgumentError(`the target ledger already holds ${init.into.length} entries: mirror into an empty directory`)
  const base = init.url.replace(/\/+$/, '')
  const get = fetcher(base, init.fetch ?? globalThis.fetch, init.timeoutMs ?? 30_000)
  let bytes = 0
  const note = new TextDecoder().decode(await get('checkpoint'))
  const signed: SignedCheckpoint = { note }
  const cp = openCheckpoint(signed, init.logKey, init.origin)

  const tiles = tilesForSize(cp.size)
  const bundles = tiles.filter((t) => t.level === 0)
  const total = 1 + tiles.length + bundles.length
  let done = 1
  const progress = () => init.onProgress?.(++done, total)
  init.onProgress?.(done, total)

  // 2. Every entry, then the root they make.
  const entries: Uint8Array[] = []
  for (const t of bundles) {
    const body = await get(entryBundlePath(t.index, t.width))
    bytes += body.length
    entries.push(...decodeEntryBundle(body, t.width).map((e) => e.slice()))
    progress()
  }
  const wanted = new Map<string, Uint8Array>()
  const visit = (level: number, index: number, hash: Uint8Array) => {
    if (level % TILE_HEIGHT === 0) wanted.set(`${level}/${index}`, hash)
  }
  const range = appendLeaves(HASHER, EMPTY_COMPACT_RANGE, entries.map(hashLeaf), visit)
  const root = rootOfRange(HASHER, range)
  if (!equalBytes(root, cp.root))
    throw new CheckpointRootMismatchError(`entries [0, ${cp.size}) served at ${base} have root ${toHex(root).slice(0, 16)}…, the signed checkpoint says ${toHex(cp.root).slice(0, 16)}…`, cp.root, root)

  // 3. Every tile against the verified tree.
  for (const t of tiles) {
    const path = tilePath(t)
    const body = await get(path)
    bytes += body.length
    const hashes = splitTileHashes(body, t.width)
    if (hashes === undefined) throw new TileMismatchError(path, `${body.length} bytes, want ${t.width * 32} (${t.width} hashes)`)
    hashes.forEach((hash, i) => {
      const index = t.index * TILE_WIDTH + i
      const expected = wanted.get(`${t.level * TILE_HEIGHT}/${index}`)!
      if (!equalBytes(hash, expected)) throw new TileMismatchError(path, `hash ${i} (tree level ${t.level * TILE_HEIGHT}, index ${index}) is not the one the signed root commits to`, expected, hash)
    })
    progress()
  }

  // 4. Chain, authors, signatures, root; stored in one batch.
  await init.into.appendReplicated(entries, signed, { coordinatorKey: init.logKey, origin: cp.origin })
  return { checkpoint: cp, tiles: tiles.length, bundles: bundles.length, bytes }
}

function fetcher(base: string, fetchFn: typeof globalThis.fetch, timeoutMs: number): (path: string) => Promise<Uint8Array> {
  return async (path) => {
    const url = `${base}/${path}`
    let res: Response
    try {
      res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'Accept-Encoding': 'gzip, identity' } })
    } catch (err) {
      throw new TileFetchError(url, undefined, `no answer: ${(err as Error).message}`, { cause: err })
    }
    if (res.status !== 200) throw new TileFetchError(url, res.status, `status ${res.status}, want 200${res.status === 404 ? ' (is --url the log prefix, serving /checkpoint and /tile/?)' : ''}`)
    try {
      return new Uint8Array(await res.arrayBuffer())
    } catch (err) {
      // A body cut short or a gzip stream that does not inflate.
      throw new TileFetchError(url, res.status, `the body did not arrive whole: ${(err as Error).message}`, { cause: err })
    }
  }
}
