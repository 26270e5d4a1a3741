/**
 * The aggregation strategy of a study: the one interface between the round
 * decider (decider.ts, which sends, waits, times out and logs, written once)
 * and the pure arithmetic in `models/core` (`fedAvg` and its siblings). Its
 * shape follows Flower's `configure_train` / `aggregate_train`, made
 * deterministic and explicit so that the auditor can drive the very same
 * object from the log and reach the same bits:
 *
 * - **Plan.** `configureRound` says who takes part and what each site is told
 *   (`SiteInstructions`: hyperparameters, a proximal term, references to
 *   control variates by hash). The decider logs the plan in `round-opened`
 *   and sends each site its own instructions in `FitTask.config`; a site
 *   checks them against its own replica of the log.
 * - **Replies.** A reply is typed and may have several parts: `delta` always,
 *   and more where an algorithm needs them. Parts are weights of the study
 *   model's layout. No strategy uses a further part yet, and the upload carries
 *   only the delta: SCAFFOLD (option II) derives each site's control-variate
 *   delta from its delta (strategies/scaffold.ts).
 * - **Server state.** Server optimisers (FedAvgM, FedAdagrad, FedAdam,
 *   FedYogi: strategies/server-optimizers.ts) and SCAFFOLD (its server
 *   control variate: strategies/scaffold.ts) keep state across
 *   rounds. It never hides in the strategy object: it comes in as `state`
 *   and goes out in the outcome, and the decider stores it as a blob named by
 *   hash in `round-committed`, so a replay of one round starts from the
 *   logged state. FedAvg is stateless (`state: null`).
 * - **Options.** Any strategy may bound the deltas' norms first
 *   (`clipNorm`, strategies/norm-bound.ts) and plan a seeded sample of the
 *   sites (`sampling`, strategies/site-sampling.ts).
 * - **Outcome.** The next model with its metrics, the sites it excluded with
 *   their evidence (Krum's score, a norm bound), and the failures it was
 *   told about; or `none` with a reason, which closes the round as abandoned
 *   with that reason logged (a round never stays open for want of a model).
 * - **Phases.** `phases` names the extra round trips a protocol needs before
 *   fit replies can be aggregated (secure aggregation's key advertisement,
 *   share exchange, masked input and unmasking). The decider runs them in
 *   order; FedAvg has none.
 * - **Randomness.** Public randomness comes from `roundSeed` (logged in
 *   `round-opened`). Randomness that must stay private (a DP noise seed) is
 *   given as `privateSeed`, which the log commits to by hash but does not
 *   publish; a strategy that needs one says so with `needsPrivateSeed`
 *   (site-level DP-FedAvg, strategies/site-dp.ts).
 *
 * Determinism is part of the contract: replies are aggregated in site-id
 * order, sums in Float64, one rounding to Float32 (models/core/aggregate.ts).
 */
import {
  DuplicateSiteError,
  InvalidModelInputError,
  NonFiniteValueError,
  UnknownStrategyError,
  TrainingSchema,
  encodedSize,
  encodeHeader,
  fedAvg,
  kernelFloat32Array,
  sortBySiteId,
  valueSlices,
  valuesFromBytes,
  valuesIntoBytes,
  type StrategySpec,
  type StudySpec,
  type TensorShape,
  type TrainingSpec,
  type Weights,
  type WeightedUpdate,
} from '../models/core/index.ts'
import { READ_SLICE_BYTES, decodeCanonical, encodeCanonical, type BlobReader } from '../ledger/core/index.ts'
import { InstructionsInvalidError } from './errors.ts'
import { cyclicSite } from './cyclic-order.ts'
import { withStrategyOptions } from './strategies/options.ts'
import { StreamedMetrics } from './strategies/streamed-metrics.ts'
import { serverOptimizerStrategy } from './strategies/server-optimizers.ts'
import { modelMetrics } from './strategies/round-metrics.ts'
import { scaffoldStrategy } from './strategies/scaffold.ts'
import { createRobustStrategy } from './strategies/robust.ts'
import { withSiteDp } from './strategies/site-dp.ts'

