/**
 * Study-spec schemas of the server-optimiser strategies (FedAvgM, FedAdagrad,
 * FedAdam, FedYogi) and of the options every strategy takes (`clipNorm`,
 * `sampling`). `study-spec.ts` puts them into `StrategySpecSchema`; each
 * member there spreads `STRATEGY_OPTIONS` into its own fields.
 *
 * Names and defaults are Flower's (flwr `server/strategy/`), in camelCase:
 * `server_learning_rate` → `serverLearningRate`, `server_momentum` →
 * `serverMomentum`, `eta`, `eta_l` → `etaL`, `beta_1` → `beta1`, `beta_2` →
 * `beta2`, `tau`; `fraction_fit` / `min_fit_clients` → `sampling.fraction` /
 * the study's `minSites`. Every bound is checked here, so a spec that would
 * make a step divide by zero or never converge is refused when the study is
 * defined, with a message that names the field.
 */
import { z } from 'zod'

const unitInterval = (what: string) => z.number().min(0, `must be >= 0 (${what})`).lt(1, `must be < 1 (${what})`)
const positive = (what: string) => z.number().gt(0, `must be > 0 (${what})`).max(1e6, 'must be <= 1e6')

/** Options every strategy takes, spread into each member of `StrategySpecSchema`. */
export const STRATEGY_OPTIONS = {
  /**
   * Norm bounding: each delta whose L2 norm exceeds clipNorm is scaled to
   * norm clipNorm before aggregation (fround(Δ[j] · clipNorm / ‖Δ‖)), and
   * logged in the commit's `clipped` list with its original norm. Absent: no bound.
   */
  clipNorm: z.number().gt(0, 'must be > 0: the largest L2 norm a delta may keep').max(1e12, 'must be <= 1e12').optional(),
  /**
   * Client sampling: the sites each round plans, drawn from the enrolled (and
   * approving) sites with the round's logged seed. `{ fraction }` plans
   * max(floor(fraction · sites), minSites); `{ count }` plans count; never more
   * than there are sites. Sites not drawn get no task that round. Absent: every site.
   */
  sampling: z
    .strictObject({
      /** Share of the sites planned per round, 0 < fraction <= 1 (Flower's `fraction_fit`). */
      fraction: z.number().gt(0, 'must be > 0').max(1, 'must be <= 1').optional(),
      /** Number of sites planned per round, at least the study's minSites. */
      count: z.number().int('must be a whole number of sites').positive('must be > 0').max(1_048_576).optional(),
    })
    .refine((s) => (s.fraction === undefined) !== (s.count === undefined), { message: 'give exactly one of `fraction` or `count`' })
    .optional(),
}

/**
 * The site learning rate of a server optimiser (Flower's `eta_l`): sent to
 * every site as its `learningRate` instruction. Flower only stores it (its
 * default 0.1 never reaches a client unless `on_fit_config_fn` sends it), so
 * here it has no default: absent, sites use `training.learningRate`.
 */
const etaL = z.number().gt(0, "must be > 0 (the sites' learning rate)").max(10, 'must be <= 10').optional()

export const FedAvgMSpecSchema = z.strictObject({
  /** FedAvg with server momentum (Hsu et al. 2019), Flower's `FedAvgM`. */
  name: z.literal('fedavgm'),
  /** Server learning rate η: new = global − η·momentum (Flower's `server_learning_rate`). */
  serverLearningRate: positive('the server learning rate').default(1),
  /** Momentum μ: momentum = μ·momentum + (global − average) (Flower's `server_momentum`); 0 is FedAvg. */
  serverMomentum: unitInterval('the server momentum').default(0),
  ...STRATEGY_OPTIONS,
})

export const FedAdagradSpecSchema = z.strictObject({
  /** Adaptive federated optimisation with Adagrad (Reddi et al. 2021), Flower's `FedAdagrad`. */
  name: z.literal('fedadagrad'),
  /** Server learning rate (Flower's `eta`). */
  eta: positive('the server learning rate').default(0.1),
  /** The sites' learning rate (Flower's `eta_l`); absent: `training.learningRate`. */
  etaL,
  /** Adaptivity τ, added to √v so that a zero second moment gives a finite step (Flower's `tau`). */
  tau: positive('the adaptivity, which keeps a step finite where v is 0').default(1e-9),
  ...STRATEGY_OPTIONS,
})

