/**
 * The only writer of test/vectors/merkle-*.json. Run from the repo root:
 *
 *   npx tsx test/vectors/generate.ts
 *
 * Deterministic: the same code writes the same bytes. The generator does not
 * import ledger/: it has its own SHA-256 (node:crypto) and its own reference
 * Merkle tree, a literal transcription of the recursive definitions of
 * RFC 9162 §2.1 (MTH, PATH, SUBPROOF), so the vectors check ledger/core
 * rather than restate it. Before writing anything it checks that reference
 * against the external known answers below, which are copied as data with
 * their source named; a mismatch aborts the run.
 *
 * Mutated vectors get their expected error code from the order in which
 * merkle.ts documents its checks (arguments, proof length, hash lengths,
 * roots), with the expected proof length taken from the reference recursion.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// ---------------------------------------------------------------------------
// External known answers

const TDEV = 'transparency-dev/merkle'
const SOURCES = {
  'tdev-testonly': `${TDEV} testonly/constants.go @ 582a6ad190b6848f1d26f8bf08ddef29955d9db1 (LeafInputs, NodeHashes, RootHashes, CompactTrees)`,
  'tdev-proofs':
    `${TDEV} testonly/reference_test.go @ 141d627eab770a7e9a2514f46a8b6338e6d90874 (TestRefInclusionProof, TestRefConsistencyProof) ` +
    `and proof/verify_test.go @ 02194e9afb6c1d95b5381350007963aa70fff472 (inclusionProofs, 1-based leaf numbers there; consistencyProofs)`,
  'draft-subtree':
    'draft-ietf-plants-merkle-tree-certs, appendix "Subtree Test Vectors", as reproduced in ' +
    `${TDEV} testonly/vectors_test.go @ 1c243046bea7805f274ffcdc2f0f58e69d73e25e (TestSubtreeHashVectors, TestSubtreeInclusionProofVectors)`,
  generated: 'test/vectors/generate.ts, from its reference implementation of RFC 9162 §2.1',
} as const
type Source = keyof typeof SOURCES

/** The RFC 6962 test leaves used by Certificate Transparency and transparency-dev/merkle. */
const RFC6962_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']

/** Roots of the trees over the first n RFC6962_LEAVES, n = 0..8. */
const RFC6962_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]

/** Perfect nodes of the 8-leaf tree, NODE_HASHES[level][index]. */
const RFC6962_NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
]

/** CompactTrees(): the compact range of each size 0..8 as [level, index] of RFC6962_NODES. */
const RFC6962_COMPACT_RANGES: ReadonlyArray<ReadonlyArray<readonly [number, number]>> = [
  [],
  [[0, 0]],
  [[1, 0]],
  [
    [1, 0],
    [0, 2],
  ],
  [[2, 0]],
  [
    [2, 0],
    [0, 4],
  ],
  [
    [2, 0],
    [1, 2],
  ],
  [
    [2, 0],
    [1, 2],
    [0, 6],
  ],
  [[3, 0]],
]

const n = (level: number, index: number) => RFC6962_NODES[level]![index]!

/** Inclusion proofs in the RFC 6962 tree; leaf indices 0-based. */
const RFC6962_INCLUSION: ReadonlyArray<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 2, proof: [n(0, 1)] },
  { index: 1, size: 2, proof: [n(0, 0)] },
  { index: 2, size: 3, proof: [n(1, 0)] },
  { index: 1, size: 5, proof: [n(0, 0), n(1, 1), n(0, 4)] },
  { index: 0, size: 8, proof: [n(0, 1), n(1, 1), n(2, 1)] },
  { index: 5, size: 8, proof: [n(0, 4), n(1, 3), n(2, 0)] },
]

/** Consistency proofs in the RFC 6962 tree. */
const RFC6962_CONSISTENCY: ReadonlyArray<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: [n(0, 1), n(1, 1), n(2, 1)] },
  { size1: 6, size2: 8, proof: [n(1, 2), n(1, 3), n(2, 0)] },
  { size1: 2, size2: 5, proof: [n(1, 1), n(0, 4)] },
  { size1: 6, size2: 7, proof: [n(1, 2), n(0, 6), n(2, 0)] },
]

