import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  EMPTY_COMPACT_RANGE,
  HashWrongLengthError,
  LEAF_HASH_PREFIX,
  NODE_HASH_PREFIX,
  ProofWrongLengthError,
  RFC6962_SHA256,
  RootMismatchError,
  appendLeaf,
  compactRangeOf,
  consistencyProof,
  consistencyProofFrom,
  consistencyProofNodes,
  fromHex,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofFrom,
  inclusionProofNodes,
  rangeNodes,
  rootFrom,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  rootOf,
  rootOfRange,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type Hasher,
  type NodeId,
  type NodeReader,
} from '../../../ledger/core/index.ts'

const hasher = RFC6962_SHA256
const code = (c: string) => expect.objectContaining({ code: c })

interface VectorFile<V> {
  trees?: Record<string, { leaves: string[] }>
  vectors: V[]
}
function readVectors<V>(name: string): VectorFile<V> {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as VectorFile<V>
}
type Expectation = { want: string; wantErr?: undefined } | { want?: undefined; wantErr: string }
type RootVector = { desc: string; leaves: string[]; want: string }
type InclusionVector = { desc: string; tree?: string; index: number; size: number; leafHash: string; proof: string[]; root: string } & Expectation
type ConsistencyVector = { desc: string; tree?: string; size1: number; size2: number; proof: string[]; root1: string; root2: string } & Expectation
type SweepVector = { desc: string; kind: 'subtree-hash' | 'subtree-inclusion' | 'random'; seed?: number; maxSize: number; want: string }

/** Every perfect node of a tree, as appendLeaf visits them: what a store of the log would hold. */
function nodeStore(leafHashes: readonly Uint8Array[]): { getNode: NodeReader; nodes: Uint8Array[][] } {
  const nodes: Uint8Array[][] = []
  compactRangeOf(hasher, leafHashes, (level, index, hash) => {
    ;(nodes[level] ??= [])[index] = hash
  })
  return { nodes, getNode: (level, index) => nodes[level]![index]! }
}

/** A reader that records what it is asked for and fails the test on anything not a perfect node inside [0, size). */
function recordingReader(getNode: NodeReader, size: number): { read: NodeReader; reads: NodeId[] } {
  const reads: NodeId[] = []
  const read: NodeReader = (level, index) => {
    if (!Number.isSafeInteger(index) || index < 0 || (index + 1) * 2 ** level > size) throw new Error(`read node (level ${level}, index ${index}), outside [0, ${size})`)
    reads.push({ level, index })
    return getNode(level, index)
  }
  return { read, reads }
}

/**
 * The reference, straight from RFC 9162 §2.1 and independent of merkle.ts:
 * MTH, PATH and SUBPROOF as recursive functions (MTH memoised, so a sweep
 * over every size of a 1,000-leaf tree stays fast).
 */
class NaiveTree {
  private readonly memo = new Map<string, Uint8Array>()
  constructor(readonly leafHashes: readonly Uint8Array[]) {}
  private k(n: number): number {
    let k = 1
    while (k * 2 < n) k *= 2
    return k
  }
  mth(begin: number, end: number): Uint8Array {
    if (begin === end) return new Uint8Array(createHash('sha256').digest())
    if (end - begin === 1) return this.leafHashes[begin]!
    const key = `${begin},${end}`
    let h = this.memo.get(key)
    if (!h) {
      const k = this.k(end - begin)
      h = new Uint8Array(
        createHash('sha256')
          .update(Uint8Array.of(1))
          .update(this.mth(begin, begin + k))
          .update(this.mth(begin + k, end))
          .digest(),
      )
      this.memo.set(key, h)
    }
    return h
  }
  path(m: number, begin: number, end: number): Uint8Array[] {
    if (end - begin <= 1) return []
    const k = this.k(end - begin)
    return m < k ? [...this.path(m, begin, begin + k), this.mth(begin + k, end)] : [...this.path(m - k, begin + k, end), this.mth(begin, begin + k)]
  }
  subproof(m: number, begin: number, end: number, known: boolean): Uint8Array[] {
    if (m === end - begin) return known ? [] : [this.mth(begin, end)]
    const k = this.k(end - begin)
    return m <= k ? [...this.subproof(m, begin, begin + k, known), this.mth(begin + k, end)] : [...this.subproof(m - k, begin + k, end, false), this.mth(begin, begin + k)]
  }
  consistency(size1: number, size2: number): Uint8Array[] {
    return size1 === 0 ? [] : this.subproof(size1, 0, size2, true)
  }
}

