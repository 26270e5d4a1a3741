/**
 * Server optimisers (Reddi et al. 2021, "Adaptive Federated Optimization";
 * Hsu et al. 2019 for FedAvgM): the round's example-weighted mean delta is a
 * pseudo-gradient that a server-side optimiser applies to the global model,
 * with moments carried from round to round. The update rules are Flower's
 * (`flwr/server/strategy/fedavgm.py`, `fedadagrad.py`, `fedadam.py`,
 * `fedyogi.py`), made deterministic:
 *
 * 1. Δ[j] = acc[j] / N, with acc and N exactly as in `fedAvg` (updates sorted
 *    by siteId, Σ n_i·Δ_i[j] summed in float64 in that order), not rounded.
 * 2. Every moment and the new value are computed in float64 from the float32
 *    inputs (global, previous moments) in the order written on each function.
 * 3. Each stored tensor (the new model, each new moment) is rounded to
 *    float32 exactly once; the new model uses the float64 moments, before
 *    their rounding. The next round starts from the stored (rounded) moments,
 *    so a replay that reads them back reaches the same bits.
 *
 * Moments live in a `ServerState`: weights whose tensors are named
 * `<slot>/<model tensor>` (e.g. `m/output/kernel`), slot by slot in the
 * model's tensor order. No state (`null`) means every moment is zero, as in
 * Flower's first round.
 *
 * Pure: no I/O, no clock, and no argument is mutated.
 */
import { InvalidModelInputError } from '../errors.ts'
import { accumulate, prepare, type WeightedUpdate } from './aggregate.ts'
import { assertFinite, assertShapes } from './delta.ts'
import type { Tensor, TensorShape, Weights } from './weights.ts'

/** A strategy's carried tensors, named `<slot>/<model tensor>`; see the module doc. */
export type ServerStateWeights = Weights

/** The float64 pseudo-gradient of a round: Δ[j] = acc[j] / N per model tensor (step 1 of the module doc). */
export function meanDelta64(shapes: readonly TensorShape[], updates: readonly WeightedUpdate[]): Float64Array[] {
  const { sorted, totalExamples } = prepare(shapes, updates)
  return shapes.map((s, t) => {
    const acc = accumulate(
      sorted,
      t,
      s.shape.reduce((a, b) => a * b, 1),
    )
    for (let j = 0; j < acc.length; j++) acc[j] = acc[j]! / totalExamples
    return acc
  })
}

/** The layout of slot `slot` of a state for a model of layout `shapes`. */
export function stateSlotShapes(slot: string, shapes: readonly TensorShape[]): TensorShape[] {
  return shapes.map((s) => ({ name: `${slot}/${s.name}`, shape: s.shape }))
}

/**
 * The tensors of `slots` (in that order) in `state`, each of the model layout
 * `shapes`; zeros for every slot when `state` is null. Throws
 * `ModelShapeMismatchError` naming the first tensor that differs when the
 * state is not exactly those slots (a state of another strategy or model).
 */
export function readStateSlots(state: ServerStateWeights | null, slots: readonly string[], shapes: readonly TensorShape[]): Float32Array[][] {
  if (state === null) return slots.map(() => shapes.map((s) => new Float32Array(s.shape.reduce((a, b) => a * b, 1))))
  const expected = slots.flatMap((slot) => stateSlotShapes(slot, shapes))
  assertShapes(state, expected, 'server state')
  return slots.map((_, k) => shapes.map((_s, t) => state.tensors[k * shapes.length + t]!.values))
}

/** The state that stores `moments` (slot by slot; float64 arrays are rounded once to float32, float32 ones taken as stored). */
export function writeStateSlots(slots: readonly string[], moments: readonly (readonly (Float64Array | Float32Array)[])[], shapes: readonly TensorShape[]): ServerStateWeights {
  const tensors: Tensor[] = []
  slots.forEach((slot, k) => {
    stateSlotShapes(slot, shapes).forEach((s, t) => {
      const m = moments[k]![t]!
      tensors.push({ name: s.name, shape: s.shape, values: m instanceof Float32Array ? m : Float32Array.from(m) })
    })
  })
  return { tensors }
}

/** A new model and the state it leaves. */
export interface ServerStep {
  readonly weights: Weights
  readonly state: ServerStateWeights
}

/**
 * The step's result from the stores of step 3: each Float32Array element was
 * assigned its float64 value once (a Float32Array store rounds as Math.fround).
 */
