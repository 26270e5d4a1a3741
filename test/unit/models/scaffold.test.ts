/**
 * SCAFFOLD's server step and a site's next control variate on inputs worked
 * out by hand. The numbers are dyadic (multiples of 1/64), so every float64
 * step and the one rounding to float32 are exact, and the expected values in
 * the comments can be checked with pencil and paper.
 */
import { describe, expect, it } from 'vitest'
import {
  InvalidModelInputError,
  ModelShapeMismatchError,
  fedAvg,
  nextSiteControlVariate,
  scaffoldStep,
  serverControlVariate,
  type ServerStateWeights,
  type WeightedUpdate,
  type Weights,
} from '../../../models/core/index.ts'

const w = (values: number[], name = 'w'): Weights => ({ tensors: [{ name, shape: [values.length], values: Float32Array.from(values) }] })
const update = (siteId: string, exampleCount: number, values: number[]): WeightedUpdate => ({ siteId, exampleCount, delta: w(values) })
const values = (x: Weights) => x.tensors.map((t) => [t.name, [...t.values]])

describe('scaffoldStep', () => {
  it('moves x by η_g·(example-weighted mean delta) and c by (S/N)·mean(−c − Δy_i/(K·η_l)), over two rounds', () => {
    // Prepare: K·η_l = 4·0.5 = 2, η_g = 2; round 1 aggregates 2 of N = 4 sites, arriving out of site order.
    const init = { serverLearningRate: 2, localSteps: 4, learningRate: 0.5 }
    const round1 = [update('b', 1, [-1, 0.5]), update('a', 3, [0.5, 0.25])]
    const round2 = [update('b', 1, [-0.25, 0.5]), update('a', 1, [0.25, 0])]

    // Execute
    const r1 = scaffoldStep(w([0.5, -0.25]), round1, null, { ...init, siteCount: 4 })
    const r2 = scaffoldStep(r1.weights, round2, r1.state, { ...init, siteCount: 2 })

    // Assert, round 1: Δ̄ = (3·[0.5, 0.25] + [−1, 0.5])/4 = [0.125, 0.3125]; x = [0.5, −0.25] + 2·Δ̄.
    expect(values(r1.weights)).toEqual([['w', [0.75, 0.375]]])
    // Δc_a = −[0.5, 0.25]/2, Δc_b = −[−1, 0.5]/2; sum [0.25, −0.375], mean [0.125, −0.1875], times S/N = 1/2.
    expect(values(r1.state)).toEqual([['c/w', [0.0625, -0.09375]]])
    // Round 2: Δ̄ = [0, 0.25]; Δc_a = [−0.1875, 0.09375], Δc_b = [0.0625, −0.15625]; mean [−0.0625, −0.03125], S/N = 1.
    expect(values(r2.weights)).toEqual([['w', [0.75, 0.875]]])
    expect(values(r2.state)).toEqual([['c/w', [0, -0.125]]])
  })

  it("weights the control-variate mean by examples when asked (FLamby's Scaffold)", () => {
    // Prepare: K·η_l = 2, N = 4, S = 2; a has 3 examples, b 1.
    const round1 = [update('b', 1, [-1, 0.5]), update('a', 3, [0.5, 0.25])]

    // Execute
    const out = scaffoldStep(w([0.5, -0.25]), round1, null, { serverLearningRate: 2, localSteps: 4, learningRate: 0.5, siteCount: 4, controlVariateWeights: 'examples' })

    // Assert: the model as in the uniform case; Δc_a = [−0.25, −0.125] (×3), Δc_b = [0.5, −0.25] (×1);
    // weighted sum [−0.25, −0.625] / 4 = [−0.0625, −0.15625], times S/N = 1/2.
    expect(values(out.weights)).toEqual([['w', [0.75, 0.375]]])
    expect(values(out.state)).toEqual([['c/w', [-0.03125, -0.078125]]])
  })

  it('rounds once to float32: x and c from the float64 expressions, not from rounded intermediates', () => {
    // Prepare: values with no exact binary form.
    const global = w([0.1, 0.3])
    const updates = [update('a', 1, [0.7, -0.2]), update('b', 2, [0.1, 0.3])]
    const init = { serverLearningRate: 0.3, localSteps: 3, learningRate: 0.1, siteCount: 3 }
    const f = (x: number) => Math.fround(x)
    const [g0, g1] = [f(0.1), f(0.3)]
    const [a0, a1, b0, b1] = [f(0.7), f(-0.2), f(0.1), f(0.3)]
    const kEta = 3 * 0.1
    const mean = [(0 + 1 * a0 + 2 * b0) / 3, (0 + 1 * a1 + 2 * b1) / 3]
    const sum = [0 + (-0 - a0 / kEta) + (-0 - b0 / kEta), 0 + (-0 - a1 / kEta) + (-0 - b1 / kEta)]

    // Execute
    const out = scaffoldStep(global, updates, null, init)

    // Assert
    expect(values(out.weights)).toEqual([['w', [f(g0 + 0.3 * mean[0]!), f(g1 + 0.3 * mean[1]!)]]])
    expect(values(out.state)).toEqual([['c/w', [f(0 + (2 / 3) * (sum[0]! / 2)), f(0 + (2 / 3) * (sum[1]! / 2))]]])
  })

  it('with η_g = 1 makes the very bits of fedAvg, whatever c is', () => {
    // Prepare
    const global = w([0.1, 0.3, -7])
    const updates = [update('b', 5, [0.7, -0.2, 1e-3]), update('a', 2, [0.1, 0.3, 3])]
    const state = w([0.25, -1, 3], 'c/w')

    // Execute
    const out = scaffoldStep(global, updates, state, { serverLearningRate: 1, localSteps: 7, learningRate: 0.01, siteCount: 4 })

    // Assert
    expect(values(out.weights)).toEqual(values(fedAvg(global, updates)))
  })

  it('refuses a site count below the updates, a bad step setting, and a state of another layout', () => {
    const updates = [update('a', 1, [0, 0]), update('b', 1, [0, 0])]
    const init = { serverLearningRate: 1, localSteps: 1, learningRate: 0.1, siteCount: 2 }
    expect(() => scaffoldStep(w([0, 0]), updates, null, { ...init, siteCount: 1 })).toThrow(InvalidModelInputError)
    expect(() => scaffoldStep(w([0, 0]), updates, null, { ...init, localSteps: 0 })).toThrow(InvalidModelInputError)
    expect(() => scaffoldStep(w([0, 0]), updates, null, { ...init, learningRate: 0 })).toThrow(InvalidModelInputError)
    const momentState: ServerStateWeights = w([0, 0], 'm/w')
    expect(() => scaffoldStep(w([0, 0]), updates, momentState, init)).toThrow(ModelShapeMismatchError)
  })
})

