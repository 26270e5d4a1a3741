/**
 * Merkle trees over the lineage log, as in RFC 6962 §2.1 and RFC 9162 §2.1:
 * tree roots, inclusion proofs (a leaf is in the tree) and consistency proofs
 * (a tree is a prefix of a larger one), their generation and their
 * verification. Pure: no I/O, clock or randomness, and arguments are never
 * mutated.
 *
 * Words, as in the RFCs and transparency-dev/merkle:
 * - A *leaf* is the hash of one log entry, `hashLeaf(entry bytes)`. A tree of
 *   *size* n has leaves 0..n-1; a leaf's position is its *index*.
 * - A *node* is the hash of the subtree over a half-open range of leaves
 *   `[begin, end)`; the *root* is the node over `[0, size)`. MTH(D[0:n]) in
 *   the RFCs.
 * - A *perfect* node (a "compact node" in transparency-dev/merkle) covers the
 *   2^level leaves `[index·2^level, (index+1)·2^level)` and is addressed as
 *   `(level, index)`; leaf hashes are the perfect nodes of level 0. Once
 *   written, a perfect node never changes as the log grows, so storage keeps
 *   exactly these. Nodes on the right edge of a tree whose size is not a power
 *   of two are *ephemeral*: they change with every append and are computed
 *   from perfect nodes when needed, never stored.
 *
 * Proofs are lists of node hashes ordered from the leaf level up, as the RFCs
 * define them. Sizes and indices are `number`s and must be safe integers
 * (below 2^53); the arithmetic never uses 32-bit bitwise operators. Hashes
 * are values: nothing here writes into one, and a result may be the very
 * array passed in (the root of a one-leaf tree is its leaf hash; proof
 * elements are the arrays a `NodeReader` returned).
 *
 * Generation comes in two forms. `inclusionProof` / `consistencyProof` take
 * the list of leaf hashes: O(size) hashes, a reference for tests and small
 * trees. `inclusionProofFrom` / `consistencyProofFrom` / `rootFrom` take a
 * `NodeReader` over stored perfect nodes and cost O(log size) reads and
 * hashes: how storage serves proofs for large logs. A store that reads
 * asynchronously first asks `inclusionProofNodes` / `consistencyProofNodes`
 * which nodes a proof needs, fetches them in one batch, then passes a reader
 * over that batch.
 */
import { LedgerInvalidArgumentError } from '../errors.ts'
import { HASH_LENGTH_BYTES } from './constants.ts'
import { sha256 } from './hash.ts'
import { HashWrongLengthError, ProofIndexOutOfRangeError, ProofSizeOutOfRangeError, ProofWrongLengthError, RootMismatchError } from './merkle-errors.ts'

/** Domain separation of leaf hashes: leaf = H(LEAF_HASH_PREFIX ‖ data) (RFC 6962 §2.1). */
export const LEAF_HASH_PREFIX = 0x00

/** Domain separation of interior nodes: node = H(NODE_HASH_PREFIX ‖ left ‖ right) (RFC 6962 §2.1). */
export const NODE_HASH_PREFIX = 0x01

/**
 * The hash functions of a Merkle tree (cf. transparency-dev/merkle
 * `LogHasher`). Every function here takes one as its first parameter.
 */
export interface Hasher {
  /** Length of every hash this hasher returns, in bytes. */
  readonly sizeBytes: number
  /** The leaf hash of one entry's bytes. */
  hashLeaf(data: Uint8Array): Uint8Array
  /** The hash of an interior node from the hashes of its two children. */
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array
  /** The root of the empty tree. */
  emptyRoot(): Uint8Array
}

/**
 * Reads the perfect node `(level, index)`: the root of the subtree over the
 * 2^level leaves `[index·2^level, (index+1)·2^level)`; level 0 is the leaf
 * hashes. Functions taking a reader only ask for perfect nodes that lie
 * inside the tree size they were given, and compute ephemeral right-edge
 * nodes themselves, so a store of perfect nodes (the ones `appendLeaf`
 * visits) can answer every request.
 */
export type NodeReader = (level: number, index: number) => Uint8Array

/** The address of a perfect node: it covers leaves `[index·2^level, (index+1)·2^level)`. */
export interface NodeId {
  readonly level: number
  readonly index: number
}

// Both hashes copy into one buffer: sha256 of a single part takes node:crypto's
// one-shot hash(), about twice as fast as createHash() for 33- and 65-byte inputs.

