/**
 * The coordinator's witness submitter against real witnesses on loopback and
 * a real LevelDB ledger: a fresh submitter (a restarted coordinator) learns
 * the witness's size from its 409 and resends from it; a witness that is
 * down never holds up `submit`, and is caught up once it is back.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { WitnessSubmitter, checkpointVerifierKey, logOrigin, parseVerifierKey, startWitness, type Ledger, type RunningWitness, type SignedCheckpoint } from '../../ledger/index.ts'
import { createLedger, createTempDir, testDrafts, testSigner } from '../helpers/ledger.ts'

const origin = logOrigin('submit-study')

async function appendCheckpointed(ledger: Ledger, count: number, start: number): Promise<SignedCheckpoint> {
  return (await ledger.appendWithCheckpoint(testSigner(1), testDrafts(count, start), [], { origin })).checkpoint
}

function cosignedAt(submitter: WitnessSubmitter, size: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not cosigned at ${size} in ${timeoutMs} ms`)), timeoutMs)
    submitter.on('cosigned', (w, s) => {
      if (s !== size) return
      clearTimeout(timer)
      resolve(w)
    })
  })
}

async function witnessFor(stateDir: string, port = 0): Promise<RunningWitness> {
  const w = await startWitness({ signer: testSigner(60), logs: [parseVerifierKey(checkpointVerifierKey(origin, testSigner(1).publicKey))], stateDir, port })
  onTestFinished(() => w.close())
  return w
}

describe('WitnessSubmitter', () => {
  it('a restarted submitter resends from the size the witness reports in its 409, and the cosignature is stored', async () => {
    // Prepare: the witness already cosigned size 4 for an earlier submitter.
    const { ledger } = await createLedger()
    const w = await witnessFor(await createTempDir())
    const key = parseVerifierKey(w.verifierKey)
    const before = new WitnessSubmitter(ledger, { witnesses: [{ name: 'A', key, url: w.url }] })
    const first = cosignedAt(before, 4)
    before.submit(await appendCheckpointed(ledger, 4, 0))
    await first
    await before.close()
    const cp = await appendCheckpointed(ledger, 5, 4)
    const after = new WitnessSubmitter(ledger, { witnesses: [{ name: 'A', key, url: w.url }] })
    onTestFinished(() => after.close())
    const conflicts: number[] = []
    after.on('failed', (_w, s) => conflicts.push(s))
    // Execute
    const done = cosignedAt(after, 9)
    after.submit(cp)
    // Assert
    expect(await done).toBe('A')
    expect(conflicts).toEqual([])
    expect(w.heldSize(origin)).toBe(9)
    expect((await ledger.cosignatures(9)).map((c) => c.witness)).toEqual([key.publicKey])
  })

  it('submit returns at once while a witness is down; the retry reaches it once it is back', async () => {
    // Prepare: reserve a port, then stop the witness on it.
    const { ledger } = await createLedger()
    const stateDir = await createTempDir()
    const down = await witnessFor(stateDir)
    const port = Number(new URL(down.url).port)
    const key = parseVerifierKey(down.verifierKey)
    await down.close()
    const submitter = new WitnessSubmitter(ledger, { witnesses: [{ name: 'A', key, url: down.url }], retryMs: 50, maxRetryMs: 200 })
    onTestFinished(() => submitter.close())
    const failed = new Promise<number>((resolve) => submitter.once('failed', (_w, s) => resolve(s)))
    const cp = await appendCheckpointed(ledger, 3, 0)
    // Execute
    const t0 = performance.now()
    submitter.submit(cp)
    const submitMs = performance.now() - t0
    expect(await failed).toBe(3)
    const done = cosignedAt(submitter, 3)
    await witnessFor(stateDir, port)
    // Assert
    expect(submitMs).toBeLessThan(50)
    expect(await done).toBe('A')
  })
})
