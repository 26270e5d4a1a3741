/**
 * Closing a round: the entries a commit writes, computed from the round's
 * parent model, its accepted deltas and the strategy's state, with the study's
 * strategy. Every value in them (the model hash, the strategy's metrics,
 * `trainLoss`, `examples`, failures, exclusions, rewards) is computed here, so
 * the auditor, re-running the decider, re-derives each one bit for bit.
 *
 * Pure. Blobs come in through `BlobView`; a blob it lacks is reported as
 * needed rather than fetched (the decider returns `needs`). A strategy that
 * can aggregate slice by slice (`aggregateStreamed`, FedAvg) reads the parent
 * and the deltas through readers and holds one slice of each: a commit's
 * memory is one model (the one it makes), whatever the number of sites.
 *
 * A DP round's private noise seed is asked for through the same view, by the
 * hash `round-opened` committed to; the shell answers from its private store,
 * never from the log's blobs. Empty bytes mean the seed is withheld (the
 * audit without the seeds): the commit is then computed without noise.
 */
import { ModelError, encodeWeights, decodeDataset, decodeWeights, decodeWeightsShared, type DpSpec, type Weights } from '../models/core/index.ts'
import { bytesReader, equalBytes, readAll, sha256, toHex, type BlobReader, type CanonicalValue } from '../ledger/core/index.ts'
import { ENTRY_KINDS, committedInputsFields, lineageBody, rewardedAllocationsFields, type LineageBody } from './lineage.ts'
import { computeRoundRewards } from './round-rewards.ts'
import { dpAccountAfter } from './dp-accounting.ts'
import { DpSeedInvalidError, ProtocolInvalidArgumentError } from './errors.ts'
import { createStudyStrategy, type ClippedUpdate, type Exclusion, type RoundFailure, type SiteReply } from './strategy.ts'
import type { AcceptedUpdate, RoundRecord, StudyState } from './study-state.ts'
import { compareSiteIds } from './study-state.ts'
import { validateStreamed, validateUpdates } from './update-validation.ts'

/**
 * The blobs the shell can give this step: whole bytes (`get`), or readers
 * over stored files (`open`, preferred when present; the shell closes them
 * after the step).
 */
export interface BlobView {
  get(hash: Uint8Array): Uint8Array | undefined
  open?(hash: Uint8Array): BlobReader | undefined
}

export function readerOf(blobs: BlobView, hash: Uint8Array): BlobReader | undefined {
  const opened = blobs.open?.(hash)
  if (opened !== undefined) return opened
  const bytes = blobs.get(hash)
  return bytes === undefined ? undefined : bytesReader(bytes)
}

/**
 * How a commit asks for its blobs: `want(hash)` gives a reader when the view
 * holds the blob, else records the hash in `needs` (the step then returns
 * them all at once, rather than one per try).
 */
export function blobRequests(blobs: BlobView): { want: (hash: Uint8Array | undefined) => BlobReader | undefined; needs: Uint8Array[] } {
  const needs: Uint8Array[] = []
  const want = (hash: Uint8Array | undefined): BlobReader | undefined => {
    if (hash === undefined) return undefined
    const reader = readerOf(blobs, hash)
    if (reader === undefined) needs.push(hash)
    return reader
  }
  return { want, needs }
}

/** An entry the decider emits: kind and canonical body (the shell adds seq, time, author, signature). */
export interface DecidedEntry {
  readonly kind: string
  readonly body: CanonicalValue
}

export type CloseResult =
  | { readonly kind: 'entries'; readonly entries: readonly DecidedEntry[]; readonly blobs: readonly Uint8Array[] }
  | { readonly kind: 'needs'; readonly hashes: readonly Uint8Array[] }

function entry<K extends Parameters<typeof lineageBody>[0]>(kind: K, body: LineageBody<K>): DecidedEntry {
  return { kind, body: lineageBody(kind, body) }
}

/** The weighted mean of the replies' signed `trainLoss`, in Float64 in site order; NaN when any site reported none. */
export function meanTrainLoss(accepted: readonly AcceptedUpdate[]): number {
  let sum = 0
  let n = 0
  for (const a of accepted) {
    const v = a.metrics['trainLoss']
    if (v === undefined || !Number.isFinite(v)) return Number.NaN
    sum += v * a.examples
    n += a.examples
  }
  return n > 0 ? sum / n : Number.NaN
}

/**
 * The failures of a round: each planned site without an accepted update,
 * with the code it declined with, or of its last refusal in the round, or `no-update`.
 */