/** SHA-256(0x00 ‖ data): the RFC 6962 leaf hash (`printf '\x00' | sha256sum` for empty data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + data.length)
  input[0] = LEAF_HASH_PREFIX
  input.set(data, 1)
  return sha256(input)
}

/** SHA-256(0x01 ‖ left ‖ right): the RFC 6962 interior node hash. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length)
  input[0] = NODE_HASH_PREFIX
  input.set(left, 1)
  input.set(right, 1 + left.length)
  return sha256(input)
}

/** The RFC 6962 / RFC 9162 hasher: SHA-256 with `hashLeaf` and `hashChildren` above; the empty root is SHA-256(""). */
export const RFC6962_SHA256: Hasher = Object.freeze({
  sizeBytes: HASH_LENGTH_BYTES,
  hashLeaf,
  hashChildren,
  emptyRoot: () => sha256(new Uint8Array(0)),
})

// ---------------------------------------------------------------------------
// Roots

/**
 * MTH(D[0:n]) over the given leaf hashes (RFC 9162 §2.1.1); the empty root
 * for an empty list. O(n) hashes. Requires every leaf hash to be
 * `hasher.sizeBytes` long.
 */
export function rootOf(hasher: Hasher, leafHashes: readonly Uint8Array[]): Uint8Array {
  requireLeafHashes(hasher, `root of ${leafHashes.length} leaf hashes`, leafHashes, leafHashes.length)
  return leafHashes.length === 0 ? hasher.emptyRoot() : spanRoot(hasher, leafHashes, 0, leafHashes.length)
}

/**
 * The root of the tree of the given size, from the perfect nodes that cover
 * it: popcount(size) reads and popcount(size) - 1 hashes. Requires
 * 0 <= size; the empty root for size 0 (no reads).
 */
export function rootFrom(hasher: Hasher, getNode: NodeReader, size: number): Uint8Array {
  const subject = `root of size ${size}`
  requireCount(subject, 'size', size)
  return size === 0 ? hasher.emptyRoot() : rangeRoot(hasher, checkedReader(hasher, subject, getNode), 0, size)
}

// ---------------------------------------------------------------------------
// Inclusion proofs (RFC 9162 §2.1.3)

/**
 * PATH(index, D[0:size]) (RFC 9162 §2.1.3.1) from the list of leaf hashes.
 * O(size) hashes: a reference for tests and small trees; storage uses
 * `inclusionProofFrom`. Requires 0 <= index < size <= leafHashes.length.
 */
export function inclusionProof(hasher: Hasher, leafHashes: readonly Uint8Array[], index: number, size: number): Uint8Array[] {
  const subject = inclusionSubject(index, size)
  requireInclusionArguments(subject, index, size)
  requireLeafHashes(hasher, subject, leafHashes, size)
  return inclusionRanges(index, size).map(([begin, end]) => spanRoot(hasher, leafHashes, begin, end))
}

/**
 * PATH(index, D[0:size]) from stored perfect nodes: at most 2·log2(size)
 * reads and log2(size) hashes (the one ephemeral sibling on the right edge is
 * computed from the perfect nodes under it). The reader is asked only for
 * perfect nodes inside `[0, size)`, exactly those `inclusionProofNodes`
 * lists. Requires 0 <= index < size.
 */
export function inclusionProofFrom(hasher: Hasher, getNode: NodeReader, index: number, size: number): Uint8Array[] {
  const subject = inclusionSubject(index, size)
  requireInclusionArguments(subject, index, size)
  const read = checkedReader(hasher, subject, getNode)
  return inclusionRanges(index, size).map(([begin, end]) => rangeRoot(hasher, read, begin, end))
}

/**
 * The perfect nodes `inclusionProofFrom(hasher, getNode, index, size)` reads,
 * in the order it reads them, so that storage can fetch them in one batch.
 * Requires 0 <= index < size.
 */
export function inclusionProofNodes(index: number, size: number): NodeId[] {
  const subject = inclusionSubject(index, size)
  requireInclusionArguments(subject, index, size)
  return inclusionRanges(index, size).flatMap(([begin, end]) => coveringNodes(begin, end))
}

