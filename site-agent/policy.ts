/**
 * The site's own policy (`policy` in site.json): what the hospital allows to
 * leave, checked by the agent before it trains or reports anything. Pure:
 * the agent gives it the study spec and the counts it prepared, and gets
 * back either nothing (allowed) or a refusal with a stable code, which it
 * logs, emits, and reports to the coordinator as a signed `declined`.
 *
 * Codes (PROTOCOL.md, Site control):
 * SITE_SPEC_UNAPPROVED, SITE_POLICY_MODEL, SITE_POLICY_STRATEGY,
 * SITE_POLICY_MAX_ROUNDS, SITE_POLICY_MIN_RECORDS, SITE_POLICY_MIN_VALIDATION,
 * SITE_POLICY_DP_SGD, SITE_DP_BUDGET_SPENT (dp-sgd-budget.ts).
 */
import { z } from 'zod'
import { toHex } from '../ledger/index.ts'
import type { StudySpec, TensorShape } from '../models/index.ts'

export const SITE_REFUSAL_CODES = {
  SPEC_UNAPPROVED: 'SITE_SPEC_UNAPPROVED',
  MODEL: 'SITE_POLICY_MODEL',
  STRATEGY: 'SITE_POLICY_STRATEGY',
  MAX_ROUNDS: 'SITE_POLICY_MAX_ROUNDS',
  MIN_RECORDS: 'SITE_POLICY_MIN_RECORDS',
  MIN_VALIDATION: 'SITE_POLICY_MIN_VALIDATION',
  DP_SGD: 'SITE_POLICY_DP_SGD',
  DP_BUDGET_SPENT: 'SITE_DP_BUDGET_SPENT',
} as const
export type SiteRefusalCode = (typeof SITE_REFUSAL_CODES)[keyof typeof SITE_REFUSAL_CODES]

/**
 * Ten records is the default floor on what a site trains on in a round: an
 * update (or metrics) computed from a handful of records says more about
 * those patients than about the cohort, and a delta from very few records
 * can be inverted to approximate them. It is a floor, not a privacy
 * guarantee; raise it to the site's disclosure rules (often 10–20, as
 * small-cell suppression rules set it).
 */
export const DEFAULT_MIN_RECORDS_PER_ROUND = 10

export const SitePolicySchema = z
  .strictObject({
    /**
     * Refuse every task until this site's `approval` file names the running
     * spec's hash. Off by default for existing deployments; a site whose
     * config names an `approval` always refuses any other spec, and a study
     * with `requireApproval` needs one anyway.
     */
    requireApproval: z.boolean().default(false),
    /** Fewest training records (consenting, after preparation) the site trains or reports metrics on. */
    minRecordsPerRound: z.number().int().nonnegative().default(DEFAULT_MIN_RECORDS_PER_ROUND),
    /** Fewest validation records the site reports evaluation metrics on. */
    minValidationRecords: z.number().int().nonnegative().default(0),
    /** The last round this site trains in. */
    maxRounds: z.number().int().positive().optional(),
    /** Models the site trains: kinds (`logreg`, `mlp`), and a ceiling on the parameter count. */
    allowedModels: z
      .strictObject({
        /** Model kinds the site trains (`logreg`, `mlp`); others are refused. */
        kinds: z.array(z.string().min(1)).min(1).optional(),
        /** The largest model (trainable parameters) the site trains. */
        maxParameters: z.number().int().positive().optional(),
      })
      .optional(),
    /** Aggregation strategies the site takes part in (e.g. `fedavg`). */
    allowedStrategies: z.array(z.string().min(1)).min(1).optional(),
    /**
     * Patient-level differential privacy: train every round with DP-SGD
     * (each patient's gradient clipped to `clipNorm`, Gaussian noise of
     * `noiseMultiplier · clipNorm` on the sum, batches Poisson-sampled at
     * q = batchSize / training rows), keep the site's own RDP account over
     * every round it trained in (in its `stateDir`), and decline a round that
     * would take ε above `epsilon` (SITE_DP_BUDGET_SPENT). Each update
     * envelope logs (q, σ, C, steps, δ, ε). Absent: plain training.
     */
    dpSgd: z
      .strictObject({
        /** σ: the noise's standard deviation per coordinate is σ · clipNorm. Larger: more private, noisier model. */
        noiseMultiplier: z.number().gt(0, 'must be > 0: without noise there is no privacy').max(1e6, 'must be <= 1e6'),
        /** C: the L2 norm each training record's gradient (all the model's tensors together) is clipped to. */
        clipNorm: z.number().gt(0, 'must be > 0').max(1e12, 'must be <= 1e12'),
        /** δ of the site's (ε, δ) guarantee; it should be well below 1 / (training records). */
        delta: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(1e-5),
        /**
         * The site's privacy budget ε at `delta`, over every round it trains in
         * with DP-SGD (all studies): a round whose training would take the
         * account above it is declined, nothing leaves the site. Absent: no
         * limit (ε is still accounted and logged every round).
         */
        epsilon: z.number().gt(0, 'must be > 0').max(1e6, 'must be <= 1e6').optional(),
      })
      .optional(),
  })
  .prefault({})

