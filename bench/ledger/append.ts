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
 * Ed25519 signature, the two canonical encodings (signing message and entry
 * bytes) and the chain hash; then `hashLeaf` + `appendLeaf`; the write is
 * the raw baseline's per-entry cost at the largest batch size.
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
} from '../../ledger/index.ts'
import { COORDINATOR, HEAD_KEY, cycle, entryKey, headValue, nodeKey, openRawLevel, tempDir } from './fixtures.ts'
import { latency, perSecond, round2, type LatencySummary } from './timing.ts'

export const APPEND_GOAL_PER_SECOND = 20_000

export interface AppendRow {
  readonly batch: number
  readonly entries: number
  /** Mean size of the entries appended, bytes. */
  readonly entryBytes: number
  readonly ledger: { readonly ms: number; readonly perSecond: number; readonly usPerEntry: number; readonly call: LatencySummary }
  readonly rawLevelDb: { readonly ms: number; readonly perSecond: number; readonly usPerEntry: number; readonly opsPerEntry: number; readonly call: LatencySummary }
  /** Share of the ledger's time that the raw write of the same bytes takes. */
  readonly storageSharePct: number
}

export interface CostSplit {
  readonly sampleEntries: number
  readonly signEntryUs: number
  /** Inside signEntry: Ed25519 over the signing message. */
  readonly signUs: number
  /** Inside signEntry: canonical CBOR of the unsigned entry (signing message) and of the signed entry. */
  readonly encodeUs: number
  /** Inside signEntry: SHA-256 of the entry bytes (the next entry's prev). */
  readonly chainHashUs: number
  /** signEntry − sign − encode − chain hash: field validation, object building. */
  readonly validateUs: number
  /** hashLeaf + appendLeaf (with the node visitor the ledger uses). */
  readonly merkleUs: number
  /** Raw LevelDB sync batch of the same bytes, per entry, at `writeBatch` entries per call. */
  readonly writeUs: number
  readonly writeBatch: number
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
}

/** Steps reported to onStep. */
export function appendSteps(init: Pick<AppendInit, 'plan'>): number {
  return 1 + 2 * init.plan.length + 1
}

export async function runAppend(init: AppendInit): Promise<AppendResult> {
  // Warm-up (JIT, LevelDB's native threads), not reported.
  const warm = await measureLedger(init.pool, 256, 4096)
  await measureRaw(warm.appended, 256)
  init.onStep('append warm-up')

  const rows: AppendRow[] = []
  for (const { batch, entries } of init.plan) {
    const ledger = await measureLedger(init.pool, batch, entries)
    init.onStep(`Ledger.append batch ${batch}`)
    const raw = await measureRaw(ledger.appended, batch)
    init.onStep(`raw LevelDB batch ${batch}`)
    rows.push({
      batch,
      entries,
      entryBytes: Math.round(ledger.appended.reduce((n, a) => n + a.bytes.length, 0) / entries),
      ledger: { ms: round2(ledger.ms), perSecond: perSecond(entries, ledger.ms), usPerEntry: round2((ledger.ms * 1000) / entries), call: latency(ledger.callsMs) },
      rawLevelDb: { ms: round2(raw.ms), perSecond: perSecond(entries, raw.ms), usPerEntry: round2((raw.ms * 1000) / entries), opsPerEntry: round2(raw.ops / entries), call: latency(raw.callsMs) },
      storageSharePct: round2((100 * raw.ms) / ledger.ms),
    })
  }

  const largest = rows[rows.length - 1]!
  const split = costSplit(init.pool, init.splitSample, largest)
  init.onStep('cost split')
  const bestPerSecond = Math.max(...rows.map((r) => r.ledger.perSecond))
  return { rows, split, goalPerSecond: APPEND_GOAL_PER_SECOND, bestPerSecond, goalMet: bestPerSecond >= APPEND_GOAL_PER_SECOND }
}

