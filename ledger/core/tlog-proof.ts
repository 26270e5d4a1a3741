/**
 * c2sp.org/tlog-proof@v1: an offline-checkable proof that an entry is in the
 * log, as text (file extension `.tlog-proof`):
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64>        optional, unauthenticated application data
 *   index <N>             the entry's index, decimal without leading zeros
 *   <base64 hash>         the RFC 6962 inclusion proof, leaf's sibling first
 *   …
 *   (empty line)
 *   <the checkpoint note, verbatim, with its cosignatures>
 *
 * The format carries no entry: ours carry the entry's bytes as `extra`, so
 * the proof is self-contained. Nothing in `extra` is trusted: the checker
 * hashes it into the leaf, and only a proof that leads from that leaf to the
 * signed root verifies. The proof names no key: the checker must hold the
 * log's key (no proof vouches for itself).
 *
 * Pure: no I/O.
 */
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from './checkpoint.ts'
import { decodeEntry, type Entry } from './entry.ts'
import { RFC6962_SHA256, hashLeaf, verifyInclusion } from './merkle.ts'
import { base64, fromBase64 } from './signed-note.ts'
import { TlogProofMalformedError } from './tile-errors.ts'
import { HASH_LENGTH_BYTES } from './constants.ts'

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1'

export interface TlogProof {
  readonly index: number
  readonly proof: readonly Uint8Array[]
  readonly checkpoint: SignedCheckpoint
  /** Opaque, unauthenticated: ours carry the entry's bytes. */
  readonly extra?: Uint8Array | undefined
}

/** The proof as text. Requires a safe non-negative index and 32-byte hashes. */
export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER, ...(p.extra === undefined ? [] : [`extra ${base64(p.extra)}`]), `index ${p.index}`, ...p.proof.map(base64)]
  return `${lines.join('\n')}\n\n${p.checkpoint.note}`
}

/** True when `text` starts like a tlog-proof (and not, say, like JSON). */
export function isTlogProof(text: string): boolean {
  return text.startsWith(`${TLOG_PROOF_HEADER}\n`)
}

/** Parses a proof strictly. Throws `TlogProofMalformedError` naming the line. */
export function parseTlogProof(text: string): TlogProof {
  const split = text.indexOf('\n\n')
  if (!isTlogProof(text) || split < 0) throw new TlogProofMalformedError(`tlog-proof: want "${TLOG_PROOF_HEADER}", the index and proof lines, an empty line, then the checkpoint`)
  const lines = text.slice(0, split).split('\n').slice(1)
  let extra: Uint8Array | undefined
  if (lines[0]?.startsWith('extra ')) {
    extra = fromBase64(lines.shift()!.slice('extra '.length))
    if (extra === undefined) throw new TlogProofMalformedError('tlog-proof: the extra line is not canonical base64')
  }
  const indexLine = lines.shift() ?? ''
  const digits = indexLine.slice('index '.length)
  if (!indexLine.startsWith('index ') || !/^(0|[1-9][0-9]*)$/.test(digits) || !Number.isSafeInteger(Number(digits)))
    throw new TlogProofMalformedError(`tlog-proof: line ${JSON.stringify(indexLine.slice(0, 40))}, want "index N" (decimal, no leading zeros)`)
  const proof = lines.map((line, i) => {
    const hash = fromBase64(line)
    if (hash === undefined || hash.length !== HASH_LENGTH_BYTES) throw new TlogProofMalformedError(`tlog-proof: proof line ${i + 1} is not base64 of a ${HASH_LENGTH_BYTES}-byte hash`)
    return hash
  })
  return { index: Number(digits), proof, checkpoint: { note: text.slice(split + 2) }, ...(extra === undefined ? {} : { extra }) }
}

export interface CheckedTlogProof {
  readonly checkpoint: Checkpoint
  readonly entry: Entry
  readonly index: number
}

/**
 * Checks a proof against the log key `logKey` (and `origin`, when given):
 * the checkpoint's signature, then the inclusion of the entry in `extra`
 * (or `entryBytes`, when the proof carries none) at `index` under the
 * checkpoint's root. Throws LEDGER_TLOG_PROOF_MALFORMED, LEDGER_CHECKPOINT_INVALID,
 * LEDGER_ROOT_MISMATCH and the other Merkle errors.
 */
export function checkTlogProof(text: string, logKey: Uint8Array, init: { readonly origin?: string; readonly entryBytes?: Uint8Array } = {}): CheckedTlogProof {
  const p = parseTlogProof(text)
  const checkpoint = openCheckpoint(p.checkpoint, logKey, init.origin)
  const entryBytes = init.entryBytes ?? p.extra
  if (entryBytes === undefined) throw new TlogProofMalformedError(`tlog-proof of index ${p.index}: it carries no entry (no extra line), and none was given to check it against`)
  verifyInclusion(RFC6962_SHA256, p.index, checkpoint.size, hashLeaf(entryBytes), p.proof, checkpoint.root)
  return { checkpoint, entry: decodeEntry(entryBytes, p.index), index: p.index }
}
