/**
 * Section 2: entries verified per second during replay.
 *
 * Builds a log of `entries` update-accepted entries (Ledger.append in
 * batches of 4096; the last batch through appendWithCheckpoint, so the log
 * ends with a signed checkpoint of its full size), closes it, then reads it
 * back five ways, each on a freshly opened store:
 *
 * - `storage.readEntries` alone (baseline: the read, no checks);
 * - Merkle root recomputation alone: `hashLeaf` + compact range over every
 *   entry's bytes, compared with the checkpoint's root (baseline);
 * - structural verification: decode, seq + prev-hash chain + author, entry
 *   hash and Merkle leaf per entry, then the root against the signed
 *   checkpoint (one Ed25519 verification for the whole log);
 * - `verifyLog` (each entry's signature on libuv's threadpool, a window of
 *   128 in flight, decode and chain on the main thread);
 * - `Ledger.scan` over the whole log (the same verified reader).
 *
 * An untimed read first warms the caches for every row.
 *
 * Each row also records the process CPU time over the wall time, i.e. how
 * many cores were busy on average. Where the time goes is profiled on an
 * in-memory sample: the main thread's per-entry work (decode, signing
 * message, hash) and Ed25519 verification alone, synchronous (one core) and
 * asynchronous with verifyLog's window (every core the threadpool gets).
 */
import {
  EMPTY_COMPACT_RANGE,
  GENESIS_PREV_HASH,
  Ledger,
  RFC6962_SHA256,
  appendLeaf,
  checkEntryLink,
  decodeEntry,
  entryHash,
  entrySigningMessage,
  equalBytes,
  hashLeaf,
  openCheckpoint,
  openLevelStorage,
  readCheckpoint,
  rootOfRange,
  verifyLog,
  verifySignature,
  verifySignatureAsync,
  type Entry,
  type EntryDraft,
  type SignedCheckpoint,
} from '../../ledger/index.ts'
import { COORDINATOR, STUDY_ID, cycle, tempDir } from './fixtures.ts'
import { perSecond, profilePieces, round2 } from './timing.ts'

export const REPLAY_GOAL_PER_SECOND = 50_000
const BUILD_BATCH = 4096
/** verifyLog's SIGNATURE_WINDOW (ledger/verify.ts), for the signatures-only row. */
const SIGNATURE_WINDOW = 128
/** Rounds of the in-memory profile; the median round per piece is reported. */
const PROFILE_REPS = 3

export interface ReplayRow {
  readonly name: string
  readonly entries: number
  readonly ms: number
  readonly perSecond: number
  readonly usPerEntry: number
  /** Process CPU time / wall time: average busy cores (threadpool included). */
  readonly cpuCores: number
  readonly verifiesSignatures: boolean
  readonly baseline: boolean
  readonly note: string
  /** verifyLog and Ledger.scan: every run (the row is the fastest). */
  readonly runs?: readonly { readonly ms: number; readonly perSecond: number; readonly cpuCores: number }[]
}

export interface ReplayProfile {
  readonly sampleEntries: number
  readonly decodeEntryUs: number
  readonly signingMessageUs: number
  readonly entryHashUs: number
  readonly hashLeafUs: number
  readonly verifySyncUs: number
  /** 1e6 / verifySyncUs: one core's Ed25519 verification ceiling. */
  readonly verifySyncPerSecond: number
  /** verifySignatureAsync with verifyLog's window, pre-decoded messages: the threadpool's ceiling here. */
  readonly verifyAsyncPerSecond: number
  readonly verifyAsyncCpuCores: number
  readonly signatureWindow: number
}

export interface ReplayResult {
  readonly entries: number
  readonly entryBytes: number
  readonly logBytes: number
  readonly build: { readonly ms: number; readonly perSecond: number; readonly batch: number }
  readonly rows: ReplayRow[]
  readonly profile: ReplayProfile
  readonly goalPerSecond: number
  readonly verifyLogPerSecond: number
  readonly scanPerSecond: number
  readonly structuralPerSecond: number
  readonly goalMet: boolean
  readonly structuralGoalMet: boolean
}

export interface ReplayInit {
  readonly entries: number
  readonly pool: readonly EntryDraft[]
  readonly profileSample: number
  readonly onStep: (label: string) => void
}

/**
 * Runs of verifyLog and of Ledger.scan, interleaved; the faster of each is
 * reported. One keeps the bench within its time budget on 2 cores; raise it
 * on a noisy machine (every run is kept in `runs`).
 */
const LONG_READ_RUNS = 1

export const REPLAY_STEPS = 5 + 2 * LONG_READ_RUNS

