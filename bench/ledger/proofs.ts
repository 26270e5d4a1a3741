/**
 * Section 3: inclusion and consistency proofs at 1M entries.
 *
 * The tree: by default written straight into a LevelDB store in the Ledger's
 * own on-disk layout and stored-node format, in batches of 4096 as
 * `Ledger.append` composes them (entry bytes, every perfect node completed,
 * the head with its compact range), with small unsigned placeholder entries
 * (canonical CBOR `{n: seq}`): signing 1M entries through Ledger.append takes
 * minutes on 2 cores (see section 1's rate), and proofs read only Merkle
 * nodes. `--full-1m` builds it through Ledger.append instead
 * (small signed entries, batches of 4096). Either way the store is then
 * opened with `Ledger.open` and every proof comes from the Ledger's API.
 *
 * Timed, one call at a time for fixed-seed random positions, after a warm-up:
 * - `ledger.inclusionProof(i, size)` (node ids, one LevelDB getMany, the
 *   ephemeral right-edge sibling hashed), and, as its baseline,
 *   `storage.readNodes` of the nodes such a proof reads, alone;
 * - `verifyInclusion` against `ledger.root()`, with the leaf hash computed
 *   from the entry's bytes (read outside the timer);
 * - `ledger.consistencyProof(size1, size)` for random size1 < size, its
 *   readNodes baseline, and `verifyConsistency` against `ledger.root(size1)`.
 */
import {
  EMPTY_COMPACT_RANGE,
  Ledger,
  RFC6962_SHA256,
  appendLeaf,
  consistencyProofNodes,
  encodeCanonical,
  entryHash,
  hashLeaf,
  inclusionProofNodes,
  openLevelStorage,
  verifyConsistency,
  verifyInclusion,
  type EntryDraft,
} from '../../ledger/index.ts'
import { COORDINATOR, HEAD_KEY, entryKey, headValue, nodeKey, openRawLevel, randomFor, randomInt, tempDir } from './fixtures.ts'
import { latency, perSecond, round2, type LatencySummary } from './timing.ts'
import { median } from '../support/median.ts'

const BUILD_BATCH = 4096
const WARMUP_SAMPLES = 200

export type ProofBuild = 'storage-direct' | 'ledger-append'

export interface ProofRow {
  readonly name: string
  readonly latency: LatencySummary
  /** Hashes in the proof, or (baselines) nodes read. */
  readonly counts: { readonly what: 'proof hashes' | 'nodes read'; readonly median: number; readonly max: number }
  readonly baseline: boolean
}

export interface ProofResult {
  readonly size: number
  readonly build: { readonly how: ProofBuild; readonly ms: number; readonly perSecond: number; readonly batch: number; readonly nodes: number; readonly note: string }
  readonly samples: number
  readonly rows: ProofRow[]
}

export interface ProofInit {
  readonly size: number
  readonly samples: number
  readonly build: ProofBuild
  readonly onStep: (label: string) => void
}

export const PROOF_STEPS = 5

/** The placeholder entry of a directly built tree: small and unsigned (see the module doc). */
function placeholderEntry(seq: number): Uint8Array {
  return encodeCanonical({ n: seq })
}

/**
 * Writes the tree of `size` placeholder entries straight into LevelDB in the
 * Ledger's on-disk layout (keys of ledger/storage.ts, spelled out in
 * fixtures.ts): per 4096 entries, one chained `sync: true` batch of the entry
 * bytes, every perfect node `appendLeaf` completes, and the head with its
 * compact range, as Ledger.append composes a batch. (LevelLedgerStorage's
 * array-form batch costs ~7× more per put in JS; this build is not timed
 * as a result.) Returns the number of nodes written.
 */
async function buildDirect(dir: string, size: number): Promise<number> {
  const db = await openRawLevel(dir)
  try {
    let range = EMPTY_COMPACT_RANGE
    let nodes = 0
    for (let from = 0; from < size; from += BUILD_BATCH) {
      const batch = db.batch()
      let last: Uint8Array = new Uint8Array(0)
      for (let seq = from; seq < Math.min(size, from + BUILD_BATCH); seq++) {
        last = placeholderEntry(seq)
        batch.put(entryKey(seq), last)
        range = appendLeaf(RFC6962_SHA256, range, hashLeaf(last), (level, index, hash) => {
          nodes++
          batch.put(nodeKey(level, index), hash)
        })
      }
      batch.put(HEAD_KEY, headValue(range.size, entryHash(last), range.hashes))
      await batch.write({ sync: true })
    }
    return nodes
  } finally {
    await db.close()
  }
}

async function buildWithAppend(ledger: Ledger, size: number): Promise<number> {
  for (let from = 0; from < size; from += BUILD_BATCH) {
    const drafts: EntryDraft[] = []
    for (let seq = from; seq < Math.min(size, from + BUILD_BATCH); seq++) drafts.push({ kind: 'bench-leaf', timeMs: 1_700_000_000_000 + seq, body: seq })
    await ledger.append(COORDINATOR, drafts)
  }
  // Perfect nodes: one per leaf at level 0, and size − popcount(size) above it.
  let popcount = 0
  for (let n = size; n > 0; n = Math.floor(n / 2)) popcount += n % 2
  return 2 * size - popcount
}