/** Rolling digests over all valid subtrees [start, end) of the tree d[i] = byte i, end <= 130. */
const DRAFT_SUBTREE_MAX = 130
const DRAFT_SUBTREE_HASH_DIGEST = '94a95384a8c69acea9b50d035a58285b3a777cb7a724005faa5e1f1e1190007f'
const DRAFT_SUBTREE_INCLUSION_DIGEST = 'ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f'

// ---------------------------------------------------------------------------
// Hashing and the reference tree (RFC 9162 §2.1, transcribed)

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))
const leafHash = (data: Uint8Array) => sha256(Uint8Array.of(0x00), data)
const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(Uint8Array.of(0x01), left, right)
const EMPTY_ROOT = sha256()

/** k: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** Length of PATH(m, D[n]), from the recursion alone. */
function pathLength(m: number, size: number): number {
  if (size <= 1) return 0
  const k = split(size)
  return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, size - k))
}

/** Length of PROOF(m, D[n]) = SUBPROOF(m, D[n], true), from the recursion alone; 0 for m = 0. */
function proofLength(m: number, size: number, known = true): number {
  if (m === 0) return 0
  if (m === size) return known ? 0 : 1
  const k = split(size)
  return 1 + (m <= k ? proofLength(m, k, known) : proofLength(m - k, size - k, false))
}

class ReferenceTree {
  readonly leafHashes: Uint8Array[]
  private readonly memo = new Map<string, Uint8Array>()
  constructor(leafHashes: Uint8Array[]) {
    this.leafHashes = leafHashes
  }
  /** MTH(D[begin:end]). */
  mth(begin: number, end: number): Uint8Array {
    if (end === begin) return EMPTY_ROOT
    if (end - begin === 1) return this.leafHashes[begin]!
    const key = `${begin},${end}`
    let hash = this.memo.get(key)
    if (hash === undefined) {
      const k = split(end - begin)
      hash = nodeHash(this.mth(begin, begin + k), this.mth(begin + k, end))
      this.memo.set(key, hash)
    }
    return hash
  }
  /** PATH(m, D[begin:end]), m relative to begin. */
  path(m: number, begin: number, end: number): Uint8Array[] {
    if (end - begin <= 1) return []
    const k = split(end - begin)
    if (m < k) return [...this.path(m, begin, begin + k), this.mth(begin + k, end)]
    return [...this.path(m - k, begin + k, end), this.mth(begin, begin + k)]
  }
  /** SUBPROOF(m, D[begin:end], b), m relative to begin. */
  subproof(m: number, begin: number, end: number, known: boolean): Uint8Array[] {
    if (m === end - begin) return known ? [] : [this.mth(begin, end)]
    const k = split(end - begin)
    if (m <= k) return [...this.subproof(m, begin, begin + k, known), this.mth(begin + k, end)]
    return [...this.subproof(m - k, begin + k, end, false), this.mth(begin, begin + k)]
  }
  inclusion(index: number, size: number): Uint8Array[] {
    return this.path(index, 0, size)
  }
  consistency(size1: number, size2: number): Uint8Array[] {
    return size1 === 0 ? [] : this.subproof(size1, 0, size2, true)
  }
}

// ---------------------------------------------------------------------------
// Self-check against the known answers

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`generate.ts: reference disagrees with a known answer: ${what}`)
}

const rfcTree = new ReferenceTree(RFC6962_LEAVES.map((d) => leafHash(unhex(d))))
const bytesTree = (count: number) => new ReferenceTree(Array.from({ length: count }, (_, i) => leafHash(Uint8Array.of(i))))

function selfCheck(): void {
  RFC6962_ROOTS.forEach((root, size) => check(hex(rfcTree.mth(0, size)) === root, `root of size ${size}`))
  RFC6962_NODES.forEach((row, level) => row.forEach((node, index) => check(hex(rfcTree.mth(index << level, (index + 1) << level)) === node, `node (${level}, ${index})`)))
  for (const { index, size, proof } of RFC6962_INCLUSION) {
    check(rfcTree.inclusion(index, size).map(hex).join() === proof.join(), `inclusion ${index} ${size}`)
    check(pathLength(index, size) === proof.length, `inclusion length ${index} ${size}`)
  }
  for (const { size1, size2, proof } of RFC6962_CONSISTENCY) {
    check(rfcTree.consistency(size1, size2).map(hex).join() === proof.join(), `consistency ${size1} ${size2}`)
    check(proofLength(size1, size2) === proof.length, `consistency length ${size1} ${size2}`)
  }
  const draft = bytesTree(DRAFT_SUBTREE_MAX)
  const hashes = createHash('sha256')
  const proofs = createHash('sha256')
  forEachDraftSubtree((start, end) => {
    hashes.update(`[${start}, ${end}) ${hex(draft.mth(start, end))}\n`)
    for (let index = start; index < end; index++) proofs.update(proofLine(`${index} [${start}, ${end})`, draft.path(index - start, start, end)))
  })
  check(hashes.digest('hex') === DRAFT_SUBTREE_HASH_DIGEST, 'draft subtree hash digest')
  check(proofs.digest('hex') === DRAFT_SUBTREE_INCLUSION_DIGEST, 'draft subtree inclusion digest')
}