/** A value a site is told for its local training: canonical CBOR scalars only. */
export type InstructionValue = number | string | boolean

/**
 * What one site is told for one round. Keys a site does not know make it
 * refuse the task (PROTOCOL.md): a study must never run with a setting a
 * site silently ignored.
 */
export type SiteInstructions = Readonly<Record<string, InstructionValue>>

/** Instruction keys every site agent of this version applies. */
export const KNOWN_INSTRUCTIONS = ['optimizer', 'learningRate', 'batchSize', 'localSteps', 'proximalMu', 'serverControlVariate'] as const

/** Who takes part in a round, and what each is told. */
export interface RoundPlan {
  readonly round: number
  /** Participating sites, in code-unit order, each with its instructions. */
  readonly sites: readonly { readonly siteId: string; readonly instructions: SiteInstructions }[]
}

/** A site that was planned for the round and sent no usable update, and why (a refusal code, or `no-update`). */
export interface RoundFailure {
  readonly siteId: string
  readonly reason: string
}

/** One site's reply: its example count and its parts; `delta` is always present. */
export interface SiteReply extends WeightedUpdate {
  /** Further named parts of the reply, each of the study model's layout; not carried by the upload yet (see the module doc). */
  readonly parts?: Readonly<Record<string, Weights>>
}

/** A site whose reply the strategy left out of the aggregate, with the numbers that decided it. */
export interface Exclusion {
  readonly siteId: string
  readonly reason: string
  readonly evidence: Readonly<Record<string, number>>
}

/** A delta the norm bound scaled down before aggregation: its original L2 norm and the factor applied. */
export interface ClippedUpdate {
  readonly siteId: string
  readonly norm: number
  readonly scale: number
}

/**
 * Tensors a strategy carries from one round to the next (moments, control
 * variates), any number of them, each named `<slot>/<model tensor>`
 * (models/core/server-optimizers.ts). The decider stores them in the
 * canonical weights encoding, named by hash in `round-committed` (`state`),
 * and hands them back to the next aggregation from the log's blobs.
 */
export type ServerState = Weights

/** Extra round trips a protocol needs before aggregation (secure aggregation), run in this order. */
export type RoundPhase = 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmask'

export interface ConfigureRoundInit {
  readonly round: number
  /** Enrolled sites, any order. */
  readonly siteIds: readonly string[]
  /** The study's local-training settings, the base of every site's instructions. */
  readonly training: TrainingSpec
  readonly state: ServerState | null
  /** The hash of the logged server state (what a site would be told to fetch, e.g. a control variate), if any. */
  readonly stateHash?: Uint8Array
  /** The round's public seed (`roundSeed`). */
  readonly seed: number
  /** The study's quorum (`minSites`), which client sampling never plans fewer sites than; absent: 1. */
  readonly minSites?: number
}

export interface AggregateRoundInit {
  readonly round: number
  readonly global: Weights
  readonly replies: readonly SiteReply[]
  readonly failures: readonly RoundFailure[]
  readonly state: ServerState | null
  readonly seed: number
  /** The round's private seed, when `needsPrivateSeed`; the log holds only its hash. */
  readonly privateSeed?: Uint8Array
  /** Sites the round planned (DP-FedAvg's fixed denominator); absent: replies plus failures. */
  readonly plannedSites?: number
  /**
   * True when the private seed is withheld (an audit not given the seeds):
   * a strategy that needs one aggregates without its noise, so that every
   * output that does not depend on the noise can still be checked.
   */
  readonly noiseWithheld?: boolean
  /** The study's local-training settings (SCAFFOLD's K and η_l); the decider always gives them. */
  readonly training?: TrainingSpec
  /** The sites the round could have planned (enrolled, and approving where approval is required): SCAFFOLD's N. */
  readonly siteCount?: number
}

/**
 * The inputs of a slice-by-slice aggregation: the parent model and each
 * reply's delta as readers over their canonical bytes (models/core's
 * weights encoding), all of the layout `shapes`.
 */
