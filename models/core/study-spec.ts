/**
 * What a study learns: the model, the input schema, the local training recipe
 * and the aggregation strategy. The coordinator validates it on load, logs it
 * in the `study-created` entry, and sends it to every site at hello time, so a
 * site prepares its records with exactly the schema the hub declared.
 *
 * Validation is done with zod so that every error names the offending field
 * path (`study.training.learningRate: must be > 0`).
 */
import { z } from 'zod'
import { SERVER_OPTIMIZER_SPECS, STRATEGY_OPTIONS, ScaffoldSpecSchema } from './strategy-options.ts'
import { DP_STRATEGIES, DpSpecSchema, PatientDpSpecSchema } from './dp-spec.ts'
import { SecAggSpecSchema } from './secagg-spec.ts'
import type { TensorShape } from './weights.ts'
import { krumMinimum } from './robust-aggregate.ts'
import { BulyanSpecSchema, FedMedianSpecSchema, FedTrimmedAvgSpecSchema, KrumSpecSchema, UpdateValidationSchema, minimumUpdates } from './robust-strategy-spec.ts'

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be a short identifier (letters, digits, _ . -)')

export const MissingPolicySchema = z.enum(['drop-row', 'impute-mean', 'impute-zero'])
export type MissingPolicy = z.infer<typeof MissingPolicySchema>

const NumericFeatureSchema = z.strictObject({
  /** The feature's name in the model's inputs (`inputNames`). */
  name,
  /** A number per record, one model input. */
  type: z.literal('numeric'),
  /** Source column; defaults to `name`. */
  column: z.string().min(1).optional(),
  /** Overrides the schema-wide missing-value policy for this feature. */
  missing: MissingPolicySchema.optional(),
})

const CategoricalFeatureSchema = z.strictObject({
  /** The feature's name; its model inputs are named `name=category`. */
  name,
  /** One indicator input per category (one-hot). */
  type: z.literal('categorical'),
  /** Source column; defaults to `name`. */
  column: z.string().min(1).optional(),
  /** Category values as written in the source (compared after trimming; numbers compared numerically). */
  categories: z.array(z.string().min(1)).min(2),
  /** Drop the first category's indicator (as pandas `drop_first`), which avoids a collinear column. */
  dropFirst: z.boolean().default(false),
  /** Overrides the schema-wide missing-value policy for this feature. */
  missing: MissingPolicySchema.optional(),
})

export const FeatureSchema = z.discriminatedUnion('type', [NumericFeatureSchema, CategoricalFeatureSchema])
export type FeatureSpec = z.infer<typeof FeatureSchema>

export const LabelSchema = z.strictObject({
  /** The source column holding each record's outcome. */
  column: z.string().min(1),
  /** Source values that mean the positive class (1); every other non-missing value is 0, unless `negative` is given. */
  positive: z.array(z.string().min(1)).min(1),
  /**
   * Source values that mean the negative class (0). When given, a label value
   * in neither list is an error naming its row (a typo, or a class the study
   * did not plan for), never a silent negative.
   */
  negative: z.array(z.string().min(1)).min(1).optional(),
})
export type LabelSpec = z.infer<typeof LabelSchema>

export const DataSchemaSchema = z.strictObject({
  /** Column names for files without a header row, in file order. */
  columns: z.array(z.string().min(1)).min(1).optional(),
  /** Cell values that mean "missing". */
  missingTokens: z.array(z.string()).default(['', '?', 'NA', 'NaN']),
  /** What to do with a missing feature value, unless the feature overrides it. Missing labels always drop the row. */
  missing: MissingPolicySchema.default('drop-row'),
  /**
   * Standardise input columns with the site's own training-split mean and
   * sample std (ddof 1): (x - mean) / (std + 1e-9). `numeric` touches numeric
   * features only; `all` also the one-hot indicators (FLamby's heart protocol).
   */
  standardize: z.enum(['none', 'numeric', 'all']).default('numeric'),
  /** The model's inputs, in order: each a `numeric` or `categorical` feature read from a source column. */
  features: z.array(FeatureSchema).min(1),
  /** The outcome the model predicts, as a binary label. */
  label: LabelSchema,
  /**
   * The column holding each record's patient id (the id consents name, e.g.
   * the FHIR Patient's logical id). Never a feature: it is read only to
   * decide each record's consent (`study.consent`), then dropped.
   */
  patientIdColumn: z.string().min(1).optional(),
})
export type DataSchema = z.infer<typeof DataSchemaSchema>