/** Valid subtrees [start, end) of the draft: start = 0, or start a multiple of bit_ceil(end - start). */
function forEachDraftSubtree(f: (start: number, end: number) => void): void {
  for (let end = 1; end <= DRAFT_SUBTREE_MAX; end++) {
    for (let start = 0; start < end; start++) {
      let ceil = 1
      while (ceil < end - start) ceil *= 2
      if (start === 0 || start % ceil === 0) f(start, end)
    }
  }
}

/** `prefix` then ` <hex>` per proof hash, then a newline: the line format of the rolling digests. */
function proofLine(prefix: string, proof: readonly Uint8Array[]): string {
  return `${prefix}${proof.map((h) => ` ${hex(h)}`).join('')}\n`
}

// ---------------------------------------------------------------------------
// Random sweep

const SWEEP_SEED = 0x6d65726b // "merk"
const SWEEP_MAX_SIZE = 1000

/** mulberry32: a 32-bit PRNG small enough to restate exactly in the test. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

function sweepDigest(): string {
  const next = mulberry32(SWEEP_SEED)
  const leaves: Uint8Array[] = []
  for (let i = 0; i < SWEEP_MAX_SIZE; i++) {
    const data = new Uint8Array(next() % 33)
    for (let j = 0; j < data.length; j++) data[j] = next() & 0xff
    leaves.push(leafHash(data))
  }
  const tree = new ReferenceTree(leaves)
  const digest = createHash('sha256')
  for (let size = 0; size <= SWEEP_MAX_SIZE; size++) {
    digest.update(`root ${size} ${hex(tree.mth(0, size))}\n`)
    if (size === 0) continue
    const index = next() % size
    const size1 = next() % (size + 1)
    for (const i of [index, size - 1]) digest.update(proofLine(`inclusion ${i} ${size}`, tree.inclusion(i, size)))
    for (const s1 of [size1, size - 1]) digest.update(proofLine(`consistency ${s1} ${size}`, tree.consistency(s1, size)))
  }
  return digest.digest('hex')
}

// ---------------------------------------------------------------------------
// Vectors

const CODE = {
  invalidArgument: 'LEDGER_INVALID_ARGUMENT',
  indexOutOfRange: 'LEDGER_PROOF_INDEX_OUT_OF_RANGE',
  sizeOutOfRange: 'LEDGER_PROOF_SIZE_OUT_OF_RANGE',
  wrongLength: 'LEDGER_PROOF_WRONG_LENGTH',
  hashWrongLength: 'LEDGER_HASH_WRONG_LENGTH',
  rootMismatch: 'LEDGER_ROOT_MISMATCH',
} as const

const SOME_HASH = unhex('abacaba000000000000000000000000000000000000000000060061e00123456')
const isCount = (x: number) => Number.isSafeInteger(x) && x >= 0
const sameBytes = (a: Uint8Array, b: Uint8Array) => hex(a) === hex(b)
const flipBit3 = (proof: readonly Uint8Array[], i: number) => proof.map((h, j) => (j === i ? h.map((b, k) => (k === 0 ? b ^ 0x08 : b)) : h))

interface Inclusion {
  index: number
  size: number
  leafHash: Uint8Array
  proof: Uint8Array[]
  root: Uint8Array
}

interface Consistency {
  size1: number
  size2: number
  proof: Uint8Array[]
  root1: Uint8Array
  root2: Uint8Array
}

/** What verifyInclusion must do with `v`: accept it (want: the root), or throw this code. */
function expectInclusion(v: Inclusion): { want: string } | { wantErr: string } {
  if (!isCount(v.size) || !Number.isSafeInteger(v.index)) return { wantErr: CODE.invalidArgument }
  if (v.index < 0 || v.index >= v.size) return { wantErr: CODE.indexOutOfRange }
  if (v.proof.length !== pathLength(v.index, v.size)) return { wantErr: CODE.wrongLength }
  if ([v.leafHash, ...v.proof, v.root].some((h) => h.length !== 32)) return { wantErr: CODE.hashWrongLength }
  return sameBytes(rootFromPath(v.index, v.size, v.leafHash, v.proof), v.root) ? { want: hex(v.root) } : { wantErr: CODE.rootMismatch }
}

