/**
 * What the bench's attackers send instead of their honest delta. Each is a
 * pure function of the attacker's honest delta, its first delta (for the
 * replay) and a seeded random stream, so a run is reproducible.
 */
import { mulberry32, type Weights } from '../../models/index.ts'

export const ATTACKS = ['sign-flip', 'scale-10', 'gaussian', 'free-rider', 'replay'] as const
export type Attack = (typeof ATTACKS)[number]

/** Standard deviation of the Gaussian attack's values, per coordinate. */
export const GAUSSIAN_SIGMA = 1

export interface AttackInit {
  /** The delta the attacker's honest training made this round. */
  readonly honest: Weights
  /** Its delta of round 1 (for the replay). */
  readonly first: Weights
  readonly seed: number
}

/** Whether `attack` needs the attacker's honest training this round (Gaussian noise and the free rider do not). */
export function needsTraining(attack: Attack, round: number): boolean {
  return attack === 'sign-flip' || attack === 'scale-10' || (attack === 'replay' && round === 1)
}

function mapValues(w: Weights, f: (v: number, j: number) => number): Weights {
  return { tensors: w.tensors.map((t) => ({ ...t, values: Float32Array.from(t.values, f) })) }
}

/**
 * The delta an attacker sends: `sign-flip` −Δ; `scale-10` 10·Δ; `gaussian`
 * values drawn from N(0, GAUSSIAN_SIGMA²) (Box-Muller over mulberry32),
 * ignoring its data; `free-rider` all zeros (it trains on nothing and still
 * claims its example count); `replay` its round-1 delta again, every round.
 */
export function attackDelta(attack: Attack, init: AttackInit): Weights {
  switch (attack) {
    case 'sign-flip':
      return mapValues(init.honest, (v) => -v)
    case 'scale-10':
      return mapValues(init.honest, (v) => 10 * v)
    case 'gaussian': {
      const random = mulberry32(init.seed)
      return mapValues(init.honest, () => GAUSSIAN_SIGMA * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()))
    }
    case 'free-rider':
      return mapValues(init.honest, () => 0)
    case 'replay':
      return init.first
  }
}