export const ModelSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    /** Logistic regression: one dense layer to a single logit. */
    kind: z.literal('logreg'),
  }),
  z.strictObject({
    /** A multilayer perceptron: dense hidden layers, then a single logit. */
    kind: z.literal('mlp'),
    /** Units of each hidden layer, input side first (1 to 8 layers). */
    hidden: z.array(z.number().int().positive().max(4096)).min(1).max(8),
    /** The hidden layers' activation. */
    activation: z.enum(['relu', 'tanh']).default('relu'),
  }),
])
export type ModelSpec = z.infer<typeof ModelSpecSchema>

export const TrainingSchema = z.strictObject({
  /** The local optimiser each site trains with. */
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  /** The local optimiser's learning rate. */
  learningRate: z.number().positive().max(10),
  /** Records per local optimiser step. */
  batchSize: z.number().int().positive().max(65536),
  /** Optimiser steps per round; batches cycle through reshuffled epochs (FLamby's "local steps"). */
  localSteps: z.number().int().positive().max(1_000_000),
  /**
   * FedProx's proximal term μ (Li et al. 2020): each site adds
   * (μ/2)·‖w − w_global‖² to its training loss. Set by the `fedprox`
   * strategy in each round's instructions; absent or 0: no proximal term.
   */
  proximalMu: z.number().min(0).max(1000).optional(),
  /**
   * SCAFFOLD's server control variate c for the round: the hex SHA-256 of the
   * server-state blob that holds it (`c/<tensor>`), or "" for c = 0 (no state
   * yet). Set by the `scaffold` strategy in each round's instructions; absent:
   * plain training, no correction.
   */
  serverControlVariate: z
    .string()
    .regex(/^([0-9a-f]{64})?$/, 'must be a hex SHA-256 or empty')
    .optional(),
})
export type TrainingSpec = z.infer<typeof TrainingSchema>

export const StrategySpecSchema = z.discriminatedUnion('name', [
  z.strictObject({
    /** Federated averaging: the examples-weighted mean of the sites' deltas. */
    name: z.literal('fedavg'),
    /** new = global + serverLearningRate * weighted mean of deltas (1 = plain FedAvg). */
    serverLearningRate: z.number().positive().max(10).default(1),
    ...STRATEGY_OPTIONS,
  }),
  z.strictObject({
    /**
     * FedProx (Li et al. 2020): FedAvg's aggregation, and each site trains
     * with the proximal term (μ/2)·‖w − w_global‖² that keeps it near the
     * round's model (Flower's `FedProx`, FLamby's `FedProx`).
     */
    name: z.literal('fedprox'),
    /** μ, the proximal term's weight (Flower's `proximal_mu`; FLamby's heart-disease run uses 0.01). 0 is FedAvg. */
    proximalMu: z.number().min(0).max(1000),
    /** new = global + serverLearningRate * weighted mean of deltas (1 = plain FedProx). */
    serverLearningRate: z.number().positive().max(10).default(1),
    ...STRATEGY_OPTIONS,
  }),
  z.strictObject({
    /**
     * Cyclic (FLamby's `Cyclic`): one site trains per round, starting from
     * the previous site's model, and the next model is that site's; sites
     * take turns in cycles of every enrolled site. Needs `minSites: 1`.
     */
    name: z.literal('cyclic'),
    /**
     * true: every cycle visits sites in code-unit order of their ids; false
     * (FLamby's default): each cycle is a fresh permutation of them, seeded
     * by `cycleSeed` and the cycle's number (see PROTOCOL.md).
     */
    deterministicCycle: z.boolean().default(false),
    /** Seed of the cycles' permutations when `deterministicCycle` is false. */
    cycleSeed: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31 - 1)
      .default(0),
    /** Norm bounding applies to the one site's delta; `sampling` is refused (a cyclic round already plans one site). */
    ...STRATEGY_OPTIONS,
  }),
  ...SERVER_OPTIMIZER_SPECS,
  ScaffoldSpecSchema,
  FedMedianSpecSchema,
  FedTrimmedAvgSpecSchema,
  KrumSpecSchema,
  BulyanSpecSchema,
])
export type StrategySpec = z.infer<typeof StrategySpecSchema>
export type StrategySpecInput = z.input<typeof StrategySpecSchema>