/** What verifyConsistency must do with `v`: accept it (want: root2), or throw this code. */
function expectConsistency(v: Consistency): { want: string } | { wantErr: string } {
  if (!isCount(v.size1) || !isCount(v.size2)) return { wantErr: CODE.invalidArgument }
  if (v.size1 > v.size2) return { wantErr: CODE.sizeOutOfRange }
  if (v.proof.length !== proofLength(v.size1, v.size2)) return { wantErr: CODE.wrongLength }
  if ([...v.proof, v.root1, v.root2].some((h) => h.length !== 32)) return { wantErr: CODE.hashWrongLength }
  let valid: boolean
  if (v.size1 === 0) valid = sameBytes(v.root1, EMPTY_ROOT) && (v.size2 > 0 || sameBytes(v.root2, EMPTY_ROOT))
  else {
    const [old, now] = rootsFromSubproof(v.size1, v.size2, true, v.root1, v.proof)
    valid = sameBytes(old, v.root1) && sameBytes(now, v.root2)
  }
  return valid ? { want: hex(v.root2) } : { wantErr: CODE.rootMismatch }
}

/**
 * The root that PATH(m, D[n]) leads to from the leaf hash: the recursion of
 * PATH run backwards (the proof's last hash is the top sibling). Requires
 * proof.length = pathLength(m, n). Deliberately not the index arithmetic of
 * RFC 9162 §2.1.3.2 that merkle.ts implements.
 */
function rootFromPath(m: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (size === 1) return leaf
  const k = split(size)
  const top = proof[proof.length - 1]!
  const rest = proof.slice(0, -1)
  return m < k ? nodeHash(rootFromPath(m, k, leaf, rest), top) : nodeHash(top, rootFromPath(m - k, size - k, leaf, rest))
}

/**
 * The old and new roots of D[0:n] that SUBPROOF(m, D[n], b) leads to, run
 * backwards like rootFromPath; `root1` stands in for the hash a known (b)
 * subtree leaves out. Requires proof.length = proofLength(m, n, b), 0 < m <= n.
 */
function rootsFromSubproof(m: number, size: number, known: boolean, root1: Uint8Array, proof: readonly Uint8Array[]): [Uint8Array, Uint8Array] {
  if (m === size) return known ? [root1, root1] : [proof[0]!, proof[0]!]
  const k = split(size)
  const top = proof[proof.length - 1]!
  const rest = proof.slice(0, -1)
  if (m <= k) {
    const [old, now] = rootsFromSubproof(m, k, known, root1, rest)
    return [old, nodeHash(now, top)]
  }
  const [old, now] = rootsFromSubproof(m - k, size - k, false, root1, rest)
  return [nodeHash(top, old), nodeHash(top, now)]
}