/**
 * The root that an inclusion proof leads to, by the algorithm of RFC 9162
 * §2.1.3.2. Requires 0 <= index < size. Checks, in order: the index and size
 * (`LEDGER_INVALID_ARGUMENT` unless safe integers, then
 * `LEDGER_PROOF_INDEX_OUT_OF_RANGE`), the proof length, the only one valid for
 * this index and size (`LEDGER_PROOF_WRONG_LENGTH`), then the byte length of
 * `leafHash` and of each `proof[i]` (`LEDGER_HASH_WRONG_LENGTH`).
 */
export function rootFromInclusionProof(hasher: Hasher, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  const subject = inclusionSubject(index, size)
  checkInclusionProof(hasher, subject, index, size, leafHash, proof)
  return chainInclusion(hasher, subject, index, size, leafHash, proof)
}

/**
 * Checks that `proof` proves the leaf `leafHash` is at `index` in the tree of
 * the given `size` and `root` (RFC 9162 §2.1.3.2). Returns normally or throws:
 * the errors of `rootFromInclusionProof`, then `LEDGER_HASH_WRONG_LENGTH` for
 * `root`, then `LEDGER_ROOT_MISMATCH` (`field` = `root`). Requires
 * 0 <= index < size.
 */
export function verifyInclusion(hasher: Hasher, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const subject = inclusionSubject(index, size)
  checkInclusionProof(hasher, subject, index, size, leafHash, proof)
  requireHash(hasher, subject, 'root', root)
  const calculated = chainInclusion(hasher, subject, index, size, leafHash, proof)
  if (!equalHashes(calculated, root)) throw new RootMismatchError(subject, 'root', root, calculated)
}

// ---------------------------------------------------------------------------
// Consistency proofs (RFC 9162 §2.1.4)

/**
 * PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1) from the list of leaf hashes;
 * empty when size1 is 0 or size1 = size2. O(size2) hashes: a reference for
 * tests and small trees; storage uses `consistencyProofFrom`. Requires
 * 0 <= size1 <= size2 <= leafHashes.length.
 */
export function consistencyProof(hasher: Hasher, leafHashes: readonly Uint8Array[], size1: number, size2: number): Uint8Array[] {
  const subject = consistencySubject(size1, size2)
  requireConsistencyArguments(subject, size1, size2)
  requireLeafHashes(hasher, subject, leafHashes, size2)
  return consistencyRanges(size1, size2).map(([begin, end]) => spanRoot(hasher, leafHashes, begin, end))
}

/**
 * PROOF(size1, D[0:size2]) from stored perfect nodes: O(log size2) reads and
 * hashes. The reader is asked only for perfect nodes inside `[0, size2)`,
 * exactly those `consistencyProofNodes` lists. Requires
 * 0 <= size1 <= size2.
 */
export function consistencyProofFrom(hasher: Hasher, getNode: NodeReader, size1: number, size2: number): Uint8Array[] {
  const subject = consistencySubject(size1, size2)
  requireConsistencyArguments(subject, size1, size2)
  const read = checkedReader(hasher, subject, getNode)
  return consistencyRanges(size1, size2).map(([begin, end]) => rangeRoot(hasher, read, begin, end))
}

/**
 * The perfect nodes `consistencyProofFrom(hasher, getNode, size1, size2)`
 * reads, in the order it reads them. Requires 0 <= size1 <= size2.
 */
export function consistencyProofNodes(size1: number, size2: number): NodeId[] {
  const subject = consistencySubject(size1, size2)
  requireConsistencyArguments(subject, size1, size2)
  return consistencyRanges(size1, size2).flatMap(([begin, end]) => coveringNodes(begin, end))
}

/**
 * The root of the tree of size2 that a consistency proof leads to from the
 * tree of size1 with root `root1`, by the algorithm of RFC 9162 §2.1.4.2,
 * after checking that the proof also leads to `root1`. Returns `root1` when
 * size1 = size2. Requires 0 < size1 <= size2, or
 * size1 = size2 = 0: the empty tree is a prefix of every tree, but no root
 * of a larger tree follows from it (`verifyConsistency` accepts it).
 *
 * Checks, in order: the sizes (`LEDGER_INVALID_ARGUMENT`, then
 * `LEDGER_PROOF_SIZE_OUT_OF_RANGE` when size1 > size2), the proof length
 * (`LEDGER_PROOF_WRONG_LENGTH`), the byte length of each `proof[i]`, then
 * `root1` (`LEDGER_HASH_WRONG_LENGTH`), then `root1` against the root the
 * proof leads to (`LEDGER_ROOT_MISMATCH`, `field` = `root1`).
 */
