/**
 * The deterministic initial model of a study, the root of its lineage. Every
 * party derives it from (model spec, input width, seed), so it can be checked
 * against the hash in the `study-created` entry without shipping it.
 */
import { InvalidModelInputError } from '../errors.ts'
import { mulberry32 } from './random.ts'
import { modelShapes, type ModelSpec } from './study-spec.ts'
import type { Tensor, Weights } from './weights.ts'
import { sizeOfShape } from './weights.ts'

/**
 * PyTorch's default `nn.Linear` initialisation, so results compare with
 * PyTorch baselines such as FLamby: kernel and bias of a layer are both drawn
 * from U(−1/√fanIn, 1/√fanIn), fanIn being the layer's input width.
 *
 * Draw order (part of the contract): one Mulberry32 stream seeded with
 * `seed`, consumed tensor by tensor in `modelShapes` order, each tensor in
 * row-major order; value = Math.fround(bound · (2u − 1)) for the next u.
 * Requires `inputDim` to be a positive integer.
 */
export function initialWeights(model: ModelSpec, inputDim: number, seed: number): Weights {
  if (!Number.isSafeInteger(inputDim) || inputDim <= 0) {
    throw new InvalidModelInputError(`input width ${inputDim}, want a positive integer`)
  }
  const random = mulberry32(seed)
  const shapes = modelShapes(model, inputDim)
  const tensors: Tensor[] = []
  for (let i = 0; i < shapes.length; i += 2) {
    const kernel = shapes[i]!
    const bias = shapes[i + 1]!
    const bound = 1 / Math.sqrt(kernel.shape[0]!)
    for (const s of [kernel, bias]) {
      const values = new Float32Array(sizeOfShape(s.shape))
      for (let j = 0; j < values.length; j++) values[j] = bound * (2 * random() - 1)
      tensors.push({ name: s.name, shape: s.shape, values })
    }
  }
  return { tensors }
}