/** The mutated siblings of a valid inclusion proof (cf. transparency-dev/merkle proof/verify_test.go). */
function inclusionMutants(v: Inclusion): Array<[string, Inclusion]> {
  const out: Array<[string, Inclusion]> = []
  v.proof.forEach((_, i) => out.push([`proof[${i}] with bit 3 flipped`, { ...v, proof: flipBit3(v.proof, i) }]))
  out.push(['index - 1', { ...v, index: v.index - 1 }])
  out.push(['index + 1', { ...v, index: v.index + 1 }])
  out.push(['size * 2', { ...v, size: v.size * 2 }])
  out.push(['size + 1', { ...v, size: v.size + 1 }])
  if (v.proof.length > 0) out.push(['truncated proof', { ...v, proof: v.proof.slice(0, -1) }])
  out.push(['trailing extra hash', { ...v, proof: [...v.proof, SOME_HASH] }])
  out.push(['trailing empty hash', { ...v, proof: [...v.proof, new Uint8Array(0)] }])
  out.push(['preceding root', { ...v, proof: [v.root, ...v.proof] }])
  if (v.proof.length > 0) out.push(['proof[0] one byte short', { ...v, proof: [v.proof[0]!.subarray(1), ...v.proof.slice(1)] }])
  out.push(['wrong leaf', { ...v, leafHash: leafHash(new TextEncoder().encode('WrongLeaf')) }])
  out.push(['leaf hash of 9 bytes', { ...v, leafHash: new TextEncoder().encode('WrongLeaf') }])
  out.push(['swapped leaf hash and root', { ...v, leafHash: v.root, root: v.leafHash }])
  out.push(['empty-tree root', { ...v, root: EMPTY_ROOT }])
  out.push(['root of 33 bytes', { ...v, root: Uint8Array.of(...v.root, 0) }])
  return out.filter(([, m]) => !sameInclusion(m, v))
}

/** The mutated siblings of a valid consistency proof. */
function consistencyMutants(v: Consistency): Array<[string, Consistency]> {
  const out: Array<[string, Consistency]> = []
  v.proof.forEach((_, i) => out.push([`proof[${i}] with bit 4 flipped`, { ...v, proof: v.proof.map((h, j) => (j === i ? h.map((b, k) => (k === 0 ? b ^ 0x10 : b)) : h)) }]))
  out.push(['size1 - 1', { ...v, size1: v.size1 - 1 }])
  out.push(['size1 + 1', { ...v, size1: v.size1 + 1 }])
  out.push(['size2 * 2', { ...v, size2: v.size2 * 2 }])
  out.push(['size2 + 1', { ...v, size2: v.size2 + 1 }])
  if (v.proof.length > 0) out.push(['truncated proof', { ...v, proof: v.proof.slice(0, -1) }])
  if (v.proof.length > 0) out.push(['empty proof', { ...v, proof: [] }])
  out.push(['trailing extra hash', { ...v, proof: [...v.proof, SOME_HASH] }])
  out.push(['trailing root1', { ...v, proof: [...v.proof, v.root1] }])
  out.push(['preceding root2', { ...v, proof: [v.root2, ...v.proof] }])
  if (v.proof.length > 0) out.push(['proof[0] one byte short', { ...v, proof: [v.proof[0]!.subarray(1), ...v.proof.slice(1)] }])
  out.push(['swapped roots', { ...v, root1: v.root2, root2: v.root1 }])
  out.push(['wrong root1', { ...v, root1: SOME_HASH }])
  out.push(['wrong root2', { ...v, root2: SOME_HASH }])
  out.push(['root1 of 9 bytes', { ...v, root1: new TextEncoder().encode('WrongRoot') }])
  return out.filter(([, m]) => !sameConsistency(m, v))
}

const sameInclusion = (a: Inclusion, b: Inclusion) =>
  a.index === b.index && a.size === b.size && sameBytes(a.leafHash, b.leafHash) && sameBytes(a.root, b.root) && a.proof.map(hex).join() === b.proof.map(hex).join()
const sameConsistency = (a: Consistency, b: Consistency) =>
  a.size1 === b.size1 && a.size2 === b.size2 && sameBytes(a.root1, b.root1) && sameBytes(a.root2, b.root2) && a.proof.map(hex).join() === b.proof.map(hex).join()

const inclusionJson = (desc: string, source: Source, treeName: string | undefined, v: Inclusion, expected: { want: string } | { wantErr: string }) => ({
  desc,
  source,
  ...(treeName !== undefined && 'want' in expected ? { tree: treeName } : {}),
  index: v.index,
  size: v.size,
  leafHash: hex(v.leafHash),
  proof: v.proof.map(hex),
  root: hex(v.root),
  ...expected,
})

const consistencyJson = (desc: string, source: Source, treeName: string | undefined, v: Consistency, expected: { want: string } | { wantErr: string }) => ({
  desc,
  source,
  ...(treeName !== undefined && 'want' in expected ? { tree: treeName } : {}),
  size1: v.size1,
  size2: v.size2,
  proof: v.proof.map(hex),
  root1: hex(v.root1),
  root2: hex(v.root2),
  ...expected,
})

