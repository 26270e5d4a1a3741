/**
 * SCAFFOLD's server step (Karimireddy et al. 2020, "SCAFFOLD: Stochastic
 * Controlled Averaging for Federated Learning", Algorithm 1 with option II
 * control variates): the model moves by the round's mean delta, and the
 * server control variate c by the mean of the sites' control-variate deltas.
 *
 * Option II makes a site's control-variate delta a function of values the
 * log already holds: with K local SGD steps of rate η_l from x to y_i,
 *
 *     c_i⁺ = c_i − c + (x − y_i)/(K·η_l)   so   Δc_i = c_i⁺ − c_i = −c − Δy_i/(K·η_l)
 *
 * where Δy_i = y_i − x is the site's logged delta, and c, K, η_l are the
 * round's logged state and instructions. The server therefore derives Δc_i
 * from the delta (the audit re-derives it the same way) instead of taking a
 * second uploaded tensor on trust; the site computes c_i⁺ by the same formula
 * and keeps it (site-agent/control-variate.ts).
 *
 * Per value, in float64, updates sorted by siteId (S of them, out of N sites):
 *
 *     x_new = fround(x + η_g·Δ̄)              Δ̄ the example-weighted mean delta (as `fedAvg`; FLamby weights by samples)
 *     Σc    = Σ_i (−c − Δy_i/(K·η_l))          summed in site order from 0, K·η_l one float64 product
 *     c_new = fround(c + (S/N)·(Σc/S))         the paper's c + (|S|/N)·mean(Δc_i), unweighted as in the paper
 *
 * With `controlVariateWeights: 'examples'` the mean is example-weighted
 * instead, Σc = Σ_i n_i·(−c − Δy_i/(K·η_l)) and c_new = fround(c + (S/N)·(Σc/Σn)),
 * which is what FLamby's `Scaffold` does implicitly (its corrections move by
 * the weighted mean delta less the site's own).
 *
 * The state is one slot, `c/<model tensor>`; no state (`null`) is c = 0.
 * Pure: no I/O, no clock, and no argument is mutated.
 */
import { InvalidModelInputError } from '../errors.ts'
import { sortBySiteId, type WeightedUpdate } from './aggregate.ts'
import { assertFinite, assertShapes } from './delta.ts'
import { meanDelta64, readStateSlots, writeStateSlots, type ServerStateWeights, type ServerStep } from './server-optimizers.ts'
import type { TensorShape, Weights } from './weights.ts'

/** The one slot of SCAFFOLD's state: the server control variate c. */
export const SCAFFOLD_STATE_SLOT = 'c'

export interface ScaffoldInit {
  /** η_g, FLamby's `server_learning_rate`: x_new = x + η_g·Δ̄. */
  readonly serverLearningRate: number
  /** K, the local SGD steps each site took (the round's `localSteps`). */
  readonly localSteps: number
  /** η_l, the sites' SGD learning rate (the round's `learningRate`). */
  readonly learningRate: number
  /** N, the sites the round could have planned (the paper's N); at least the number of updates. */
  readonly siteCount: number
  /** How the sites' Δc_i are averaged: `uniform` (the paper; default) or `examples` (FLamby). */
  readonly controlVariateWeights?: 'uniform' | 'examples'
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidModelInputError(`${name} ${value}, want a finite number > 0`)
}

/**
 * One SCAFFOLD round on the server: the next model and the next control
 * variate (see the module doc for the exact order of operations).
 *
 * Requires what `fedAvg` requires of the updates, and finite positive
 * `serverLearningRate`, `learningRate`, an integer `localSteps` >= 1 and an
 * integer `siteCount` >= the number of updates (`InvalidModelInputError`).
 * A state that is not exactly `c/<tensor>` of the model's layout throws
 * `ModelShapeMismatchError`; a non-finite result `NonFiniteValueError`.
 */
