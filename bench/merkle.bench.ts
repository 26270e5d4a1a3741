/**
 * Merkle proofs on a 1,000,000-leaf log: generation from stored perfect
 * nodes, verification, and an append to the frontier. Every operation should
 * take a few tens of microseconds: O(log n) hashes, about 20 here.
 *
 *   npx vitest bench --run bench/merkle.bench.ts
 *
 * Setup builds the tree once (about 2M SHA-256 calls, several seconds) with
 * leaf i = SHA-256(0x00 ‖ uint32be(i)); queries come from a fixed-seed
 * sequence, so every run times the same work.
 */
import { cpus } from 'node:os'
import { bench, describe } from 'vitest'
import {
  RFC6962_SHA256,
  appendLeaf,
  compactRangeOf,
  consistencyProofFrom,
  hashLeaf,
  inclusionProofFrom,
  rootFrom,
  rootFromInclusionProof,
  rootOfRange,
  verifyConsistency,
  verifyInclusion,
  type NodeReader,
} from '../ledger/core/index.ts'

const SIZE = 1_000_000
const hasher = RFC6962_SHA256

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`)

const leafHashes = Array.from({ length: SIZE }, (_, i) => {
  const data = new Uint8Array(4)
  new DataView(data.buffer).setUint32(0, i)
  return hashLeaf(data)
})
const nodes: Uint8Array[][] = []
const range = compactRangeOf(hasher, leafHashes, (level, index, hash) => {
  ;(nodes[level] ??= [])[index] = hash
})
const getNode: NodeReader = (level, index) => nodes[level]![index]!
const root = rootOfRange(hasher, range)

// A fixed sequence of queries (a linear congruential generator; the seed is arbitrary).
let state = 12345
const nextIndex = (bound: number) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return state % bound
}
const queries = Array.from({ length: 1024 }, () => {
  const index = nextIndex(SIZE)
  const size1 = 1 + nextIndex(SIZE - 1)
  return { index, size1, proof: inclusionProofFrom(hasher, getNode, index, SIZE), consistency: consistencyProofFrom(hasher, getNode, size1, SIZE), root1: rootFrom(hasher, getNode, size1) }
})
let q = 0
const query = () => queries[q++ % queries.length]!

describe(`merkle, ${SIZE.toLocaleString('en')} leaves`, () => {
  bench('inclusionProofFrom', () => {
    const { index } = query()
    inclusionProofFrom(hasher, getNode, index, SIZE)
  })

  bench('verifyInclusion', () => {
    const { index, proof } = query()
    verifyInclusion(hasher, index, SIZE, leafHashes[index]!, proof, root)
  })

  bench('rootFromInclusionProof', () => {
    const { index, proof } = query()
    rootFromInclusionProof(hasher, index, SIZE, leafHashes[index]!, proof)
  })

  bench('consistencyProofFrom', () => {
    const { size1 } = query()
    consistencyProofFrom(hasher, getNode, size1, SIZE)
  })

  bench('verifyConsistency', () => {
    const { size1, consistency, root1 } = query()
    verifyConsistency(hasher, size1, SIZE, consistency, root1, root)
  })

  bench('appendLeaf + rootOfRange', () => {
    rootOfRange(hasher, appendLeaf(hasher, range, leafHashes[0]!))
  })
})