export function failuresOf(round: RoundRecord, accepted: ReadonlyMap<string, AcceptedUpdate>): RoundFailure[] {
  const failures: RoundFailure[] = []
  for (const siteId of [...round.plan.keys()].sort(compareSiteIds)) {
    if (accepted.has(siteId)) continue
    const declined = round.declined.get(siteId)
    if (declined !== undefined) {
      failures.push({ siteId, reason: declined.code })
      continue
    }
    const refused = round.rejected.filter((r) => r.site === siteId && r.type === 'update').at(-1)
    failures.push({ siteId, reason: refused?.code ?? 'no-update' })
  }
  return failures
}

/** The newest committed round before `round` (the one that made its base model), as its commit body. */
function newestCommitBefore(state: StudyState, round: number): { readonly parent: Uint8Array } | undefined {
  for (let r = round - 1; r >= 1; r--) {
    const commit = state.rounds.get(r)?.commit
    if (commit) return commit.body
  }
  return undefined
}

/** Delta hashes (hex) accepted in rounds before `round`, each with the first round that accepted it. */
function earlierDeltaHashes(state: StudyState, round: number): Map<string, number> {
  const seen = new Map<string, number>()
  for (let r = 1; r < round; r++)
    for (const a of state.rounds.get(r)?.accepted.values() ?? []) {
      const h = toHex(a.delta)
      if (!seen.has(h)) seen.set(h, r)
    }
  return seen
}

/**
 * The entries that close `round` by aggregation, given its accepted updates
 * (`accepted`, which may include one not yet applied to `state`) and the
 * delta of that one (`fresh`). A strategy that makes no model abandons the
 * round with its reason.
 */
