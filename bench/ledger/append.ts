/**
 * Section 1: appends per second with batching.
 *
 * Per batch size, a fresh LevelDB ledger in a temp dir takes `entries`
 * update-accepted drafts through `Ledger.append` (sign, encode, chain hash,
 * Merkle leaf and nodes, one durable `sync: true` batch per call). The
 * baseline, in the same run and a fresh dir: the very same key/value pairs
 * the ledger wrote (entry bytes, Merkle nodes, head) written as raw LevelDB
 * `batch(ops, { sync: true })` calls of the same sizes, with nothing
 * computed: what the storage alone costs.
 *
 * The cost split profiles the pieces of an append one at a time over a
 * sample of the same drafts: `signEntry` as a whole, and inside it the
 * Ed25519 signature, the canonical encoding (`encodeEntry`: the body encoded
 * once, the signing message and the entry bytes laid out around it, as
 * signEntry does) and the chain hash; then `hashLeaf` + `appendLeaf`; the
 * write is the raw chained baseline's per-entry cost at the largest batch
 * size (a chained batch, as LevelLedgerStorage writes).
 */
import {
  EMPTY_COMPACT_RANGE,
  GENESIS_PREV_HASH,
  Ledger,
  RFC6962_SHA256,
  appendLeaf,
  encodeEntry,
  entryHash,
  entrySigningMessage,
  hashLeaf,
  openLevelStorage,
  signEntry,
  type AppendedEntry,
  type EntryDraft,
  type Signer,
} from '../../ledger/index.ts'
import { COORDINATOR, HEAD_KEY, cycle, entryKey, headValue, nodeKey, openRawLevel, tempDir } from './fixtures.ts'
import { latency, perSecond, profilePieces, round2, type LatencySummary } from './timing.ts'

export const APPEND_GOAL_PER_SECOND = 20_000
/** Rounds of the cost-split profile; the median round per piece is reported. */
const SPLIT_REPS = 5

export interface WriteStats {
  readonly ms: number
  readonly perSecond: number
  readonly usPerEntry: number
  readonly call: LatencySummary
}

export interface AppendRow {
  readonly batch: number
  readonly entries: number
  /** Mean size of the entries appended, bytes. */
  readonly entryBytes: number
  /** LevelDB puts per entry (entry, Merkle nodes, head). */
  readonly opsPerEntry: number
  readonly ledger: WriteStats
  /** The same puts as one array-form `db.batch(ops, { sync: true })` per call (for comparison). */
  readonly rawLevelDb: WriteStats
  /** Baseline: the same puts through LevelDB's chained batch (`db.batch().put()….write({ sync: true })`), as LevelLedgerStorage writes. */
  readonly rawLevelDbChained: WriteStats
  /** Share of the ledger's time that the raw chained write of the same bytes takes. */
  readonly storageSharePct: number
}

export interface CostSplit {
  readonly sampleEntries: number
  readonly signEntryUs: number
  /** Inside signEntry: Ed25519 over the signing message. */
  readonly signUs: number
  /** Inside signEntry: canonical CBOR (`encodeEntry`: the body once, the signing message and the entry bytes laid out around it). */
  readonly encodeUs: number
  /** Inside signEntry: SHA-256 of the entry bytes (the next entry's prev). */
  readonly chainHashUs: number
  /** signEntry − sign − encode − chain hash: field validation, object building. */
  readonly validateUs: number
  /** hashLeaf + appendLeaf (with the node visitor the ledger uses). */
  readonly merkleUs: number
  /** Raw LevelDB chained sync batch of the same bytes (as storage.ts), per entry, at `writeBatch` entries per call. */
  readonly writeUs: number
  readonly writeBatch: number
  /** The same write as an array-form batch (what storage.ts did before; not in the sum). */
  readonly writeArrayUs: number
  readonly sumUs: number
  /** Ledger.append per entry at that batch size. */
  readonly appendUs: number
  /** appendUs − sumUs: the queue, batch assembly, key formatting, head encoding. */
  readonly otherUs: number
}

