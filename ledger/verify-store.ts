/**
 * Everything a store holds besides its entries, checked against the entries:
 * the Merkle tree's stored nodes and the head's compact range (recomputed
 * from the entries' leaf hashes), every stored checkpoint (the coordinator's
 * signature, and its root against the recomputed root at its size), every
 * witness cosignature, and every blob (re-hashed). `verifyLog` checks the
 * entries themselves; `fedlineage log verify` runs both, so one flipped byte
 * anywhere in a store is found and its key named.
 */
import { equalBytes } from './core/canonical.ts'
import { decodeSignedCheckpoint, openCheckpoint, readCheckpoint, verifyCosignature, type SignedCheckpoint } from './core/checkpoint.ts'
import { appendLeaf, EMPTY_COMPACT_RANGE, rootOfRange, type CompactRange } from './core/compact-range.ts'
import { sha256, toHex } from './core/hash.ts'
import { hashLeaf, RFC6962_SHA256 } from './core/merkle.ts'
import { LedgerStoreDamagedError } from './errors.ts'
import { CHECKPOINT_RECORD, COSIGNATURE_RECORD, decodeStoredCosignature, sizeKey } from './ledger.ts'
import type { LedgerStorage } from './storage.ts'

/** Merkle nodes compared per read. */
const NODE_BATCH = 4096

export interface StoreVerification {
  readonly nodes: number
  readonly checkpoints: number
  readonly cosignatures: number
  readonly blobs: number
}

/**
 * Checks `storage` beyond its entries, which must already be verified
 * (`verifyLog`); `coordinatorKey` is the key every checkpoint must be signed
 * by (the log's author). Throws `LedgerStoreDamagedError` naming the first
 * damaged key.
 */
export async function verifyStore(storage: LedgerStorage, coordinatorKey: Uint8Array | undefined): Promise<StoreVerification> {
  const head = await storage.readHead()
  const checkpoints = new Map<number, { key: string; signed: SignedCheckpoint }>()
  for await (const r of storage.readRecords(CHECKPOINT_RECORD)) {
    let signed: SignedCheckpoint
    try {
      signed = decodeSignedCheckpoint(r.value)
    } catch (err) {
      throw new LedgerStoreDamagedError(`rec/${r.key}`, `does not decode as a signed checkpoint: ${(err as Error).message}`)
    }
    let size: number
    try {
      // An empty log names no author: its checkpoints can be read, not verified.
      size = (coordinatorKey === undefined ? readCheckpoint(signed) : openCheckpoint(signed, coordinatorKey)).size
    } catch (err) {
      throw new LedgerStoreDamagedError(`rec/${r.key}`, `the checkpoint does not verify: ${(err as Error).message}`)
    }
    if (r.key !== CHECKPOINT_RECORD + sizeKey(size)) throw new LedgerStoreDamagedError(`rec/${r.key}`, `holds the checkpoint of size ${size}`)
    checkpoints.set(size, { key: r.key, signed })
  }

  // Recompute the tree from the entries' leaves: compare every node with the stored one, and each checkpoint's root.
  let range: CompactRange = EMPTY_COMPACT_RANGE
  let pending: { level: number; index: number; hash: Uint8Array }[] = []
  let nodes = 0
  const flush = async () => {
    const stored = await storage.readNodes(pending)
    pending.forEach((n, i) => {
      const s = stored[i]
      if (s === undefined || !equalBytes(s, n.hash))
        throw new LedgerStoreDamagedError(`node ${n.level}/${n.index}`, `holds ${s === undefined ? 'nothing' : toHex(s)}, the entries give ${toHex(n.hash)}`)
    })
    nodes += pending.length
    pending = []
  }
  const checkRoot = (size: number) => {
    const c = checkpoints.get(size)
    if (c === undefined) return
    const want = rootOfRange(RFC6962_SHA256, range)
    const root = readCheckpoint(c.signed).root
    if (!equalBytes(root, want)) throw new LedgerStoreDamagedError(`rec/${c.key}`, `checkpoint root ${toHex(root)} at size ${size}, the entries give ${toHex(want)}`)
  }
  checkRoot(0)
  for await (const { seq, bytes } of storage.readEntries(0, head.length)) {
    range = appendLeaf(RFC6962_SHA256, range, hashLeaf(bytes), (level, index, hash) => pending.push({ level, index, hash }))
    if (pending.length >= NODE_BATCH) await flush()
    checkRoot(seq + 1)
  }
  await flush()
  for (const size of checkpoints.keys())
    if (size > head.length) throw new LedgerStoreDamagedError(`rec/${checkpoints.get(size)!.key}`, `a checkpoint of size ${size}, beyond the log's ${head.length} entries`)
  if (head.range !== undefined) {
    const same = head.range.length === range.hashes.length && head.range.every((h, i) => equalBytes(h, range.hashes[i]!))
    if (!same) throw new LedgerStoreDamagedError('head', 'the stored compact range is not the one the entries give, so the next checkpoint would commit to a wrong root')
  }

  let cosignatures = 0
  for await (const r of storage.readRecords(COSIGNATURE_RECORD)) {
    const size = Number.parseInt(r.key.slice(COSIGNATURE_RECORD.length).split('/')[0]!, 16)
    const c = checkpoints.get(size)
    let ok = false
    try {
      ok = c !== undefined && verifyCosignature(c.signed, decodeStoredCosignature(r.value))
    } catch {
      ok = false
    }
    if (!ok) throw new LedgerStoreDamagedError(`rec/${r.key}`, 'the cosignature does not verify against its stored checkpoint')
    cosignatures++
  }

  let blobs = 0
  for await (const { hash, bytes, key } of storage.readBlobs()) {
    const calculated = sha256(bytes)
    if (!equalBytes(calculated, hash)) throw new LedgerStoreDamagedError(key, `its bytes hash to ${toHex(calculated)}`)
    blobs++
  }
  return { nodes, checkpoints: checkpoints.size, cosignatures, blobs }
}