export type SitePolicy = z.infer<typeof SitePolicySchema>

/** Why the site refuses: a stable code and the sentence its log says. */
export interface SiteRefusal {
  readonly code: SiteRefusalCode
  readonly reason: string
}

/** Number of trainable parameters of a model layout. */
export function parameterCount(shapes: readonly TensorShape[]): number {
  return shapes.reduce((n, s) => n + s.shape.reduce((m, d) => m * d, 1), 0)
}

/** The study-wide checks: the model (kind, parameters) and the strategy the site allows. */
export function checkStudyPolicy(policy: SitePolicy, spec: StudySpec, shapes: readonly TensorShape[]): SiteRefusal | undefined {
  const models = policy.allowedModels
  if (models?.kinds !== undefined && !models.kinds.includes(spec.model.kind)) {
    return { code: SITE_REFUSAL_CODES.MODEL, reason: `study "${spec.id}" trains a ${spec.model.kind} model, the site policy allows ${models.kinds.join(', ')} (policy.allowedModels.kinds)` }
  }
  const parameters = parameterCount(shapes)
  if (models?.maxParameters !== undefined && parameters > models.maxParameters) {
    return {
      code: SITE_REFUSAL_CODES.MODEL,
      reason: `study "${spec.id}" trains a model of ${parameters} parameters, the site policy allows at most ${models.maxParameters} (policy.allowedModels.maxParameters)`,
    }
  }
  const patientDp = spec.patientDp
  if (patientDp !== undefined && policy.dpSgd === undefined) {
    return {
      code: SITE_REFUSAL_CODES.DP_SGD,
      reason: `study "${spec.id}" requires patient-level DP-SGD at ε <= ${patientDp.maxEpsilon} (patientDp), the site policy trains without it: set policy.dpSgd (noiseMultiplier, clipNorm) to take part`,
    }
  }
  if (patientDp !== undefined && policy.dpSgd !== undefined && policy.dpSgd.delta > patientDp.maxDelta) {
    return {
      code: SITE_REFUSAL_CODES.DP_SGD,
      reason: `study "${spec.id}" requires DP-SGD at δ <= ${patientDp.maxDelta} (patientDp.maxDelta), the site policy's δ is ${policy.dpSgd.delta} (policy.dpSgd.delta)`,
    }
  }
  const strategy = spec.strategy.name
  if (policy.allowedStrategies !== undefined && !policy.allowedStrategies.includes(strategy)) {
    return { code: SITE_REFUSAL_CODES.STRATEGY, reason: `study "${spec.id}" aggregates with ${strategy}, the site policy allows ${policy.allowedStrategies.join(', ')} (policy.allowedStrategies)` }
  }
  return undefined
}

/** The checks of one fit task: the round number and the training records it would use. */
export function checkRoundPolicy(policy: SitePolicy, round: number, trainRecords: number): SiteRefusal | undefined {
  if (policy.maxRounds !== undefined && round > policy.maxRounds) {
    return { code: SITE_REFUSAL_CODES.MAX_ROUNDS, reason: `round ${round}: the site policy allows at most ${policy.maxRounds} rounds (policy.maxRounds)` }
  }
  if (trainRecords < policy.minRecordsPerRound) {
    return {
      code: SITE_REFUSAL_CODES.MIN_RECORDS,
      reason: `round ${round}: ${trainRecords} training records, the site policy requires at least ${policy.minRecordsPerRound} (policy.minRecordsPerRound): no update and no metrics leave the site`,
    }
  }
  return undefined
}

/** The checks of an evaluation report: enough training and validation records for its metrics to leave the site. */
export function checkEvaluationPolicy(policy: SitePolicy, round: number, trainRecords: number, validationRecords: number): SiteRefusal | undefined {
  if (trainRecords < policy.minRecordsPerRound) {
    return {
      code: SITE_REFUSAL_CODES.MIN_RECORDS,
      reason: `model of round ${round}: ${trainRecords} records, the site policy requires at least ${policy.minRecordsPerRound} (policy.minRecordsPerRound)`,
    }
  }
  if (validationRecords < policy.minValidationRecords) {
    return {
      code: SITE_REFUSAL_CODES.MIN_VALIDATION,
      reason: `model of round ${round}: ${validationRecords} validation records, the site policy requires at least ${policy.minValidationRecords} to report metrics (policy.minValidationRecords)`,
    }
  }
  return undefined
}

/**
 * The approval check: the running spec's hash against the one this site
 * approved (`approved`, undefined when it has none). Refuses a different
 * hash always, and a missing approval when the site or the study requires
 * one. `howTo` names the commands that review and approve.
 */
export function checkApprovalPolicy(wanted: Uint8Array, approved: Uint8Array | undefined, required: boolean, howTo: string): SiteRefusal | undefined {
  if (approved !== undefined && toHex(approved) === toHex(wanted)) return undefined
  if (approved === undefined && !required) return undefined
  const have = approved === undefined ? 'this site approved no spec' : `this site approved spec ${toHex(approved)}`
  return { code: SITE_REFUSAL_CODES.SPEC_UNAPPROVED, reason: `the coordinator runs spec ${toHex(wanted)}, ${have}; ${howTo}` }
}