export interface AppendResult {
  readonly rows: AppendRow[]
  readonly split: CostSplit
  readonly goalPerSecond: number
  readonly bestPerSecond: number
  readonly goalMet: boolean
}

export interface AppendInit {
  /** Batch size → entries to append at that size. */
  readonly plan: readonly { readonly batch: number; readonly entries: number }[]
  readonly pool: readonly EntryDraft[]
  readonly splitSample: number
  readonly onStep: (label: string) => void
  /**
   * Who signs the entries (default the coordinator). `--entry-signatures off`
   * passes PLACEHOLDER_SIGNER: the same bytes stored, no Ed25519 per entry,
   * to measure what per-entry signatures cost.
   */
  readonly signer?: Signer
}

/** Signs nothing: 64 zero bytes where an entry's signature goes (what an unsigned-entry format would cost). */
export const PLACEHOLDER_SIGNER: Signer = { publicKey: COORDINATOR.publicKey, sign: () => new Uint8Array(64) }

/** Steps reported to onStep. */
export function appendSteps(init: Pick<AppendInit, 'plan'>): number {
  return 1 + init.plan.length + 1
}

export async function runAppend(init: AppendInit): Promise<AppendResult> {
  // Warm-up (JIT, LevelDB's native threads), not reported.
  const signer = init.signer ?? COORDINATOR
  await measureBatchSize(init.pool, 256, 4096, signer)
  init.onStep('append warm-up')

  const rows: AppendRow[] = []
  for (const { batch, entries } of init.plan) {
    rows.push(await measureBatchSize(init.pool, batch, entries, signer))
    init.onStep(`batch ${batch}: Ledger.append and raw LevelDB`)
  }

  const largest = rows[rows.length - 1]!
  const split = costSplit(init.pool, init.splitSample, largest)
  init.onStep('cost split')
  const bestPerSecond = Math.max(...rows.map((r) => r.ledger.perSecond))
  return { rows, split, goalPerSecond: APPEND_GOAL_PER_SECOND, bestPerSecond, goalMet: bestPerSecond >= APPEND_GOAL_PER_SECOND }
}

type PutOp = { type: 'put'; key: string; value: Uint8Array }

function stats(entries: number, callsMs: readonly number[]): WriteStats {
  const ms = callsMs.reduce((a, b) => a + b, 0)
  return { ms: round2(ms), perSecond: perSecond(entries, ms), usPerEntry: round2((ms * 1000) / entries), call: latency(callsMs) }
}

/**
 * One batch size, three stores in fresh temp dirs, interleaved call by call
 * so that all three see the same disk and machine: `Ledger.append` of the
 * next `batch` drafts; then the very key/value pairs it wrote (entry bytes,
 * every Merkle node completed, the head, in LevelLedgerStorage's order),
 * recomputed from its output outside the timers, as one raw array batch and
 * as one raw chained batch, both `sync: true`. Throughput is entries over
 * the sum of each store's call times.
 */
