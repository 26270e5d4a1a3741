/**
 * c2sp.org/tlog-tiles, pure parts (ledger/core/tiles.ts). The known answers
 * are the spec's own, copied from https://c2sp.org/tlog-tiles ("Merkle Tree"
 * and "Partial Tiles"): index 1234067 is `x001/x234/067`; a tree of 70,000
 * entries is 273 full level-0 tiles and one of width 112, one full level-1
 * tile and one of width 17, and one level-2 tile of width 1; a tree of 256 is
 * one full level-0 tile and a level-1 tile of width 1.
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_ENTRY_BYTES,
  TILE_WIDTH,
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entryBundlePath,
  parseTilePath,
  tileNodeIds,
  tilePath,
  tileWidthAt,
  tilesForSize,
} from '../../../ledger/core/index.ts'

describe('tile index encoding (spec: 1234067 → x001/x234/067)', () => {
  it.each([
    { index: 1234067, want: 'x001/x234/067' },
    { index: 0, want: '000' },
    { index: 7, want: '007' },
    { index: 999, want: '999' },
    { index: 1000, want: 'x001/000' },
    { index: 1_000_000, want: 'x001/x000/000' },
  ])('$index → $want', ({ index, want }) => {
    expect(encodeTileIndex(index)).toBe(want)
  })

  it('writes full and partial tile and bundle paths, and reads them back', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067')
    expect(tilePath({ level: 2, index: 0, width: 1 })).toBe('tile/2/000.p/1')
    expect(entryBundlePath(273, 112)).toBe('tile/entries/273.p/112')
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({ kind: 'hashes', level: 0, index: 1234067, width: 256 })
    expect(parseTilePath('tile/1/001.p/17')).toEqual({ kind: 'hashes', level: 1, index: 1, width: 17 })
    expect(parseTilePath('tile/entries/x001/x234/067.p/5')).toEqual({ kind: 'entries', index: 1234067, width: 5 })
  })

  it.each([
    ['tile/00/000', 'level with a leading zero'],
    ['tile/64/000', 'level above 63'],
    ['tile/0/1234067', 'index not in 3-digit groups'],
    ['tile/0/001/234', 'a non-final group without x'],
    ['tile/0/x001', 'a final group with x'],
    ['tile/0/000.p/0', 'width 0'],
    ['tile/0/000.p/256', 'width 256 as partial'],
    ['tile/0/000.p/05', 'width with a leading zero'],
    ['tile/0', 'no index'],
    ['tiles/0/000', 'not under tile/'],
  ])('refuses %s (%s) with LEDGER_TILE_PATH_INVALID', (path) => {
    expect(() => parseTilePath(path)).toThrow(expect.objectContaining({ code: 'LEDGER_TILE_PATH_INVALID' }))
  })
})

describe('tiles of a tree (spec: widths for 70,000 and 256 entries)', () => {
  it('a tree of 70,000: 273 full + 112 at level 0, 1 full + 17 at level 1, 1 at level 2', () => {
    // Execute
    const tiles = tilesForSize(70_000)

    // Assert
    const at = (level: number) => tiles.filter((t) => t.level === level)
    expect(at(0)).toHaveLength(274)
    expect(at(0).filter((t) => t.width === TILE_WIDTH)).toHaveLength(273)
    expect(at(0).at(-1)).toEqual({ level: 0, index: 273, width: 112 })
    expect(at(1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ])
    expect(at(2)).toEqual([{ level: 2, index: 0, width: 1 }])
    expect(at(3)).toEqual([])
    expect(tileWidthAt(70_000, 0, 273)).toBe(112)
    expect(tileWidthAt(70_000, 1, 1)).toBe(17)
    expect(tileWidthAt(70_000, 0, 274)).toBe(0)
  })

  it('a tree of 256: one full level-0 tile and a level-1 tile of width 1; the empty tree has none', () => {
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ])
    expect(tilesForSize(0)).toEqual([])
  })

  it('a tile at level L holds tree level 8·L nodes from index N·256', () => {
    expect(tileNodeIds({ level: 1, index: 0, width: 2 })).toEqual([
      { level: 8, index: 0 },
      { level: 8, index: 1 },
    ])
    expect(tileNodeIds({ level: 0, index: 3, width: 256 }).at(-1)).toEqual({ level: 0, index: 1023 })
  })
})

describe('entry bundles (uint16 length-prefixed)', () => {
  it('round-trips entries, including empty and maximal ones', () => {
    // Prepare
    const entries = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(MAX_ENTRY_BYTES).fill(7)]

    // Execute
    const bundle = encodeEntryBundle(entries)

    // Assert
    expect(bundle.subarray(0, 5)).toEqual(new Uint8Array([0, 3, 1, 2, 3]))
    expect(bundle.length).toBe(3 * 2 + 3 + MAX_ENTRY_BYTES)
    expect(decodeEntryBundle(bundle, 3)).toEqual(entries)
  })

  it('refuses an entry over 65,535 bytes, a truncated bundle, trailing garbage and a wrong count', () => {
    const bundle = encodeEntryBundle([new Uint8Array([9, 9]), new Uint8Array([8])])
    expect(() => encodeEntryBundle([new Uint8Array(MAX_ENTRY_BYTES + 1)])).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_BUNDLE_MALFORMED' }))
    expect(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1))).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_BUNDLE_MALFORMED' }))
    expect(() => decodeEntryBundle(new Uint8Array([...bundle, 0]))).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_BUNDLE_MALFORMED' }))
    expect(() => decodeEntryBundle(bundle, 3)).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_BUNDLE_MALFORMED' }))
  })
})