async function measure(name: string, entries: number, fn: () => Promise<number>, opts: { verifiesSignatures: boolean; baseline: boolean; note: string }): Promise<ReplayRow> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const seen = await fn()
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  if (seen !== entries) throw new Error(`${name}: saw ${seen} entries, want ${entries}`)
  return { name, entries, ms: round2(ms), perSecond: perSecond(entries, ms), usPerEntry: round2((ms * 1000) / entries), cpuCores: round2((cpu.user + cpu.system) / 1000 / ms), ...opts }
}

export async function runReplay(init: ReplayInit): Promise<ReplayResult> {
  const { entries } = init
  const { dir, remove } = await tempDir('replay')
  try {
    // ---- build
    let checkpoint: SignedCheckpoint | undefined
    let logBytes = 0
    const b0 = performance.now()
    {
      const ledger = await Ledger.open(await openLevelStorage(dir))
      try {
        for (let i = 0; i < entries; i += BUILD_BATCH) {
          const drafts = cycle(init.pool, i, Math.min(BUILD_BATCH, entries - i))
          const last = i + BUILD_BATCH >= entries
          const appended = last
            ? await ledger.appendWithCheckpoint(COORDINATOR, drafts, [], { origin: STUDY_ID }).then((r) => {
                checkpoint = r.checkpoint
                return r.appended
              })
            : await ledger.append(COORDINATOR, drafts)
          for (const a of appended) logBytes += a.bytes.length
        }
      } finally {
        await ledger.close()
      }
    }
    const buildMs = performance.now() - b0
    init.onStep(`built ${entries} entries`)
    const signed = checkpoint!
    const expectedRoot = readCheckpoint(signed).root
    const trusted = [COORDINATOR.publicKey]
    const withStorage = async (fn: (storage: Awaited<ReturnType<typeof openLevelStorage>>) => Promise<number>) => {
      const storage = await openLevelStorage(dir, { createIfMissing: false })
      try {
        return await fn(storage)
      } finally {
        await storage.close()
      }
    }

    // ---- the five reads, after one untimed read so that every row finds the same warm caches
    await withStorage(async (storage) => {
      let n = 0
      for await (const _ of storage.readEntries(0, entries)) n++
      return n
    })
    const rows: ReplayRow[] = []
    rows.push(
      await measure(
        'storage.readEntries (no verification)',
        entries,
        () =>
          withStorage(async (storage) => {
            let n = 0
            for await (const _ of storage.readEntries(0, entries)) n++
            return n
          }),
        { verifiesSignatures: false, baseline: true, note: 'LevelDB iterator, 512 entries per native call' },
      ),
    )
    init.onStep('readEntries')
    rows.push(
      await measure(
        'Merkle root recomputation alone',
        entries,
        () =>
          withStorage(async (storage) => {
            let range = EMPTY_COMPACT_RANGE
            for await (const { bytes } of storage.readEntries(0, entries)) range = appendLeaf(RFC6962_SHA256, range, hashLeaf(bytes))
            if (!equalBytes(rootOfRange(RFC6962_SHA256, range), expectedRoot)) throw new Error('recomputed Merkle root differs from the checkpoint root')
            return range.size
          }),
        { verifiesSignatures: false, baseline: true, note: 'read + hashLeaf + compact range; equals the checkpoint root (no decode, no signatures)' },
      ),
    )
    init.onStep('Merkle root')
    rows.push(
      await measure(
        'structural verification (chain + Merkle root vs signed checkpoint)',
        entries,
        () =>
          withStorage(async (storage) => {
            let range = EMPTY_COMPACT_RANGE
            let prevHash = GENESIS_PREV_HASH
            let seq = 0
            for await (const { bytes } of storage.readEntries(0, entries)) {
              const entry = decodeEntry(bytes, seq)
              checkEntryLink(entry, { seq, prevHash, trustedAuthors: trusted })
              prevHash = entryHash(bytes)
              range = appendLeaf(RFC6962_SHA256, range, hashLeaf(bytes))
              seq++
            }
            const cp = openCheckpoint(signed, COORDINATOR.publicKey, STUDY_ID)
            if (cp.size !== seq || !equalBytes(rootOfRange(RFC6962_SHA256, range), cp.root)) throw new Error('structural verification: root differs from the signed checkpoint')
            return seq
          }),
        { verifiesSignatures: false, baseline: false, note: 'decode + seq/prev/author per entry, hashLeaf + compact range, root = signed checkpoint root (1 Ed25519 verify)' },
      ),
    )
    init.onStep('structural')
    // The two long reads LONG_READ_RUNS times each, interleaved; the faster run of each is the row
    // (all are kept in `runs`): other work on the machine only ever slows a run down.
    const verifyLogRun = () =>
      measure('verifyLog', entries, () => withStorage(async (storage) => (await verifyLog(storage, { trustedAuthors: trusted })).entries), {
        verifiesSignatures: true,
        baseline: false,
        note: `Ed25519 per entry on libuv's threadpool (window ${SIGNATURE_WINDOW}); decode + chain on the main thread`,
      })
    const scanRun = () =>
      measure(
        'Ledger.scan',
        entries,
        async () => {
          const ledger = await Ledger.open(await openLevelStorage(dir, { createIfMissing: false }))
          try {
            let n = 0
            for await (const _ of ledger.scan()) n++
            return n
          } finally {
            await ledger.close()
          }
        },
        { verifiesSignatures: true, baseline: false, note: 'open + the same verified reader as verifyLog' },
      )
    const verifyLogRuns: ReplayRow[] = []
    const scanRuns: ReplayRow[] = []
    for (let r = 0; r < LONG_READ_RUNS; r++) {
      verifyLogRuns.push(await verifyLogRun())
      init.onStep(`verifyLog run ${r + 1}`)
      scanRuns.push(await scanRun())
      init.onStep(`Ledger.scan run ${r + 1}`)
    }
    const fastest = (runs: readonly ReplayRow[]): ReplayRow => ({
      ...runs.reduce((a, b) => (b.ms < a.ms ? b : a)),
      runs: runs.map((r) => ({ ms: r.ms, perSecond: r.perSecond, cpuCores: r.cpuCores })),
    })
    rows.push(fastest(verifyLogRuns), fastest(scanRuns))

    // ---- where the time goes
    const sample: { bytes: Uint8Array; entry: Entry; message: Uint8Array }[] = []
    await withStorage(async (storage) => {
      for await (const { seq, bytes } of storage.readEntries(0, Math.min(init.profileSample, entries))) {
        const entry = decodeEntry(bytes, seq)
        sample.push({ bytes, entry, message: entrySigningMessage(entry) })
      }
      return sample.length
    })
    const profile = await profileVerification(sample)
    init.onStep('profile')

    const rate = (name: string) => rows.find((r) => r.name.startsWith(name))!.perSecond
    const verifyLogPerSecond = rate('verifyLog')
    const scanPerSecond = rate('Ledger.scan')
    const structuralPerSecond = rate('structural')
    return {
      entries,
      entryBytes: Math.round(logBytes / entries),
      logBytes,
      build: { ms: round2(buildMs), perSecond: perSecond(entries, buildMs), batch: BUILD_BATCH },
      rows,
      profile,
      goalPerSecond: REPLAY_GOAL_PER_SECOND,
      verifyLogPerSecond,
      scanPerSecond,
      structuralPerSecond,
      goalMet: Math.min(verifyLogPerSecond, scanPerSecond) >= REPLAY_GOAL_PER_SECOND,
      structuralGoalMet: structuralPerSecond >= REPLAY_GOAL_PER_SECOND,
    }
  } finally {
    await remove()
  }
}