function finish(global: Weights, next: Float32Array[], slots: readonly string[], moments: Float32Array[][]): ServerStep {
  const weights: Weights = { tensors: global.tensors.map((g, t) => ({ name: g.name, shape: g.shape, values: next[t]! })) }
  assertFinite(weights, 'aggregate')
  const state = writeStateSlots(slots, moments, global.tensors)
  assertFinite(state, 'server state')
  return { weights, state }
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidModelInputError(`${name} ${value}, want a finite number > 0`)
}

function requireUnit(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value >= 1) throw new InvalidModelInputError(`${name} ${value}, want 0 <= ${name} < 1`)
}

/** β^t as t multiplications left to right from 1 (not `Math.pow`, whose last bit ECMAScript leaves to the engine). */
export function powerBySteps(base: number, t: number): number {
  let p = 1
  for (let k = 0; k < t; k++) p *= base
  return p
}

export interface FedAvgMInit {
  /** Flower's `server_learning_rate` (η). */
  readonly serverLearningRate: number
  /** Flower's `server_momentum` (μ), 0 <= μ < 1. */
  readonly serverMomentum: number
}

/**
 * FedAvgM, Flower's convention (PyTorch SGD momentum, no Nesterov): the
 * pseudo-gradient is `global − average`, the opposite of the mean delta.
 * Per value, in float64:
 *
 *     m = μ·m_prev + (−Δ)          (slot `momentum`; m_prev = 0 in the first round)
 *     new = fround(global − η·m)
 *
 * With μ = 0 and η = 1 this is FedAvg bit for bit (global − (−x) = global + x).
 */
export function fedAvgMStep(global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, init: FedAvgMInit): ServerStep {
  requirePositive('serverLearningRate', init.serverLearningRate)
  requireUnit('serverMomentum', init.serverMomentum)
  assertShapes(global, global.tensors, 'global')
  const delta = meanDelta64(global.tensors, updates)
  const [prev] = readStateSlots(state, ['momentum'], global.tensors) as [Float32Array[]]
  const { serverLearningRate: eta, serverMomentum: mu } = init
  const momentum: Float32Array[] = []
  const next = global.tensors.map((g, t) => {
    const d = delta[t]!
    const p = prev[t]!
    const gv = g.values
    const m = new Float32Array(d.length)
    const out = new Float32Array(d.length)
    for (let j = 0; j < d.length; j++) {
      const mj = mu * p[j]! + -d[j]!
      m[j] = mj
      out[j] = gv[j]! - eta * mj
    }
    momentum.push(m)
    return out
  })
  return finish(global, next, ['momentum'], [momentum])
}

export interface FedOptInit {
  /** Flower's `eta`: the server learning rate. */
  readonly eta: number
  /** Flower's `tau`: the adaptivity, > 0 (keeps the step finite where the second moment is 0). */
  readonly tau: number
}

export interface FedAdamInit extends FedOptInit {
  /** Flower's `beta_1`, 0 <= β1 < 1. */
  readonly beta1: number
  /** Flower's `beta_2`, 0 <= β2 < 1. */
  readonly beta2: number
  /** The round (1 for the first); Flower's `server_round`, which sets the bias correction. */
  readonly round: number
  /** FedAdam only: false drops the bias correction (η_t = η), as FLamby and older Flower releases do. Absent: true. */
  readonly biasCorrection?: boolean
}

/**
 * FedAdagrad (Flower: FedOpt with β1 = 0, so the first moment is Δ itself
 * and is not stored). Per value, in float64:
 *
 *     v = v_prev + Δ·Δ             (slot `v`)
 *     new = fround(global + (η·Δ) / (√v + τ))
 */
export function fedAdagradStep(global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, init: FedOptInit): ServerStep {
  requirePositive('eta', init.eta)
  requirePositive('tau', init.tau)
  assertShapes(global, global.tensors, 'global')
  const delta = meanDelta64(global.tensors, updates)
  const [vPrev] = readStateSlots(state, ['v'], global.tensors) as [Float32Array[]]
  const { eta, tau } = init
  const vs: Float32Array[] = []
  const next = global.tensors.map((g, t) => {
    const d = delta[t]!
    const p = vPrev[t]!
    const gv = g.values
    const v = new Float32Array(d.length)
    const out = new Float32Array(d.length)
    for (let j = 0; j < d.length; j++) {
      const dj = d[j]!
      const vj = p[j]! + dj * dj
      v[j] = vj
      out[j] = gv[j]! + (eta * dj) / (Math.sqrt(vj) + tau)
    }
    vs.push(v)
    return out
  })
  return finish(global, next, ['v'], [vs])
}

