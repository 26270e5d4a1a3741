/**
 * Section 4b: audit time per round at 20 sites × 1M parameters.
 *
 * The log is written by the coordinator's own `RoundRunner` on a real
 * LevelDB ledger: study-created with the genesis model, 20 enrolments, the
 * sites' round-0 evaluations, then per round the hub's signed round start,
 * 20 site-signed update envelopes each with its 4 MB delta blob (fixed-seed
 * values), the commit the runner derives (its decider), and 20
 * signed evaluations; `study-completed` at the end. Every append is
 * `appendWithCheckpoint`, as in production.
 *
 * Timed: `auditLog` over the closed ledger (opened with
 * `openLevelAuditSource`, pinned coordinator key), per round from the
 * progress callback: the entries from a round's `round-opened` to the next
 * one's. Baselines on the same log, same run: `verifyLog` of the whole log
 * (chain and signatures only), and per round the floor of what the audit
 * must do with the blobs: read and SHA-256 the 20 deltas and the model, and
 * decode the deltas and re-derive the model with `fedAvg`.
 */
import { pino } from 'pino'
import { auditLog, openLevelAuditSource } from '../../auditor/index.ts'
import { RoundRunner } from '../../coordinator/index.ts'
import { Ledger, decodeEntry, equalBytes, openLevelStorage, sha256, verifyLog, type LedgerStorage } from '../../ledger/index.ts'
import {
  StudySpecSchema,
  decodeWeights,
  fedAvg,
  hashWeights,
  encodeWeights,
  encodedSize,
  inputWidth,
  modelShapes,
  parameterCount,
  type StudySpec,
  type TensorShape,
  type Weights,
  type WeightedUpdate,
} from '../../models/core/index.ts'
import { COORDINATOR, benchSigner, randomFor, tempDir } from './fixtures.ts'
import { median } from '../support/median.ts'
import { round2 } from './timing.ts'
import { ENTRY_KINDS, readLineageRecord, signStatement } from '../../protocol/index.ts'

export interface AuditBenchInit {
  readonly sites: number
  readonly hidden: readonly number[]
  readonly rounds: number
  readonly onStep: (label: string) => void
}

export interface AuditRoundNumbers {
  readonly round: number
  /** Entries of the round: round-opened, updates, commit, evaluations. */
  readonly entries: number
  readonly auditMs: number
  /** Coordinator: 20 × acceptUpdate (checks, 4 MB blob append) and the commit (aggregate + append). */
  readonly coordinatorMs: number
  readonly blobReadHashMs: number
  readonly decodeDeriveMs: number
}

export interface AuditBenchResult {
  readonly sites: number
  readonly parameters: number
  readonly deltaBytes: number
  readonly rounds: number
  readonly logEntries: number
  readonly ok: boolean
  readonly totalAuditMs: number
  /** study-created (genesis re-derived), enrolments and round-0 evaluations. */
  readonly preambleAuditMs: number
  readonly perRound: AuditRoundNumbers[]
  readonly median: { readonly auditMs: number; readonly coordinatorMs: number; readonly blobReadHashMs: number; readonly decodeDeriveMs: number }
  readonly verifyLogMs: number
  readonly buildMs: number
}

export const AUDIT_STEPS_PER_ROUND = 1
export const AUDIT_FIXED_STEPS = 4

function studySpec(init: AuditBenchInit): StudySpec {
  return StudySpecSchema.parse({
    id: 'bench-ledger-audit',
    model: { kind: 'mlp', hidden: [...init.hidden] },
    data: {
      features: Array.from({ length: 8 }, (_, i) => ({ name: `x${i}`, type: 'numeric' })),
      label: { column: 'y', positive: ['1'] },
    },
    training: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localSteps: 1 },
    strategy: { name: 'fedavg' },
    rounds: init.rounds,
    minSites: init.sites,
    roundDeadlineMs: 3_600_000,
    evaluationDeadlineMs: 3_600_000,
    seed: 7,
  })
}

