/**
 * The read side of c2sp.org/tlog-tiles as plain responses, for whatever
 * HTTP server mounts them (the coordinator's dashboard port does):
 *
 *   GET /checkpoint                   the newest signed checkpoint with its cosignatures (text/plain)
 *   GET /tile/<L>/<N>[.p/<W>]         hash tiles, from the stored Merkle nodes
 *   GET /tile/entries/<N>[.p/<W>]     entry bundles
 *
 * Only what the newest checkpoint covers is served: a tile or bundle beyond
 * its size is 404, so a client never sees a tile no signed root commits to.
 * Caching: full tiles and bundles never change (`immutable`, a year); a
 * partial one is replaced by a wider one as the log grows, so it is kept a
 * minute at most; the checkpoint changes with every round (`no-cache`).
 * Entry bundles are gzipped for a client that accepts it (the spec asks
 * bundles to be compressed at the HTTP layer; CBOR entries shrink ~3×).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { TILE_WIDTH, parseTilePath, tileWidthAt } from './core/tiles.ts'
import { readCheckpoint } from './core/checkpoint.ts'
import { LedgerError } from './errors.ts'
import type { Ledger } from './ledger.ts'

export const FULL_TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
export const PARTIAL_TILE_CACHE_CONTROL = 'public, max-age=60'
export const CHECKPOINT_CACHE_CONTROL = 'no-cache'

export interface TileResponse {
  readonly status: number
  readonly contentType: string
  readonly cacheControl: string
  readonly body: Uint8Array | string
  /** `gzip` when `body` is compressed (send it as Content-Encoding, with `Vary: Accept-Encoding`). */
  readonly contentEncoding?: 'gzip'
}

const TEXT = 'text/plain; charset=utf-8'
const notFound = (why: string): TileResponse => ({ status: 404, contentType: TEXT, cacheControl: 'no-store', body: `${why}\n` })

/** True when `pathname` is one of the routes `tileResponse` answers. */
export function isTileRoute(pathname: string): boolean {
  return pathname === '/checkpoint' || pathname.startsWith('/tile/')
}

/**
 * The response to GET `pathname` (see the module comment); 400 for a path
 * tlog-tiles does not allow, 404 for one the log does not have.
 * `acceptEncoding` is the request's Accept-Encoding header.
 */
export async function tileResponse(ledger: Ledger, pathname: string, acceptEncoding = ''): Promise<TileResponse> {
  const latest = await ledger.latestCheckpoint()
  if (pathname === '/checkpoint') {
    if (latest === undefined) return notFound('the log has no signed checkpoint yet')
    const size = readCheckpoint(latest).size
    const note = (await ledger.cosignedCheckpointAt(size)) ?? latest
    return { status: 200, contentType: TEXT, cacheControl: CHECKPOINT_CACHE_CONTROL, body: note.note }
  }
  let path
  try {
    path = parseTilePath(pathname.slice(1))
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err
    return { status: 400, contentType: TEXT, cacheControl: 'no-store', body: `${err.message}\n` }
  }
  const size = latest === undefined ? 0 : Math.min(readCheckpoint(latest).size, ledger.length)
  const level = path.kind === 'entries' ? 0 : path.level
  const available = tileWidthAt(size, level, path.index)
  if (available < path.width) return notFound(`${pathname.slice(1)}: the newest checkpoint (size ${size}) has ${available} hash(es) in this tile`)
  const body = path.kind === 'entries' ? await ledger.readEntryBundle(path.index, path.width) : await ledger.readTile(path)
  const cacheControl = path.width === TILE_WIDTH ? FULL_TILE_CACHE_CONTROL : PARTIAL_TILE_CACHE_CONTROL
  // Hash tiles are random bytes: only bundles are worth compressing.
  if (path.kind === 'entries' && acceptsGzip(acceptEncoding)) return { status: 200, contentType: 'application/octet-stream', cacheControl, body: gzipSync(body), contentEncoding: 'gzip' }
  return { status: 200, contentType: 'application/octet-stream', cacheControl, body }
}

/** True when an Accept-Encoding header accepts gzip (`gzip` listed without `q=0`). */
function acceptsGzip(header: string): boolean {
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    return (name === 'gzip' || name === '*') && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p))
  })
}

/**
 * Answers a tile route on any node:http server (the coordinator's dashboard
 * port, a site's metrics port): `tileResponse`'s status, headers and body,
 * the body left out for HEAD.
 */
export async function sendTile(ledger: Ledger, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const tile = await tileResponse(ledger, pathname, req.headers['accept-encoding'])
  res.writeHead(tile.status, {
    'Content-Type': tile.contentType,
    'Cache-Control': tile.cacheControl,
    'Content-Length': Buffer.byteLength(tile.body),
    ...(tile.contentEncoding === undefined ? {} : { 'Content-Encoding': tile.contentEncoding, Vary: 'Accept-Encoding' }),
  })
  res.end(req.method === 'HEAD' ? undefined : tile.body)
}
