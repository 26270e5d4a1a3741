/**
 * The ledger as a transparency log on a real LevelDB: the Merkle root of any
 * prefix, inclusion and consistency proofs from stored nodes, signed
 * checkpoints with cosignatures, verified replication into a second ledger,
 * and repair of a damaged entry from a good copy.
 */
import { describe, expect, it } from 'vitest'
import { RFC6962_SHA256, cosignCheckpoint, encodeEntry, hashLeaf, openCheckpoint, rootOf, signEntry, toHex, verifyConsistency, verifyInclusion, type AppendedEntry } from '../../ledger/index.ts'
import { createLedger, entryKey, testDrafts, testSigner, withRawLevel } from '../helpers/ledger.ts'

const ORIGIN = 'merkle-test'

async function entriesOf(ledger: { scan(): AsyncIterable<AppendedEntry> }): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const a of ledger.scan()) out.push(a.bytes)
  return out
}

describe('ledger Merkle tree', () => {
  it('serves roots and proofs for every prefix that verify against the reference tree', async () => {
    // Prepare: 77 entries appended in uneven batches.
    const f = await createLedger()
    for (const n of [1, 2, 5, 13, 21, 35]) await f.ledger.append(f.signer, testDrafts(n, f.ledger.length))
    const leaves = (await entriesOf(f.ledger)).map(hashLeaf)
    // Execute + Assert
    for (const size of [0, 1, 2, 3, 8, 33, 64, 76, 77]) {
      const root = await f.ledger.root(size)
      expect(toHex(root)).toBe(toHex(rootOf(RFC6962_SHA256, leaves.slice(0, size))))
      for (const index of [0, Math.floor(size / 2), size - 1].filter((i) => i >= 0 && i < size))
        verifyInclusion(RFC6962_SHA256, index, size, leaves[index]!, await f.ledger.inclusionProof(index, size), root)
      for (const size1 of [0, 1, Math.floor(size / 3), size].filter((s) => s <= size))
        verifyConsistency(RFC6962_SHA256, size1, size, await f.ledger.consistencyProof(size1, size), await f.ledger.root(size1), root)
    }
    // The tree survives a reopen.
    const before = await f.ledger.root()
    const reopened = await f.reopen()
    expect(await reopened.root()).toEqual(before)
  })

  it('replicates into a second ledger only what the signed checkpoint commits to', async () => {
    // Prepare: a coordinator log with two checkpoints.
    const src = await createLedger()
    const coordinator = src.signer
    await src.ledger.append(coordinator, testDrafts(10))
    const cp1 = await src.ledger.checkpoint(coordinator, ORIGIN)
    await src.ledger.append(coordinator, testDrafts(7, 10))
    const cp2 = await src.ledger.checkpoint(coordinator, ORIGIN)
    const bytes = await entriesOf(src.ledger)
    const replica = await createLedger()
    const init = { coordinatorKey: coordinator.publicKey, origin: ORIGIN }

    // Execute + Assert: tampered, mis-signed and mismatched inputs are refused and store nothing.
    const flipped = bytes.slice(0, 10).map((b, i) => (i === 4 ? Uint8Array.from(b, (x, j) => (j === 20 ? x ^ 1 : x)) : b))
    await expect(replica.ledger.appendReplicated(flipped, cp1, init)).rejects.toMatchObject({ code: expect.stringMatching(/^LEDGER_/) })
    await expect(replica.ledger.appendReplicated(bytes.slice(0, 10), cp1, { ...init, coordinatorKey: testSigner(9).publicKey })).rejects.toMatchObject({ code: 'LEDGER_CHECKPOINT_INVALID' })
    await expect(replica.ledger.appendReplicated(bytes.slice(0, 10), cp2, init)).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
    const forged = signEntry(coordinator, 9, (await src.ledger.get(8)).hash, { kind: 'test-record', timeMs: 5, body: { n: 999 } })
    await expect(replica.ledger.appendReplicated([...bytes.slice(0, 9), forged.bytes], cp1, init)).rejects.toMatchObject({ code: 'LEDGER_CHECKPOINT_ROOT_MISMATCH' })
    expect(replica.ledger.length).toBe(0)

    // The honest copy goes in, in two steps, each consistent with the last.
    await replica.ledger.appendReplicated(bytes.slice(0, 10), cp1, init)
    await replica.ledger.appendReplicated(bytes.slice(10), cp2, init)
    expect(replica.ledger.length).toBe(17)
    expect(await replica.ledger.root()).toEqual(openCheckpoint(cp2, coordinator.publicKey).root)
    expect((await replica.ledger.checkpoints()).map((c) => openCheckpoint(c, coordinator.publicKey).size)).toEqual([10, 17])

    // A witness cosigns; a forged cosignature is refused.
    const witness = testSigner(7)
    await replica.ledger.addCosignature(17, cosignCheckpoint(witness, cp2, 3))
    await expect(replica.ledger.addCosignature(17, { ...cosignCheckpoint(witness, cp2, 3), timestamp: 4 })).rejects.toMatchObject({ code: 'LEDGER_CHECKPOINT_INVALID' })
    expect(await replica.ledger.cosignatures(17)).toHaveLength(1)
  })

  it('repairs a damaged entry only with the bytes the tree committed to', async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(5))
    const good = (await f.ledger.get(2)).bytes
    const other = signEntry(f.signer, 2, (await f.ledger.get(1)).hash, { kind: 'test-record', timeMs: 1, body: { n: -1 } })
    // Execute + Assert
    await expect(f.ledger.repairEntry(2, other.bytes)).rejects.toMatchObject({ code: 'LEDGER_ROOT_MISMATCH' })
    await f.ledger.repairEntry(2, good)
    expect(encodeEntry((await f.ledger.get(2)).entry)).toEqual(good)
  })

  it('reads entries as stored, each checked against its Merkle leaf, and refuses a damaged one', async () => {
    // Prepare: more entries than one read of leaves (256) covers
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(300))
    const all = await entriesOf(f.ledger)
    const committed = async (from: number, to: number): Promise<Uint8Array[]> => {
      const out: Uint8Array[] = []
      for await (const { seq, bytes } of f.ledger.readCommitted(from, to)) {
        expect(seq).toBe(from + out.length)
        out.push(bytes)
      }
      return out
    }
    // Execute + Assert: the stored bytes, in order
    expect(await committed(0, 300)).toEqual(all)
    expect(await committed(7, 270)).toEqual(all.slice(7, 270))
    expect(await committed(300, 300)).toEqual([])
    await expect(committed(5, 301)).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
    // A flipped byte in entry 260 (the second read of leaves): entries before it come out, then the damage is refused
    await f.close()
    await withRawLevel(f.dir, async (db) => {
      const bytes = Uint8Array.from((await db.get(entryKey(260)))!)
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01
      await db.put(entryKey(260), bytes)
    })
    const ledger = await f.reopen()
    const seen: number[] = []
    const read = (async () => {
      for await (const { seq } of ledger.readCommitted(250, 300)) seen.push(seq)
    })()
    await expect(read).rejects.toMatchObject({ code: 'LEDGER_ROOT_MISMATCH' })
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => 250 + i))
  })
})
