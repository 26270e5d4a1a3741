/**
 * A 3-site federation over real gRPC on loopback, real LevelDB, real TF.js
 * training: the study runs to completion, validation loss falls from the
 * initial model to the last round, and every committed round re-derives,
 * from the deltas stored by hash, to exactly the model hash in the log.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openLevelStorage, sha256, toHex, verifyLog } from '../../ledger/index.ts'
import { decodeWeights, fedAvg, hashWeights, inputWidth, modelShapes, StudySpecSchema } from '../../models/index.ts'
import { createFederation } from '../helpers/federation.ts'
import { ENTRY_KINDS, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'

describe('federation over gRPC', () => {
  it('trains 3 sites for 3 rounds, lowers validation loss, and every round re-derives bit for bit', async () => {
    // Prepare
    const fed = await createFederation({ siteCount: 3 })

    // Execute
    const summaries = await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed

    // Assert: the study completed and every site saw it.
    const state = fed.coordinator.runner.state
    expect(state.completed).toBe(true)
    expect(state.committedRounds).toBe(3)
    for (const s of summaries) expect(s.finalModel).toBe(toHex(state.currentModel))

    // Each site kept one global model at a time, on disk in its state folder: at the end, the last one it scored.
    for (const site of fed.sites) expect(await readdir(path.join(fed.dir, `${site.id}-models`))).toEqual([`${toHex(state.currentModel)}.flw`])

    // Every site ends with a verified replica of the whole log, and witnessed it.
    const logLength = fed.coordinator.ledger.length
    for (const s of summaries) expect(s.replicaEntries).toBe(logLength)
    const witnesses = await fed.coordinator.ledger.cosignatures(logLength)
    expect(witnesses.length).toBeGreaterThan(0)

    // Validation loss (example-weighted over the sites' signed reports) falls from round 0 to the last round.
    const valLoss = (round: number) => {
      const evals = [...(state.evaluations.get(round)?.values() ?? [])]
      expect(evals).toHaveLength(3)
      const n = evals.reduce((a, e) => a + e.examples, 0)
      return evals.reduce((a, e) => a + e.metrics['loss']! * e.examples, 0) / n
    }
    expect(valLoss(3)).toBeLessThan(valLoss(0))

    // Re-derive each committed round from the log and its blobs alone.
    const ledger = fed.coordinator.ledger
    const spec = StudySpecSchema.parse(fed.config.study)
    const shapes = modelShapes(spec.model, inputWidth(spec.data))
    const records: LineageRecord[] = []
    for await (const { entry } of ledger.scan()) records.push(readLineageRecord(entry))
    const commits = records.filter((r) => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    expect(commits).toHaveLength(3)
    for (const c of commits) {
      if (c.kind !== ENTRY_KINDS.ROUND_COMMITTED) continue
      const parent = decodeWeights(await ledger.getBlob(c.body.parent), shapes)
      const updates = await Promise.all(c.body.inputs.map(async (i) => ({ siteId: i.site, exampleCount: i.examples, delta: decodeWeights(await ledger.getBlob(i.delta), shapes) })))
      // Independently of the decider: the arithmetic itself, FedAvg in models/core.
      if (spec.strategy.name !== 'fedavg') throw new Error(`this test runs a fedavg study, not ${spec.strategy.name}`)
      expect(toHex(hashWeights(fedAvg(parent, updates, spec.strategy.serverLearningRate)))).toBe(toHex(c.body.model))
      expect(toHex(sha256(await ledger.getBlob(c.body.model)))).toBe(toHex(c.body.model))
    }

    // The whole log verifies.
    await fed.coordinator.close()
    const storage = await openLevelStorage(fed.config.dataDir)
    const report = await verifyLog(storage)
    await storage.close()
    expect(report.entries).toBe(records.length)
  })
})
