/**
 * Group commit: updates that arrive while the log is writing are decided
 * together and made durable in one batch (one LevelDB write with `sync`, one
 * checkpoint), and no upload is acknowledged before the batch holding its
 * entry is on disk. The store is the real LevelDB; the seam is the
 * `LedgerStorage` the ledger is given, which counts each durable write and
 * can hold one back until the test lets it through.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { RoundRunner } from '../../coordinator/index.ts'
import { Ledger, openLevelStorage, sha256, type LedgerStorage, type LedgerWriteBatch } from '../../ledger/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema } from '../../models/index.ts'
import { ENTRY_KINDS, readLineageRecord, signStatement } from '../../protocol/index.ts'
import { quietLogger, TEST_STUDY, testSigner } from '../helpers/federation.ts'
import { createTempDir } from '../helpers/ledger.ts'

/** Real LevelDB storage whose durable writes are counted and, while `hold` is set, wait for `release`. */
async function countingStorage(dir: string) {
  const inner = await openLevelStorage(dir)
  const writes: LedgerWriteBatch[] = []
  let gate: { wait: Promise<void>; open: () => void } | undefined
  const storage: LedgerStorage = new Proxy(inner, {
    get(target, key, receiver) {
      if (key !== 'writeBatch') {
        const value = Reflect.get(target, key, receiver) as unknown
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      }
      return async (batch: LedgerWriteBatch) => {
        await gate?.wait
        await target.writeBatch(batch)
        writes.push(batch)
      }
    },
  })
  return {
    storage,
    /** Batches written (resolved) so far, in order. */
    writes,
    /** Makes every write from now on wait until `release`. */
    hold() {
      let open!: () => void
      gate = { wait: new Promise<void>((r) => (open = r)), open: () => open() }
    },
    release() {
      gate?.open()
      gate = undefined
    },
  }
}

const SITES = 17
const UPLOADS = 16

/** A runner over the counting store with round 1 open for SITES enrolled sites, and UPLOADS signed updates for it. */
async function openRound() {
  const dir = await createTempDir()
  const store = await countingStorage(dir)
  const ledger = await Ledger.open(store.storage)
  const study = StudySpecSchema.parse({ ...TEST_STUDY, minSites: 1 })
  const hub = testSigner(1)
  const sites = Array.from({ length: SITES }, (_, i) => ({ id: `site-${String(i).padStart(2, '0')}`, signer: testSigner(10 + i) }))
  const runner = await RoundRunner.open(
    { ledger, signer: hub, logger: quietLogger },
    { study, sites: sites.map((s) => ({ id: s.id, publicKey: s.signer.publicKey })), hubKey: hub.publicKey, autoAdvance: false, maxRequestAgeMs: 300_000 },
  )
  const { base } = await runner.startRound(signStatement(hub, { t: 'round-start', study: study.id, round: 1, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
  const delta = encodeWeights({
    tensors: modelShapes(study.model, inputWidth(study.data)).map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.001) })),
  })
  const envelopes = sites.slice(0, UPLOADS).map((s) =>
    signStatement(s.signer, {
      t: 'update',
      study: study.id,
      round: 1,
      site: s.id,
      base,
      delta: sha256(delta),
      size: delta.length,
      examples: 50,
      metrics: { trainLoss: 0.4 },
      nonce: new Uint8Array(randomBytes(16)),
      time: Date.now(),
    }),
  )
  return { store, ledger, runner, delta, envelopes }
}

describe('group commit of concurrent updates', () => {
  it('makes 16 simultaneous updates durable in one write with one checkpoint', async () => {
    // Prepare
    const { store, ledger, runner, delta, envelopes } = await openRound()
    const before = store.writes.length

    // Execute
    const acked = await Promise.all(envelopes.map((e) => runner.acceptUpdate(e, delta)))

    // Assert: one durable write of 16 update-accepted entries and one checkpoint; each ack names its own entry.
    const writes = store.writes.slice(before)
    expect(writes.map((w) => w.entries.length)).toEqual([UPLOADS])
    expect(writes[0]!.records?.filter((r) => r.key.startsWith('cp/'))).toHaveLength(1)
    const kinds = new Map<number, string>()
    for await (const { entry } of ledger.scan()) kinds.set(entry.seq, readLineageRecord(entry).kind)
    expect(new Set(acked.map((a) => a.seq)).size).toBe(UPLOADS)
    for (const { seq } of acked) expect(kinds.get(seq)).toBe(ENTRY_KINDS.UPDATE_ACCEPTED)
    await runner.close()
  })

  it('writes the updates that arrive while a write is in flight together in the next one', async () => {
    // Prepare: the first update's write is held, so the other 15 arrive while it is in flight.
    const { store, runner, delta, envelopes } = await openRound()
    const before = store.writes.length
    store.hold()

    // Execute
    const first = runner.acceptUpdate(envelopes[0]!, delta)
    await new Promise((r) => setTimeout(r, 50))
    const rest = envelopes.slice(1).map((e) => runner.acceptUpdate(e, delta))
    await new Promise((r) => setTimeout(r, 50))
    store.release()
    await Promise.all([first, ...rest])

    // Assert: two durable writes, not sixteen.
    expect(store.writes.slice(before).map((w) => w.entries.length)).toEqual([1, UPLOADS - 1])
    await runner.close()
  })

  it('acknowledges no update before the write holding its entry is durable', async () => {
    // Prepare
    const { store, ledger, runner, delta, envelopes } = await openRound()
    const length = ledger.length
    store.hold()

    // Execute: every update is decided, but the write is held back.
    const acked: number[] = []
    const acks = envelopes.map((e, i) => runner.acceptUpdate(e, delta).then(() => acked.push(i)))
    await new Promise((r) => setTimeout(r, 200))

    // Assert: nothing acknowledged and nothing in the log while the write waits; all once it is through.
    expect(acked).toEqual([])
    expect(ledger.length).toBe(length)
    store.release()
    await Promise.all(acks)
    expect(acked).toHaveLength(UPLOADS)
    expect(ledger.length).toBe(length + UPLOADS)
    await runner.close()
  })
})