export function rootFromConsistencyProof(hasher: Hasher, size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array): Uint8Array {
  const subject = consistencySubject(size1, size2)
  checkConsistencyProof(hasher, subject, size1, size2, proof)
  requireHash(hasher, subject, 'root1', root1)
  if (size1 === 0 && size2 > 0) {
    throw new LedgerInvalidArgumentError(`${subject}: no root of size ${size2} follows from the empty tree; rootFromConsistencyProof requires 0 < size1 (verifyConsistency accepts size1 0)`)
  }
  return chainConsistency(hasher, subject, size1, size2, proof, root1)
}

/**
 * Checks that `proof` proves the tree of size1 with `root1` is a prefix of
 * the tree of size2 with `root2` (RFC 9162 §2.1.4.2). Returns normally or
 * throws: the errors of `rootFromConsistencyProof` (with `root2`'s length
 * checked after `root1`'s), then `LEDGER_ROOT_MISMATCH` with `field` =
 * `root1` or `root2`. Requires 0 <= size1 <= size2.
 *
 * When size1 = size2 the proof must be empty and the roots equal. When size1
 * is 0 the proof must be empty and `root1` the empty root; any `root2` is
 * consistent with it (and must be the empty root when size2 is 0 too).
 */
export function verifyConsistency(hasher: Hasher, size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  const subject = consistencySubject(size1, size2)
  checkConsistencyProof(hasher, subject, size1, size2, proof)
  requireHash(hasher, subject, 'root1', root1)
  requireHash(hasher, subject, 'root2', root2)
  if (size1 === 0) {
    const empty = hasher.emptyRoot()
    if (!equalHashes(root1, empty)) throw new RootMismatchError(subject, 'root1', root1, empty)
    if (size2 === 0 && !equalHashes(root2, empty)) throw new RootMismatchError(subject, 'root2', root2, empty)
    return
  }
  const calculated = chainConsistency(hasher, subject, size1, size2, proof, root1)
  if (!equalHashes(calculated, root2)) throw new RootMismatchError(subject, 'root2', root2, calculated)
}

// ---------------------------------------------------------------------------
// Perfect nodes

/**
 * The perfect nodes that cover the leaves `[begin, end)`, left to right, each
 * the largest one that starts where the previous ended (cf.
 * transparency-dev/merkle `compact.RangeNodes`). For `[0, size)` these are the
 * popcount(size) roots of a compact range, largest first. Requires
 * 0 <= begin <= end.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const subject = `range [${begin}, ${end})`
  requireCount(subject, 'begin', begin)
  requireCount(subject, 'end', end)
  if (begin > end) throw new LedgerInvalidArgumentError(`${subject}: begin is ${begin}, want <= ${end} (end)`)
  return coveringNodes(begin, end)
}

function coveringNodes(begin: number, end: number): NodeId[] {
  const nodes: NodeId[] = []
  while (begin < end) {
    let level = 0
    let width = 1
    while (begin % (width * 2) === 0 && width * 2 <= end - begin) {
      width *= 2
      level++
    }
    nodes.push({ level, index: begin / width })
    begin += width
  }
  return nodes
}

// ---------------------------------------------------------------------------
// Internals

type Range = readonly [begin: number, end: number]

/**
 * The leaf ranges whose roots make up PATH(index, D[0:size]), from the leaf
 * level up. RFC 9162 §2.1.3.1 splits D[0:n] at k, the largest power of two
 * smaller than n, and recurses into the half that holds the leaf; the other
 * half's root is the next proof element from the top. Every range is aligned
 * (begin is a multiple of the largest power of two not above its width), so
 * `rangeRoot` can fold it from perfect nodes. Requires 0 <= index < size.
 */
function inclusionRanges(index: number, size: number): Range[] {
  const ranges: Range[] = []
  let begin = 0
  let end = size
  while (end - begin > 1) {
    const split = begin + largestPowerOfTwoBelow(end - begin)
    if (index < split) {
      ranges.push([split, end])
      end = split
    } else {
      ranges.push([begin, split])
      begin = split
    }
  }
  return ranges.reverse()
}

/**
 * The leaf ranges whose roots make up PROOF(size1, D[0:size2]) =
 * SUBPROOF(size1, D[0:size2], true) (RFC 9162 §2.1.4.1), from the bottom up.
 * `known` is SUBPROOF's flag b: whether the subtree D[begin:size1] reached is
 * the old root itself, which the verifier already has. Requires
 * 0 <= size1 <= size2.
 */