describe('nextSiteControlVariate', () => {
  it('is c_i − c + (x − y)/(K·η_l), and its change is the Δc_i the server derives from the delta', () => {
    // Prepare: K·η_l = 2.
    const ci = w([0.25, 0])
    const state = w([0.0625, -0.09375], 'c/w')
    const c = serverControlVariate(state, [{ name: 'w', shape: [2] }])
    const x = w([0.5, -0.25])
    const y = w([1, 0])

    // Execute
    const next = nextSiteControlVariate(ci, c, x, y, 4, 0.5)
    // The server's step for this one site (S = N = 1): c + Δc_i, Δc_i = −c − (y − x)/2.
    const server = scaffoldStep(x, [update('a', 1, [0.5, 0.25])], state, { serverLearningRate: 1, localSteps: 4, learningRate: 0.5, siteCount: 1 })

    // Assert: c_i⁺ = [0.25 − 0.0625 − 0.25, 0 + 0.09375 − 0.125].
    expect(values(next)).toEqual([['w', [-0.0625, -0.03125]]])
    const deltaCi = next.tensors[0]!.values.map((v, j) => v - ci.tensors[0]!.values[j]!)
    const deltaC = server.state.tensors[0]!.values.map((v, j) => v - state.tensors[0]!.values[j]!)
    expect([...deltaCi]).toEqual([...deltaC])
  })

  it('reads c = 0 from no state, and refuses weights of another layout', () => {
    expect(values(serverControlVariate(null, [{ name: 'w', shape: [2] }]))).toEqual([['w', [0, 0]]])
    expect(() => nextSiteControlVariate(w([0]), w([0, 0]), w([0, 0]), w([0, 0]), 1, 0.1)).toThrow(ModelShapeMismatchError)
  })
})
