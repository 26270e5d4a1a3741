/**
 * Closing a secure-aggregation round: the unmasked sum of the survivors'
 * masked inputs, rebuilt from the logged reveals (secagg/unmask.ts), turned
 * back into the weighted average delta and handed to the study's strategy
 * as one reply. The coordinator never held any site's delta; the auditor,
 * re-running this with the same logged inputs, re-derives the same model.
 *
 * The average: Σ_u w_u·x_u / Σ_u w_u over the survivors U3, with w_u =
 * min(examples, maxWeight) / maxWeight (the weight each site quantized its
 * delta with), or, under DP, Σ_u x_u / planned sites (equal weights, a fixed
 * denominator, as DP-FedAvg), each site having clipped and noised its own
 * delta (distributed DP). The strategy (FedAvg or a server optimiser) then
 * steps from the parent model with that one averaged delta, which is what
 * it would do with the individual deltas, since they only enter through
 * their weighted average.
 *
 * Pure; blobs come in through `BlobView` as for any commit.
 */
import { encodeHeader, encodeWeights, decodeWeights, ModelError, sizeOfShape, type Weights } from '../models/core/index.ts'
import { readAll, sha256 } from '../ledger/core/index.ts'
import { ProtocolError } from './errors.ts'
import { ENTRY_KINDS, committedInputsFields, lineageBody, rewardedAllocationsFields, type LineageBody } from './lineage.ts'
import { failuresOf, meanTrainLoss, dpCommitRecord, blobRequests, type BlobView, type CloseResult, type DecidedEntry } from './round-close.ts'
import { contributionSeed } from './contribution.ts'
import { splitRewardPool } from './reward.ts'
import { dequantizeSum, unmaskSum, weightRatio, type SecAggReveal } from './secagg/index.ts'
import { createStrategy } from './strategy.ts'
import type { RoundRecord, StudyState } from './study-state.ts'
import { compareSiteIds } from './study-state.ts'

function entry<K extends Parameters<typeof lineageBody>[0]>(kind: K, body: LineageBody<K>): DecidedEntry {
  return { kind, body: lineageBody(kind, body) }
}

/** The reply id the strategy sees for the secure sum (no site's own delta exists at the coordinator). */
export const SECURE_SUM_REPLY = '(secure sum)'

/** A masked input's words: the blob after its weights header, little-endian uint32. */
export function maskedWords(bytes: Uint8Array, headerBytes: number): Uint32Array {
  const body = bytes.subarray(headerBytes)
  const words = new Uint32Array(body.length >>> 2)
  new Uint8Array(words.buffer).set(body.subarray(0, words.length * 4))
  return words
}

/** A masked input's bytes: the study model's weights header, then the words (little-endian), the size of a delta. */
export function encodeMaskedInput(header: Uint8Array, words: Uint32Array): Uint8Array {
  const out = new Uint8Array(header.length + words.length * 4)
  out.set(header, 0)
  out.set(new Uint8Array(words.buffer, words.byteOffset, words.length * 4), header.length)
  return out
}

/** The float64 average back in the model's layout, rounded once to float32. */
function averageWeights(state: StudyState, avg: Float64Array): Weights {
  let at = 0
  return {
    tensors: state.shapes.map((s) => {
      const n = sizeOfShape(s.shape)
      const values = Float32Array.from(avg.subarray(at, at + n))
      at += n
      return { name: s.name, shape: s.shape, values }
    }),
  }
}