function consistencyRanges(size1: number, size2: number): Range[] {
  const ranges: Range[] = []
  if (size1 === 0) return ranges
  let begin = 0
  let end = size2
  let known = true
  // Invariant: begin < size1 <= end.
  while (size1 < end) {
    const split = begin + largestPowerOfTwoBelow(end - begin)
    if (size1 <= split) {
      ranges.push([split, end])
      end = split
    } else {
      ranges.push([begin, split])
      begin = split
      known = false
    }
  }
  if (!known) ranges.push([begin, end])
  return ranges.reverse()
}

/** MTH of the aligned range `[begin, end)`: its perfect nodes folded right to left. Requires begin < end. */
function rangeRoot(hasher: Hasher, read: NodeReader, begin: number, end: number): Uint8Array {
  const hashes = coveringNodes(begin, end).map(({ level, index }) => read(level, index))
  let root = hashes[hashes.length - 1]!
  for (let i = hashes.length - 2; i >= 0; i--) root = hasher.hashChildren(hashes[i]!, root)
  return root
}

/**
 * MTH(leafHashes[begin:end]) for begin < end, with a stack of perfect
 * subtree roots (a compact range): end - begin - 1 hashes, no copies.
 */
function spanRoot(hasher: Hasher, leafHashes: readonly Uint8Array[], begin: number, end: number): Uint8Array {
  const stack: Uint8Array[] = []
  for (let i = begin, count = 0; i < end; i++, count++) {
    let hash = leafHashes[i]!
    for (let c = count; c % 2 === 1; c = (c - 1) / 2) hash = hasher.hashChildren(stack.pop()!, hash)
    stack.push(hash)
  }
  let root = stack.pop()!
  while (stack.length > 0) root = hasher.hashChildren(stack.pop()!, root)
  return root
}