export interface StreamedAggregateInit {
  readonly round: number
  readonly shapes: readonly TensorShape[]
  readonly global: BlobReader
  readonly replies: readonly { readonly siteId: string; readonly exampleCount: number; readonly delta: BlobReader }[]
  readonly failures: readonly RoundFailure[]
  readonly seed: number
  /** The server state the round starts from (its canonical bytes), for the strategies that keep one; absent before the first. */
  readonly state?: BlobReader
  /** As in `AggregateRoundInit`: the round's private seed, the planned sites, and whether the seed is withheld. */
  readonly privateSeed?: Uint8Array
  readonly plannedSites?: number
  readonly noiseWithheld?: boolean
}

/** A slice-by-slice aggregation's result: the next model's canonical bytes (and the next state's), or none. */
export type StreamedOutcome =
  | {
      readonly kind: 'model'
      readonly modelBytes: Uint8Array
      readonly metrics: Readonly<Record<string, number>>
      /** Each input's L2 norm by site id, summed as `l2Norm` sums it (what `examples` rewards check for zero deltas). */
      readonly deltaNorms: ReadonlyMap<string, number>
      /** The next server state's canonical bytes, for the strategies that keep one. */
      readonly stateBytes?: Uint8Array
      /** With a norm bound (`clipNorm`): the deltas it scaled down, in site-id order. */
      readonly clipped?: readonly ClippedUpdate[]
      /** The updates the strategy left out (Krum, Bulyan), with the numbers that decided it. */
      readonly exclusions?: readonly Exclusion[]
    }
  | { readonly kind: 'none'; readonly reason: string }

export type AggregateOutcome =
  | {
      readonly kind: 'model'
      readonly weights: Weights
      readonly metrics: Readonly<Record<string, number>>
      readonly state: ServerState | null
      readonly exclusions: readonly Exclusion[]
      /** With a norm bound (`clipNorm`): the deltas it scaled down, in site-id order (empty when none); absent without one. */
      readonly clipped?: readonly ClippedUpdate[]
    }
  | { readonly kind: 'none'; readonly reason: string }

export interface Strategy {
  /** The spec's strategy name, e.g. `fedavg`. */
  readonly name: string
  /** The resolved hyper-parameters, as logged in `round-committed`. */
  readonly parameters: Readonly<Record<string, number | string | boolean>>
  readonly phases: readonly RoundPhase[]
  readonly needsPrivateSeed: boolean
  /** Plans a round. Pure: the same inputs give the same plan; the input array is not touched. */
  configureRound(init: ConfigureRoundInit): RoundPlan
  /** Turns the round's accepted replies into the next model, or `none` with a reason. Pure. */
  aggregateRound(init: AggregateRoundInit): AggregateOutcome
  /**
   * The same aggregation read and written a slice of parameters at a time,
   * for stateless element-wise strategies: the same model bytes and metrics
   * as `aggregateRound`, bit for bit, holding one slice of each input.
   * Absent where a strategy needs whole updates at once; undefined for a
   * round it cannot take slice by slice after all (then `aggregateRound`
   * decides it, with its own errors and reasons).
   */
  aggregateStreamed?(init: StreamedAggregateInit): StreamedOutcome | undefined
}

function assertRound(round: number): void {
  if (!Number.isSafeInteger(round) || round < 0) {
    throw new InvalidModelInputError(`round ${round}, want a non-negative integer`)
  }
}

function sortedUniqueSites(siteIds: readonly string[]): string[] {
  const sorted = sortBySiteId(siteIds.map((siteId) => ({ siteId }))).map((s) => s.siteId)
  sorted.forEach((id, i) => {
    if (i > 0 && sorted[i - 1] === id) throw new DuplicateSiteError(`site "${id}": listed more than once`, id)
  })
  return sorted
}

/** The study's training settings as instructions (every strategy starts from these). */
export function trainingInstructions(training: TrainingSpec): SiteInstructions {
  return { optimizer: training.optimizer, learningRate: training.learningRate, batchSize: training.batchSize, localSteps: training.localSteps }
}

