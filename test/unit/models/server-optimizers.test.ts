/**
 * The server optimisers on inputs small enough to work by hand. Every
 * expected number below was computed independently of this repository by
 * `python3 test/reference/server-optimizers.py` (Python floats, struct for
 * float32 rounding, Flower's update rules as written in flwr), and is copied
 * here as data.
 */
import { describe, expect, it } from 'vitest'
import {
  InvalidModelInputError,
  ModelShapeMismatchError,
  fedAdagradStep,
  fedAdamStep,
  fedAvg,
  fedAvgMStep,
  fedYogiStep,
  powerBySteps,
  readStateSlots,
  type ServerStateWeights,
  type ServerStep,
  type WeightedUpdate,
  type Weights,
} from '../../../models/core/index.ts'

const GLOBAL: Weights = { tensors: [{ name: 'w', shape: [2], values: Float32Array.from([0.5, -0.25]) }] }

function update(siteId: string, exampleCount: number, values: number[]): WeightedUpdate {
  return { siteId, exampleCount, delta: { tensors: [{ name: 'w', shape: [2], values: Float32Array.from(values) }] } }
}

/** Round 1 and round 2 of the reference script, in arrival order (not site order). */
const ROUNDS: readonly (readonly WeightedUpdate[])[] = [
  [update('b', 1, [0.1, -0.2]), update('a', 3, [0.3, 0.4])],
  [update('a', 2, [-0.05, 0.25]), update('b', 2, [0.15, 0.05])],
]

type Step = (global: Weights, updates: readonly WeightedUpdate[], state: ServerStateWeights | null, round: number) => ServerStep

/** Runs both rounds, each from the previous round's model and stored state. */
function run(step: Step): ServerStep[] {
  let global = GLOBAL
  let state: ServerStateWeights | null = null
  return ROUNDS.map((updates, i) => {
    const out = step(global, updates, state, i + 1)
    global = out.weights
    state = out.state
    return out
  })
}

const values = (w: Weights) => w.tensors.map((t) => [t.name, [...t.values]])
const f32 = (xs: number[]) => [...Float32Array.from(xs)]

describe('fedAvgMStep (Flower FedAvgM)', () => {
  it('keeps the momentum of the pseudo-gradient (global − average) across rounds', () => {
    // Prepare
    const step: Step = (g, u, s) => fedAvgMStep(g, u, s, { serverLearningRate: 1, serverMomentum: 0.9 })

    // Execute
    const [r1, r2] = run(step)

    // Assert
    expect(values(r1!.weights)).toEqual([['w', f32([0.75, 3.725290298461914e-9])]])
    expect(values(r1!.state)).toEqual([['momentum/w', f32([-0.25, -0.25])]])
    expect(values(r2!.weights)).toEqual([['w', f32([1.024999976158142, 0.375])]])
    expect(values(r2!.state)).toEqual([['momentum/w', f32([-0.2750000059604645, -0.375])]])
  })

  it('applies the server learning rate to the momentum', () => {
    const [r1, r2] = run((g, u, s) => fedAvgMStep(g, u, s, { serverLearningRate: 0.5, serverMomentum: 0.5 }))
    expect(values(r1!.weights)).toEqual([['w', f32([0.625, -0.125])]])
    expect(values(r2!.weights)).toEqual([['w', f32([0.7124999761581421, 0.012500000186264515])]])
    expect(values(r2!.state)).toEqual([['momentum/w', f32([-0.17499999701976776, -0.2750000059604645])]])
  })

  it('is FedAvg bit for bit with no momentum and a unit rate', () => {
    const out = fedAvgMStep(GLOBAL, ROUNDS[0]!, null, { serverLearningRate: 1, serverMomentum: 0 })
    expect(values(out.weights)).toEqual(values(fedAvg(GLOBAL, ROUNDS[0]!)))
  })
})

describe('fedAdagradStep (Flower FedAdagrad)', () => {
  it('accumulates the squared pseudo-gradient in v', () => {
    const [r1, r2] = run((g, u, s) => fedAdagradStep(g, u, s, { eta: 0.1, tau: 1e-9 }))
    expect(values(r1!.weights)).toEqual([['w', f32([0.6000000238418579, -0.15000000596046448])]])
    expect(values(r1!.state)).toEqual([['v/w', f32([0.0625000074505806, 0.0625])]])
    expect(values(r2!.weights)).toEqual([['w', f32([0.6196116209030151, -0.09855043143033981])]])
    expect(values(r2!.state)).toEqual([['v/w', f32([0.0650000050663948, 0.08500000089406967])]])
  })
})