export function commitSecAggRound(state: StudyState, round: RoundRecord, reveals: ReadonlyMap<string, readonly SecAggReveal[]>, blobs: BlobView): CloseResult {
  const study = state.study
  const spec = study.secureAggregation!
  const sa = round.secagg!
  const u1 = sa.u1!
  const u2 = sa.u2!
  const u3 = [...sa.u3!].sort(compareSiteIds)
  const { want, needs } = blobRequests(blobs)
  const parentBlob = want(round.base)
  const stateBlob = want(state.strategyState)
  const masked = new Map(u3.map((s) => [s, want(round.accepted.get(s)!.delta)]))
  if (needs.length > 0) return { kind: 'needs', hashes: needs }

  const abandon = (reason: string): CloseResult => ({ kind: 'entries', entries: [entry(ENTRY_KINDS.ROUND_ABANDONED, { round: round.round, reason, accepted: round.accepted.size })], blobs: [] })
  const headerBytes = encodeHeader(state.shapes).length
  let sum: Uint32Array
  try {
    sum = unmaskSum({
      study: state.studyId,
      round: round.round,
      seed: round.seed,
      params: { k: u1.k, t: u1.t },
      keys: new Map(u1.sites.map((s) => [s, sa.keys.get(s)!])),
      bCommits: new Map(u2.map((s) => [s, sa.shares.get(s)!.bCommit])),
      sharedBy: u2,
      survivors: u3,
      reveals,
      masked: (site) => maskedWords(readAll(masked.get(site)!), headerBytes),
    })
  } catch (err) {
    // A sum that cannot be unmasked (too few reveals, a share that fails its commitment) closes the round, with the reason.
    if (!(err instanceof ProtocolError)) throw err
    return abandon(`secure aggregation could not unmask the sum: ${err.code}: ${err.message}`)
  }
  // The quantization is the spec's own (k and t, the resolved part, were fixed when the key phase closed).
  const weighted = dequantizeSum(sum, spec)
  const dp = study.dp
  const accepted = u3.map((s) => round.accepted.get(s)!)
  const denominator = dp !== undefined ? round.plan.size : accepted.reduce((n, a) => n + weightRatio(a.examples, spec.maxWeight), 0)
  const avg = new Float64Array(weighted.length)
  for (let i = 0; i < avg.length; i++) avg[i] = weighted[i]! / denominator
  const parent = decodeWeights(readAll(parentBlob!), state.shapes)
  const strategyState = stateBlob === undefined ? null : decodeWeights(readAll(stateBlob))
  const examples = accepted.reduce((n, a) => n + a.examples, 0)
  const reply = { siteId: SECURE_SUM_REPLY, exampleCount: examples, delta: averageWeights(state, avg) }
  const failures = failuresOf(round, round.accepted)
  const strategy = createStrategy(study.strategy)
  const context = { training: study.training, siteCount: Math.max(state.plannableSites().length, round.plan.size) }
  let r
  try {
    r = strategy.aggregateRound({ round: round.round, global: parent, replies: [reply], failures, state: strategyState, seed: round.seed, ...context, plannedSites: round.plan.size })
  } catch (err) {
    if (!(err instanceof ModelError)) throw err
    return abandon(`the strategy could not aggregate the secure sum: ${err.code}: ${err.message}`)
  }
  if (r.kind === 'none') return abandon(r.reason)
  const modelBytes = encodeWeights(r.weights)
  const nextStateBytes = r.state === null ? undefined : encodeWeights(r.state)
  const metrics: Record<string, number> = { ...r.metrics, examples }
  const trainLoss = meanTrainLoss(accepted)
  if (Number.isFinite(trainLoss)) metrics['trainLoss'] = trainLoss
  const survivors = new Set(u3)
  const entries: DecidedEntry[] = [
    entry(ENTRY_KINDS.ROUND_COMMITTED, {
      round: round.round,
      parent: round.base,
      model: sha256(modelBytes),
      ...committedInputsFields(accepted.map((a) => ({ site: a.site, delta: a.delta, examples: a.examples, envelope: a.envelopeHash }))),
      strategy: { name: strategy.name, params: { ...strategy.parameters } },
      metrics,
      failures: failures.map((f) => ({ site: f.siteId, reason: f.reason })),
      exclusions: [],
      ...(nextStateBytes === undefined ? {} : { state: sha256(nextStateBytes) }),
      ...(dp === undefined || round.dp === undefined
        ? {}
        : {
            dp: {
              ...dpCommitRecord(state, round.round, round.dp.q, dp, {
                clipNorm: dp.clipNorm,
                plannedSites: round.plan.size,
                // Each survivor added N_Z(0, (z·S/√t)²) in quantized units: the sum carries z·S·√(|U3|/t) >= z·S.
                noiseStddev: (dp.noiseMultiplier * dp.clipNorm * Math.sqrt(u3.length / u1.t)) / round.plan.size,
              }),
              distributed: true as const,
            },
          }),
      secagg: { dropped: u2.filter((s) => !survivors.has(s)), denominator },
    }),
  ]
  if (study.rewards !== undefined) {
    // Only `examples` rewards are allowed with secure aggregation (study-spec.ts): the score is the declared example count. The
    // checks that need a site's own delta (zero or copied deltas) cannot run on masked inputs, so none is excluded for them.
    const split = splitRewardPool(
      BigInt(study.rewards.poolPerRound),
      accepted.map((a) => ({ siteId: a.site, payable: a.examples })),
    )
    entries.push(
      entry(ENTRY_KINDS.ROUND_REWARDED, {
        round: round.round,
        method: 'examples',
        metric: null,
        pool: BigInt(study.rewards.poolPerRound),
        seed: contributionSeed(study.seed, round.round),
        ...rewardedAllocationsFields(
          split.allocations.map((a) => {
            const examples = round.accepted.get(a.siteId)!.examples
            return { site: a.siteId, amount: a.amount, raw: examples, payable: examples }
          }),
        ),
        unallocated: split.unallocated,
      }),
    )
  }
  return { kind: 'entries', entries, blobs: nextStateBytes === undefined ? [modelBytes] : [modelBytes, nextStateBytes] }
}