const hexOf = (h: Uint8Array | readonly Uint8Array[]) => (h instanceof Uint8Array ? toHex(h) : h.map(toHex).join(' '))
const proofLine = (prefix: string, proof: readonly Uint8Array[]) => `${prefix}${proof.map((h) => ` ${toHex(h)}`).join('')}\n`

describe('known answers (independent of our code)', () => {
  it('the empty root is SHA-256 of ""', () => {
    // printf '' | sha256sum
    expect(toHex(hasher.emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it.each([
    // printf '\x00' | sha256sum
    { desc: 'empty data', data: '', want: '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d' },
    // printf '\x00\x00' | sha256sum
    { desc: 'the byte 00', data: '00', want: '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7' },
    // printf '\x00abc' | sha256sum
    { desc: '"abc"', data: '616263', want: '609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1' },
  ])('a leaf is SHA-256(0x00 ‖ data): $desc', ({ data, want }) => {
    expect(toHex(hashLeaf(fromHex(data)))).toBe(want)
    expect(toHex(hasher.hashLeaf(fromHex(data)))).toBe(want)
  })

  it('a node is SHA-256(0x01 ‖ left ‖ right)', () => {
    // Prepare: the leaves of "" and 00.
    const left = fromHex('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
    const right = fromHex('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7')
    // Execute / Assert:
    //   (printf '\x01'; printf '\x00' | sha256sum | xxd -r -p; printf '\x00\x00' | sha256sum | xxd -r -p) | sha256sum
    expect(toHex(hashChildren(left, right))).toBe('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125')
  })

  it('names the domain-separation prefixes and the digest length', () => {
    expect(LEAF_HASH_PREFIX).toBe(0x00)
    expect(NODE_HASH_PREFIX).toBe(0x01)
    expect(hasher.sizeBytes).toBe(32)
  })

  it('returns a fresh empty root on every call, as a plain Uint8Array', () => {
    const a = hasher.emptyRoot()
    a[0] = 0
    expect(toHex(hasher.emptyRoot()).slice(0, 2)).toBe('e3')
    expect(Buffer.isBuffer(hashLeaf(new Uint8Array(0)))).toBe(false)
  })
})

describe('roots (merkle-roots.json)', () => {
  it.each(readVectors<RootVector>('merkle-roots.json').vectors)('$desc', ({ leaves, want }) => {
    // Prepare
    const leafHashes = leaves.map((d) => hashLeaf(fromHex(d)))
    const { getNode } = nodeStore(leafHashes)
    // Execute / Assert
    expect(toHex(rootOf(hasher, leafHashes))).toBe(want)
    expect(toHex(rootFrom(hasher, getNode, leafHashes.length))).toBe(want)
    expect(toHex(rootOfRange(hasher, compactRangeOf(hasher, leafHashes)))).toBe(want)
  })
})

describe('inclusion proofs (merkle-inclusion.json)', () => {
  const file = readVectors<InclusionVector>('merkle-inclusion.json')
  const trees = new Map(Object.entries(file.trees!).map(([name, { leaves }]) => [name, leaves.map((d) => hashLeaf(fromHex(d)))]))

  it.each(file.vectors)('$desc', (v) => {
    // Prepare
    const leafHash = fromHex(v.leafHash)
    const proof = v.proof.map((h) => fromHex(h))
    const root = fromHex(v.root)
    // Execute / Assert
    if (v.wantErr !== undefined) {
      expect(() => verifyInclusion(hasher, v.index, v.size, leafHash, proof, root)).toThrow(code(v.wantErr))
      return
    }
    expect(toHex(rootFromInclusionProof(hasher, v.index, v.size, leafHash, proof))).toBe(v.want)
    expect(() => verifyInclusion(hasher, v.index, v.size, leafHash, proof, root)).not.toThrow()
    if (v.tree !== undefined) {
      const leafHashes = trees.get(v.tree)!
      expect(inclusionProof(hasher, leafHashes, v.index, v.size).map(toHex)).toEqual(v.proof)
      const { read } = recordingReader(nodeStore(leafHashes).getNode, v.size)
      expect(inclusionProofFrom(hasher, read, v.index, v.size).map(toHex)).toEqual(v.proof)
    }
  })
})

describe('consistency proofs (merkle-consistency.json)', () => {
  const file = readVectors<ConsistencyVector>('merkle-consistency.json')
  const trees = new Map(Object.entries(file.trees!).map(([name, { leaves }]) => [name, leaves.map((d) => hashLeaf(fromHex(d)))]))

  it.each(file.vectors)('$desc', (v) => {
    // Prepare
    const proof = v.proof.map((h) => fromHex(h))
    const root1 = fromHex(v.root1)
    const root2 = fromHex(v.root2)
    // Execute / Assert
    if (v.wantErr !== undefined) {
      expect(() => verifyConsistency(hasher, v.size1, v.size2, proof, root1, root2)).toThrow(code(v.wantErr))
      return
    }
    expect(() => verifyConsistency(hasher, v.size1, v.size2, proof, root1, root2)).not.toThrow()
    if (v.size1 > 0 || v.size2 === 0) expect(toHex(rootFromConsistencyProof(hasher, v.size1, v.size2, proof, root1))).toBe(v.want)
    if (v.tree !== undefined) {
      const leafHashes = trees.get(v.tree)!
      expect(consistencyProof(hasher, leafHashes, v.size1, v.size2).map(toHex)).toEqual(v.proof)
      const { read } = recordingReader(nodeStore(leafHashes).getNode, v.size2)
      expect(consistencyProofFrom(hasher, read, v.size1, v.size2).map(toHex)).toEqual(v.proof)
    }
  })
})

describe('sweeps (merkle-sweeps.json)', () => {
  const sweeps = readVectors<SweepVector>('merkle-sweeps.json').vectors
  const sweep = (kind: SweepVector['kind']) => sweeps.find((s) => s.kind === kind)!

  /** Valid subtrees of the draft: start = 0, or start a multiple of bit_ceil(end - start). */
  function forEachSubtree(maxSize: number, f: (start: number, end: number) => void): void {
    for (let end = 1; end <= maxSize; end++) {
      for (let start = 0; start < end; start++) {
        let ceil = 1
        while (ceil < end - start) ceil *= 2
        if (start === 0 || start % ceil === 0) f(start, end)
      }
    }
  }

  /** The tree d[i] = byte i, and a reader for the subtree starting at leaf `start` (aligned, so its nodes are perfect nodes of the tree). */
  function draftTree(maxSize: number) {
    const leafHashes = Array.from({ length: maxSize }, (_, i) => hashLeaf(Uint8Array.of(i)))
    const { getNode } = nodeStore(leafHashes)
    const subtreeReader =
      (start: number): NodeReader =>
      (level, index) =>
        getNode(level, index + start / 2 ** level)
    return { leafHashes, subtreeReader }
  }

  it('reproduces the draft-ietf-plants-merkle-tree-certs subtree hash digest', () => {
    // Prepare
    const { desc, maxSize, want } = sweep('subtree-hash')
    expect(desc).toContain('subtree hashes')
    const { leafHashes, subtreeReader } = draftTree(maxSize)
    const digest = createHash('sha256')
    // Execute
    forEachSubtree(maxSize, (start, end) => {
      const root = rootFrom(hasher, subtreeReader(start), end - start)
      expect(root).toEqual(rootOf(hasher, leafHashes.slice(start, end)))
      digest.update(`[${start}, ${end}) ${toHex(root)}\n`)
    })
    // Assert
    expect(digest.digest('hex')).toBe(want)
  })

  it('reproduces the draft-ietf-plants-merkle-tree-certs subtree inclusion proof digest', () => {
    // Prepare
    const { maxSize, want } = sweep('subtree-inclusion')
    const { leafHashes, subtreeReader } = draftTree(maxSize)
    const digest = createHash('sha256')
    // Execute
    forEachSubtree(maxSize, (start, end) => {
      const read = subtreeReader(start)
      const root = rootFrom(hasher, read, end - start)
      for (let index = start; index < end; index++) {
        const proof = inclusionProofFrom(hasher, read, index - start, end - start)
        verifyInclusion(hasher, index - start, end - start, leafHashes[index]!, proof, root)
        digest.update(proofLine(`${index} [${start}, ${end})`, proof))
      }
    })
    // Assert
    expect(digest.digest('hex')).toBe(want)
  })

  it('agrees with the naive reference on a random 1,000-leaf tree and reproduces the stored digest', () => {
    // Prepare: the sweep of merkle-sweeps.json, restated (mulberry32, then the line format of its "about").
    const { seed, maxSize, want } = sweep('random')
    let a = seed! >>> 0
    const next = () => {
      a = (a + 0x6d2b79f5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return (t ^ (t >>> 14)) >>> 0
    }
    const leafHashes: Uint8Array[] = []
    for (let i = 0; i < maxSize; i++) {
      const data = new Uint8Array(next() % 33)
      for (let j = 0; j < data.length; j++) data[j] = next() & 0xff
      leafHashes.push(hashLeaf(data))
    }
    const naive = new NaiveTree(leafHashes)
    const { getNode } = nodeStore(leafHashes)
    const digest = createHash('sha256')
    // Comparing hex and asserting once keeps 10^4 checks fast; the list names every disagreement.
    const disagreements: string[] = []
    const agree = (what: string, got: Uint8Array | readonly Uint8Array[], want: Uint8Array | readonly Uint8Array[]) => {
      if (hexOf(got) !== hexOf(want)) disagreements.push(what)
    }
    let range = EMPTY_COMPACT_RANGE
    // Execute
    for (let size = 0; size <= maxSize; size++) {
      if (size > 0) range = appendLeaf(hasher, range, leafHashes[size - 1]!)
      const root = rootOfRange(hasher, range)
      agree(`root ${size} by compact range`, root, naive.mth(0, size))
      agree(`root ${size} by rootOf`, rootOf(hasher, leafHashes.slice(0, size)), root)
      agree(`root ${size} by rootFrom`, rootFrom(hasher, getNode, size), root)
      digest.update(`root ${size} ${toHex(root)}\n`)
      if (size === 0) continue
      const index = next() % size
      const size1 = next() % (size + 1)
      const listToo = size <= 100 || size % 50 === 0
      for (const i of [index, size - 1]) {
        const proof = inclusionProofFrom(hasher, recordingReader(getNode, size).read, i, size)
        agree(`inclusion ${i} ${size}`, proof, naive.path(i, 0, size))
        if (listToo) agree(`inclusion ${i} ${size} from the list`, inclusionProof(hasher, leafHashes, i, size), proof)
        verifyInclusion(hasher, i, size, leafHashes[i]!, proof, root)
        digest.update(proofLine(`inclusion ${i} ${size}`, proof))
      }
      for (const s1 of [size1, size - 1]) {
        const proof = consistencyProofFrom(hasher, recordingReader(getNode, size).read, s1, size)
        agree(`consistency ${s1} ${size}`, proof, naive.consistency(s1, size))
        if (listToo) agree(`consistency ${s1} ${size} from the list`, consistencyProof(hasher, leafHashes, s1, size), proof)
        verifyConsistency(hasher, s1, size, proof, naive.mth(0, s1), root)
        digest.update(proofLine(`consistency ${s1} ${size}`, proof))
      }
    }
    // Assert
    expect(disagreements).toEqual([])
    expect(digest.digest('hex')).toBe(want)
  })
})

/**
 * A tree of any size up to 2^53 - 1 whose leaf i is the byte i mod 16: every
 * perfect node of level >= 4 is the same, so any node is a few memoised
 * hashes away, while the low levels still tell neighbouring indices apart.
 */
function periodicTree() {
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
  return { getNode, leafHash: (index: number) => hashLeaf(Uint8Array.of(index % 16)) }
}

/** RFC6962_SHA256 that counts its hashChildren calls. */
function countingHasher(): { hasher: Hasher; calls: () => number } {
  let calls = 0
  return {
    hasher: {
      ...RFC6962_SHA256,
      hashChildren: (l, r) => {
        calls++
        return hashChildren(l, r)
      },
    },
    calls: () => calls,
  }
}

describe('large trees', () => {
  const { getNode, leafHash } = periodicTree()

  it.each([
    { desc: '1,000,000 leaves, first leaf', index: 0, size: 1_000_000 },
    { desc: '1,000,000 leaves, last leaf', index: 999_999, size: 1_000_000 },
    { desc: '1,000,000 leaves, leaf 524,287', index: 524_287, size: 1_000_000 },
    { desc: '2^32 + 1 leaves, leaf 2^32', index: 2 ** 32, size: 2 ** 32 + 1 },
    { desc: '2^32 + 1 leaves, leaf 2^31 + 5', index: 2 ** 31 + 5, size: 2 ** 32 + 1 },
    { desc: '2^40 + 2^20 + 3 leaves, leaf 2^40 + 7', index: 2 ** 40 + 7, size: 2 ** 40 + 2 ** 20 + 3 },
    { desc: '2^53 - 1 leaves, leaf 2^53 - 2', index: 2 ** 53 - 2, size: 2 ** 53 - 1 },
    { desc: '2^53 - 1 leaves, leaf 3', index: 3, size: 2 ** 53 - 1 },
  ])('proves inclusion in $desc with O(log size) reads and hashes', ({ index, size }) => {
    // Prepare
    const counting = countingHasher()
    const { read, reads } = recordingReader(getNode, size)
    const root = rootFrom(hasher, getNode, size)
    const log2 = Math.ceil(Math.log2(size))
    // Execute
    const proof = inclusionProofFrom(counting.hasher, read, index, size)
    // Assert: at most one read per level on the way down, plus the ephemeral node's perfect nodes.
    expect(proof.length).toBeLessThanOrEqual(log2)
    expect(reads.length).toBeLessThanOrEqual(2 * log2)
    expect(counting.calls()).toBeLessThanOrEqual(log2)
    expect(reads).toEqual(inclusionProofNodes(index, size))
    verifyInclusion(hasher, index, size, leafHash(index), proof, root)
    expect(() => verifyInclusion(hasher, index, size, leafHash(index + 1), proof, root)).toThrow(code('LEDGER_ROOT_MISMATCH'))
    expect(() => verifyInclusion(hasher, index, size * 2, leafHash(index), proof, root)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^LEDGER_(PROOF_WRONG_LENGTH|ROOT_MISMATCH|INVALID_ARGUMENT)$/) }),
    )
  })

  it.each([
    { desc: '999,999 to 1,000,000', size1: 999_999, size2: 1_000_000 },
    { desc: '1 to 1,000,000', size1: 1, size2: 1_000_000 },
    { desc: '2^20 to 1,000,000 + 2^20', size1: 2 ** 20, size2: 1_000_000 + 2 ** 20 },
    { desc: '2^32 - 1 to 2^32 + 1', size1: 2 ** 32 - 1, size2: 2 ** 32 + 1 },
    { desc: '2^40 + 2^20 + 3 to 2^52 + 12,345', size1: 2 ** 40 + 2 ** 20 + 3, size2: 2 ** 52 + 12_345 },
    { desc: '2^53 - 2 to 2^53 - 1', size1: 2 ** 53 - 2, size2: 2 ** 53 - 1 },
  ])('proves consistency from $desc with O(log size) reads and hashes', ({ size1, size2 }) => {
    // Prepare
    const counting = countingHasher()
    const { read, reads } = recordingReader(getNode, size2)
    const root1 = rootFrom(hasher, getNode, size1)
    const root2 = rootFrom(hasher, getNode, size2)
    const log2 = Math.ceil(Math.log2(size2))
    // Execute
    const proof = consistencyProofFrom(counting.hasher, read, size1, size2)
    // Assert
    expect(proof.length).toBeLessThanOrEqual(2 * log2)
    expect(reads.length).toBeLessThanOrEqual(3 * log2)
    expect(counting.calls()).toBeLessThanOrEqual(2 * log2)
    expect(reads).toEqual(consistencyProofNodes(size1, size2))
    verifyConsistency(hasher, size1, size2, proof, root1, root2)
    expect(() => verifyConsistency(hasher, size1, size2, proof, root2, root1)).toThrow(code('LEDGER_ROOT_MISMATCH'))
  })

  it('verifies with exactly one hash per proof element', () => {
    // Prepare
    const size = 1_000_000
    const proof = inclusionProofFrom(hasher, getNode, 123_456, size)
    const counting = countingHasher()
    // Execute
    rootFromInclusionProof(counting.hasher, 123_456, size, leafHash(123_456), proof)
    // Assert
    expect(counting.calls()).toBe(proof.length)
  })
})

describe('node readers', () => {
  const leafHashes = Array.from({ length: 64 }, (_, i) => hashLeaf(Uint8Array.of(i)))
  const { getNode } = nodeStore(leafHashes)

  it('inclusionProofNodes lists exactly the perfect nodes inclusionProofFrom reads, for every index of every size up to 64', () => {
    const disagreements: string[] = []
    for (let size = 1; size <= 64; size++) {
      for (let index = 0; index < size; index++) {
        const { read, reads } = recordingReader(getNode, size)
        const proof = inclusionProofFrom(hasher, read, index, size)
        if (JSON.stringify(reads) !== JSON.stringify(inclusionProofNodes(index, size))) disagreements.push(`nodes ${index} ${size}`)
        if (hexOf(proof) !== hexOf(inclusionProof(hasher, leafHashes, index, size))) disagreements.push(`proof ${index} ${size}`)
      }
    }
    expect(disagreements).toEqual([])
  })

  it('consistencyProofNodes lists exactly the perfect nodes consistencyProofFrom reads, for every pair of sizes up to 64', () => {
    const disagreements: string[] = []
    for (let size2 = 0; size2 <= 64; size2++) {
      for (let size1 = 0; size1 <= size2; size1++) {
        const { read, reads } = recordingReader(getNode, size2)
        const proof = consistencyProofFrom(hasher, read, size1, size2)
        if (JSON.stringify(reads) !== JSON.stringify(consistencyProofNodes(size1, size2))) disagreements.push(`nodes ${size1} ${size2}`)
        if (hexOf(proof) !== hexOf(consistencyProof(hasher, leafHashes, size1, size2))) disagreements.push(`proof ${size1} ${size2}`)
      }
    }
    expect(disagreements).toEqual([])
  })

  it.each([
    {
      desc: '[0, 13)',
      begin: 0,
      end: 13,
      want: [
        [3, 0],
        [2, 2],
        [0, 12],
      ],
    },
    {
      desc: '[3, 13)',
      begin: 3,
      end: 13,
      want: [
        [0, 3],
        [2, 1],
        [2, 2],
        [0, 12],
      ],
    },
    { desc: '[8, 8)', begin: 8, end: 8, want: [] },
    {
      desc: '[0, 2^52 + 1)',
      begin: 0,
      end: 2 ** 52 + 1,
      want: [
        [52, 0],
        [0, 2 ** 52],
      ],
    },
  ])('rangeNodes covers $desc with the largest perfect nodes, left to right', ({ begin, end, want }) => {
    expect(rangeNodes(begin, end)).toEqual(want.map(([level, index]) => ({ level, index })))
  })

  it('rejects a reader that returns a hash of the wrong length, or nothing', () => {
    // Prepare
    const short: NodeReader = (level, index) => getNode(level, index).subarray(1)
    const missing = (() => undefined) as unknown as NodeReader
    // Execute / Assert
    expect(() => inclusionProofFrom(hasher, short, 5, 13)).toThrow(code('LEDGER_HASH_WRONG_LENGTH'))
    expect(() => consistencyProofFrom(hasher, short, 5, 13)).toThrow(code('LEDGER_HASH_WRONG_LENGTH'))
    expect(() => rootFrom(hasher, short, 13)).toThrow(code('LEDGER_HASH_WRONG_LENGTH'))
    expect(() => inclusionProofFrom(hasher, missing, 5, 13)).toThrow(code('LEDGER_INVALID_ARGUMENT'))
  })

  it('reads nothing for the empty tree', () => {
    const { read, reads } = recordingReader(getNode, 0)
    expect(rootFrom(hasher, read, 0)).toEqual(hasher.emptyRoot())
    expect(consistencyProofFrom(hasher, read, 0, 0)).toEqual([])
    expect(reads).toEqual([])
  })
})

describe('preconditions', () => {
  const leafHashes = Array.from({ length: 13 }, (_, i) => hashLeaf(Uint8Array.of(i)))
  const root13 = rootOf(hasher, leafHashes)

  it.each([
    { desc: 'inclusion: size beyond the leaf hashes', f: () => inclusionProof(hasher, leafHashes, 0, 14), want: 'LEDGER_PROOF_SIZE_OUT_OF_RANGE' },
    { desc: 'inclusion: index = size', f: () => inclusionProof(hasher, leafHashes, 13, 13), want: 'LEDGER_PROOF_INDEX_OUT_OF_RANGE' },
    { desc: 'inclusion: negative index', f: () => inclusionProofNodes(-1, 13), want: 'LEDGER_PROOF_INDEX_OUT_OF_RANGE' },
    { desc: 'inclusion: NaN size', f: () => inclusionProofFrom(hasher, () => root13, 0, Number.NaN), want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'consistency: size2 beyond the leaf hashes', f: () => consistencyProof(hasher, leafHashes, 3, 14), want: 'LEDGER_PROOF_SIZE_OUT_OF_RANGE' },
    { desc: 'consistency: size1 > size2', f: () => consistencyProofNodes(4, 3), want: 'LEDGER_PROOF_SIZE_OUT_OF_RANGE' },
    { desc: 'consistency: fractional size1', f: () => consistencyProofFrom(hasher, () => root13, 0.5, 3), want: 'LEDGER_INVALID_ARGUMENT' },
    {
      desc: 'root: a leaf hash of 31 bytes',
      f: () => rootOf(hasher, [...leafHashes.slice(0, 5), leafHashes[5]!.subarray(1)]),
      want: 'LEDGER_HASH_WRONG_LENGTH',
    },
    { desc: 'root: a negative size', f: () => rootFrom(hasher, () => root13, -1), want: 'LEDGER_INVALID_ARGUMENT' },
    { desc: 'rangeNodes: begin > end', f: () => rangeNodes(5, 4), want: 'LEDGER_INVALID_ARGUMENT' },
    {
      desc: 'rootFromConsistencyProof from the empty tree to a larger one',
      f: () => rootFromConsistencyProof(hasher, 0, 13, [], hasher.emptyRoot()),
      want: 'LEDGER_INVALID_ARGUMENT',
    },
  ])('$desc → $want', ({ f, want }) => {
    expect(f).toThrow(code(want))
  })

  it('accepts the empty tree as consistent with any tree', () => {
    expect(() => verifyConsistency(hasher, 0, 13, [], hasher.emptyRoot(), root13)).not.toThrow()
    expect(consistencyProof(hasher, leafHashes, 0, 13)).toEqual([])
  })
})

describe('errors', () => {
  const leafHashes = Array.from({ length: 13 }, (_, i) => hashLeaf(Uint8Array.of(i)))
  const root = rootOf(hasher, leafHashes)
  const proof = inclusionProof(hasher, leafHashes, 5, 13)

  function thrown(f: () => unknown): unknown {
    try {
      f()
    } catch (err) {
      return err
    }
    throw new Error('did not throw')
  }

  it('a root mismatch carries the expected and the calculated root', () => {
    // Prepare
    const wrongRoot = hasher.emptyRoot()
    // Execute
    const err = thrown(() => verifyInclusion(hasher, 5, 13, leafHashes[5]!, proof, wrongRoot))
    // Assert
    expect(err).toBeInstanceOf(RootMismatchError)
    expect(err).toMatchObject({ name: 'RootMismatchError', code: 'LEDGER_ROOT_MISMATCH', field: 'root', expected: wrongRoot, calculated: root })
    expect(Object.getPrototypeOf(RootMismatchError.prototype).constructor.name).toBe('LedgerError')
    expect((err as Error).message).toBe(`inclusion proof for index 5 in size 13: calculated root ${toHex(root)}, want ${toHex(wrongRoot)}`)
  })

  it('a consistency proof that does not lead to root1 names root1', () => {
    const p = consistencyProof(hasher, leafHashes, 5, 13)
    expect(thrown(() => verifyConsistency(hasher, 5, 13, p, leafHashes[0]!, root))).toMatchObject({ code: 'LEDGER_ROOT_MISMATCH', field: 'root1', expected: leafHashes[0] })
  })

  it('a wrong proof length carries the expected and the received length', () => {
    const err = thrown(() => verifyInclusion(hasher, 5, 13, leafHashes[5]!, proof.slice(1), root))
    expect(err).toBeInstanceOf(ProofWrongLengthError)
    expect(err).toMatchObject({ name: 'ProofWrongLengthError', expected: proof.length, calculated: proof.length - 1 })
    expect((err as Error).message).toBe(`inclusion proof for index 5 in size 13: proof has ${proof.length - 1} hashes, want ${proof.length}`)
  })

  it('a hash of the wrong length names the field', () => {
    const err = thrown(() => verifyInclusion(hasher, 5, 13, leafHashes[5]!, [proof[0]!, proof[1]!.subarray(0, 31), ...proof.slice(2)], root))
    expect(err).toBeInstanceOf(HashWrongLengthError)
    expect(err).toMatchObject({ field: 'proof[1]', expected: 32, calculated: 31 })
    expect((err as Error).message).toBe('inclusion proof for index 5 in size 13: proof[1] is 31 bytes, want 32')
  })
})

describe('purity', () => {
  it('never mutates its arguments', () => {
    // Prepare
    const leafHashes = Object.freeze(Array.from({ length: 21 }, (_, i) => hashLeaf(Uint8Array.of(i))))
    const before = leafHashes.map(toHex)
    const root = rootOf(hasher, leafHashes)
    const proof = Object.freeze(inclusionProof(hasher, leafHashes, 7, 21))
    const cProof = Object.freeze(consistencyProof(hasher, leafHashes, 7, 21))
    const proofsBefore = [...proof, ...cProof].map(toHex)
    const root7 = rootOf(hasher, leafHashes.slice(0, 7))
    // Execute
    verifyInclusion(hasher, 7, 21, leafHashes[7]!, proof, root)
    verifyConsistency(hasher, 7, 21, cProof, root7, root)
    rootFromConsistencyProof(hasher, 7, 21, cProof, root7)
    inclusionProofFrom(hasher, nodeStore(leafHashes).getNode, 7, 21)
    // Assert
    expect(leafHashes.map(toHex)).toEqual(before)
    expect([...proof, ...cProof].map(toHex)).toEqual(proofsBefore)
    expect(toHex(root)).toBe(toHex(rootOf(hasher, leafHashes)))
  })
})