export function commitRound(
  state: StudyState,
  round: RoundRecord,
  accepted: ReadonlyMap<string, AcceptedUpdate>,
  fresh: { readonly site: string; readonly delta: BlobReader } | undefined,
  blobs: BlobView,
): CloseResult {
  const study = state.study
  const sorted = [...accepted.values()].sort((a, b) => compareSiteIds(a.site, b.site))
  const { want, needs } = blobRequests(blobs)
  const parentBlob = want(round.base)
  const stateBlob = want(state.strategyState)
  const deltaBlobs = new Map(sorted.map((a) => [a.site, a.site === fresh?.site ? fresh.delta : want(a.delta)]))
  const gainRewards = study.rewards !== undefined && study.rewards.method !== 'examples'
  const validationBlob = gainRewards ? want(state.validation) : undefined
  // The cosine check compares each delta with the newest committed step: the base model minus its parent.
  const previousCommit = study.validation?.minCosine === undefined ? undefined : newestCommitBefore(state, round.round)
  const previousParentBlob = previousCommit === undefined ? undefined : want(previousCommit.parent)
  // A DP round's private noise seed comes in by its logged hash, like a blob, but from the shell's private store: it is never a blob of the log.
  const noiseSeedReader = round.dp?.seed === undefined ? undefined : want(round.dp.seed)
  if (needs.length > 0) return { kind: 'needs', hashes: needs }
  const seedBytes = noiseSeedReader === undefined ? undefined : readAll(noiseSeedReader)
  // Empty bytes stand for a seed the caller cannot have (the audit without the seeds): the commit is computed without noise (dp-audit.ts).
  const noiseWithheld = seedBytes !== undefined && seedBytes.length === 0
  const privateSeed = noiseWithheld ? undefined : seedBytes
  if (privateSeed !== undefined && !equalBytes(sha256(privateSeed), round.dp!.seed!))
    throw new DpSeedInvalidError(`round ${round.round}: the noise seed given hashes to ${toHex(sha256(privateSeed))}, but round-opened commits to ${toHex(round.dp!.seed!)}`)

  const failures = failuresOf(round, accepted)
  const strategy = createStudyStrategy(study)
  // N counts the sites the round could have planned, never fewer than it did (a site removed mid-round still counts).
  const context = { training: study.training, siteCount: Math.max(state.plannableSites().length, round.plan.size) }
  // A strategy that can is fed slice by slice, one slice of each input in memory (validation, when the study has it, reads
  // the deltas the same way first); only gain-based rewards, which score coalitions of whole deltas, need them decoded.
  const streamed = strategy.aggregateStreamed !== undefined && !gainRewards
  let deltaNorms: ReadonlyMap<string, number> | undefined
  // The accepted updates the strategy aggregated (validation may leave some out): what examples rewards pay.
  let aggregated = sorted
  let parent: Weights | undefined
  let strategyState: Weights | null = null
  let replies: SiteReply[] = []
  let outcome:
    | {
        kind: 'model'
        modelBytes: Uint8Array
        model: Uint8Array
        metrics: Readonly<Record<string, number>>
        /** The next server state's canonical bytes (none for stateless strategies). */
        stateBytes: Uint8Array | undefined
        exclusions: readonly Exclusion[]
        clipped?: readonly ClippedUpdate[]
      }
    | { kind: 'none'; reason: string }
  try {
    const checked =
      streamed && study.validation !== undefined
        ? validateStreamed({
            spec: study.validation,
            shapes: state.shapes,
            replies: sorted.map((a) => ({ siteId: a.site, delta: deltaBlobs.get(a.site)!, deltaHash: a.delta })),
            ...(previousParentBlob === undefined ? {} : { previous: { model: parentBlob!, parent: previousParentBlob } }),
            earlierDeltas: earlierDeltaHashes(state, round.round),
          })
        : undefined
    const keptSites = checked === undefined ? undefined : new Set(checked.kept)
    const streamedKept = keptSites === undefined ? sorted : sorted.filter((a) => keptSites.has(a.site))
    const r = !streamed
      ? undefined
      : streamedKept.length === 0
        ? { kind: 'none' as const, reason: allLeftOut(checked!.exclusions) }
        : strategy.aggregateStreamed!({
            round: round.round,
            shapes: state.shapes,
            global: parentBlob!,
            replies: streamedKept.map((a) => ({ siteId: a.site, exampleCount: a.examples, delta: deltaBlobs.get(a.site)! })),
            failures,
            seed: round.seed,
            ...(stateBlob === undefined ? {} : { state: stateBlob }),
            plannedSites: round.plan.size,
            ...(privateSeed === undefined ? {} : { privateSeed }),
            ...(noiseWithheld ? { noiseWithheld } : {}),
          })
    if (r !== undefined) {
      if (r.kind === 'model') deltaNorms = r.deltaNorms
      aggregated = streamedKept
      outcome =
        r.kind === 'none'
          ? r
          : {
              kind: 'model',
              modelBytes: r.modelBytes,
              metrics: r.metrics,
              model: sha256(r.modelBytes),
              stateBytes: r.stateBytes,
              exclusions: [...(checked?.exclusions ?? []), ...(r.exclusions ?? [])],
              ...(r.clipped === undefined ? {} : { clipped: r.clipped }),
            }
    } else {
      // Parent and deltas go into the aggregation kernel's shared memory, where fedAvg reads them in place (same bytes out).
      parent = decodeWeightsShared(readAll(parentBlob!), state.shapes)
      strategyState = stateBlob === undefined ? null : decodeWeights(readAll(stateBlob))
      replies = sorted.map((a) => ({ siteId: a.site, exampleCount: a.examples, delta: decodeWeightsShared(readAll(deltaBlobs.get(a.site)!), state.shapes) }))
      let validationExclusions: readonly Exclusion[] = []
      if (study.validation !== undefined) {
        const checked = validateUpdates({
          spec: study.validation,
          replies: replies.map((r) => ({ siteId: r.siteId, delta: r.delta, deltaHash: accepted.get(r.siteId)!.delta })),
          previous: previousParentBlob === undefined ? undefined : { model: parent, parent: decodeWeights(readAll(previousParentBlob), state.shapes) },
          earlierDeltas: earlierDeltaHashes(state, round.round),
        })
        const kept = new Set(checked.kept)
        replies = replies.filter((r) => kept.has(r.siteId))
        validationExclusions = checked.exclusions
      }
      const r =
        replies.length === 0
          ? { kind: 'none' as const, reason: allLeftOut(validationExclusions) }
          : strategy.aggregateRound({
              round: round.round,
              global: parent,
              replies,
              failures,
              state: strategyState,
              seed: round.seed,
              ...context,
              plannedSites: round.plan.size,
              ...(privateSeed === undefined ? {} : { privateSeed }),
              ...(noiseWithheld ? { noiseWithheld } : {}),
            })
      if (r.kind === 'none') outcome = r
      else {
        // A model's hash is its canonical bytes' hash (hashWeights by construction): encoded once, hashed once.
        const modelBytes = encodeWeights(r.weights)
        const { state: nextState, ...made } = r
        outcome = { ...made, modelBytes, model: sha256(modelBytes), stateBytes: nextState === null ? undefined : encodeWeights(nextState), exclusions: [...validationExclusions, ...r.exclusions] }
      }
    }
  } catch (err) {
    // No accepted input may wedge a study: a round the strategy cannot aggregate closes, with the reason logged.
    if (!(err instanceof ModelError)) throw err
    outcome = { kind: 'none', reason: `the strategy could not aggregate the accepted updates: ${err.code}: ${err.message}` }
  }
  if (outcome.kind === 'none') {
    return { kind: 'entries', entries: [entry(ENTRY_KINDS.ROUND_ABANDONED, { round: round.round, reason: outcome.reason, accepted: accepted.size })], blobs: [] }
  }
  const modelBytes = outcome.modelBytes
  const nextStateBytes = outcome.stateBytes
  const trainLoss = meanTrainLoss(sorted)
  const metrics: Record<string, number> = { ...outcome.metrics, examples: sorted.reduce((n, a) => n + a.examples, 0) }
  if (Number.isFinite(trainLoss)) metrics['trainLoss'] = trainLoss
  const entries: DecidedEntry[] = [
    entry(ENTRY_KINDS.ROUND_COMMITTED, {
      round: round.round,
      parent: round.base,
      model: outcome.model,
      ...committedInputsFields(sorted.map((a) => ({ site: a.site, delta: a.delta, examples: a.examples, envelope: a.envelopeHash }))),
      strategy: { name: strategy.name, params: { ...strategy.parameters } },
      metrics,
      failures: failures.map((f) => ({ site: f.siteId, reason: f.reason })),
      exclusions: outcome.exclusions.map((e) => ({ site: e.siteId, reason: e.reason, evidence: { ...e.evidence } })),
      ...(nextStateBytes === undefined ? {} : { state: sha256(nextStateBytes) }),
      ...(outcome.clipped === undefined ? {} : { clipped: outcome.clipped.map((c) => ({ site: c.siteId, norm: c.norm, scale: c.scale })) }),
      ...(study.dp === undefined || round.dp === undefined
        ? {}
        : {
            dp: dpCommitRecord(state, round.round, round.dp.q, study.dp, {
              clipNorm: outcome.metrics['dpClipNorm'],
              plannedSites: outcome.metrics['dpPlannedSites'],
              noiseStddev: outcome.metrics['dpNoiseStddev'],
            }),
          }),
    }),
  ]
  if (study.rewards && (parent !== undefined || deltaNorms !== undefined)) {
    // Streamed: each delta by its norm and its logged hash (the hash of its canonical bytes, as hashWeights gives).
    const updates =
      deltaNorms === undefined
        ? replies.map((u) => ({ ...u, acceptedSeq: accepted.get(u.siteId)!.seq }))
        : aggregated.map((a) => ({ siteId: a.site, exampleCount: a.examples, acceptedSeq: a.seq, deltaNorm: deltaNorms!.get(a.site)!, deltaHash: a.delta }))
    const r = computeRoundRewards({
      rewards: study.rewards,
      model: study.model,
      strategy: study.strategy,
      studySeed: study.seed,
      round: round.round,
      parent,
      updates,
      validation: validationBlob === undefined ? undefined : decodeDataset(readAll(validationBlob)),
      strategyState,
      roundSeed: round.seed,
      context,
    })
    const { utilityCalls: _calls, ...body } = r
    entries.push(entry(ENTRY_KINDS.ROUND_REWARDED, { ...body, ...rewardedAllocationsFields(body.allocations) }))
  }
  return { kind: 'entries', entries, blobs: nextStateBytes === undefined ? [modelBytes] : [modelBytes, nextStateBytes] }
}

/**
 * What a DP round's commit logs: its accounting, and the clip norm, fixed
 * denominator and noise scale on the average the strategy reports (the clip
 * moves under adaptive clipping). Throws when the strategy reported none.
 */
export function dpCommitRecord(
  state: StudyState,
  round: number,
  q: number,
  dp: DpSpec,
  used: { readonly clipNorm: number | undefined; readonly plannedSites: number | undefined; readonly noiseStddev: number | undefined },
) {
  const { clipNorm, plannedSites, noiseStddev } = used
  if (clipNorm === undefined || plannedSites === undefined || noiseStddev === undefined)
    throw new ProtocolInvalidArgumentError(`round ${round}: the DP strategy reported no clip norm, planned sites or noise scale`)
  return { ...dpAccountAfter(state, round, q, dp), clipNorm, plannedSites, noiseStddev }
}

/** Why a round whose every accepted update validation left out makes no model. */
function allLeftOut(exclusions: readonly Exclusion[]): string {
  return `validation left out every accepted update (${exclusions.map((e) => `${e.siteId}: ${e.reason}`).join(', ')})`
}