export const RewardSpecSchema = z.strictObject({
  /** Credits paid out per committed round, in integer units (a decimal string: balances are never floats). */
  poolPerRound: z.string().regex(/^(0|[1-9][0-9]{0,30})$/, 'must be a whole number of credit units, as a string'),
  /** How contributions are scored: example counts, or the validation gain of the round's aggregate on the hub's validation set. */
  method: z.enum(['examples', 'leave-one-out', 'shapley', 'gtg-shapley']).default('examples'),
  /** The validation utility for the gain-based methods. */
  metric: z.enum(['neg-log-loss', 'accuracy']).default('neg-log-loss'),
})
export type RewardSpec = z.infer<typeof RewardSpecSchema>

export const ConsentSpecSchema = z.strictObject({
  /**
   * The purpose every record's consent must cover, as a purpose code of the
   * consent receipts (e.g. v3-ActReason `HRESCH`): printable ASCII without spaces.
   */
  purpose: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be a purpose code of 1-128 printable ASCII characters without spaces, e.g. HRESCH'),
})
export type ConsentSpec = z.infer<typeof ConsentSpecSchema>

export const StudySpecSchema = z
  .strictObject({
    /** The study's id: the log's origin, and what every signed statement names. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'must be 2-63 lowercase letters, digits or dashes'),
    /** A human title, shown in reviews and model cards. */
    title: z.string().max(200).default(''),
    /** The network every site trains. */
    model: ModelSpecSchema,
    /** How each site turns its records into model inputs and labels. */
    data: DataSchemaSchema,
    /** Each site's local training recipe per round. */
    training: TrainingSchema,
    /** How the coordinator aggregates the sites' updates into the next model. */
    strategy: StrategySpecSchema,
    /** Checks every accepted update must pass before the strategy aggregates it (any strategy); absent: none. */
    validation: UpdateValidationSchema.optional(),
    /** Number of rounds to commit before the study is complete. */
    rounds: z.number().int().positive().max(100_000),
    /** Fewest accepted updates that may be aggregated when the deadline passes. */
    minSites: z.number().int().positive(),
    /** How long a round collects updates before it closes with what it has. */
    roundDeadlineMs: z.number().int().positive().max(86_400_000),
    /** How long the hub waits for sites to evaluate a committed model. */
    evaluationDeadlineMs: z.number().int().positive().max(86_400_000).default(60_000),
    /**
     * Most training examples one site may declare in an update (its FedAvg
     * weight). Absent: DEFAULT_MAX_EXAMPLES_PER_SITE. At most 2^32, so the
     * sum over any round (at most 2^20 sites) stays exact below 2^53.
     */
    maxExamplesPerSite: z
      .number()
      .int()
      .positive()
      .max(2 ** 32)
      .optional(),
    /** Seed of the deterministic initial model. */
    seed: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31 - 1)
      .default(0),
    /** Participant rewards per round; absent: no rewards. */
    rewards: RewardSpecSchema.optional(),
    /**
     * Site-level differential privacy (DP-FedAvg at the coordinator): clip,
     * equal weights over the planned sites, Gaussian noise from a private
     * seed per round, ε accounted and logged per round, and an optional
     * budget. Absent: no DP.
     */
    dp: DpSpecSchema.optional(),
    /**
     * Secure aggregation (Bonawitz et al. 2017, SecAgg+ over a k-regular
     * graph): sites mask their quantized deltas so that the coordinator, and
     * anyone holding the log, learns only their sum; the audit replays the
     * sum from the logged masked inputs and reveals. Needs an averaging
     * strategy and at least 3 sites a round; per-site checks (update
     * validation, robust strategies, norm bounds at the hub, gain-based
     * rewards) cannot run on masked inputs and are refused with it. With
     * `dp`, the sites add the noise (distributed DP). Absent: plain updates.
     */
    secureAggregation: SecAggSpecSchema.optional(),
    /**
     * Patient-level differential privacy is required: every update must be
     * trained with DP-SGD at its site and claim (`ext.dpSgd`) at most
     * `maxEpsilon` at `maxDelta`; others are refused. Absent: each site
     * decides (its `policy.dpSgd`).
     */
    patientDp: PatientDpSpecSchema.optional(),
    /**
     * Consent is required: each site trains only on records whose patient
     * consented to this study for `purpose` at the round's time, and every
     * update envelope commits to the consent receipts it used (`ext.consent`).
     * Requires `data.patientIdColumn`. Absent: no consent is asked for.
     */
    consent: ConsentSpecSchema.optional(),
    /**
     * Auditors the study names, by their Ed25519 public key (64 hex digits).
     * Replicas serve them every blob the log names (each site's deltas, the
     * hub's validation set), so they can replay the study; other
     * participants get the entries, the models, and a site its own deltas.
     */
    auditors: z
      .array(
        z.strictObject({
          /** The auditor's name, as reports and model cards show it. */
          name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -'),
          /** The auditor's key, which its libp2p identity and replication requests use. */
          publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'must be an Ed25519 public key as 64 lowercase hex digits'),
        }),
      )
      .max(64)
      .optional(),
    /**
     * Every site must approve this exact spec (an `approval` entry with its
     * hash, `fedlineage study approve`) before it is planned into a round,
     * and rounds open only once `minSites` sites approved. Absent or false:
     * sites are planned without a logged approval (each site agent may
     * still require its own, `policy.requireApproval`).
     */
    requireApproval: z.boolean().optional(),
    /**
     * The study's witness policy, in the C2SP tlog-policy format
     * (https://c2sp.org/tlog-policy): `witness <name> <vkey> [<url>]` lines,
     * `group <name> all|any|<k> <name>...`, one `quorum <name>|none`, and
     * optionally `log <vkey>` (the coordinator's checkpoint verifier key).
     * The coordinator submits every checkpoint to each witness with a URL
     * (tlog-witness) and keeps their cosignatures; the audit fails a log
     * whose newest checkpoint lacks the quorum. Absent: no witness is
     * required, and the audit says so. (The coordinator parses it at load;
     * models/ cannot, as it imports nothing of ledger/.)
     */
    witnessPolicy: z.string().min(1).max(65_536).optional(),
    /**
     * How long sites' deltas are kept. With `deltaRounds: K`, the coordinator
     * deletes a round's deltas once K later rounds have committed (models are
     * kept), and the audit reports such a round as hash-only: its entries and
     * statements checked, its model taken by hash, never re-derived. Part of
     * the spec, so each site approves how long its deltas live. Absent: kept.
     */
    retention: z
      .strictObject({
        /** Rounds a delta outlives its own: deleted once this many later rounds have committed. */
        deltaRounds: z.number().int().positive().max(100_000),
      })
      .optional(),
  })
  .superRefine((spec, ctx) => {
    const count = spec.strategy.sampling?.count
    if (count !== undefined && count < spec.minSites) {
      ctx.addIssue({ code: 'custom', path: ['strategy', 'sampling', 'count'], message: `is ${count}, below minSites ${spec.minSites}: a round of ${count} sites could never reach its quorum` })
    }
    if (spec.consent !== undefined && spec.data.patientIdColumn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['data', 'patientIdColumn'], message: "is required when consent is set: name the column holding each record's patient id" })
    }
    // A cyclic round plans one site, so a larger minimum could never be met and every round would be abandoned.
    if (spec.strategy.name === 'cyclic' && spec.minSites !== 1) {
      ctx.addIssue({ code: 'custom', path: ['minSites'], message: `must be 1 with strategy "cyclic" (one site trains per round), got ${spec.minSites}` })
    }
    if (spec.strategy.name === 'cyclic' && spec.strategy.sampling !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['strategy', 'sampling'], message: 'is not allowed with strategy "cyclic": a cyclic round already plans one site in turn; remove `sampling`' })
    }
    if (spec.training.serverControlVariate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['training', 'serverControlVariate'], message: 'is set by the strategy, not the study: use strategy { "name": "scaffold" }' })
    }
    // Option II control variates assume plain SGD steps: c_i⁺ = c_i − c + (x − y_i)/(K·η_l) (FLamby asserts SGD too).
    if (spec.strategy.name === 'scaffold' && spec.training.optimizer !== 'sgd') {
      ctx.addIssue({ code: 'custom', path: ['training', 'optimizer'], message: `is "${spec.training.optimizer}", but strategy "scaffold" needs "sgd": its control variates assume plain SGD steps` })
    }
    if (spec.training.proximalMu !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['training', 'proximalMu'], message: 'is set by the strategy, not the study: use strategy { "name": "fedprox", "proximalMu": μ }' })
    }
    if (spec.dp !== undefined && !DP_STRATEGIES.includes(spec.strategy.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['dp'],
        message: `is not allowed with strategy "${spec.strategy.name}": DP-FedAvg's noise is calibrated for an average; use one of ${DP_STRATEGIES.join(', ')}`,
      })
    }
    const adaptive = spec.dp?.adaptiveClipping
    if (adaptive !== undefined && 2 * adaptive.clippedCountStddev <= spec.dp!.noiseMultiplier) {
      ctx.addIssue({
        code: 'custom',
        path: ['dp', 'adaptiveClipping', 'clippedCountStddev'],
        message: `is ${adaptive.clippedCountStddev}, want more than noiseMultiplier / 2 = ${spec.dp!.noiseMultiplier / 2}: the count's noise takes its share of the privacy from the deltas' noise`,
      })
    }
    if (spec.dp !== undefined && spec.strategy.clipNorm !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['strategy', 'clipNorm'], message: 'is not allowed with dp: dp.clipNorm clips every delta already; remove strategy.clipNorm' })
    }
    if (spec.dp !== undefined && spec.rewards !== undefined && spec.rewards.method !== 'examples') {
      ctx.addIssue({
        code: 'custom',
        path: ['rewards', 'method'],
        message: `"${spec.rewards.method}" is not allowed with dp: it scores un-noised coalitions of deltas, which would leak what the noise hides; use "examples"`,
      })
    }
    const secagg = spec.secureAggregation
    if (secagg !== undefined) {
      const refuse = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message })
      if (!SECAGG_STRATEGIES.includes(spec.strategy.name))
        refuse(
          ['strategy', 'name'],
          `"${spec.strategy.name}" is not allowed with secureAggregation: the coordinator sees only the sum of the sites' deltas, so the strategy must average; use one of ${SECAGG_STRATEGIES.join(', ')}`,
        )
      if (spec.validation !== undefined)
        refuse(
          ['validation'],
          "is not allowed with secureAggregation: update validation reads each site's delta, which the coordinator never sees; remove it (clippingRange bounds every coordinate instead)",
        )
      if (spec.strategy.clipNorm !== undefined)
        refuse(
          ['strategy', 'clipNorm'],
          'is not allowed with secureAggregation: the hub cannot clip a masked delta; use secureAggregation.clippingRange (per coordinate) or dp.clipNorm (clipped at each site)',
        )
      if (spec.rewards !== undefined && spec.rewards.method !== 'examples')
        refuse(['rewards', 'method'], `"${spec.rewards.method}" is not allowed with secureAggregation: it scores coalitions of individual deltas, which the coordinator never sees; use "examples"`)
      if (spec.minSites < 3) refuse(['minSites'], `is ${spec.minSites}, want at least 3 with secureAggregation: with two sites each would learn the other's delta from the sum`)
      if (spec.dp?.adaptiveClipping !== undefined) refuse(['dp', 'adaptiveClipping'], 'is not allowed with secureAggregation: the clipped count it needs is per site, which the coordinator never sees')
      if (spec.dp !== undefined && secagg.clippingRange < spec.dp.clipNorm)
        refuse(
          ['secureAggregation', 'clippingRange'],
          `is ${secagg.clippingRange}, below dp.clipNorm ${spec.dp.clipNorm}: a coordinate of a delta clipped to L2 norm S can be S; set clippingRange >= dp.clipNorm`,
        )
    }
    // A round may aggregate as few as minSites updates: the strategy must be able to aggregate that many.
    const needed = minimumUpdates(spec.strategy)
    if (spec.minSites < needed) {
      const field =
        spec.strategy.name === 'krum' && 'numClientsToKeep' in spec.strategy && spec.strategy.numClientsToKeep + spec.strategy.numMaliciousClients > krumMinimum(spec.strategy.numMaliciousClients)
          ? 'numClientsToKeep'
          : 'numMaliciousClients'
      ctx.addIssue({
        code: 'custom',
        path: ['strategy', field],
        message: `${spec.strategy.name} as set needs at least ${needed} updates a round (${spec.strategy.name === 'bulyan' ? 'n ≥ 4f + 3' : 'n ≥ 2f + 3 and n ≥ numClientsToKeep + f'}), but minSites is ${spec.minSites}: raise minSites to ${needed} or lower ${field}`,
      })
    }
  })
