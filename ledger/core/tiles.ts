/**
 * c2sp.org/tlog-tiles: the log's Merkle tree and entries as static tiles.
 *
 * A tile at level L, index N holds up to 256 consecutive Merkle tree hashes
 * of tree level 8·L (tile height 8): hash i is the node (8·L, N·256 + i),
 * which covers leaves [(N·256 + i)·256^L, (N·256 + i + 1)·256^L). Level-0
 * tiles hold leaf hashes; a level L+1 hash is the root of a *full* level-L
 * tile. A tile of fewer than 256 hashes is partial (`.p/<W>`) and is never
 * hashed into the level above. Entry bundles (`tile/entries/N`) hold the
 * entries of level-0 tile N, each as a big-endian uint16 length then the
 * entry's bytes, so an entry is at most 65,535 bytes (MAX_ENTRY_BYTES).
 *
 * Paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with N split
 * into zero-padded 3-digit elements, all but the last prefixed `x`
 * (1234067 → `x001/x234/067`).
 *
 * Pure: no I/O. The server side is ../tiles.ts, the client ../tile-client.ts.
 */
import { HASH_LENGTH_BYTES } from './constants.ts'
import type { NodeId } from './merkle.ts'
import { EntryBundleMalformedError, TilePathInvalidError } from './tile-errors.ts'

/** Tree levels a tile spans (tlog-tiles fixes it at 8). */
export const TILE_HEIGHT = 8
/** Hashes in a full tile, 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256
/** The highest tile level a path may name. */
export const MAX_TILE_LEVEL = 63
/** The largest entry an entry bundle can carry: its length prefix is a uint16. */
export const MAX_ENTRY_BYTES = 0xffff

/** A hash tile: `level` 0..63, `index` within the level, `width` 1..256 (256 is full). */
export interface TileId {
  readonly level: number
  readonly index: number
  readonly width: number
}

/** What a tile path names: a hash tile, or the entry bundle of level-0 tile `index`. */
export type TilePath = ({ readonly kind: 'hashes' } & TileId) | { readonly kind: 'entries'; readonly index: number; readonly width: number }

/** `N` as a path: 3-digit groups, all but the last prefixed `x` (1234067 → `x001/x234/067`). Requires a safe non-negative integer. */
export function encodeTileIndex(index: number): string {
  let digits = String(index)
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0')
  const groups: string[] = []
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3))
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/')
}

const widthSuffix = (width: number) => (width === TILE_WIDTH ? '' : `.p/${width}`)