/**
 * The first moment and the final step shared by FedAdam and FedYogi; `second`
 * gives v from v_prev and Δ·Δ, `stepSize` the rate that multiplies m.
 */
function adaptiveStep(
  global: Weights,
  updates: readonly WeightedUpdate[],
  state: ServerStateWeights | null,
  beta1: number,
  tau: number,
  stepSize: number,
  second: (vPrev: number, d2: number) => number,
): ServerStep {
  assertShapes(global, global.tensors, 'global')
  const delta = meanDelta64(global.tensors, updates)
  const [mPrev, vPrev] = readStateSlots(state, ['m', 'v'], global.tensors) as [Float32Array[], Float32Array[]]
  const oneMinusBeta1 = 1 - beta1
  const ms: Float32Array[] = []
  const vs: Float32Array[] = []
  const next = global.tensors.map((g, t) => {
    const d = delta[t]!
    const mp = mPrev[t]!
    const vp = vPrev[t]!
    const gv = g.values
    const m = new Float32Array(d.length)
    const v = new Float32Array(d.length)
    const out = new Float32Array(d.length)
    for (let j = 0; j < d.length; j++) {
      const dj = d[j]!
      const mj = beta1 * mp[j]! + oneMinusBeta1 * dj
      const vj = second(vp[j]!, dj * dj)
      m[j] = mj
      v[j] = vj
      out[j] = gv[j]! + (stepSize * mj) / (Math.sqrt(vj) + tau)
    }
    ms.push(m)
    vs.push(v)
    return out
  })
  return finish(global, next, ['m', 'v'], [ms, vs])
}

function checkAdam(init: FedAdamInit): void {
  requirePositive('eta', init.eta)
  requirePositive('tau', init.tau)
  requireUnit('beta1', init.beta1)
  requireUnit('beta2', init.beta2)
  if (!Number.isSafeInteger(init.round) || init.round < 0) throw new InvalidModelInputError(`round ${init.round}, want a non-negative integer`)
}

/**
 * FedAdam as in Flower's current `fedadam.py`, with its bias correction
 * (older Flower releases and FLamby's `FedAdam` have none: `biasCorrection`
 * false, η_t = η). Per value, in float64:
 *
 *     m = β1·m_prev + (1−β1)·Δ     (slot `m`)
 *     v = β2·v_prev + (1−β2)·(Δ·Δ) (slot `v`)
 *     η_t = η·√(1 − β2^(r+1)) / (1 − β1^(r+1))   (Flower's `server_round + 1`; powers by `powerBySteps`)
 *     new = fround(global + (η_t·m) / (√v + τ))
 */
export function fedAdamStep(global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, init: FedAdamInit): ServerStep {
  checkAdam(init)
  const { eta, tau, beta1, beta2, round } = init
  const etaNorm = init.biasCorrection === false ? eta : (eta * Math.sqrt(1 - powerBySteps(beta2, round + 1))) / (1 - powerBySteps(beta1, round + 1))
  const oneMinusBeta2 = 1 - beta2
  return adaptiveStep(global, updates, state, beta1, tau, etaNorm, (vPrev, d2) => beta2 * vPrev + oneMinusBeta2 * d2)
}

/**
 * FedYogi as in Flower's `fedyogi.py` (no bias correction). Per value, in float64:
 *
 *     m = β1·m_prev + (1−β1)·Δ                                  (slot `m`)
 *     v = v_prev − ((1−β2)·(Δ·Δ))·sign(v_prev − Δ·Δ)            (slot `v`; sign(0) = 0)
 *     new = fround(global + (η·m) / (√v + τ))
 */
export function fedYogiStep(global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, init: Omit<FedAdamInit, 'round'>): ServerStep {
  checkAdam({ ...init, round: 0 })
  const { eta, tau, beta1, beta2 } = init
  const oneMinusBeta2 = 1 - beta2
  return adaptiveStep(global, updates, state, beta1, tau, eta, (vPrev, d2) => vPrev - oneMinusBeta2 * d2 * Math.sign(vPrev - d2))
}