const BYTES_TREE_SIZE = 33
const TREES = {
  rfc6962: { leaves: RFC6962_LEAVES, tree: rfcTree },
  bytes33: { leaves: Array.from({ length: BYTES_TREE_SIZE }, (_, i) => hex(Uint8Array.of(i))), tree: bytesTree(BYTES_TREE_SIZE) },
}
const treesJson = {
  rfc6962: { desc: 'the RFC 6962 test leaves (leaf data, hex)', source: 'tdev-testonly', leaves: TREES.rfc6962.leaves },
  bytes33: { desc: 'leaf i is the single byte i, as in the draft subtree vectors (leaf data, hex)', source: 'generated', leaves: TREES.bytes33.leaves },
}

/**
 * Some mutants still verify, and say so: a proof does not bind the tree size
 * on its own. The proof for index 1 in size 5 hashes exactly as one for size
 * 6 would, so against the size-5 root it "verifies" for size 6 too (RFC 9162
 * §2.1.3.2 gives the same result; so does transparency-dev/merkle). Only a
 * signed (size, root) pair, a checkpoint, binds the two.
 */
const STILL_VERIFIES = ' (still verifies: the size is bound by the signed root, not by the proof)'

/** Generated happy paths in the bytes33 tree: edges of perfect subtrees, the right edge, single leaves. */
const GENERATED_INCLUSION: ReadonlyArray<readonly [number, number]> = [
  [0, 33],
  [16, 33],
  [31, 33],
  [32, 33],
  [7, 13],
  [12, 13],
  [31, 32],
  [20, 21],
]
const GENERATED_CONSISTENCY: ReadonlyArray<readonly [number, number]> = [
  [3, 33],
  [16, 33],
  [32, 33],
  [7, 13],
  [12, 13],
  [5, 32],
  [20, 21],
  [13, 13],
]

function inclusionVectors(): unknown[] {
  const out: unknown[] = []
  const emit = (treeName: keyof typeof TREES, source: Source, v: Inclusion) => {
    const { tree } = TREES[treeName]
    const expected = expectInclusion(v)
    const isReference = sameInclusion(v, { ...v, leafHash: tree.leafHashes[v.index]!, proof: tree.inclusion(v.index, v.size), root: tree.mth(0, v.size) })
    if (!('want' in expected) || !isReference) throw new Error(`happy path index ${v.index} size ${v.size} is not the reference proof`)
    const name = `${treeName} tree: index ${v.index} in size ${v.size}`
    out.push(inclusionJson(name, source, treeName, v, expected))
    for (const [what, m] of inclusionMutants(v)) {
      const e = expectInclusion(m)
      out.push(inclusionJson(`${name}, ${what}${'want' in e ? STILL_VERIFIES : ''}`, 'generated', undefined, m, e))
    }
  }
  for (const { index, size, proof } of RFC6962_INCLUSION) {
    emit('rfc6962', 'tdev-proofs', { index, size, leafHash: unhex(n(0, index)), proof: proof.map(unhex), root: unhex(RFC6962_ROOTS[size]!) })
  }
  const { tree } = TREES.bytes33
  for (const [index, size] of GENERATED_INCLUSION) {
    emit('bytes33', 'generated', { index, size, leafHash: tree.leafHashes[index]!, proof: tree.inclusion(index, size), root: tree.mth(0, size) })
  }
  const leaf0 = tree.leafHashes[0]!
  const preconditions: Array<[string, Inclusion]> = [
    ['index = size', { index: 13, size: 13, leafHash: leaf0, proof: [], root: tree.mth(0, 13) }],
    ['the empty tree has no index 0', { index: 0, size: 0, leafHash: leaf0, proof: [], root: EMPTY_ROOT }],
    ['negative index', { index: -1, size: 13, leafHash: leaf0, proof: tree.inclusion(0, 13), root: tree.mth(0, 13) }],
    ['fractional index', { index: 1.5, size: 13, leafHash: leaf0, proof: tree.inclusion(1, 13), root: tree.mth(0, 13) }],
    ['negative size', { index: 0, size: -1, leafHash: leaf0, proof: [], root: EMPTY_ROOT }],
    ['size 2^53 (not a safe integer)', { index: 0, size: 2 ** 53, leafHash: leaf0, proof: [], root: EMPTY_ROOT }],
  ]
  for (const [what, v] of preconditions) out.push(inclusionJson(`precondition: ${what}`, 'generated', undefined, v, expectInclusion(v)))
  return out
}