/** RFC 9162 §2.1.3.2 steps 2 to 5, on inputs whose lengths are already checked. */
function chainInclusion(hasher: Hasher, subject: string, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let fn = index
  let sn = size - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) throw new ProofWrongLengthError(subject, inclusionProofLength(index, size), proof.length)
    if (isOdd(fn) || fn === sn) {
      r = hasher.hashChildren(p, r)
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      r = hasher.hashChildren(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  if (sn !== 0) throw new ProofWrongLengthError(subject, inclusionProofLength(index, size), proof.length)
  return r
}

/**
 * RFC 9162 §2.1.4.2 steps 2 to 7 for 0 < size1 < size2 (and the trivial
 * size1 = size2), on inputs whose lengths are already checked. Throws
 * `RootMismatchError` for root1; returns the calculated root2.
 */
function chainConsistency(hasher: Hasher, subject: string, size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array): Uint8Array {
  if (size1 === size2) return root1
  // Step 2: a power-of-two size1 is a perfect subtree, whose root the verifier holds.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof
  // Steps 3 and 4.
  let fn = size1 - 1
  let sn = size2 - 1
  while (isOdd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  // Step 5.
  let fr = path[0]!
  let sr = path[0]!
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!
    if (sn === 0) throw new ProofWrongLengthError(subject, consistencyProofLength(size1, size2), proof.length)
    if (isOdd(fn) || fn === sn) {
      fr = hasher.hashChildren(c, fr)
      sr = hasher.hashChildren(c, sr)
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    } else {
      sr = hasher.hashChildren(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  // Step 7.
  if (sn !== 0) throw new ProofWrongLengthError(subject, consistencyProofLength(size1, size2), proof.length)
  if (!equalHashes(fr, root1)) throw new RootMismatchError(subject, 'root1', root1, fr)
  return sr
}

/**
 * The number of hashes in PATH(index, D[0:size]): the number of rounds the
 * loop of RFC 9162 §2.1.3.2 runs before sn reaches 0. A shorter proof ends
 * with sn > 0, a longer one reaches sn = 0 with hashes left; both fail there,
 * and checking the length first gives them their own error.
 */
function inclusionProofLength(index: number, size: number): number {
  let fn = index
  let sn = size - 1
  let length = 0
  for (; sn !== 0; length++) {
    if (!isOdd(fn) && fn === sn) {
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    }
    fn = half(fn)
    sn = half(sn)
  }
  return length
}

/**
 * The number of hashes in PROOF(size1, D[0:size2]), by running the index
 * arithmetic of RFC 9162 §2.1.4.2 without hashes: 0 when size1 is 0 or
 * size1 = size2; otherwise the rounds of step 6, plus the first element
 * unless size1 is a power of two (step 2 supplies it).
 */
function consistencyProofLength(size1: number, size2: number): number {
  if (size1 === 0 || size1 === size2) return 0
  let fn = size1 - 1
  let sn = size2 - 1
  while (isOdd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  let rounds = 0
  for (; sn !== 0; rounds++) {
    if (!isOdd(fn) && fn === sn) {
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn)
        sn = half(sn)
      }
    }
    fn = half(fn)
    sn = half(sn)
  }
  return isPowerOfTwo(size1) ? rounds : rounds + 1
}

function checkInclusionProof(hasher: Hasher, subject: string, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): void {
  requireInclusionArguments(subject, index, size)
  const want = inclusionProofLength(index, size)
  if (proof.length !== want) throw new ProofWrongLengthError(subject, want, proof.length)
  requireHash(hasher, subject, 'leafHash', leafHash)
  for (let i = 0; i < proof.length; i++) requireHash(hasher, subject, `proof[${i}]`, proof[i])
}

function checkConsistencyProof(hasher: Hasher, subject: string, size1: number, size2: number, proof: readonly Uint8Array[]): void {
  requireConsistencyArguments(subject, size1, size2)
  const want = consistencyProofLength(size1, size2)
  if (proof.length !== want) throw new ProofWrongLengthError(subject, want, proof.length)
  for (let i = 0; i < proof.length; i++) requireHash(hasher, subject, `proof[${i}]`, proof[i])
}

const inclusionSubject = (index: number, size: number) => `inclusion proof for index ${index} in size ${size}`
const consistencySubject = (size1: number, size2: number) => `consistency proof from size ${size1} to size ${size2}`

/** A tree size or count: a safe integer >= 0. */
function requireCount(subject: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LedgerInvalidArgumentError(`${subject}: ${name} is ${String(value)}, want a safe integer >= 0`)
  }
}

function requireInclusionArguments(subject: string, index: number, size: number): void {
  requireCount(subject, 'size', size)
  if (!Number.isSafeInteger(index)) throw new LedgerInvalidArgumentError(`${subject}: index is ${String(index)}, want a safe integer`)
  if (index < 0 || index >= size) throw new ProofIndexOutOfRangeError(subject, index, size)
}

function requireConsistencyArguments(subject: string, size1: number, size2: number): void {
  requireCount(subject, 'size1', size1)
  requireCount(subject, 'size2', size2)
  if (size1 > size2) throw new ProofSizeOutOfRangeError(subject, 'size1', size1, size2, 'size2')
}

/** Requires size <= leafHashes.length and every leaf hash below size to have the hasher's length. */
function requireLeafHashes(hasher: Hasher, subject: string, leafHashes: readonly Uint8Array[], size: number): void {
  if (size > leafHashes.length) throw new ProofSizeOutOfRangeError(subject, 'size', size, leafHashes.length, 'the number of leaf hashes')
  for (let i = 0; i < size; i++) requireHash(hasher, subject, `leafHashes[${i}]`, leafHashes[i])
}

function requireHash(hasher: Hasher, subject: string, field: string, hash: Uint8Array | undefined): void {
  if (!(hash instanceof Uint8Array)) throw new LedgerInvalidArgumentError(`${subject}: ${field} is ${hash === undefined ? 'missing' : typeof hash}, want a ${hasher.sizeBytes}-byte Uint8Array`)
  if (hash.length !== hasher.sizeBytes) throw new HashWrongLengthError(subject, field, hasher.sizeBytes, hash.length)
}

/** Wraps a reader so that what it returns is checked like any other hash input. */
function checkedReader(hasher: Hasher, subject: string, getNode: NodeReader): NodeReader {
  return (level, index) => {
    const hash = getNode(level, index)
    requireHash(hasher, subject, `node (level ${level}, index ${index})`, hash)
    return hash
  }
}

/** The largest power of two strictly below n, the split point k of RFC 9162 §2.1.1. Requires n >= 2. */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && !isOdd(n)) n /= 2
  return n === 1
}

// LSB and right shift of RFC 9162 §2.1.3.2, in float arithmetic: exact for safe integers, unlike `& 1` and `>> 1`.
const isOdd = (n: number) => n % 2 === 1
const half = (n: number) => Math.floor(n / 2)

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
