import { describe, expect, it } from 'vitest'
import {
  RFC6962_SHA256,
  consistencyProof,
  decideAddCheckpoint,
  logOrigin,
  parseVerifierKey,
  checkpointVerifierKey,
  rootOf,
  signCheckpoint,
  signerFromSeed,
  type AddCheckpointRequest,
  type WitnessLogState,
} from '../../../ledger/core/index.ts'

const coordinator = signerFromSeed(new Uint8Array(32).fill(1))
const stranger = signerFromSeed(new Uint8Array(32).fill(9))
const origin = logOrigin('cardio-risk')
const logKey = parseVerifierKey(checkpointVerifierKey(origin, coordinator.publicKey))
const leaves = Array.from({ length: 12 }, (_, i) => RFC6962_SHA256.hashLeaf(Uint8Array.of(i)))
const rootAt = (n: number) => rootOf(RFC6962_SHA256, leaves.slice(0, n))
const cpAt = (n: number, signer = coordinator) => signCheckpoint(signer, { origin, size: n, root: rootAt(n) })
const logKeys = (o: string) => (o === origin ? [logKey] : undefined)
const holding = (size: number | undefined) => (): WitnessLogState | undefined => (size === undefined ? undefined : { size, root: rootAt(size) })
const req = (oldSize: number, size: number, signer = coordinator): AddCheckpointRequest => ({
  oldSize,
  proof: oldSize === 0 || oldSize === size ? [] : consistencyProof(RFC6962_SHA256, leaves, oldSize, size),
  checkpoint: cpAt(size, signer),
})

describe('decideAddCheckpoint (c2sp.org/tlog-witness status codes)', () => {
  it('cosigns the first checkpoint of a log from old size 0', () => {
    // Execute
    const d = decideAddCheckpoint(req(0, 5), logKeys, holding(undefined))
    // Assert
    expect(d).toMatchObject({ kind: 'cosign', next: { size: 5 }, unchanged: false })
  })

  it('cosigns a larger tree with a valid consistency proof from the held size', () => {
    // Execute
    const d = decideAddCheckpoint(req(5, 12), logKeys, holding(5))
    // Assert
    expect(d).toMatchObject({ kind: 'cosign', next: { size: 12, root: rootAt(12) } })
  })

  it('cosigns the held tree again without a change', () => {
    // Execute
    const d = decideAddCheckpoint(req(5, 5), logKeys, holding(5))
    // Assert
    expect(d).toMatchObject({ kind: 'cosign', unchanged: true })
  })

  it('404 for an origin it does not follow', () => {
    // Prepare
    const other = signCheckpoint(coordinator, { origin: logOrigin('other'), size: 1, root: rootAt(1) })
    // Execute
    const d = decideAddCheckpoint({ oldSize: 0, proof: [], checkpoint: other }, logKeys, holding(undefined))
    // Assert
    expect(d).toMatchObject({ kind: 'refuse', status: 404 })
  })

  it('403 when no signature verifies under the trusted log key', () => {
    // Execute
    const d = decideAddCheckpoint(req(0, 5, stranger), logKeys, holding(undefined))
    // Assert
    expect(d).toMatchObject({ kind: 'refuse', status: 403 })
  })

  it('400 when the old size is above the checkpoint size', () => {
    // Execute
    const d = decideAddCheckpoint({ oldSize: 9, proof: [], checkpoint: cpAt(5) }, logKeys, holding(9))
    // Assert
    expect(d).toMatchObject({ kind: 'refuse', status: 400 })
  })

  it('409 with the held size when the old size is not it', () => {
    // Execute
    const fromZero = decideAddCheckpoint(req(0, 12), logKeys, holding(5))
    const fromOther = decideAddCheckpoint(req(3, 12), logKeys, holding(5))
    // Assert
    expect(fromZero).toMatchObject({ kind: 'refuse', status: 409, size: 5 })
    expect(fromOther).toMatchObject({ kind: 'refuse', status: 409, size: 5 })
  })

  it('409 for a different root at the held size (a split view)', () => {
    // Prepare
    const forked = signCheckpoint(coordinator, { origin, size: 5, root: rootAt(6) })
    // Execute
    const d = decideAddCheckpoint({ oldSize: 5, proof: [], checkpoint: forked }, logKeys, holding(5))
    // Assert
    expect(d).toMatchObject({ kind: 'refuse', status: 409, size: 5 })
  })

  it('422 for a consistency proof that does not lead from the held root', () => {
    // Prepare
    const good = req(5, 12)
    const flipped = good.proof.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h))
    const forkedTree = signCheckpoint(coordinator, { origin, size: 12, root: rootAt(11) })
    // Execute
    const badProof = decideAddCheckpoint({ ...good, proof: flipped }, logKeys, holding(5))
    const truncated = decideAddCheckpoint({ ...good, proof: good.proof.slice(1) }, logKeys, holding(5))
    const wrongRoot = decideAddCheckpoint({ ...good, checkpoint: forkedTree }, logKeys, holding(5))
    const proofFromZero = decideAddCheckpoint({ oldSize: 0, proof: good.proof, checkpoint: cpAt(12) }, logKeys, holding(undefined))
    // Assert
    for (const d of [badProof, truncated, wrongRoot, proofFromZero]) expect(d).toMatchObject({ kind: 'refuse', status: 422 })
  })

  it('422 for a size-0 checkpoint whose root is not the empty tree', () => {
    // Prepare
    const bogus = signCheckpoint(coordinator, { origin, size: 0, root: rootAt(1) })
    // Execute
    const d = decideAddCheckpoint({ oldSize: 0, proof: [], checkpoint: bogus }, logKeys, holding(undefined))
    // Assert
    expect(d).toMatchObject({ kind: 'refuse', status: 422 })
  })
})
