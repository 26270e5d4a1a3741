import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  EMPTY_COMPACT_RANGE,
  RFC6962_SHA256,
  appendLeaf,
  appendLeaves,
  compactRangeFrom,
  compactRangeOf,
  fromHex,
  hashChildren,
  hashLeaf,
  rootFrom,
  rootOf,
  rootOfRange,
  toHex,
  type CompactRange,
  type NodeReader,
} from '../../../ledger/core/index.ts'

const hasher = RFC6962_SHA256
const code = (c: string) => expect.objectContaining({ code: c })
const leaves = (count: number) => Array.from({ length: count }, (_, i) => hashLeaf(Uint8Array.of(i % 256, Math.floor(i / 256))))

type RangeVector = { desc: string; leaves: string[]; want: string[] }
const vectors = (JSON.parse(readFileSync(new URL('../../vectors/merkle-compact-ranges.json', import.meta.url), 'utf8')) as { vectors: RangeVector[] }).vectors

/** MTH(D[begin:end]), straight from RFC 9162 §2.1.1. */
function naiveRoot(leafHashes: readonly Uint8Array[], begin: number, end: number): Uint8Array {
  if (end - begin === 1) return leafHashes[begin]!
  let k = 1
  while (k * 2 < end - begin) k *= 2
  return hashChildren(naiveRoot(leafHashes, begin, begin + k), naiveRoot(leafHashes, begin + k, end))
}

describe('compact ranges (merkle-compact-ranges.json)', () => {
  it.each(vectors)('$desc', ({ leaves: data, want }) => {
    // Prepare
    const leafHashes = data.map((d) => hashLeaf(fromHex(d)))
    // Execute
    const all = compactRangeOf(hasher, leafHashes)
    const oneByOne = leafHashes.reduce((range, leafHash) => appendLeaf(hasher, range, leafHash), EMPTY_COMPACT_RANGE)
    // Assert
    expect(all.hashes.map(toHex)).toEqual(want)
    expect(oneByOne).toEqual(all)
    expect(all.size).toBe(leafHashes.length)
    expect(rootOfRange(hasher, all)).toEqual(rootOf(hasher, leafHashes))
  })
})

describe('appendLeaf', () => {
  it('visits every perfect node exactly once, leaf first, with the hash of the leaves it covers', () => {
    // Prepare
    const leafHashes = leaves(300)
    const seen = new Map<string, Uint8Array>()
    const disagreements: string[] = []
    let range = EMPTY_COMPACT_RANGE
    // Execute
    for (const leafHash of leafHashes) {
      const visits: Array<[number, number]> = []
      range = appendLeaf(hasher, range, leafHash, (level, index, hash) => {
        visits.push([level, index])
        const key = `${level},${index}`
        if (seen.has(key)) disagreements.push(`visited ${key} twice`)
        seen.set(key, hash)
        if (toHex(hash) !== toHex(naiveRoot(leafHashes, index * 2 ** level, (index + 1) * 2 ** level))) disagreements.push(`hash of ${key}`)
      })
      // One visit for the leaf, one per perfect subtree it closes (trailing 1 bits of the old size), bottom up.
      const size = range.size - 1
      let closes = 0
      for (let rest = size; rest % 2 === 1; rest = (rest - 1) / 2) closes++
      if (JSON.stringify(visits) !== JSON.stringify(Array.from({ length: closes + 1 }, (_, level) => [level, Math.floor(size / 2 ** level)]))) {
        disagreements.push(`visits appending leaf ${size}`)
      }
    }
    // Assert: 300 leaves have 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 perfect nodes.
    expect(disagreements).toEqual([])
    expect(seen.size).toBe(596)
  })

  it('keeps hashes.length = popcount(size) and the root equal to rootOf, for every size up to 300', () => {
    const leafHashes = leaves(300)
    let range = EMPTY_COMPACT_RANGE
    const disagreements: string[] = []
    for (let size = 1; size <= 300; size++) {
      range = appendLeaf(hasher, range, leafHashes[size - 1]!)
      const popcount = size.toString(2).replaceAll('0', '').length
      if (range.hashes.length !== popcount) disagreements.push(`length at ${size}`)
      if (toHex(rootOfRange(hasher, range)) !== toHex(naiveRoot(leafHashes, 0, size))) disagreements.push(`root at ${size}`)
    }
    expect(disagreements).toEqual([])
  })

  it('never mutates the range it is given', () => {
    // Prepare
    const hashes = Object.freeze(compactRangeOf(hasher, leaves(7)).hashes.slice())
    const range: CompactRange = Object.freeze({ size: 7, hashes })
    const before = hashes.map(toHex)
    // Execute
    const next = appendLeaf(hasher, range, hashLeaf(Uint8Array.of(7)))
    // Assert
    expect(range.size).toBe(7)
    expect(range.hashes.map(toHex)).toEqual(before)
    expect(next.size).toBe(8)
    expect(next.hashes).toHaveLength(1)
    expect(next.hashes).not.toBe(hashes)
  })

  it('appendLeaves equals appending one leaf at a time, visits included', () => {
    // Prepare
    const leafHashes = leaves(45)
    const start = compactRangeOf(hasher, leafHashes.slice(0, 19))
    const visitsOne: string[] = []
    const visitsAll: string[] = []
    // Execute
    const oneByOne = leafHashes.slice(19).reduce((r, h) => appendLeaf(hasher, r, h, (l, i) => visitsOne.push(`${l},${i}`)), start)
    const all = appendLeaves(hasher, start, leafHashes.slice(19), (l, i) => visitsAll.push(`${l},${i}`))
    // Assert
    expect(all).toEqual(oneByOne)
    expect(visitsAll).toEqual(visitsOne)
  })
})