/** A fixed-seed delta: uniform in ±1e-3, as float32. */
function syntheticDelta(shapes: readonly TensorShape[], random: () => number): Weights {
  return {
    tensors: shapes.map((s) => {
      const values = new Float32Array(s.shape.reduce((a, b) => a * b, 1))
      for (let j = 0; j < values.length; j++) values[j] = 0.001 * (2 * random() - 1)
      return { name: s.name, shape: s.shape, values }
    }),
  }
}

export async function runAudit(init: AuditBenchInit): Promise<AuditBenchResult> {
  const spec = studySpec(init)
  const shapes = modelShapes(spec.model, inputWidth(spec.data))
  const hub = benchSigner(2)
  const sites = Array.from({ length: init.sites }, (_, i) => ({ id: `site-${String(i).padStart(2, '0')}`, signer: benchSigner(10 + i), examples: 100 + 37 * i }))
  const { dir, remove } = await tempDir('audit')
  try {
    // ---- the log, written by the coordinator's RoundRunner
    const coordinatorMs: number[] = []
    const b0 = performance.now()
    {
      const ledger = await Ledger.open(await openLevelStorage(dir))
      const runner = await RoundRunner.open(
        { ledger, signer: COORDINATOR, logger: pino({ level: 'silent' }) },
        { study: spec, sites: sites.map((s) => ({ id: s.id, publicKey: s.signer.publicKey })), hubKey: hub.publicKey, autoAdvance: false, maxRequestAgeMs: 3_600_000 },
      )
      try {
        const evaluate = async (round: number) => {
          const model = runner.state.currentModel
          for (const s of sites) {
            await runner.acceptEvaluation(
              signStatement(s.signer, { t: 'evaluation', study: spec.id, round, site: s.id, model, examples: 50, metrics: { loss: 0.69 - 0.01 * round }, time: Date.now() }),
            )
          }
        }
        await evaluate(0)
        for (let round = 1; round <= init.rounds; round++) {
          const nonce = sha256(new TextEncoder().encode(`bench-ledger/round/${round}`)).slice(0, 16)
          await runner.startRound(signStatement(hub, { t: 'round-start', study: spec.id, round, time: Date.now(), nonce }))
          const base = runner.state.currentModel
          // What the sites send, prepared before the coordinator's clock starts.
          const uploads = sites.map((s, i) => {
            const bytes = encodeWeights(syntheticDelta(shapes, randomFor(1000 * round + i)))
            const envelope = signStatement(s.signer, {
              t: 'update',
              study: spec.id,
              round,
              site: s.id,
              base,
              delta: sha256(bytes),
              size: bytes.length,
              examples: s.examples,
              metrics: { trainLoss: 0.5 },
              nonce: sha256(bytes).slice(0, 16),
              time: Date.now(),
            })
            return { envelope, bytes }
          })
          const c0 = performance.now()
          for (const u of uploads) await runner.acceptUpdate(u.envelope, u.bytes)
          coordinatorMs.push(performance.now() - c0)
          if (runner.state.committedRounds !== round) throw new Error(`round ${round} did not commit after ${init.sites} updates`)
          await evaluate(round)
          init.onStep(`coordinator round ${round}/${init.rounds}`)
        }
        if (!runner.state.completed) throw new Error('the study did not complete')
      } finally {
        await runner.close()
        await ledger.close()
      }
    }
    const buildMs = performance.now() - b0

    // ---- where each round starts, and what it names (outside every timer)
    const kinds: string[] = []
    const rounds: { open: number; deltas: Uint8Array[]; model: Uint8Array; parent: Uint8Array; examples: number[]; siteIds: string[] }[] = []
    await withStorage(dir, async (storage) => {
      for await (const { seq, bytes } of storage.readEntries(0, Number.MAX_SAFE_INTEGER)) {
        const record = readLineageRecord(decodeEntry(bytes, seq))
        kinds.push(record.kind)
        if (record.kind === ENTRY_KINDS.ROUND_OPENED) rounds.push({ open: seq, deltas: [], model: new Uint8Array(0), parent: new Uint8Array(0), examples: [], siteIds: [] })
        if (record.kind === ENTRY_KINDS.UPDATE_ACCEPTED) {
          rounds.at(-1)!.deltas.push(record.body.delta)
          rounds.at(-1)!.examples.push(record.body.examples)
          rounds.at(-1)!.siteIds.push(record.body.site)
        }
        if (record.kind === ENTRY_KINDS.ROUND_COMMITTED) Object.assign(rounds.at(-1)!, { model: record.body.model, parent: record.body.parent })
      }
    })
    const total = kinds.length
    init.onStep('log indexed')

    // ---- the audit
    const doneAt: number[] = []
    const { source, close } = await openLevelAuditSource(dir)
    let t0: number
    let report
    try {
      t0 = performance.now()
      report = await auditLog(source, { trustedCoordinatorKey: COORDINATOR.publicKey, onProgress: (done) => void (doneAt[done] = performance.now()) })
    } finally {
      await close()
    }
    const totalAuditMs = performance.now() - t0
    if (!report.ok) throw new Error(`audit failed: ${JSON.stringify(report.failure)}`)
    if (report.rounds.length !== init.rounds || report.entries !== total)
      throw new Error(`audit covered ${report.entries} entries and ${report.rounds.length} rounds, want ${total} and ${init.rounds}`)
    init.onStep('auditLog')

    // ---- baselines
    const v0 = performance.now()
    await withStorage(dir, (storage) => verifyLog(storage, { trustedAuthors: [COORDINATOR.publicKey] }))
    const verifyLogMs = performance.now() - v0
    init.onStep('verifyLog')

    const perRound: AuditRoundNumbers[] = []
    await withStorage(dir, async (storage) => {
      for (const [k, r] of rounds.entries()) {
        const end = k + 1 < rounds.length ? rounds[k + 1]!.open : total
        const parent = decodeWeights((await storage.readBlob(r.parent))!, shapes)
        const h0 = performance.now()
        const blobs: Uint8Array[] = []
        for (const hash of [...r.deltas, r.model]) {
          const bytes = (await storage.readBlob(hash))!
          if (!equalBytes(sha256(bytes), hash)) throw new Error('blob does not hash to its name')
          blobs.push(bytes)
        }
        const blobReadHashMs = performance.now() - h0
        const d0 = performance.now()
        const updates: WeightedUpdate[] = r.deltas.map((_, i) => ({ siteId: r.siteIds[i]!, delta: decodeWeights(blobs[i]!, shapes), exampleCount: r.examples[i]! }))
        const derived = { hash: hashWeights(fedAvg(parent, updates, spec.strategy.name === 'fedavg' ? spec.strategy.serverLearningRate : 1)) }
        const decodeDeriveMs = performance.now() - d0
        if (!equalBytes(derived.hash, r.model)) throw new Error(`round ${k + 1}: re-derived model differs from the committed one`)
        perRound.push({
          round: k + 1,
          entries: end - r.open,
          auditMs: round2(doneAt[end]! - doneAt[r.open]!),
          coordinatorMs: round2(coordinatorMs[k]!),
          blobReadHashMs: round2(blobReadHashMs),
          decodeDeriveMs: round2(decodeDeriveMs),
        })
      }
    })
    init.onStep('blob and re-derivation baselines')

    const med = (f: (r: AuditRoundNumbers) => number) => round2(median(perRound.map(f)))
    return {
      sites: init.sites,
      parameters: parameterCount(shapes),
      deltaBytes: encodedSize(shapes),
      rounds: init.rounds,
      logEntries: total,
      ok: report.ok,
      totalAuditMs: round2(totalAuditMs),
      preambleAuditMs: round2(doneAt[rounds[0]!.open]! - t0),
      perRound,
      median: { auditMs: med((r) => r.auditMs), coordinatorMs: med((r) => r.coordinatorMs), blobReadHashMs: med((r) => r.blobReadHashMs), decodeDeriveMs: med((r) => r.decodeDeriveMs) },
      verifyLogMs: round2(verifyLogMs),
      buildMs: round2(buildMs),
    }
  } finally {
    await remove()
  }
}

async function withStorage<T>(dir: string, fn: (storage: LedgerStorage) => Promise<T>): Promise<T> {
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    return await fn(storage)
  } finally {
    await storage.close()
  }
}