async function measureLedger(pool: readonly EntryDraft[], batch: number, entries: number): Promise<{ ms: number; callsMs: number[]; appended: AppendedEntry[] }> {
  const batches: EntryDraft[][] = []
  for (let i = 0; i < entries; i += batch) batches.push(cycle(pool, i, Math.min(batch, entries - i)))
  const { dir, remove } = await tempDir(`append-${batch}`)
  try {
    const ledger = await Ledger.open(await openLevelStorage(dir))
    const appended: AppendedEntry[] = []
    const callsMs: number[] = []
    try {
      const t0 = performance.now()
      for (const drafts of batches) {
        const c0 = performance.now()
        const out = await ledger.append(COORDINATOR, drafts)
        callsMs.push(performance.now() - c0)
        for (const a of out) appended.push(a)
      }
      return { ms: performance.now() - t0, callsMs, appended }
    } finally {
      await ledger.close()
    }
  } finally {
    await remove()
  }
}

type PutOp = { type: 'put'; key: string; value: Uint8Array }

/**
 * The key/value pairs Ledger.append wrote for `appended`, in calls of
 * `batch` entries: entry bytes, every Merkle node completed, and the head,
 * in the order LevelLedgerStorage.writeBatch puts them. Computed here,
 * outside the timer.
 */
function ledgerOps(appended: readonly AppendedEntry[], batch: number): PutOp[][] {
  const out: PutOp[][] = []
  let range = EMPTY_COMPACT_RANGE
  for (let i = 0; i < appended.length; i += batch) {
    const slice = appended.slice(i, i + batch)
    const entries: PutOp[] = []
    const nodes: PutOp[] = []
    for (const a of slice) {
      entries.push({ type: 'put', key: entryKey(a.entry.seq), value: a.bytes })
      range = appendLeaf(RFC6962_SHA256, range, hashLeaf(a.bytes), (level, index, hash) => void nodes.push({ type: 'put', key: nodeKey(level, index), value: hash }))
    }
    const last = slice[slice.length - 1]!
    out.push([...entries, ...nodes, { type: 'put', key: HEAD_KEY, value: headValue(last.entry.seq + 1, last.hash, range.hashes) }])
  }
  return out
}

async function measureRaw(appended: readonly AppendedEntry[], batch: number): Promise<{ ms: number; callsMs: number[]; ops: number }> {
  const batches = ledgerOps(appended, batch)
  const { dir, remove } = await tempDir(`raw-${batch}`)
  try {
    const db = await openRawLevel(dir)
    const callsMs: number[] = []
    try {
      const t0 = performance.now()
      for (const ops of batches) {
        const c0 = performance.now()
        await db.batch(ops, { sync: true })
        callsMs.push(performance.now() - c0)
      }
      return { ms: performance.now() - t0, callsMs, ops: batches.reduce((n, b) => n + b.length, 0) }
    } finally {
      await db.close()
    }
  } finally {
    await remove()
  }
}

/** µs per item of `fn` over `count` items, after one untimed pass over the first 256 (JIT). */
function usPer(count: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(256, count); i++) fn(i)
  const t0 = performance.now()
  for (let i = 0; i < count; i++) fn(i)
  return ((performance.now() - t0) * 1000) / count
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
  const signEntryUs = usPer(sample, (i) => signEntry(COORDINATOR, i, signed[i]!.entry.prevHash, drafts[i]!))
  const messages = signed.map((a) => entrySigningMessage(a.entry))
  const signUs = usPer(sample, (i) => COORDINATOR.sign(messages[i]!))
  const encodeUs = usPer(sample, (i) => {
    entrySigningMessage(signed[i]!.entry)
    return encodeEntry(signed[i]!.entry)
  })
  const chainHashUs = usPer(sample, (i) => entryHash(signed[i]!.bytes))
  // Chained over the sample, as the ledger does; the pass count is what usPer runs.
  let range = EMPTY_COMPACT_RANGE
  const nodes: unknown[] = []
  const merkleUs = usPer(sample, (i) => {
    if (i === 0) range = EMPTY_COMPACT_RANGE
    range = appendLeaf(RFC6962_SHA256, range, hashLeaf(signed[i]!.bytes), (level, index, hash) => void nodes.push({ level, index, hash }))
    if (nodes.length > 65536) nodes.length = 0
  })
  const writeUs = largest.rawLevelDb.usPerEntry
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
    sumUs: round2(sumUs),
    appendUs: largest.ledger.usPerEntry,
    otherUs: round2(largest.ledger.usPerEntry - sumUs),
  }
}