describe('rootOfRange', () => {
  it('is the empty root for the empty range', () => {
    // printf '' | sha256sum
    expect(toHex(rootOfRange(hasher, EMPTY_COMPACT_RANGE))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(Object.isFrozen(EMPTY_COMPACT_RANGE)).toBe(true)
  })

  it('is the only hash of a range whose size is a power of two', () => {
    const range = compactRangeOf(hasher, leaves(64))
    expect(rootOfRange(hasher, range)).toEqual(range.hashes[0])
  })
})

describe('compactRangeFrom', () => {
  it('reads the same range back from the visited nodes, for every size up to 130', () => {
    // Prepare
    const nodes: Uint8Array[][] = []
    const leafHashes = leaves(130)
    compactRangeOf(hasher, leafHashes, (level, index, hash) => {
      ;(nodes[level] ??= [])[index] = hash
    })
    const getNode: NodeReader = (level, index) => nodes[level]![index]!
    const disagreements: number[] = []
    // Execute / Assert
    for (let size = 0; size <= 130; size++) {
      const want = compactRangeOf(hasher, leafHashes.slice(0, size))
      const got = compactRangeFrom(hasher, getNode, size)
      if (got.size !== size || got.hashes.map(toHex).join() !== want.hashes.map(toHex).join()) disagreements.push(size)
    }
    expect(disagreements).toEqual([])
  })

  it('resumes appending in a tree of 2^40 + 2^20 + 3 leaves', () => {
    // Prepare: leaf i is the byte i mod 16, so perfect nodes of level >= 4 are all alike.
    const memo = new Map<string, Uint8Array>()
    const getNode: NodeReader = (level, index) => {
      const key = level >= 4 ? `${level}` : `${level},${index % 2 ** (4 - level)}`
      let h = memo.get(key)
      if (!h) {
        h = level === 0 ? hashLeaf(Uint8Array.of(index % 16)) : hashChildren(getNode(level - 1, 2 * index), getNode(level - 1, 2 * index + 1))
        memo.set(key, h)
      }
      return h
    }
    const size = 2 ** 40 + 2 ** 20 + 3
    // Execute
    const range = compactRangeFrom(hasher, getNode, size)
    const visits: Array<[number, number]> = []
    const next = appendLeaf(hasher, range, hashLeaf(Uint8Array.of(size % 16)), (level, index) => visits.push([level, index]))
    // Assert
    expect(range.hashes).toHaveLength(4)
    expect(rootOfRange(hasher, range)).toEqual(rootFrom(hasher, getNode, size))
    expect(rootOfRange(hasher, next)).toEqual(rootFrom(hasher, getNode, size + 1))
    expect(visits).toEqual([
      [0, size],
      [1, (size - 1) / 2],
      [2, (size - 3) / 4],
    ])
  })
})

describe('preconditions', () => {
  const three = compactRangeOf(hasher, leaves(3))

  it.each([
    { desc: 'more hashes than popcount(size)', range: { size: 2, hashes: three.hashes }, want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'fewer hashes than popcount(size)', range: { size: 3, hashes: three.hashes.slice(1) }, want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'a fractional size', range: { size: 2.5, hashes: three.hashes }, want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'a negative size', range: { size: -1, hashes: [] }, want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'a hash of 31 bytes', range: { size: 3, hashes: [three.hashes[0]!, three.hashes[1]!.subarray(1)] }, want: 'LEDGER_HASH_WRONG_LENGTH' },
    { desc: 'size 2^53 - 1, which cannot grow', range: { size: 2 ** 53 - 1, hashes: Array.from({ length: 53 }, () => three.hashes[0]!) }, want: 'LEDGER_INVALID_ARGUMENT' },
  ])('appendLeaf rejects a range with $desc', ({ range, want }) => {
    expect(() => appendLeaf(hasher, range, hashLeaf(new Uint8Array(0)))).toThrow(code(want))
  })

  it('rejects a leaf hash of the wrong length, naming it', () => {
    expect(() => appendLeaf(hasher, three, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'LEDGER_HASH_WRONG_LENGTH', field: 'leafHash', expected: 32, calculated: 31 }))
    expect(() => appendLeaves(hasher, three, [hashLeaf(new Uint8Array(0)), new Uint8Array(33)])).toThrow(code('LEDGER_HASH_WRONG_LENGTH'))
  })

  it('rejects a malformed range in rootOfRange and a bad node in compactRangeFrom', () => {
    expect(() => rootOfRange(hasher, { size: 4, hashes: three.hashes })).toThrow(code('LEDGER_INVALID_ARGUMENT'))
    expect(() => compactRangeFrom(hasher, () => new Uint8Array(16), 5)).toThrow(code('LEDGER_HASH_WRONG_LENGTH'))
  })
})