describe('fedAdamStep (Flower FedAdam, with its bias correction)', () => {
  it('keeps m and v and corrects the rate with server_round + 1', () => {
    const [r1, r2] = run((g, u, s, round) => fedAdamStep(g, u, s, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round }))
    expect(values(r1!.weights)).toEqual([['w', f32([0.5742459893226624, -0.17575402557849884])]])
    expect(values(r1!.state)).toEqual([
      ['m/w', f32([0.02500000037252903, 0.02500000037252903])],
      ['v/w', f32([0.0006250000442378223, 0.0006250000442378223])],
    ])
    expect(values(r2!.weights)).toEqual([['w', f32([0.6431731581687927, -0.09365450590848923])]])
    expect(values(r2!.state)).toEqual([
      ['m/w', f32([0.027499999850988388, 0.03750000149011612])],
      ['v/w', f32([0.0006437500705942512, 0.0008437500218860805])],
    ])
  })

  it('depends on the round (the bias correction)', () => {
    const a = fedAdamStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1 })
    const b = fedAdamStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 2 })
    expect(values(a.weights)).not.toEqual(values(b.weights))
    expect(values(a.state)).toEqual(values(b.state))
  })

  it('steps by η alone without the bias correction (FLamby, older Flower)', () => {
    // python3: Δ = [(f(0.1)+3f(0.3))/4, (f(-0.2)+3f(0.4))/4]; m = 0.1Δ; v = 0.01Δ²; f(g + 0.1·m/(√v + 1e-9))
    const out = fedAdamStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1, biasCorrection: false })
    expect(values(out.weights)).toEqual([['w', f32([0.6000000238418579, -0.15000000596046448])]])
    const later = fedAdamStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 7, biasCorrection: false })
    expect(values(later.weights)).toEqual(values(out.weights))
  })
})

describe('fedYogiStep (Flower FedYogi)', () => {
  it('moves v by the sign of v − Δ² and applies no bias correction', () => {
    const [r1, r2] = run((g, u, s) => fedYogiStep(g, u, s, { eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 }))
    expect(values(r1!.weights)).toEqual([['w', f32([0.5096153616905212, -0.24038460850715637])]])
    expect(values(r1!.state)).toEqual([
      ['m/w', f32([0.02500000037252903, 0.02500000037252903])],
      ['v/w', f32([0.0006250000442378223, 0.0006250000442378223])],
    ])
    expect(values(r2!.weights)).toEqual([['w', f32([0.5199946165084839, -0.22794875502586365])]])
    expect(values(r2!.state)).toEqual([
      ['m/w', f32([0.027499999850988388, 0.03750000149011612])],
      ['v/w', f32([0.0006500000599771738, 0.0008500000694766641])],
    ])
  })
})

describe('server state and preconditions', () => {
  it('reads no state as zero moments, and refuses a state of another layout, naming the tensor', () => {
    // Execute
    const zeros = readStateSlots(null, ['m', 'v'], GLOBAL.tensors)
    const wrong: ServerStateWeights = { tensors: [{ name: 'momentum/w', shape: [2], values: new Float32Array(2) }] }

    // Assert
    expect(zeros.map((slot) => slot.map((t) => [...t]))).toEqual([[[0, 0]], [[0, 0]]])
    expect(() => fedAdamStep(GLOBAL, ROUNDS[0]!, wrong, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1 })).toThrow(ModelShapeMismatchError)
    expect(() => fedAdamStep(GLOBAL, ROUNDS[0]!, wrong, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1 })).toThrow(/server state tensor 0: named "momentum\/w", want "m\/w"/)
  })

  it('gives the same bits whatever the arrival order of the updates', () => {
    const init = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1 }
    const a = fedAdamStep(GLOBAL, ROUNDS[0]!, null, init)
    const b = fedAdamStep(GLOBAL, [...ROUNDS[0]!].reverse(), null, init)
    expect(values(a.weights)).toEqual(values(b.weights))
    expect(values(a.state)).toEqual(values(b.state))
  })

  it.each([
    ['tau 0', () => fedAdagradStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, tau: 0 })],
    ['beta1 1', () => fedYogiStep(GLOBAL, ROUNDS[0]!, null, { eta: 0.1, beta1: 1, beta2: 0.99, tau: 1e-3 })],
    ['momentum 1', () => fedAvgMStep(GLOBAL, ROUNDS[0]!, null, { serverLearningRate: 1, serverMomentum: 1 })],
    ['eta -1', () => fedAdamStep(GLOBAL, ROUNDS[0]!, null, { eta: -1, beta1: 0.9, beta2: 0.99, tau: 1e-9, round: 1 })],
  ])('refuses %s with InvalidModelInputError', (_what, call) => {
    expect(call).toThrow(InvalidModelInputError)
  })

  it('raises to integer powers by repeated multiplication', () => {
    // 0.9 · 0.9 in binary64 is 0.81 (python3 -c 'print(0.9*0.9)'); 0.99³ is 0.9702989999999999, not 0.970299 (python3 -c 'print(0.99*0.99*0.99)').
    expect(powerBySteps(0.9, 2)).toBe(0.81)
    expect(powerBySteps(0.99, 3)).toBe(0.9702989999999999)
    expect(powerBySteps(0.5, 0)).toBe(1)
  })
})