export const FedAdamSpecSchema = z.strictObject({
  /** Adaptive federated optimisation with Adam (Reddi et al. 2021), Flower's `FedAdam`, with its bias correction. */
  name: z.literal('fedadam'),
  /** Server learning rate (Flower's `eta`). */
  eta: positive('the server learning rate').default(0.1),
  /** The sites' learning rate (Flower's `eta_l`); absent: `training.learningRate`. */
  etaL,
  /** First-moment decay β1 (Flower's `beta_1`). */
  beta1: unitInterval('the first-moment decay').default(0.9),
  /** Second-moment decay β2 (Flower's `beta_2`). */
  beta2: unitInterval('the second-moment decay').default(0.99),
  /** Adaptivity τ, added to √v so that a zero second moment gives a finite step (Flower's `tau`). */
  tau: positive('the adaptivity, which keeps a step finite where v is 0').default(1e-9),
  /**
   * Adam's bias correction of the server step, η·√(1 − β2^(r+1)) / (1 − β1^(r+1)),
   * as Flower's current FedAdam applies it. false: η alone, as FLamby's
   * FedAdam (and Flower before 1.x) do; its steps are larger early on.
   */
  biasCorrection: z.boolean().default(true),
  ...STRATEGY_OPTIONS,
})

export const FedYogiSpecSchema = z.strictObject({
  /** Adaptive federated optimisation with Yogi (Reddi et al. 2021), Flower's `FedYogi`. */
  name: z.literal('fedyogi'),
  /** Server learning rate (Flower's `eta`). */
  eta: positive('the server learning rate').default(0.01),
  /** The sites' learning rate (Flower's `eta_l`); absent: `training.learningRate`. */
  etaL,
  /** First-moment decay β1 (Flower's `beta_1`). */
  beta1: unitInterval('the first-moment decay').default(0.9),
  /** Second-moment decay β2 (Flower's `beta_2`). */
  beta2: unitInterval('the second-moment decay').default(0.99),
  /** Adaptivity τ, added to √v so that a zero second moment gives a finite step (Flower's `tau`). */
  tau: positive('the adaptivity, which keeps a step finite where v is 0').default(1e-3),
  ...STRATEGY_OPTIONS,
})

export const ScaffoldSpecSchema = z.strictObject({
  /**
   * SCAFFOLD (Karimireddy et al. 2020, option II control variates; FLamby's
   * `Scaffold`): each site trains with the corrected gradient g − c_i + c,
   * keeps its own control variate c_i, and the server keeps c as its state.
   * Sites must train with plain SGD (`training.optimizer: "sgd"`), as FLamby requires.
   */
  name: z.literal('scaffold'),
  /** Server learning rate η_g: new = global + η_g·(example-weighted mean delta) (FLamby's `server_learning_rate`). */
  serverLearningRate: positive('the server learning rate').default(1),
  /**
   * How the server averages the sites' control-variate deltas: `uniform`, the
   * paper's mean over sites, or `examples`, weighted by examples as FLamby's
   * Scaffold does implicitly (its numbers need it: see bench:flamby).
   */
  controlVariateWeights: z.enum(['uniform', 'examples']).default('uniform'),
  ...STRATEGY_OPTIONS,
})

/** The server-optimiser members of `StrategySpecSchema`. */
export const SERVER_OPTIMIZER_SPECS = [FedAvgMSpecSchema, FedAdagradSpecSchema, FedAdamSpecSchema, FedYogiSpecSchema] as const

export type FedAvgMSpec = z.infer<typeof FedAvgMSpecSchema>
export type FedAdagradSpec = z.infer<typeof FedAdagradSpecSchema>
export type FedAdamSpec = z.infer<typeof FedAdamSpecSchema>
export type FedYogiSpec = z.infer<typeof FedYogiSpecSchema>
export type ScaffoldSpec = z.infer<typeof ScaffoldSpecSchema>
export type ServerOptimizerSpec = FedAvgMSpec | FedAdagradSpec | FedAdamSpec | FedYogiSpec

/** The options of any strategy spec, as the strategy wrappers read them. */
export interface StrategyOptions {
  readonly clipNorm?: number | undefined
  readonly sampling?: { readonly fraction?: number | undefined; readonly count?: number | undefined } | undefined
}