/** What distinguishes the FedAvg family: the name, the logged parameters, what sites are told, and who takes part. */
interface FedAvgVariant {
  readonly name: string
  readonly parameters: Readonly<Record<string, number | string | boolean>>
  readonly serverLearningRate: number
  /** Instructions on top of the study's training settings (FedProx's `proximalMu`). */
  readonly extraInstructions?: SiteInstructions
  /** The sites of a round, from the sorted eligible ones (default: all of them). */
  readonly chooseSites?: (round: number, sortedSiteIds: readonly string[]) => readonly string[]
}

/**
 * FedAvg with a server learning rate. All enrolled sites take part in every
 * round (FLamby's protocol) unless the variant chooses, each told the study's
 * training settings and the variant's extra instructions.
 */
function fedAvgStrategy(variant: FedAvgVariant): Strategy {
  const { serverLearningRate } = variant
  return {
    name: variant.name,
    parameters: variant.parameters,
    phases: [],
    needsPrivateSeed: false,
    configureRound({ round, siteIds, training }) {
      assertRound(round)
      const instructions = { ...trainingInstructions(training), ...variant.extraInstructions }
      const sorted = sortedUniqueSites(siteIds)
      const chosen = variant.chooseSites === undefined ? sorted : variant.chooseSites(round, sorted)
      return { round, sites: chosen.map((siteId) => ({ siteId, instructions })) }
    },
    aggregateRound({ round, global, replies, failures }) {
      assertRound(round)
      if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
      const weights = fedAvg(global, replies, serverLearningRate)
      return { kind: 'model', weights, state: null, exclusions: [], metrics: modelMetrics(global, weights, replies, failures) }
    },
    aggregateStreamed: (init) => fedAvgStreamed(init, serverLearningRate),
  }
}

/**
 * FedAvg over readers, a slice of each tensor at a time: `fedAvg` on the
 * slices (every value's arithmetic is independent of the others, in the same
 * site order), and the norms summed in float64 in the same element order as
 * `l2Norm` and `updateNorm`, so the model bytes and metrics equal
 * `aggregateRound`'s. Memory: the output model plus one slice per input.
 */
function fedAvgStreamed({ round, shapes, global, replies, failures }: StreamedAggregateInit, serverLearningRate: number): StreamedOutcome {
  assertRound(round)
  if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
  const sorted = sortBySiteId(replies)
  const modelBytes = new Uint8Array(encodedSize(shapes))
  modelBytes.set(encodeHeader(shapes))
  const metrics = new StreamedMetrics(sorted)
  for (const { tensor, start, count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    const slice = (values: Float32Array): Weights => ({ tensors: [{ name: tensor.name, shape: [n], values }] })
    // Into the aggregation kernel's shared memory, where fedAvg reads them in place (and with its second thread).
    const g = valuesFromBytes(global.read(offset, 4 * n), kernelFloat32Array)
    const deltas = sorted.map((r) => valuesFromBytes(r.delta.read(offset, 4 * n), kernelFloat32Array))
    let next: Float32Array
    try {
      next = fedAvg(
        slice(g),
        sorted.map((r, i) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: slice(deltas[i]!) })),
        serverLearningRate,
      ).tensors[0]!.values
    } catch (err) {
      // Name the value as the whole-model check would: its tensor and its index in it.
      if (err instanceof NonFiniteValueError)
        throw new NonFiniteValueError(`aggregate tensor "${tensor.name}" index ${start + err.index}: value ${err.value}, want a finite number`, tensor.name, start + err.index, err.value)
      throw err
    }
    valuesIntoBytes(modelBytes, offset, next)
    metrics.add(g, deltas, next)
  }
  return { kind: 'model', modelBytes, ...metrics.result(failures) }
}

/**
 * The strategy a study spec names. Throws `UnknownStrategyError` for names
 * this build does not implement (a spec parsed by a newer version).
 */
export function createStrategy(spec: StrategySpec): Strategy {
  return withStrategyOptions(baseStrategy(spec), spec)
}

/** The strategy of a study: its spec's, made site-level differentially private when the study sets `dp`. */
export function createStudyStrategy(study: Pick<StudySpec, 'strategy' | 'dp'>): Strategy {
  const strategy = createStrategy(study.strategy)
  return study.dp === undefined ? strategy : withSiteDp(strategy, study.dp)
}