function consistencyVectors(): unknown[] {
  const out: unknown[] = []
  const emit = (treeName: keyof typeof TREES, source: Source, v: Consistency) => {
    const { tree } = TREES[treeName]
    const expected = expectConsistency(v)
    const isReference = sameConsistency(v, { ...v, proof: tree.consistency(v.size1, v.size2), root1: tree.mth(0, v.size1), root2: tree.mth(0, v.size2) })
    if (!('want' in expected) || !isReference) throw new Error(`happy path size1 ${v.size1} size2 ${v.size2} is not the reference proof`)
    const name = `${treeName} tree: size ${v.size1} to ${v.size2}`
    out.push(consistencyJson(name, source, treeName, v, expected))
    for (const [what, m] of consistencyMutants(v)) {
      const e = expectConsistency(m)
      out.push(consistencyJson(`${name}, ${what}${'want' in e ? STILL_VERIFIES : ''}`, 'generated', undefined, m, e))
    }
  }
  for (const { size1, size2, proof } of RFC6962_CONSISTENCY) {
    emit('rfc6962', 'tdev-proofs', { size1, size2, proof: proof.map(unhex), root1: unhex(RFC6962_ROOTS[size1]!), root2: unhex(RFC6962_ROOTS[size2]!) })
  }
  const { tree } = TREES.bytes33
  for (const [size1, size2] of GENERATED_CONSISTENCY) {
    emit('bytes33', 'generated', { size1, size2, proof: tree.consistency(size1, size2), root1: tree.mth(0, size1), root2: tree.mth(0, size2) })
  }
  const preconditions: Array<[string, Consistency]> = [
    ['size1 > size2', { size1: 13, size2: 12, proof: [], root1: tree.mth(0, 13), root2: tree.mth(0, 12) }],
    ['from the empty tree', { size1: 0, size2: 13, proof: [], root1: EMPTY_ROOT, root2: tree.mth(0, 13) }],
    ['from the empty tree, with a proof', { size1: 0, size2: 13, proof: [tree.mth(0, 13)], root1: EMPTY_ROOT, root2: tree.mth(0, 13) }],
    ['from the empty tree, root1 not the empty root', { size1: 0, size2: 13, proof: [], root1: SOME_HASH, root2: tree.mth(0, 13) }],
    ['empty to empty', { size1: 0, size2: 0, proof: [], root1: EMPTY_ROOT, root2: EMPTY_ROOT }],
    ['empty to empty, root2 not the empty root', { size1: 0, size2: 0, proof: [], root1: EMPTY_ROOT, root2: SOME_HASH }],
    ['negative size1', { size1: -1, size2: 13, proof: [], root1: EMPTY_ROOT, root2: tree.mth(0, 13) }],
    ['fractional size2', { size1: 1, size2: 12.5, proof: [], root1: tree.mth(0, 1), root2: tree.mth(0, 12) }],
  ]
  for (const [what, v] of preconditions) out.push(consistencyJson(`precondition: ${what}`, 'generated', undefined, v, expectConsistency(v)))
  return out
}

function rootVectors(): unknown[] {
  const out: unknown[] = RFC6962_ROOTS.map((root, size) => ({
    desc: `rfc6962 leaves, size ${size}`,
    source: 'tdev-testonly',
    leaves: RFC6962_LEAVES.slice(0, size),
    want: root,
  }))
  const { tree, leaves } = TREES.bytes33
  for (const size of [9, 13, 16, 17, 31, 32, 33]) {
    out.push({ desc: `bytes33 leaves, size ${size}`, source: 'generated', leaves: leaves.slice(0, size), want: hex(tree.mth(0, size)) })
  }
  return out
}