export function scaffoldStep(global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, init: ScaffoldInit): ServerStep {
  requirePositive('serverLearningRate', init.serverLearningRate)
  requirePositive('learningRate', init.learningRate)
  if (!Number.isSafeInteger(init.localSteps) || init.localSteps < 1) throw new InvalidModelInputError(`localSteps ${init.localSteps}, want an integer >= 1`)
  if (!Number.isSafeInteger(init.siteCount) || init.siteCount < updates.length)
    throw new InvalidModelInputError(`siteCount ${init.siteCount}, want an integer >= the ${updates.length} updates aggregated`)
  assertShapes(global, global.tensors, 'global')
  const mean = meanDelta64(global.tensors, updates) // checks the updates, as fedAvg does
  const sorted = sortBySiteId(updates)
  const [c] = readStateSlots(state, [SCAFFOLD_STATE_SLOT], global.tensors) as [Float32Array[]]
  const eta = init.serverLearningRate
  const kEta = init.localSteps * init.learningRate
  const s = sorted.length
  const share = s / init.siteCount
  const byExamples = init.controlVariateWeights === 'examples'
  // Σn in site order (integers: exact in float64 for any accepted example counts).
  const weightTotal = byExamples ? sorted.reduce((n, u) => n + u.exampleCount, 0) : s
  const nextC: Float32Array[] = []
  const next = global.tensors.map((g, t) => {
    const gv = g.values
    const cv = c[t]!
    const m = mean[t]!
    const out = new Float32Array(gv.length)
    const cOut = new Float32Array(gv.length)
    const sum = new Float64Array(gv.length)
    for (const u of sorted) {
      const d = u.delta.tensors[t]!.values
      const w = byExamples ? u.exampleCount : 1
      for (let j = 0; j < gv.length; j++) sum[j] = sum[j]! + w * (-cv[j]! - d[j]! / kEta)
    }
    for (let j = 0; j < gv.length; j++) {
      out[j] = gv[j]! + eta * m[j]!
      cOut[j] = cv[j]! + share * (sum[j]! / weightTotal)
    }
    nextC.push(cOut)
    return out
  })
  const weights: Weights = { tensors: global.tensors.map((g, t) => ({ name: g.name, shape: g.shape, values: next[t]! })) }
  assertFinite(weights, 'aggregate')
  const nextState = writeStateSlots([SCAFFOLD_STATE_SLOT], [nextC], global.tensors)
  assertFinite(nextState, 'server state')
  return { weights, state: nextState }
}

/**
 * A site's next control variate, option II: c_i⁺[j] = fround(c_i[j] − c[j] + (x[j] − y[j])/(K·η_l)),
 * in float64 left to right with K·η_l one product, rounded once. All four
 * weights share one layout (the model's; `c` and `c_i` named as the model's
 * tensors). Throws `ModelShapeMismatchError` or `NonFiniteValueError`.
 */
export function nextSiteControlVariate(siteC: Weights, serverC: Weights, start: Weights, trained: Weights, localSteps: number, learningRate: number): Weights {
  requirePositive('learningRate', learningRate)
  if (!Number.isSafeInteger(localSteps) || localSteps < 1) throw new InvalidModelInputError(`localSteps ${localSteps}, want an integer >= 1`)
  for (const [w, what] of [
    [siteC, 'site control variate'],
    [serverC, 'server control variate'],
    [trained, 'trained weights'],
  ] as const)
    assertShapes(w, start.tensors, what)
  const kEta = localSteps * learningRate
  const out: Weights = {
    tensors: start.tensors.map((x, t) => {
      const ci = siteC.tensors[t]!.values
      const c = serverC.tensors[t]!.values
      const y = trained.tensors[t]!.values
      const xv = x.values
      const v = new Float32Array(xv.length)
      for (let j = 0; j < v.length; j++) v[j] = ci[j]! - c[j]! + (xv[j]! - y[j]!) / kEta
      return { name: x.name, shape: x.shape, values: v }
    }),
  }
  assertFinite(out, 'site control variate')
  return out
}

/**
 * The server control variate c of a SCAFFOLD state, named as the model's
 * tensors (the state names them `c/<tensor>`); zeros when `state` is null (the
 * first round). Throws `ModelShapeMismatchError` for a state of another layout.
 */
export function serverControlVariate(state: ServerStateWeights | null, shapes: readonly TensorShape[]): Weights {
  const [c] = readStateSlots(state, [SCAFFOLD_STATE_SLOT], shapes) as [Float32Array[]]
  return { tensors: shapes.map((s, t) => ({ name: s.name, shape: s.shape, values: c[t]! })) }
}