function baseStrategy(spec: StrategySpec): Strategy {
  switch (spec.name) {
    case 'fedavg':
      return fedAvgStrategy({ name: 'fedavg', parameters: { serverLearningRate: spec.serverLearningRate }, serverLearningRate: spec.serverLearningRate })
    case 'fedprox':
      return fedAvgStrategy({
        name: 'fedprox',
        parameters: { proximalMu: spec.proximalMu, serverLearningRate: spec.serverLearningRate },
        serverLearningRate: spec.serverLearningRate,
        extraInstructions: { proximalMu: spec.proximalMu },
      })
    case 'cyclic': {
      // The next model is the one site's own: FedAvg of a single reply with server learning rate 1.
      const order = { deterministicCycle: spec.deterministicCycle, cycleSeed: spec.cycleSeed }
      return fedAvgStrategy({
        name: 'cyclic',
        parameters: { ...order },
        serverLearningRate: 1,
        chooseSites: (round, sorted) => {
          const site = cyclicSite(order, round, sorted)
          return site === undefined ? [] : [site]
        },
      })
    }
    case 'fedavgm':
    case 'fedadagrad':
    case 'fedadam':
    case 'fedyogi':
      return serverOptimizerStrategy(spec)
    case 'scaffold':
      return scaffoldStrategy(spec)
    case 'fedmedian':
    case 'fedtrimmedavg':
    case 'krum':
    case 'bulyan':
      return createRobustStrategy(spec)
    default: {
      const name: string = (spec as { name: string }).name
      throw new UnknownStrategyError(`unknown strategy "${name}"`, name)
    }
  }
}

/**
 * The model a coalition of replies would have produced with `strategy` from
 * `global` (rewards score coalitions with the study's own strategy): the
 * aggregate, or `global` itself when the strategy makes none.
 */
export function coalitionModel(
  strategy: Strategy,
  round: number,
  global: Weights,
  replies: readonly SiteReply[],
  state: ServerState | null,
  seed: number,
  context?: Pick<AggregateRoundInit, 'training' | 'siteCount'>,
): Weights {
  const outcome = strategy.aggregateRound({ round, global, replies, failures: [], state, seed, ...context })
  return outcome.kind === 'model' ? outcome.weights : global
}

/**
 * The training settings a site runs with: the study's, overridden by its
 * instructions for the round. Throws `InstructionsInvalidError` for a key
 * this version does not know or a value the study schema refuses, so that a
 * site never trains with a setting it silently ignored.
 */
export function applyInstructions(training: TrainingSpec, instructions: SiteInstructions): TrainingSpec {
  const unknown = Object.keys(instructions).filter((k) => !(KNOWN_INSTRUCTIONS as readonly string[]).includes(k))
  if (unknown.length > 0)
    throw new InstructionsInvalidError(
      `instructions name ${unknown.map((k) => `"${k}"`).join(', ')}, which this site agent does not apply (it knows ${KNOWN_INSTRUCTIONS.join(', ')}); upgrade the site agent`,
    )
  const parsed = TrainingSchema.safeParse({ ...training, ...instructions })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new InstructionsInvalidError(`instruction "${issue?.path.join('.') ?? ''}": ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}

/** Reads a FitTask's `config` (canonical CBOR of a map of scalars). Throws `InstructionsInvalidError`. */
export function decodeInstructions(bytes: Uint8Array): SiteInstructions {
  let value: unknown
  try {
    value = bytes.length === 0 ? {} : decodeCanonical(bytes)
  } catch (err) {
    throw new InstructionsInvalidError(`instructions are not canonical CBOR: ${(err as Error).message}`, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) throw new InstructionsInvalidError('instructions must be a map')
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') throw new InstructionsInvalidError(`instruction "${k}" must be a number, text or bool`)
  }
  return value as SiteInstructions
}

/** Canonical bytes of an instructions map, as a FitTask's `config` carries them. */
export function encodeInstructions(instructions: SiteInstructions): Uint8Array {
  return encodeCanonical(instructions)
}