function compactRangeVectors(): unknown[] {
  const out: unknown[] = RFC6962_COMPACT_RANGES.map((nodes, size) => ({
    desc: `rfc6962 leaves, size ${size}`,
    source: 'tdev-testonly',
    leaves: RFC6962_LEAVES.slice(0, size),
    want: nodes.map(([level, index]) => n(level, index)),
  }))
  const { tree, leaves } = TREES.bytes33
  for (const size of [13, 31, 32, 33]) {
    // The perfect subtrees of [0, size), largest first: one per set bit of size.
    const hashes: string[] = []
    for (let begin = 0, width = 2 ** 6; width >= 1; width /= 2) {
      if (begin + width <= size) {
        hashes.push(hex(tree.mth(begin, begin + width)))
        begin += width
      }
    }
    out.push({ desc: `bytes33 leaves, size ${size}`, source: 'generated', leaves: leaves.slice(0, size), want: hashes })
  }
  return out
}

function sweepVectors(): unknown[] {
  return [
    {
      desc: 'draft subtree hashes: "[start, end) <hash>\\n" for every valid subtree, end <= 130',
      source: 'draft-subtree',
      kind: 'subtree-hash',
      maxSize: DRAFT_SUBTREE_MAX,
      want: DRAFT_SUBTREE_HASH_DIGEST,
    },
    {
      desc: 'draft subtree inclusion proofs: "index [start, end) <hash>...\\n" for every leaf of every valid subtree, end <= 130',
      source: 'draft-subtree',
      kind: 'subtree-inclusion',
      maxSize: DRAFT_SUBTREE_MAX,
      want: DRAFT_SUBTREE_INCLUSION_DIGEST,
    },
    {
      desc: `random tree of ${SWEEP_MAX_SIZE} leaves: every root, sampled inclusion and consistency proofs`,
      source: 'generated',
      kind: 'random',
      seed: SWEEP_SEED,
      maxSize: SWEEP_MAX_SIZE,
      want: sweepDigest(),
    },
  ]
}

// ---------------------------------------------------------------------------
// Files

const COMMENT = 'Written by test/vectors/generate.ts (npx tsx test/vectors/generate.ts); never edit by hand.'

const FILES: Record<string, { about: string; body: () => Record<string, unknown> }> = {
  'merkle-roots.json': {
    about: 'rootOf(hasher, leaves.map(hashLeaf)) = want (hex); leaves are leaf data in hex. RFC 9162 §2.1.1.',
    body: () => ({ vectors: rootVectors() }),
  },
  'merkle-compact-ranges.json': {
    about: 'The compact range after appending leaves.map(hashLeaf): its hashes, left to right, = want (hex).',
    body: () => ({ vectors: compactRangeVectors() }),
  },
  'merkle-inclusion.json': {
    about:
      'verifyInclusion(hasher, index, size, leafHash, proof, root): with want, it passes and rootFromInclusionProof returns want; ' +
      'with wantErr, it throws an error with that code. Happy paths name their tree: inclusionProof over its leaf hashes returns proof. RFC 9162 §2.1.3.',
    body: () => ({ trees: treesJson, vectors: inclusionVectors() }),
  },
  'merkle-consistency.json': {
    about:
      'verifyConsistency(hasher, size1, size2, proof, root1, root2): with want (= root2), it passes and, unless 0 = size1 < size2, ' +
      'rootFromConsistencyProof returns want; with wantErr, it throws an error with that code. Happy paths name their tree: ' +
      'consistencyProof over its leaf hashes returns proof. RFC 9162 §2.1.4.',
    body: () => ({ trees: treesJson, vectors: consistencyVectors() }),
  },
  'merkle-sweeps.json': {
    about:
      'Rolling SHA-256 digests over many outputs, each line fed as UTF-8. random: mulberry32(seed); leaf i data is (next() % 33) bytes of next() & 0xff; ' +
      'then for size = 0..maxSize the line "root <size> <hex>", and for size >= 1, with index = next() % size and size1 = next() % (size + 1), ' +
      'the lines "inclusion <i> <size>[ <hex>]..." for i = index, size - 1 and "consistency <s1> <size>[ <hex>]..." for s1 = size1, size - 1. ' +
      'subtree-*: the tree d[i] = byte i; see the source.',
    body: () => ({ vectors: sweepVectors() }),
  },
}

function main(): void {
  selfCheck()
  const dir = fileURLToPath(new URL('.', import.meta.url))
  for (const [name, { about, body }] of Object.entries(FILES)) {
    const file = { comment: COMMENT, about, sources: SOURCES, ...body() }
    writeFileSync(`${dir}${name}`, `${JSON.stringify(file, null, 2)}\n`)
    console.log(`wrote test/vectors/${name}`)
  }
}

main()
