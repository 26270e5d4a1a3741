/**
 * FLamby's Cyclic number, reproduced the way FLamby's benchmark computes it,
 * to explain why it differs from a Cyclic that passes the model on.
 *
 * In FLamby (`flamby/strategies/cyclic.py`, `utils.py` `_Model`), every
 * client trains its own deep copy of the initial model: a client's turn
 * continues *its own* model, and nothing is handed to the next client. Its
 * benchmark (`fed_benchmark.py`: `m = s.run()[0]`) then scores the first
 * client's model only. So FLamby's "Cyclic100" is center 0 (Cleveland)
 * trained alone for its turns among the 15 rounds (3 or 4 turns × 100 SGD
 * steps at lr 0.01), not a model that visited every center; it lands on
 * Local 0's number for that reason. Our `cyclic` strategy passes each
 * round's model to the next site, as the algorithm (and FLamby's docs)
 * describe.
 *
 * The turns come from FLamby's own draw: `np.random.default_rng(seed)`
 * permutations of the 4 clients, one per cycle, read from Debian's numpy
 * (python3-numpy), so the order is numpy's PCG64 and not a re-implementation.
 */
import { execFileSync } from 'node:child_process'
import { trainAndScore } from './baselines.ts'
import type { HeartCenter } from './heart-disease.ts'
import type { SeedResult } from './run-seed.ts'

export const FLAMBY_CYCLIC_LEARNING_RATE = 0.01
const LOCAL_STEPS_PER_TURN = 100
const BATCH = 4

/** Thrown when python3 with numpy is not there to draw FLamby's cycle order. */
export class NumpyUnavailableError extends Error {
  readonly code = 'BENCH_NUMPY_UNAVAILABLE'
}

/** The clients FLamby's Cyclic trains in rounds 1..rounds for `seed`: numpy's default_rng(seed) permutations, one per cycle. */
export function flambyCyclicOrder(seed: number, rounds: number, clients: number): number[] {
  const cycles = Math.ceil(rounds / clients)
  const script = `import numpy as np\nr = np.random.default_rng(${seed})\nprint(",".join(str(int(c)) for _ in range(${cycles}) for c in r.permutation(${clients})))`
  let out: string
  try {
    out = execFileSync('python3', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    throw new NumpyUnavailableError(`python3 with numpy is needed to draw FLamby's cycle order (apt-get install python3-numpy): ${(err as Error).message.split('\n')[0]}`)
  }
  return out.trim().split(',').map(Number).slice(0, rounds)
}

/** FLamby's Cyclic as its benchmark scores it: center 0's own model after its turns. */
export async function runCyclicAsFlamby(centers: readonly HeartCenter[], seed: number, rounds: number): Promise<SeedResult & { readonly turns: number }> {
  const first = centers[0]!
  const turns = flambyCyclicOrder(seed, rounds, centers.length).filter((c) => c === 0).length
  const result = await trainAndScore(centers, seed, { key: 'cyclic-as-flamby', flambyMethod: 'Cyclic100', centerId: first.centerId }, () => ({
    optimizer: 'sgd',
    learningRate: FLAMBY_CYCLIC_LEARNING_RATE,
    batchSize: BATCH,
    localSteps: turns * LOCAL_STEPS_PER_TURN,
  }))
  return { ...result, turns }
}