/** `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(tile: TileId): string {
  return `tile/${tile.level}/${encodeTileIndex(tile.index)}${widthSuffix(tile.width)}`
}

/** `tile/entries/<N>[.p/<W>]`. */
export function entryBundlePath(index: number, width: number): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`
}

const DECIMAL = /^(0|[1-9][0-9]*)$/

/**
 * Parses a tile or entry-bundle path (without a leading `/`), strictly: a
 * level of 0..63 and a width of 1..255 without leading zeros, index groups
 * of exactly three digits. Throws `TilePathInvalidError` naming the part.
 */
export function parseTilePath(path: string): TilePath {
  const parts = path.split('/')
  if (parts[0] !== 'tile' || parts.length < 3) throw new TilePathInvalidError(path, 'want tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]')
  const levelPart = parts[1]!
  let rest = parts.slice(2)
  let width = TILE_WIDTH
  const last = rest.at(-1)!
  if (rest.length >= 2 && rest.at(-2)!.endsWith('.p')) {
    if (!DECIMAL.test(last) || Number(last) < 1 || Number(last) >= TILE_WIDTH) throw new TilePathInvalidError(path, `partial width ${JSON.stringify(last)}: want 1 to 255, no leading zeros`)
    width = Number(last)
    rest = [...rest.slice(0, -2), rest.at(-2)!.slice(0, -'.p'.length)]
  }
  let index = 0
  rest.forEach((group, i) => {
    const final = i === rest.length - 1
    const digits = final ? group : group.startsWith('x') ? group.slice(1) : undefined
    if (digits === undefined || !/^[0-9]{3}$/.test(digits)) throw new TilePathInvalidError(path, `index element ${JSON.stringify(group)}: want ${final ? '' : 'x'}NNN (three digits)`)
    index = index * 1000 + Number(digits)
  })
  if (!Number.isSafeInteger(index)) throw new TilePathInvalidError(path, 'index is beyond 2^53')
  if (levelPart === 'entries') return { kind: 'entries', index, width }
  if (!DECIMAL.test(levelPart) || Number(levelPart) > MAX_TILE_LEVEL) throw new TilePathInvalidError(path, `level ${JSON.stringify(levelPart)}: want 0 to ${MAX_TILE_LEVEL}, no leading zeros`)
  return { kind: 'hashes', level: Number(levelPart), index, width }
}

/**
 * Every tile of the tree of `size` leaves, level by level, left to right:
 * at level L there are floor(size / 256^L) hashes, in full tiles and one
 * partial tile of the remainder when it is not zero. (70,000 leaves: 273
 * full level-0 tiles and one of width 112, one full level-1 tile and one of
 * width 17, one level-2 tile of width 1.)
 */
export function tilesForSize(size: number): TileId[] {
  const out: TileId[] = []
  for (let level = 0, hashes = size; hashes > 0; level++, hashes = Math.floor(hashes / TILE_WIDTH)) {
    const full = Math.floor(hashes / TILE_WIDTH)
    for (let index = 0; index < full; index++) out.push({ level, index, width: TILE_WIDTH })
    if (hashes % TILE_WIDTH > 0) out.push({ level, index: full, width: hashes % TILE_WIDTH })
  }
  return out
}

/** The widest tile `index` of `level` that a tree of `size` leaves has (0 when it has none of it). */
export function tileWidthAt(size: number, level: number, index: number): number {
  const hashes = Math.floor(size / TILE_WIDTH ** level)
  return Math.max(0, Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH))
}

/** The Merkle nodes a tile holds, in order: level 8·L, indexes N·256 .. N·256 + W - 1. */
export function tileNodeIds(tile: TileId): NodeId[] {
  const level = tile.level * TILE_HEIGHT
  return Array.from({ length: tile.width }, (_, i) => ({ level, index: tile.index * TILE_WIDTH + i }))
}

/** A tile's bytes split into its `width` hashes (views), or undefined when it is not width × 32 bytes long. */
export function splitTileHashes(bytes: Uint8Array, width: number): Uint8Array[] | undefined {
  if (bytes.length !== width * HASH_LENGTH_BYTES) return undefined
  return Array.from({ length: width }, (_, i) => bytes.subarray(i * HASH_LENGTH_BYTES, (i + 1) * HASH_LENGTH_BYTES))
}

/** Concatenates hashes into a tile's bytes. */
export function joinTileHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_LENGTH_BYTES)
  hashes.forEach((h, i) => out.set(h, i * HASH_LENGTH_BYTES))
  return out
}

/** An entry bundle: each entry as a big-endian uint16 length and its bytes. Requires entries of at most MAX_ENTRY_BYTES (the ledger refuses larger ones at append). */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0))
  let at = 0
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new EntryBundleMalformedError(`entry bundle: an entry of ${e.length} bytes does not fit a uint16 length prefix (max ${MAX_ENTRY_BYTES})`)
    out[at] = e.length >> 8
    out[at + 1] = e.length & 0xff
    out.set(e, at + 2)
    at += 2 + e.length
  }
  return out
}

/**
 * Splits an entry bundle into its entries (views into `bytes`). Throws
 * `EntryBundleMalformedError` for a truncated length or entry, and when
 * `count` is given and the bundle holds another number of entries.
 */
export function decodeEntryBundle(bytes: Uint8Array, count?: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new EntryBundleMalformedError(`entry bundle: ${bytes.length - at} byte(s) left after entry ${out.length - 1}, want a 2-byte length`)
    const length = (bytes[at]! << 8) | bytes[at + 1]!
    if (at + 2 + length > bytes.length) throw new EntryBundleMalformedError(`entry bundle: entry ${out.length} says ${length} bytes, only ${bytes.length - at - 2} left`)
    out.push(bytes.subarray(at + 2, at + 2 + length))
    at += 2 + length
  }
  if (count !== undefined && out.length !== count) throw new EntryBundleMalformedError(`entry bundle: ${out.length} entries, want ${count}`)
  return out
}