/** Strategies secure aggregation may run with: those that use the deltas only through their weighted average. */
export const SECAGG_STRATEGIES: readonly string[] = ['fedavg', 'fedprox', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi']

export type StudySpec = z.infer<typeof StudySpecSchema>
export type StudySpecInput = z.input<typeof StudySpecSchema>

/** Width of the model input a schema produces: 1 per numeric, one indicator per kept category. */
export function inputWidth(data: DataSchema): number {
  let n = 0
  for (const f of data.features) n += f.type === 'numeric' ? 1 : f.categories.length - (f.dropFirst ? 1 : 0)
  return n
}

/** Names of the model inputs in order, e.g. `age`, `cp=2`. */
export function inputNames(data: DataSchema): string[] {
  const out: string[] = []
  for (const f of data.features) {
    if (f.type === 'numeric') out.push(f.name)
    else f.categories.slice(f.dropFirst ? 1 : 0).forEach((c) => out.push(`${f.name}=${c}`))
  }
  return out
}

/**
 * The ordered tensor shapes of a model. This order is the canonical layer
 * order (kernel then bias, layer by layer), the same order TF.js reports for a
 * sequential stack of dense layers.
 */
export function modelShapes(model: ModelSpec, inputDim: number): TensorShape[] {
  const widths = model.kind === 'logreg' ? [1] : [...model.hidden, 1]
  const out: TensorShape[] = []
  let fanIn = inputDim
  widths.forEach((units, i) => {
    const layer = i === widths.length - 1 ? 'output' : `hidden_${i}`
    out.push({ name: `${layer}/kernel`, shape: [fanIn, units] })
    out.push({ name: `${layer}/bias`, shape: [units] })
    fanIn = units
  })
  return out
}

/** Examples one site may declare per update when the spec does not say: ten million records. */
export const DEFAULT_MAX_EXAMPLES_PER_SITE = 10_000_000

/** The most examples a site may declare in one update of `spec`. */
export function maxExamplesPerSite(spec: Pick<StudySpec, 'maxExamplesPerSite'>): number {
  return spec.maxExamplesPerSite ?? DEFAULT_MAX_EXAMPLES_PER_SITE
}