async function measureBatchSize(pool: readonly EntryDraft[], batch: number, entries: number, signer: Signer): Promise<AppendRow> {
  const batches: EntryDraft[][] = []
  for (let i = 0; i < entries; i += batch) batches.push(cycle(pool, i, Math.min(batch, entries - i)))
  const dirs = await Promise.all([tempDir(`append-${batch}`), tempDir(`raw-${batch}`), tempDir(`chained-${batch}`)])
  try {
    const ledger = await Ledger.open(await openLevelStorage(dirs[0].dir))
    const raw = await openRawLevel(dirs[1].dir)
    const chained = await openRawLevel(dirs[2].dir)
    const ledgerMs: number[] = []
    const rawMs: number[] = []
    const chainedMs: number[] = []
    let range = EMPTY_COMPACT_RANGE
    let bytes = 0
    let ops = 0
    try {
      for (const drafts of batches) {
        const c0 = performance.now()
        const appended = await ledger.append(signer, drafts)
        ledgerMs.push(performance.now() - c0)

        const puts: PutOp[] = []
        const nodes: PutOp[] = []
        for (const a of appended) {
          bytes += a.bytes.length
          puts.push({ type: 'put', key: entryKey(a.entry.seq), value: a.bytes })
          range = appendLeaf(RFC6962_SHA256, range, hashLeaf(a.bytes), (level, index, hash) => void nodes.push({ type: 'put', key: nodeKey(level, index), value: hash }))
        }
        const last = appended[appended.length - 1]!
        puts.push(...nodes, { type: 'put', key: HEAD_KEY, value: headValue(last.entry.seq + 1, last.hash, range.hashes) })
        ops += puts.length

        const r0 = performance.now()
        await raw.batch(puts, { sync: true })
        rawMs.push(performance.now() - r0)

        const h0 = performance.now()
        const chain = chained.batch()
        for (const op of puts) chain.put(op.key, op.value)
        await chain.write({ sync: true })
        chainedMs.push(performance.now() - h0)
      }
    } finally {
      await ledger.close()
      await raw.close()
      await chained.close()
    }
    const ledgerStats = stats(entries, ledgerMs)
    const rawStats = stats(entries, rawMs)
    const chainedStats = stats(entries, chainedMs)
    return {
      batch,
      entries,
      entryBytes: Math.round(bytes / entries),
      opsPerEntry: round2(ops / entries),
      ledger: ledgerStats,
      rawLevelDb: rawStats,
      rawLevelDbChained: chainedStats,
      storageSharePct: round2((100 * chainedStats.ms) / ledgerStats.ms),
    }
  } finally {
    await Promise.all(dirs.map((d) => d.remove()))
  }
}

function costSplit(pool: readonly EntryDraft[], sample: number, largest: AppendRow): CostSplit {
  const drafts = cycle(pool, 0, sample)
  const signed: AppendedEntry[] = []
  let prev = GENESIS_PREV_HASH
  for (let i = 0; i < sample; i++) {
    const a = signEntry(COORDINATOR, i, prev, drafts[i]!)
    signed.push(a)
    prev = a.hash
  }
  const messages = signed.map((a) => entrySigningMessage(a.entry))
  // The Merkle piece is chained over the sample, as the ledger does; it restarts at item 0 of every pass.
  let range = EMPTY_COMPACT_RANGE
  let nodes: unknown[] = []
  const us = profilePieces(sample, SPLIT_REPS, {
    signEntry: (i) => signEntry(COORDINATOR, i, signed[i]!.entry.prevHash, drafts[i]!),
    sign: (i) => COORDINATOR.sign(messages[i]!),
    encode: (i) => encodeEntry(signed[i]!.entry),
    chainHash: (i) => entryHash(signed[i]!.bytes),
    merkle: (i) => {
      if (i === 0) {
        range = EMPTY_COMPACT_RANGE
        nodes = []
      }
      range = appendLeaf(RFC6962_SHA256, range, hashLeaf(signed[i]!.bytes), (level, index, hash) => void nodes.push({ level, index, hash }))
    },
  })
  const { signEntry: signEntryUs, sign: signUs, encode: encodeUs, chainHash: chainHashUs, merkle: merkleUs } = us
  const writeUs = largest.rawLevelDbChained.usPerEntry
  const sumUs = signEntryUs + merkleUs + writeUs
  return {
    sampleEntries: sample,
    signEntryUs: round2(signEntryUs),
    signUs: round2(signUs),
    encodeUs: round2(encodeUs),
    chainHashUs: round2(chainHashUs),
    validateUs: round2(signEntryUs - signUs - encodeUs - chainHashUs),
    merkleUs: round2(merkleUs),
    writeUs: round2(writeUs),
    writeBatch: largest.batch,
    writeArrayUs: largest.rawLevelDb.usPerEntry,
    sumUs: round2(sumUs),
    appendUs: largest.ledger.usPerEntry,
    otherUs: round2(largest.ledger.usPerEntry - sumUs),
  }
}
