/**
 * Whole-log verification: every entry from 0 to the head, as an auditor or
 * an operator (`fedlineage log verify`) runs it against a LevelDB directory.
 *
 * Signatures are checked on libuv's threadpool, a window of entries ahead of
 * the one being reported, so decoding on the main thread overlaps with the
 * curve arithmetic on the other cores. Errors are still reported in log
 * order: the first failing entry wins, whatever finished first.
 */
import { equalBytes } from './core/canonical.ts'
import { GENESIS_PREV_HASH, checkEntryLink, decodeEntry, entryHash, entrySigningMessage, type AppendedEntry } from './core/entry.ts'
import { toHex } from './core/hash.ts'
import { verifySignatureAsync } from './core/signature.ts'
import { LedgerHeadMismatchError, LedgerSeqGapError, LedgerSignatureInvalidError } from './errors.ts'
import type { LedgerStorage } from './storage.ts'

/** Options of verifyLog. */
export interface VerifyLogInit {
  /** When given, every entry's author must be one of these raw public keys. */
  readonly trustedAuthors?: readonly Uint8Array[] | undefined
  /** Called with 0 once the total is known, every PROGRESS_INTERVAL_ENTRIES entries, and at the end. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined
}

/** What a successful verifyLog established. */
export interface LogVerification {
  /** Number of entries, equal to the stored head's length. */
  readonly entries: number
  /** Hash of the last entry (GENESIS_PREV_HASH for an empty log), equal to the stored head. */
  readonly headHash: Uint8Array
  /** Distinct authors in order of first appearance. */
  readonly authors: Uint8Array[]
}

/** Options of readVerifiedEntries. */
export interface VerifiedReadInit {
  /** Hash of entry `from - 1` (GENESIS_PREV_HASH when `from === 0`). */
  readonly prevHash: Uint8Array
  readonly trustedAuthors?: readonly Uint8Array[] | undefined
}

const PROGRESS_INTERVAL_ENTRIES = 1024
// Signatures in flight: enough to keep libuv's four threads fed while the
// main thread decodes, small enough that memory stays flat.
const SIGNATURE_WINDOW = 128

interface Pending {
  readonly appended: AppendedEntry
  readonly valid: Promise<boolean>
}

/**
 * Streams entries `[from, to)` of `storage`, each fully verified before it is
 * yielded: present at its position, canonical and well-formed, seq matching
 * its position, `prev` equal to the hash of the entry before, author trusted
 * (when `trustedAuthors` is given) and signature valid. Throws at the first
 * failure in seq order, after yielding every entry before it. Does not look
 * at the stored head (the caller knows which head it trusts).
 */
export async function* readVerifiedEntries(storage: LedgerStorage, from: number, to: number, init: VerifiedReadInit): AsyncGenerator<AppendedEntry> {
  const window: Pending[] = []
  let expectedSeq = from
  let prevHash = init.prevHash
  try {
    for await (const stored of storage.readEntries(from, to)) {
      let next: Pending
      try {
        if (stored.seq !== expectedSeq) throw new LedgerSeqGapError(expectedSeq, stored.seq, `missing from storage (the next stored entry is ${stored.seq})`)
        const entry = decodeEntry(stored.bytes, stored.seq)
        checkEntryLink(entry, { seq: expectedSeq, prevHash, trustedAuthors: init.trustedAuthors })
        const hash = entryHash(stored.bytes)
        next = { appended: { entry, bytes: stored.bytes, hash }, valid: verifySignatureAsync(entry.author, entrySigningMessage(entry), entry.signature) }
        prevHash = hash
        expectedSeq++
      } catch (err) {
        // Entries before this one are still in flight: one of them may fail
        // first, and the ones that pass are owed to the caller.
        while (window.length > 0) yield await settle(window)
        throw err
      }
      window.push(next)
      if (window.length >= SIGNATURE_WINDOW) yield await settle(window)
    }
    while (window.length > 0) yield await settle(window)
    if (expectedSeq < to) throw new LedgerSeqGapError(expectedSeq, undefined, `missing from storage (the log should have ${to} entries)`)
  } finally {
    // Reached only with entries left when the caller stopped early or a check
    // failed: nobody will read their results, but a rejection must not go unhandled.
    for (const abandoned of window) abandoned.valid.catch(abandonedSignatureCheckFailed)
  }
}

function abandonedSignatureCheckFailed(): void {
  // Deliberately nothing: see readVerifiedEntries.
}

/** Removes the oldest pending entry and returns it once its signature verified. */
async function settle(window: Pending[]): Promise<AppendedEntry> {
  const { appended, valid } = window[0] as Pending
  const ok = await valid
  window.shift()
  if (!ok) throw new LedgerSignatureInvalidError(appended.entry.seq, appended.entry.author)
  return appended
}

/**
 * Verifies a whole stored log: every entry as in readVerifiedEntries, from
 * seq 0 to the stored head's length, then that the head's hash is the last
 * entry's and that nothing is stored past it. Throws the first failure (a
 * `LedgerError` with `seq`); resolves with what was verified.
 */
export async function verifyLog(storage: LedgerStorage, init: VerifyLogInit = {}): Promise<LogVerification> {
  const head = await storage.readHead()
  const authors: Uint8Array[] = []
  const seenAuthors = new Set<string>()
  let lastAuthor: Uint8Array | undefined
  let done = 0
  let lastHash = GENESIS_PREV_HASH
  init.onProgress?.(0, head.length)
  for await (const { entry, hash } of readVerifiedEntries(storage, 0, head.length, { prevHash: GENESIS_PREV_HASH, trustedAuthors: init.trustedAuthors })) {
    // Consecutive entries mostly share an author: skip the hex for those.
    if (lastAuthor === undefined || !equalBytes(lastAuthor, entry.author)) {
      lastAuthor = entry.author
      const id = toHex(entry.author)
      if (!seenAuthors.has(id)) {
        seenAuthors.add(id)
        authors.push(entry.author)
      }
    }
    lastHash = hash
    done++
    if (done % PROGRESS_INTERVAL_ENTRIES === 0) init.onProgress?.(done, head.length)
  }
  for await (const extra of storage.readEntries(head.length, Number.MAX_SAFE_INTEGER)) {
    throw new LedgerHeadMismatchError(extra.seq, head.headHash, entryHash(extra.bytes), `is stored past the head (the head says the log has ${head.length} entries)`)
  }
  if (!equalBytes(lastHash, head.headHash)) {
    const seq = Math.max(head.length - 1, 0)
    throw new LedgerHeadMismatchError(seq, head.headHash, lastHash, head.length === 0 ? `the log is empty, but the stored head hash is ${toHex(head.headHash)}` : undefined)
  }
  init.onProgress?.(done, head.length)
  return { entries: done, headHash: lastHash, authors }
}