/** Latencies (ms) of `fn` over `positions`, one call at a time, after untimed calls over `warmup`. */
async function timeEach<T>(warmup: readonly T[], positions: readonly T[], fn: (p: T) => Promise<unknown> | unknown): Promise<number[]> {
  for (const p of warmup) await fn(p)
  const out: number[] = []
  for (const p of positions) {
    const t0 = performance.now()
    await fn(p)
    out.push(performance.now() - t0)
  }
  return out
}

export async function runProofs(init: ProofInit): Promise<ProofResult> {
  const { size, samples } = init
  const { dir, remove } = await tempDir('proofs')
  try {
    const b0 = performance.now()
    let nodes: number
    if (init.build === 'storage-direct') {
      nodes = await buildDirect(dir, size)
    } else {
      const ledger = await Ledger.open(await openLevelStorage(dir))
      try {
        nodes = await buildWithAppend(ledger, size)
      } finally {
        await ledger.close()
      }
    }
    const buildMs = performance.now() - b0
    init.onStep(`built ${size.toLocaleString('en-US')} leaves`)

    const storage = await openLevelStorage(dir, { createIfMissing: false })
    const ledger = await Ledger.open(storage)
    try {
      if (ledger.length !== size) throw new Error(`ledger has ${ledger.length} entries, want ${size}`)
      const root = await ledger.root()
      // Separate fixed-seed positions for warm-up, proofs and the readNodes baselines,
      // so no timed call finds its nodes in LevelDB's block cache because of another.
      const random = randomFor(3)
      const draw = (lo: number, n: number) => Array.from({ length: n }, () => randomInt(random, lo, size))
      const [warmIndices, indices, readIndices] = [draw(0, WARMUP_SAMPLES), draw(0, samples), draw(0, samples)]
      const [warmSizes, sizes1, readSizes] = [draw(1, WARMUP_SAMPLES), draw(1, samples), draw(1, samples)]

      // Inputs for verification, outside every timer.
      const leaves = new Map<number, Uint8Array>()
      for (const i of [...warmIndices, ...indices]) leaves.set(i, hashLeaf((await storage.readEntry(i))!))
      const roots1 = new Map<number, Uint8Array>()
      for (const s of [...warmSizes, ...sizes1]) roots1.set(s, await ledger.root(s))
      init.onStep('inputs')

      const inclusion = new Map<number, Uint8Array[]>()
      const inclusionMs = await timeEach(warmIndices, indices, async (i) => inclusion.set(i, await ledger.inclusionProof(i, size)))
      const inclusionReadMs = await timeEach(warmIndices, readIndices, (i) => storage.readNodes(inclusionProofNodes(i, size)))
      const verifyInclusionMs = await timeEach(warmIndices, indices, (i) => verifyInclusion(RFC6962_SHA256, i, size, leaves.get(i)!, inclusion.get(i)!, root))
      init.onStep('inclusion proofs')

      const consistency = new Map<number, Uint8Array[]>()
      const consistencyMs = await timeEach(warmSizes, sizes1, async (s) => consistency.set(s, await ledger.consistencyProof(s, size)))
      const consistencyReadMs = await timeEach(warmSizes, readSizes, (s) => storage.readNodes(consistencyProofNodes(s, size)))
      const verifyConsistencyMs = await timeEach(warmSizes, sizes1, (s) => verifyConsistency(RFC6962_SHA256, s, size, consistency.get(s)!, roots1.get(s)!, root))
      init.onStep('consistency proofs')

      const counts = (what: 'proof hashes' | 'nodes read', ns: readonly number[]) => ({ what, median: median(ns), max: Math.max(...ns) })
      const inclusionLengths = counts(
        'proof hashes',
        indices.map((i) => inclusion.get(i)!.length),
      )
      const consistencyLengths = counts(
        'proof hashes',
        sizes1.map((s) => consistency.get(s)!.length),
      )
      return {
        size,
        build: {
          how: init.build,
          ms: round2(buildMs),
          perSecond: perSecond(size, buildMs),
          batch: BUILD_BATCH,
          nodes,
          note:
            init.build === 'storage-direct'
              ? 'written straight into LevelDB in the Ledger on-disk layout (keys of ledger/storage.ts), one sync chained batch per 4096 entries as Ledger.append composes them (entries, perfect nodes, head + compact range); entries are unsigned {n: seq} placeholders; then opened with Ledger.open'
              : 'Ledger.append in batches of 4096, small signed entries {kind: bench-leaf, body: seq}',
        },
        samples,
        rows: [
          { name: 'ledger.inclusionProof(i, size)', latency: latency(inclusionMs), counts: inclusionLengths, baseline: false },
          {
            name: 'storage.readNodes of those nodes alone',
            latency: latency(inclusionReadMs),
            counts: counts(
              'nodes read',
              readIndices.map((i) => inclusionProofNodes(i, size).length),
            ),
            baseline: true,
          },
          { name: 'verifyInclusion', latency: latency(verifyInclusionMs), counts: inclusionLengths, baseline: false },
          { name: 'ledger.consistencyProof(size1, size)', latency: latency(consistencyMs), counts: consistencyLengths, baseline: false },
          {
            name: 'storage.readNodes of those nodes alone',
            latency: latency(consistencyReadMs),
            counts: counts(
              'nodes read',
              readSizes.map((s) => consistencyProofNodes(s, size).length),
            ),
            baseline: true,
          },
          { name: 'verifyConsistency', latency: latency(verifyConsistencyMs), counts: consistencyLengths, baseline: false },
        ],
      }
    } finally {
      await ledger.close()
    }
  } finally {
    await remove()
  }
}