async function profileVerification(sample: readonly { bytes: Uint8Array; entry: Entry; message: Uint8Array }[]): Promise<ReplayProfile> {
  const n = sample.length
  const us = profilePieces(n, PROFILE_REPS, {
    decodeEntry: (i) => decodeEntry(sample[i]!.bytes, i),
    signingMessage: (i) => entrySigningMessage(sample[i]!.entry),
    entryHash: (i) => entryHash(sample[i]!.bytes),
    hashLeaf: (i) => hashLeaf(sample[i]!.bytes),
    verifySync: (i) => {
      const { entry, message } = sample[i]!
      if (!verifySignature(entry.author, message, entry.signature)) throw new Error(`entry ${i}: signature does not verify`)
    },
  })
  const { decodeEntry: decodeEntryUs, signingMessage: signingMessageUs, entryHash: entryHashUs, hashLeaf: hashLeafUs, verifySync: verifySyncUs } = us
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const window: Promise<boolean>[] = []
  for (const { entry, message } of sample) {
    window.push(verifySignatureAsync(entry.author, message, entry.signature))
    if (window.length >= SIGNATURE_WINDOW && !(await window.shift())) throw new Error('signature does not verify')
  }
  if (!(await Promise.all(window)).every(Boolean)) throw new Error('signature does not verify')
  const asyncMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return {
    sampleEntries: n,
    decodeEntryUs: round2(decodeEntryUs),
    signingMessageUs: round2(signingMessageUs),
    entryHashUs: round2(entryHashUs),
    hashLeafUs: round2(hashLeafUs),
    verifySyncUs: round2(verifySyncUs),
    verifySyncPerSecond: Math.round(1e6 / verifySyncUs),
    verifyAsyncPerSecond: perSecond(n, asyncMs),
    verifyAsyncCpuCores: round2((cpu.user + cpu.system) / 1000 / asyncMs),
    signatureWindow: SIGNATURE_WINDOW,
  }
}
