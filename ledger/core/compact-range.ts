/**
 * The frontier of an append-only Merkle tree: a compact range over
 * `[0, size)` (cf. transparency-dev/merkle `compact/range.go`,
 * `docs/compact_ranges.md`). It holds the roots of the perfect subtrees that
 * the tree of this size decomposes into, left to right and largest first, one
 * per set bit of `size`, so popcount(size) <= 53 hashes. That is all a log
 * needs to append a leaf and to know its root without the leaves: an append
 * costs O(log size) hashes (amortised 1), the root popcount(size) - 1.
 *
 * Pure: every function returns a new range and never mutates its arguments.
 * Appends report each perfect node they complete to an optional visitor, so
 * that storage can keep the nodes that `inclusionProofFrom` and
 * `consistencyProofFrom` (merkle.ts) read.
 */
import { LedgerInvalidArgumentError } from '../errors.ts'
import { HashWrongLengthError } from './merkle-errors.ts'
import { rangeNodes, type Hasher, type NodeReader } from './merkle.ts'

/**
 * A compact range over `[0, size)`: `hashes[i]` is the root of the i-th
 * perfect subtree from the left, of 2^b leaves for the i-th set bit b of
 * `size` counted from the top. Requires hashes.length = popcount(size).
 */
export interface CompactRange {
  readonly size: number
  readonly hashes: readonly Uint8Array[]
}

/**
 * Called for each perfect node an append completes: the node over
 * `[index·2^level, (index+1)·2^level)` with its hash, level 0 (the leaf hash
 * itself) first and then upwards.
 */
export type NodeVisitor = (level: number, index: number, hash: Uint8Array) => void

/** The compact range of the empty tree. */
export const EMPTY_COMPACT_RANGE: CompactRange = Object.freeze({ size: 0, hashes: Object.freeze([]) as readonly Uint8Array[] })

/**
 * The range with one more leaf. Calls `visit` for the leaf (level 0, index
 * `range.size`) and then for every perfect node the leaf completes, one per
 * trailing set bit of `range.size`, merging those subtrees as it goes.
 * Requires a well-formed `range` (`LEDGER_INVALID_ARGUMENT`) and a leaf hash
 * of `hasher.sizeBytes` (`LEDGER_HASH_WRONG_LENGTH`).
 */
export function appendLeaf(hasher: Hasher, range: CompactRange, leafHash: Uint8Array, visit?: NodeVisitor): CompactRange {
  requireRange(hasher, range)
  requireLeafHash(hasher, range.size, leafHash)
  if (range.size >= Number.MAX_SAFE_INTEGER) throw new LedgerInvalidArgumentError(`compact range of size ${range.size}: full, want size < 2^53 - 1`)
  const hashes = range.hashes.slice()
  pushLeaf(hasher, hashes, range.size, leafHash, visit)
  return { size: range.size + 1, hashes }
}

/**
 * The range after appending all `leafHashes` to `range` in order
 * (`EMPTY_COMPACT_RANGE` by default), visiting nodes as `appendLeaf` does.
 */
export function appendLeaves(hasher: Hasher, range: CompactRange, leafHashes: readonly Uint8Array[], visit?: NodeVisitor): CompactRange {
  requireRange(hasher, range)
  if (range.size + leafHashes.length > Number.MAX_SAFE_INTEGER) {
    throw new LedgerInvalidArgumentError(`compact range of size ${range.size}: appending ${leafHashes.length} leaves passes 2^53 - 1`)
  }
  const hashes = range.hashes.slice()
  let size = range.size
  for (const leafHash of leafHashes) {
    requireLeafHash(hasher, size, leafHash)
    pushLeaf(hasher, hashes, size, leafHash, visit)
    size++
  }
  return { size, hashes }
}

/** The compact range of the tree whose leaf hashes are `leafHashes`. */
export function compactRangeOf(hasher: Hasher, leafHashes: readonly Uint8Array[], visit?: NodeVisitor): CompactRange {
  return appendLeaves(hasher, EMPTY_COMPACT_RANGE, leafHashes, visit)
}

/**
 * The compact range of the tree of the given size, read from stored perfect
 * nodes (popcount(size) reads, no hashes): how a log resumes appending after
 * a restart. Requires 0 <= size.
 */
export function compactRangeFrom(hasher: Hasher, getNode: NodeReader, size: number): CompactRange {
  const hashes = rangeNodes(0, size).map(({ level, index }) => {
    const hash = getNode(level, index)
    requireHash(hasher, `compact range of size ${size}`, `node (level ${level}, index ${index})`, hash)
    return hash
  })
  return { size, hashes }
}

/**
 * The root of the tree the range covers: its hashes folded right to left,
 * hashChildren(hashes[0], hashChildren(hashes[1], ...)); the empty root for
 * the empty range. Equal to `rootOf` over the same leaves.
 */
export function rootOfRange(hasher: Hasher, range: CompactRange): Uint8Array {
  requireRange(hasher, range)
  const { hashes } = range
  if (hashes.length === 0) return hasher.emptyRoot()
  let root = hashes[hashes.length - 1]!
  for (let i = hashes.length - 2; i >= 0; i--) root = hasher.hashChildren(hashes[i]!, root)
  return root
}

/** Appends in place to `hashes`, the (already copied) hashes of a range of the given size. */
function pushLeaf(hasher: Hasher, hashes: Uint8Array[], size: number, leafHash: Uint8Array, visit: NodeVisitor | undefined): void {
  visit?.(0, size, leafHash)
  let hash = leafHash
  let level = 0
  // The leaf closes one perfect subtree for each trailing 1 bit of size.
  for (let rest = size; rest % 2 === 1; ) {
    hash = hasher.hashChildren(hashes.pop()!, hash)
    rest = (rest - 1) / 2
    level++
    visit?.(level, rest, hash)
  }
  hashes.push(hash)
}

function requireRange(hasher: Hasher, range: CompactRange): void {
  const { size, hashes } = range
  if (!Number.isSafeInteger(size) || size < 0) throw new LedgerInvalidArgumentError(`compact range: size is ${String(size)}, want a safe integer >= 0`)
  const want = popcount(size)
  if (hashes.length !== want) throw new LedgerInvalidArgumentError(`compact range of size ${size}: has ${hashes.length} hashes, want ${want} (popcount of the size)`)
  for (let i = 0; i < hashes.length; i++) requireHash(hasher, `compact range of size ${size}`, `hashes[${i}]`, hashes[i])
}

function requireLeafHash(hasher: Hasher, size: number, leafHash: Uint8Array): void {
  requireHash(hasher, `append to compact range of size ${size}`, 'leafHash', leafHash)
}

function requireHash(hasher: Hasher, subject: string, field: string, hash: Uint8Array | undefined): void {
  if (!(hash instanceof Uint8Array)) throw new LedgerInvalidArgumentError(`${subject}: ${field} is ${hash === undefined ? 'missing' : typeof hash}, want a ${hasher.sizeBytes}-byte Uint8Array`)
  if (hash.length !== hasher.sizeBytes) throw new HashWrongLengthError(subject, field, hasher.sizeBytes, hash.length)
}

function popcount(n: number): number {
  let count = 0
  for (; n > 0; n = Math.floor(n / 2)) count += n % 2
  return count
}
